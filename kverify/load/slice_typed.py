"""EndpointSlices of a JSON List decoded by msgspec into typed structs, and their endpoints as columns.

A snapshot's slices hold hundreds of thousands of endpoints. Decoding each entry into a dict and
walking the dicts cost more than parsing the file (issue 11). :class:`TypedSlice` describes, as
msgspec types, exactly the slices whose entries the careful loop in :mod:`kverify.load.kinds` reads
without a problem or a warning (the *plain* entries of :mod:`kverify.load.slice_columns`): each entry
one address (a string), conditions absent, ``null`` or each ``null`` or a boolean, a ``nodeName``
absent or a non-empty string, a ``targetRef`` absent or with a string name, no ``hints``; and the
slice ``addressType: IPv4`` with no field kverify does not know. msgspec checks the types in C while
it decodes and allocates nothing for the fields kverify does not read (``zone``, a targetRef's
``uid``). Any slice that does not fit, including every slice with a problem, fails to decode as a
:class:`TypedSlice` and is decoded as plain dicts for the careful loop, which reports it with its
field path.

The one check msgspec does not make, that each address is a valid IPv4 address, is made over the
whole column (:func:`~kverify.load.slice_columns.typed_columns`); a slice that fails it goes back to
the careful loop too (:meth:`~kverify.load.slice_columns.TypedEntries.as_dicts`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from kverify.load.slice_columns import TypedEntries

_UNSET: Any = msgspec.UNSET


class TypedConditions(msgspec.Struct, gc=False, frozen=True):
    """An entry's ``conditions``, each ``null`` or a boolean; an absent one is kube-proxy's default
    (``pkg/proxy/endpointslicecache.go`` ``newEndpointSliceInfo``: a nil ``ready`` or ``serving``
    means true, a nil ``terminating`` false), so a column of them needs no pass unless one is ``null``.
    Other keys are ignored, as the careful loop ignores them."""

    ready: bool | None = True
    serving: bool | None = True
    terminating: bool | None = False


#: The conditions of an entry that has none: the defaults (one object, shared).
NO_CONDITIONS = TypedConditions()


class TypedRef(msgspec.Struct, gc=False):
    """A ``targetRef`` with a string ``name``, a ``kind`` absent, null or ``Pod`` (as an EndpointSlice
    controller writes it), and a ``namespace`` absent, null or a string; the careful loop takes any
    other. A literal is decoded as the one ``"Pod"`` object, not a new string per entry."""

    name: str
    kind: Literal["Pod"] | None = None
    namespace: str | None = None


class TypedEntry(msgspec.Struct, gc=False):
    """One plain entry of ``endpoints`` (see the module); fields kverify does not read are skipped."""

    addresses: tuple[str]  # exactly one: a second address is a warning in the careful loop
    conditions: TypedConditions | None = NO_CONDITIONS  # null: the careful loop's defaults too
    nodeName: Annotated[str, msgspec.Meta(min_length=1)] | None = None
    targetRef: TypedRef | None = None
    hints: None = None  # topology hints make an Endpoint the columns cannot hold


class TypedSlice(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    """An ``EndpointSlice`` of addressType IPv4 whose entries are all plain; its other fields as the
    json module gives them. No other field is allowed, so that :meth:`as_item` gives back every field
    the object has (unset ones stay absent)."""

    kind: Literal["EndpointSlice"]
    addressType: Literal["IPv4"]
    apiVersion: Any = _UNSET
    metadata: Any = _UNSET
    ports: Any = _UNSET
    endpoints: list[TypedEntry] | None = _UNSET

    def as_item(self, source: msgspec.Raw) -> dict[str, Any] | None:
        """The object as a dict, as the json module gives it but for ``endpoints``, a
        :class:`~kverify.load.slice_columns.TypedEntries` (``source`` is the object's text, to
        decode again if the careful loop is needed); ``None`` if it has no entries, when decoding it
        as dicts costs nothing worth saving and keeps its keys in the file's order."""
        entries = self.endpoints
        if not entries:
            return None
        item: dict[str, Any] = {"kind": self.kind, "addressType": self.addressType}
        for name in ("apiVersion", "metadata", "ports"):
            if (value := getattr(self, name)) is not _UNSET:
                item[name] = value
        item["endpoints"] = TypedEntries(entries, lambda: _decode_plain(source)["endpoints"])
        return item


#: The decoder of an item that may be a plain EndpointSlice (raises msgspec.DecodeError otherwise).
decode_slice = msgspec.json.Decoder(TypedSlice).decode
_decode_plain = msgspec.json.Decoder().decode
