"""The msgspec structs a Node of a JSON List is decoded into (see :mod:`kverify.load.node_typed`).

A Node as ``kubectl get -o json`` prints it carries far more than kverify reads: ``status.images``
(dozens of images, each with its names and size), ``conditions``, ``nodeInfo``, ``capacity``. The
structs hold only the fields :func:`~kverify.load.kinds.node_from` reads, each of a type it takes
without a problem: msgspec skips the rest without building it and checks the types in C. An element
that does not fit is decoded as the json module's dicts, for ``node_from``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from kverify.load.typed_fields import typed_item

_UNSET: Any = msgspec.UNSET
_NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class TypedAddress(msgspec.Struct, gc=False):
    """One entry of ``status.addresses``: both fields non-empty strings (else ``node_from`` reports it)."""

    type: _NonEmpty
    address: _NonEmpty


class TypedNodeSpec(msgspec.Struct, gc=False):
    """The ``spec`` fields kverify reads; a Node with taints is left to ``node_from`` (taints are rare,
    and read by the scheduling reader)."""

    podCIDR: str | None = None
    podCIDRs: tuple[str, ...] | None = None
    taints: Annotated[list[Any], msgspec.Meta(max_length=0)] | None = None


class TypedNodeStatus(msgspec.Struct, gc=False):
    addresses: tuple[TypedAddress, ...] | None = None


class TypedNode(msgspec.Struct, gc=False):
    """A Node whose ``spec`` and ``status`` are of the types ``node_from`` takes; ``apiVersion`` and
    ``metadata`` as the json module gives them (the generic checks of every object read them, and the
    labels are few). ``kind`` is a required field: an element without it is no Node."""

    kind: Literal["Node"]
    apiVersion: Any = _UNSET
    metadata: Any = _UNSET
    spec: TypedNodeSpec | None = None
    status: TypedNodeStatus | None = None

    def as_item(self, source: msgspec.Raw) -> dict[str, Any]:
        """The object as the loader takes it: ``kind``, ``apiVersion`` and ``metadata`` as the json module
        gives them (absent when absent), and under ``spec`` a :class:`~kverify.load.typed_fields.TypedFields`
        (``source`` is the object's text, decoded again if ``node_from`` is needed)."""
        return typed_item("Node", self, source, _decode_plain, _UNSET)


#: The decoder of an element that may be a plain Node (raises msgspec.DecodeError otherwise).
decode_node = msgspec.json.Decoder(TypedNode).decode
_decode_plain = msgspec.json.Decoder().decode
