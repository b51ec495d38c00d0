"""The Z3 encoding of per-pod traffic shares: every node the load balancer may pick, at once."""

from __future__ import annotations

import math
from typing import Any

import z3

from kverify.model import ClientKind, Cni, Destination
from kverify.model.cilium import CiliumSettings
from kverify.model.metallb import NEWEST_METALLB
from kverify.model.versions import NEWEST
from kverify.prove.claims import SpreadClaim
from kverify.semantics.decide import decide
from kverify.semantics.load_balancer import may_receive
from kverify.semantics.policy import external_policy_local
from kverify.symbolic import prove
from kverify.symbolic.smt_ops import SmtOps, lift
from kverify.symbolic.universe import Universe, select


def find_uneven_spread(
    claim: SpreadClaim,
    dataplane: int,
    *,
    max_nodes: int = prove.DEFAULT_MAX_NODES,
    max_endpoints: int = prove.DEFAULT_MAX_ENDPOINTS,
    timeout_ms: int = prove.DEFAULT_TIMEOUT_MS,
    version: int = NEWEST,
    feature_gates: tuple[tuple[str, bool], ...] = (),
    cni: Cni = Cni.GENERIC,
    cilium: CiliumSettings | None = None,
    metallb: tuple[int, int] = NEWEST_METALLB,
) -> prove.Answer:
    """Look for two pods that both receive traffic but in different shares.

    Shares are scaled by lcm(1..max_endpoints) so they stay integers (QF_FD): pod j gets
    sum over picked nodes i with j chosen of lcm / |chosen at i| (the 1/|picked| factor is common).
    """
    max_nodes, max_endpoints = spread_bounds(max_nodes, max_endpoints)
    if not max_endpoints:
        return prove.Answer(status="unsat")
    u, shared, etp_local = _encoding(max_nodes, max_endpoints)
    with prove.query(shared, timeout_ms, lambda: _encoding.renew(max_nodes, max_endpoints)) as solver:
        solver.add(u.dataplane == int(dataplane), u.load_balancer == int(claim.load_balancer))
        solver.add(*prove.environment_pins(u, version, feature_gates, cni, cilium, metallb))
        solver.add(etp_local if claim.etp_local else z3.Not(etp_local))
        return prove.minimal_violation(solver, u, max_nodes, max_endpoints)


def spread_bounds(max_nodes: int, max_endpoints: int) -> tuple[int, int]:
    """The bounds the share search really uses: counterexamples are small (two nodes, three pods),
    and smaller bounds keep the integer shares (scaled by lcm(1..endpoints)) small."""
    return min(max_nodes, 4), min(max_endpoints, 6)


@prove.solver_cache(maxsize=2)  # a solver that timed out is renewed, never asked again
def _encoding(max_nodes: int, max_endpoints: int) -> tuple[Universe, z3.Solver, Any]:
    """A solver holding the per-node decisions, the scaled shares and "two pods' shares differ"."""
    u = Universe(max_nodes=max_nodes, max_endpoints=max_endpoints)
    ops = SmtOps()
    scale = math.lcm(*range(1, max_endpoints + 1))
    shares: list[Any] = [z3.IntVal(0) for _ in range(max_endpoints)]
    for i in range(max_nodes):
        s = u.situation_at(i)
        d = decide(ops, s)
        picked = lift(may_receive(ops, s, i))
        size = z3.Sum(*[z3.If(lift(c), 1, 0) for c in d.chosen])
        inverse = z3.IntVal(0)
        for count in range(max_endpoints, 0, -1):
            inverse = z3.If(size == count, scale // count, inverse)
        shares = [share + z3.If(z3.And(picked, lift(c)), inverse, 0) for share, c in zip(shares, d.chosen, strict=True)]
    first, second = z3.Int("share_first"), z3.Int("share_second")
    share_first, share_second = select(shares, first), select(shares, second)
    solver = prove.shared_solver(
        *u.well_formed(),
        u.client == int(ClientKind.EXTERNAL),
        u.destination == int(Destination.LOAD_BALANCER),
        z3.Not(u.dst_ip_mode_proxy),
        u.src_allowed_by_ranges,
        z3.Not(u.src_in_cluster_cidr),
        first >= 0,
        first < max_endpoints,
        second >= 0,
        second < max_endpoints,
        share_first > 0,
        share_second > 0,
        share_first != share_second,
    )
    return u, solver, lift(external_policy_local(ops, u.situation()))
