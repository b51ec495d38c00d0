"""Which dataplane family a Situation runs on. Helpers, not rules: rules cite the behaviour."""

from __future__ import annotations

from kverify.model.enums import CILIUM_DSR, CILIUM_SNAT, CLIENT_EXTERNAL, IPVS, Dataplane
from kverify.semantics.ops import Ops, Term
from kverify.semantics.vocabulary import Situation


def is_cilium(ops: Ops, s: Situation) -> Term:
    return ops.or_(ops.eq(s.dataplane, CILIUM_SNAT), ops.eq(s.dataplane, CILIUM_DSR))


def is_dnat_only(ops: Ops, s: Situation) -> Term:
    return ops.eq(s.dataplane, Dataplane.DNAT_ONLY)


def is_ipvs(ops: Ops, s: Situation) -> Term:
    return ops.eq(s.dataplane, IPVS)


def in_cluster_client(ops: Ops, s: Situation) -> Term:
    return ops.not_(ops.eq(s.client, CLIENT_EXTERNAL))


def cilium_socket_lb(ops: Ops, s: Situation) -> Term:
    """Cilium translates in-cluster clients' connections at the socket (E-W, socket-LB)."""
    return ops.and_(is_cilium(ops, s), in_cluster_client(ops, s))
