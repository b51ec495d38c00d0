"""The flows rule ``nftables-no-endpoint-nodeports-output`` cannot answer: its change between v1.30 and v1.32
was read at both ends but not pinned to a release, so at v1.31 kverify says Unknown rather than guess.

The concrete side of :func:`kverify.semantics.nftables_nodeports.split_not_modelled`; the Z3 encoding leaves
the same situations out (``Universe.well_formed``), and ``kverify prove`` states it among its assumptions.
"""

from __future__ import annotations

from collections.abc import Iterable

from kverify.concrete.classify import Handling
from kverify.model import ClientKind, Cluster, Destination, Flow, Service, TrafficPolicy
from kverify.model.enums import NFTABLES
from kverify.semantics import nftables_nodeports
from kverify.semantics.ops import CONCRETE

NOT_MODELLED = nftables_nodeports.NOT_MODELLED


def may_apply(cluster: Cluster, flow: Flow, service: Service) -> bool:
    """The flow could meet the unpinned change: a host-network client to an eTP Local Service's NodePort on
    nftables, at a minor between the two read (constant time; the endpoints decide the rest)."""
    minor = cluster.proxy.kubernetes_version
    return (
        cluster.proxy.dataplane is NFTABLES
        and nftables_nodeports.LAST_CHECKED_IN_OUTPUT < minor < nftables_nodeports.FIRST_CHECKED_IN_INPUT_ONLY
        and flow.client is ClientKind.NODE
        and flow.destination is Destination.NODE_PORT
        and service.external_traffic_policy is TrafficPolicy.LOCAL
    )


def reason(cluster: Cluster, flow: Flow, service: Service, handlings: Iterable[Handling]) -> str | None:
    """Why kverify does not answer ``flow`` (None: it does), given the ways it is handled; linear in them."""
    if not may_apply(cluster, flow, service):
        return None
    if any(nftables_nodeports.split_not_modelled(CONCRETE, h.reduced) for h in handlings):
        return NOT_MODELLED
    return None
