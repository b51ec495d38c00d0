"""A Node of a JSON List read from its structs (:mod:`kverify.load.node_structs`), beside
:func:`~kverify.load.kinds.node_from`, which reads the dicts.

:func:`typed_node` makes the checks no type expresses (an address, a CIDR, a label's value) and returns
the Node ``node_from`` returns for the same object, or ``None`` where ``node_from`` would record a
problem, so that it reads the dicts the json module gives and reports it with its field path
(``tests/test_node_typed.py`` checks that the two agree on generated Nodes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from kverify.load.fields import is_cidr, is_ip
from kverify.load.kinds import ZONE_LABEL
from kverify.model.cluster import Node

if TYPE_CHECKING:  # the structs import msgspec, which only a JSON List needs
    from kverify.load.node_structs import TypedNode

_NODE_IPS = ("InternalIP", "ExternalIP")
#: Node's fields, in order. :func:`built_nodes` sets each slot directly (attrs' ``__init__``, with its
#: converter calls and its writes through ``object.__setattr__``, cost six times as much); a field added
#: to Node must be set there too, hence this check at import time.
_NODE_FIELDS = ("name", "addresses", "zone", "pod_cidrs", "draining", "labels", "taints")
if tuple(field.name for field in attrs.fields(Node)) != _NODE_FIELDS:  # pragma: no cover - guard
    raise ImportError("kverify.model.cluster.Node changed: update kverify.load.node_typed")
#: A Node's field values but its taints (a Node with taints is left to node_from), in _NODE_FIELDS' order.
NodeDraft = tuple[str, tuple[str, ...], str | None, tuple[str, ...], bool, tuple[tuple[str, str], ...]]


def typed_node(node: TypedNode, name: str, metadata: dict[str, Any]) -> Node | None:
    """The Node ``node_from`` builds for ``node`` (``metadata``: the object's, a dict), or ``None``
    where it would record a problem."""
    draft = typed_node_fields(node, name, metadata)
    return None if draft is None else built_nodes([draft])[0]


def typed_node_fields(node: TypedNode, name: str, metadata: dict[str, Any]) -> NodeDraft | None:
    """The field values of the Node ``node_from`` builds for ``node``, each checked as it checks it
    (build it with :func:`built_nodes`), or ``None`` where it would record a problem."""
    internal: list[str] = []
    external: list[str] = []
    status = node.status
    for entry in (status.addresses if status is not None else None) or ():
        kind, address = entry.type, entry.address
        if kind in _NODE_IPS:
            if not is_ip(address):
                return None
            if address not in internal and address not in external:
                (internal if kind == "InternalIP" else external).append(address)
    labels = metadata.get("labels")
    if labels is None:
        labels = {}
    elif type(labels) is not dict:
        return None
    zone = labels.get(ZONE_LABEL)
    if zone == "":
        zone = None
    other_labels: list[tuple[str, str]] = []
    for key, value in labels.items():
        if type(value) is not str:
            return None
        if key != ZONE_LABEL:
            other_labels.append((key, value))
    spec = node.spec
    pod_cidrs: list[str] = []
    if spec is not None:
        for cidr in spec.podCIDRs or ():
            cidr = cidr.strip()
            if not is_cidr(cidr):
                return None
            pod_cidrs.append(cidr)
        single = spec.podCIDR or None
        if not pod_cidrs and single is not None:
            if not is_cidr(single.strip()):
                return None
            pod_cidrs.append(single.strip())
    draining = metadata.get("deletionTimestamp") is not None
    return name, (*internal, *external), zone, tuple(pod_cidrs), draining, tuple(other_labels)


def built_nodes(drafts: list[NodeDraft]) -> list[Node]:
    """The Nodes of :func:`typed_node_fields`' values, in order. Every value was checked as ``node_from``
    checks it, and is of the type Node's converters give: each slot is set directly, as the model's
    ``__init__`` with its validators off would set it (per Node, that cost a third of reading it)."""
    new, cls = object.__new__, Node
    nodes: list[Node] = []
    append = nodes.append
    for name, addresses, zone, pod_cidrs, draining, labels in drafts:
        node = new(cls)
        _set_name(node, name)
        _set_addresses(node, addresses)
        _set_zone(node, zone)
        _set_pod_cidrs(node, pod_cidrs)
        _set_draining(node, draining)
        _set_labels(node, labels)
        _set_taints(node, ())
        append(node)
    return nodes


_set_name, _set_addresses, _set_zone, _set_pod_cidrs, _set_draining, _set_labels, _set_taints = (
    getattr(Node, field).__set__ for field in _NODE_FIELDS
)
