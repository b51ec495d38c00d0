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

from collections.abc import Callable
from itertools import count
from typing import Annotated, Any, ClassVar, Literal

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
    #: Whether every entry's ``nodeName`` is the string of a Node seen before (see :class:`SliceDecoder`).
    nodes_known: ClassVar[bool] = False

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
        item["endpoints"] = TypedEntries(entries, entries_decoder(source), self.nodes_known)
        return item


def entries_decoder(source: msgspec.Raw) -> Callable[[], Any]:
    """What decodes the ``endpoints`` of the slice whose text is ``source`` as the json module gives them."""
    return lambda: _decode_plain(source)["endpoints"]


def refs_decoder(source: msgspec.Raw) -> Callable[[], list[TypedRef | None]]:
    """What decodes the ``targetRef`` of each entry of the plain slice whose text is ``source``."""
    return lambda: [entry.targetRef for entry in decode_slice(source).endpoints or ()]


#: The decoder of an item that may be a plain EndpointSlice (raises msgspec.DecodeError otherwise).
decode_slice = msgspec.json.Decoder(TypedSlice).decode
_decode_plain = msgspec.json.Decoder().decode


class SliceDecoder:
    """Decodes the plain EndpointSlices of one file, each ``nodeName`` as the very string of the Node
    element it names when that Node came before in the file (:meth:`saw`), as ``kubectl get
    nodes,services,endpointslices`` writes them.

    The Nodes' names are a ``Literal`` of the entries' type: msgspec matches each ``nodeName`` against
    them in C and returns the Node's own string, equal to the entry's and hashed already, so the
    loader need not look 480,000 names up to share them (issue 11);
    :attr:`~kverify.load.slice_columns.TypedEntries.nodes_known` says so. The type is built once a
    first slice is met (that one decodes with plain strings, :data:`decode_slice`: the API server
    refuses more than 1,000 endpoints in a slice, ``maxEndpoints`` in
    ``pkg/apis/discovery/validation/validation.go``), and built again, with the Nodes seen so far, when a slice names a
    node it does not know, as long as the names built into types stay within twice the elements
    decoded: linear in the file however Nodes and slices interleave."""

    __slots__ = ("_built", "_decode_known", "_decoded", "_names", "_names_built")

    def __init__(self) -> None:
        self._names: list[str] = []
        self._names_built = 0  # how many of _names the current type knows
        self._built = 0  # names built into types so far, all told
        self._decoded = 0
        self._decode_known: Callable[[Any], TypedSlice] | None = None

    def passed(self, value: Any) -> None:
        """Note ``value``, an element of the file not given to :meth:`decode` (:meth:`saw`): it counts
        toward the bound on the names built into types as a decoded one does."""
        self._decoded += 1
        self.saw(value)

    def saw(self, value: Any) -> None:
        """Note ``value``, an element decoded as the json module gives it, if it is a Node."""
        meta = value.get("metadata") if type(value) is dict and value.get("kind") == "Node" else None
        if type(meta) is dict and type(name := meta.get("name")) is str and name:
            self._names.append(name)

    def item(self, source: msgspec.Raw) -> dict[str, Any] | None:
        """The item of ``source`` decoded as a :class:`TypedSlice` (see :meth:`TypedSlice.as_item`);
        raises ``msgspec.DecodeError`` if it is none."""
        return self.decode(source).as_item(source)

    def decode(self, source: msgspec.Raw | bytes) -> TypedSlice:
        """``source`` as a :class:`TypedSlice` (raises ``msgspec.DecodeError`` if it is none)."""
        self._decoded += 1
        if self._decode_known is not None:
            try:
                return self._decode_known(source)
            except msgspec.DecodeError as refused:
                # The two types differ in the entries' nodeName only: refused anywhere else (a Service,
                # a Node: most elements), the plain one would refuse it too.
                if _ENTRIES_PATH not in str(refused):
                    raise
        found = decode_slice(source)
        names = len(self._names)
        if names > self._names_built and self._built + names <= 2 * self._decoded:
            self._decode_known = _known_nodes_decoder(self._names)
            self._names_built = names
            self._built += names
        return found


_BUILDS = count()
#: Where msgspec's message places a value refused inside an entry ("... - at `$.endpoints[3].nodeName`").
_ENTRIES_PATH = "`$.endpoints["


def _known_nodes_decoder(names: list[str]) -> Callable[[Any], TypedSlice]:
    """A decoder of :class:`TypedSlice` whose entries' ``nodeName`` is one of ``names`` (or absent)."""
    # typing caches a Literal by its values: one built before with equal names would hold other
    # strings. A value of this build's own (a NUL no node name has; equal to itself if one did) makes
    # the type new, with these very strings.
    # None (a null nodeName) is one of the values: `Literal[...] | None` would make typing build a
    # Union and hash the Literal's thousands of values again (half the cost of the type, issue 11).
    unique = next(_BUILDS)
    known = Literal[(*dict.fromkeys(names), f"\x00{unique}", None)]  # type: ignore[valid-type]
    entry = msgspec.defstruct("KnownNodeEntry", [("nodeName", known, None)], bases=(TypedEntry,), gc=False)
    slice_ = msgspec.defstruct(
        "KnownNodeSlice",
        [("endpoints", list[entry] | None, _UNSET)],  # type: ignore[valid-type]
        bases=(TypedSlice,),
        gc=False,
        forbid_unknown_fields=True,
        namespace={"nodes_known": True},
    )
    decode: Callable[[Any], TypedSlice] = msgspec.json.Decoder(slice_).decode  # type: ignore[assignment]
    return decode
