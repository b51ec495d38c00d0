"""Which dataplane family a Situation runs on. Helpers, not rules: rules cite the behaviour."""

from __future__ import annotations

from kverify.model.enums import ClientKind, Dataplane
from kverify.semantics.ops import Ops, Term
from kverify.semantics.vocabulary import Situation

# Enum members read in hot code (per Service or per flow routed), as module globals: a read through the
# class takes Python 3.11's hooked attribute lookup (~900 instructions a read).
_CILIUM_DSR = Dataplane.CILIUM_DSR
_CILIUM_SNAT = Dataplane.CILIUM_SNAT
_CLIENT_EXTERNAL = ClientKind.EXTERNAL
_IPVS = Dataplane.IPVS


def is_cilium(ops: Ops, s: Situation) -> Term:
    return ops.or_(ops.eq(s.dataplane, _CILIUM_SNAT), ops.eq(s.dataplane, _CILIUM_DSR))


def is_dnat_only(ops: Ops, s: Situation) -> Term:
    return ops.eq(s.dataplane, Dataplane.DNAT_ONLY)


def is_ipvs(ops: Ops, s: Situation) -> Term:
    return ops.eq(s.dataplane, _IPVS)


def in_cluster_client(ops: Ops, s: Situation) -> Term:
    return ops.not_(ops.eq(s.client, _CLIENT_EXTERNAL))


def cilium_socket_lb(ops: Ops, s: Situation) -> Term:
    """Cilium translates in-cluster clients' connections at the socket (E-W, socket-LB)."""
    return ops.and_(is_cilium(ops, s), in_cluster_client(ops, s))
