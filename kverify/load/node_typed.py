"""A Node of a JSON List read from its structs (:mod:`kverify.load.node_structs`), beside
:func:`~kverify.load.kinds.node_from`, which reads the dicts.

:func:`typed_node` makes the checks no type expresses (an address, a CIDR, a label's value) and returns
the Node ``node_from`` returns for the same object, or ``None`` where ``node_from`` would record a
problem, so that it reads the dicts the json module gives and reports it with its field path
(``tests/test_node_typed.py`` checks that the two agree on generated Nodes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kverify.load.fields import is_cidr, is_ip, validators_off
from kverify.load.kinds import ZONE_LABEL
from kverify.model.cluster import Node

if TYPE_CHECKING:  # the structs import msgspec, which only a JSON List needs
    from kverify.load.node_structs import TypedNode

_NODE_IPS = ("InternalIP", "ExternalIP")


def typed_node(node: TypedNode, name: str, metadata: dict[str, Any]) -> Node | None:
    """The Node ``node_from`` builds for ``node`` (``metadata``: the object's, a dict), or ``None``
    where it would record a problem."""
    fields = typed_node_fields(node, name, metadata)
    return None if fields is None else built_nodes([fields])[0]


def typed_node_fields(node: TypedNode, name: str, metadata: dict[str, Any]) -> dict[str, Any] | None:
    """The keyword arguments of the Node ``node_from`` builds for ``node``, each value checked as it
    checks it (build it with :func:`built_nodes`), or ``None`` where it would record a problem."""
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
    return {
        "name": name,
        "addresses": (*internal, *external),
        "zone": zone,
        "pod_cidrs": pod_cidrs,
        "draining": metadata.get("deletionTimestamp") is not None,
        "labels": other_labels,
    }


def built_nodes(drafts: list[dict[str, Any]]) -> list[Node]:
    """The Nodes of :func:`typed_node_fields`' keyword arguments, in order. Every field was checked as
    ``node_from`` checks it: the model's validators, off while they are built, would repeat it (they are
    switched off once for all: per Node, that cost a sixth of reading it)."""
    with validators_off():
        return [Node(**fields) for fields in drafts]
