"""A plain EndpointSlice decoded in another process, as a compact record of its columns.

:mod:`kverify.load.slice_worker` decodes the EndpointSlices at the end of a big JSON List in a forked
process. What it hands back must cost this process far less to take than decoding the slice would
(about a fifth): the addresses and the node names each travel as one string joined by line breaks,
split again here in C; the conditions as one triple when all entries' are equal. The ``targetRef``
columns do not travel: they are read only for the Pods of an endpoint, which few checks ask for, and
the slice's text is decoded again then (:func:`~kverify.load.slice_typed.refs_decoder`).

A record gives back the item :meth:`~kverify.load.slice_typed.TypedSlice.as_item` gives, but for
whether the node names are the Nodes' own strings (the loader looks them up then,
:func:`~kverify.load.slice_columns.typed_columns`); ``tests/test_slice_worker.py`` checks that the
model is the same. A slice a record cannot carry so (an address that is no IPv4 address) gets no
record, and this process decodes it itself.
"""

from __future__ import annotations

from typing import Any

import msgspec

from kverify.load.slice_columns import SameConditions, TypedEntries, all_ipv4
from kverify.load.slice_typed import TypedConditions, TypedSlice, entries_decoder, refs_decoder

_UNSET: Any = msgspec.UNSET
#: The fields of a slice an item holds besides its entries, in the order ``as_item`` puts them.
_HEAD_FIELDS = ("apiVersion", "metadata", "ports")

#: A record: the item's fields but ``endpoints``; the addresses, joined; the node names, joined if
#: none is absent or holds a line break, else a tuple; the conditions (see :func:`slice_record`).
SliceRecord = tuple[dict[str, Any], str, "str | tuple[str | None, ...]", Any]


def slice_record(found: TypedSlice) -> SliceRecord | None:
    """``found``'s item as a record; ``None`` if the slice has no entries or an address is no IPv4
    address: the process that reads the List decodes it itself (and the careful loop reads it)."""
    entries = found.endpoints
    if not entries:
        return None
    ips = [entry.addresses[0] for entry in entries]
    if not all_ipv4(ips):
        return None
    head: dict[str, Any] = {"kind": found.kind, "addressType": found.addressType}
    for name in _HEAD_FIELDS:
        if (value := getattr(found, name)) is not _UNSET:
            head[name] = value
    nodes = [entry.nodeName for entry in entries]
    joined = None if None in nodes else "\n".join(nodes)  # type: ignore[arg-type]
    node_column = joined if joined is not None and joined.count("\n") == len(nodes) - 1 else tuple(nodes)
    return head, "\n".join(ips), node_column, _conditions_record([entry.conditions for entry in entries])


def item_from_record(record: SliceRecord, source: msgspec.Raw) -> dict[str, Any]:
    """The item ``as_item`` gives for the slice whose text is ``source``, from its record."""
    head, ips, nodes, conditions = record
    addresses = tuple(ips.split("\n"))
    head["endpoints"] = TypedEntries.of(
        addresses,
        _conditions_from(conditions),
        refs_decoder(source),
        tuple(nodes.split("\n")) if isinstance(nodes, str) else nodes,
        entries_decoder(source),
    )
    return head


def _conditions_record(conditions: list[TypedConditions | None]) -> Any:
    """The entries' conditions: ``(ready, serving, terminating, count)`` if all are one value's
    equal (as :class:`~kverify.load.slice_columns.TypedEntries` keeps them), else each a triple or
    ``None``."""
    first = conditions[0]
    if first is not None and conditions.count(first) == len(conditions):
        return (first.ready, first.serving, first.terminating, len(conditions))
    return [None if c is None else (c.ready, c.serving, c.terminating) for c in conditions]


def _conditions_from(record: Any) -> list[TypedConditions | None] | SameConditions:
    if type(record) is tuple:
        ready, serving, terminating, size = record
        return SameConditions(TypedConditions(ready, serving, terminating), size)
    return [None if c is None else TypedConditions(*c) for c in record]
