"""Load share over placements: the worst ratio between two Ready pods' shares, and its placement.

Shares are those of :func:`kverify.check.exhaustive.shares`: every arrival node the flow may take gets an
equal part, split evenly among the endpoints the proxy there may choose. Over placements this is,
for pod ``i``, ``sum over slots j the flow may arrive at, of [i chosen at j] / |chosen at j|`` (the
common factor ``1/|arrival nodes|`` cancels in a ratio). ``1/|chosen at j|`` is a table lookup on an
integer between 1 and the number of pods, so the formula stays linear real arithmetic.

The worst ratio is found by asking for a placement that beats the best one found so far until none
does; each placement is replayed through the executable model, whose shares must match.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

import z3

from kverify.errors import InternalError
from kverify.model import ClientKind, Destination, Flow
from kverify.placement.flow import HANDLING, OPS, Endpoint, situation_at
from kverify.placement.materialise import Placement, describe, materialise
from kverify.placement.universe import PlacementUniverse
from kverify.semantics.decide import decide
from kverify.semantics.load_balancer import may_receive
from kverify.semantics.vocabulary import Situation
from kverify.symbolic.smt_ops import lift

MAX_ROUNDS = 25


def share_terms(u: PlacementUniverse, base: Situation, endpoints: tuple[Endpoint, ...], flow: Flow) -> list[Any]:
    """Each endpoint's share (up to a common factor) as a Z3 Real term."""
    lb_flow = flow.client is ClientKind.EXTERNAL and flow.destination is Destination.LOAD_BALANCER
    n = len(endpoints)
    shares: list[Any] = [z3.RealVal(0)] * n
    for j in range(u.k):
        s = situation_at(u, base, endpoints, j, flow.client)
        d = decide(OPS, s)
        arrives = z3.And(lift(u.present[j]), lift(may_receive(OPS, s, HANDLING)) if lb_flow else z3.BoolVal(True))
        chosen = [z3.And(lift(d.delivered), lift(c)) for c in d.chosen]
        size = z3.Sum([z3.If(c, 1, 0) for c in chosen] or [z3.IntVal(0)])
        inverse: Any = z3.RealVal(0)
        for count in range(n, 0, -1):
            inverse = z3.If(size == count, z3.RealVal(Fraction(1, count)), inverse)
        shares = [shares[i] + z3.If(z3.And(arrives, chosen[i]), inverse, 0) for i in range(n)]
    return shares


def beats(shares: list[Any], endpoints: tuple[Endpoint, ...], ratio: Fraction) -> Any:
    """Some two present pods' shares differ by more than ``ratio``."""
    pairs = []
    for a in range(len(shares)):
        for b in range(len(shares)):
            if a != b:
                pa, pb = lift(endpoints[a].pod.present), lift(endpoints[b].pod.present)
                pairs.append(z3.And(pa, pb, shares[a] > z3.RealVal(ratio) * shares[b]))
    return z3.Or(*pairs) if pairs else z3.BoolVal(False)


def reaches(shares: list[Any], endpoints: tuple[Endpoint, ...], ratio: Fraction | None) -> Any:
    """Some two present pods' shares differ by ``ratio`` or more (``None``: a pod gets nothing)."""
    pairs = []
    for a in range(len(shares)):
        for b in range(len(shares)):
            if a != b:
                pa, pb = lift(endpoints[a].pod.present), lift(endpoints[b].pod.present)
                far = shares[b] == 0 if ratio is None else shares[a] >= z3.RealVal(ratio) * shares[b]
                pairs.append(z3.And(pa, pb, shares[a] > 0, far))
    return z3.Or(*pairs) if pairs else z3.BoolVal(False)


def concrete_ratio(cluster: Any, flow: Flow, pods: list[str]) -> tuple[Fraction | None, dict[str, Fraction]]:
    """The executable model's worst ratio on a concrete cluster (``None``: a Ready pod gets nothing)."""
    from kverify.check.exhaustive import shares
    from kverify.concrete.index import index_of

    got = shares(cluster, flow)
    service = index_of(cluster).services_by_key[flow.service]
    by_pod = {e.pod: e.ip for e in service.endpoints}
    spread = {pod: got.get(by_pod[pod], Fraction(0)) for pod in pods if pod in by_pod}
    if not spread:
        return Fraction(1), spread
    low, high = min(spread.values()), max(spread.values())
    return (None if low == 0 else high / low), spread


def worst_ratio(
    solver: z3.Solver,
    u: PlacementUniverse,
    shares: list[Any],
    endpoints: tuple[Endpoint, ...],
    decode: Any,
    replay_cluster: Any,
    flow: Flow,
    deadline: float,
) -> tuple[Fraction | None, Placement | None, dict[str, Fraction], bool]:
    """The largest ratio any placement gives (``None``: infinite), its placement, its shares, and
    whether the search finished (False: the deadline or the round limit came first)."""
    best: Fraction | None = Fraction(1)
    best_placement: Placement | None = None
    best_spread: dict[str, Fraction] = {}
    for _ in range(MAX_ROUNDS):
        if time.perf_counter() > deadline:
            return best, best_placement, best_spread, False
        assert best is not None
        result = solver.check(beats(shares, endpoints, best))
        if result == z3.unknown:
            return best, best_placement, best_spread, False
        if result == z3.unsat:
            return best, best_placement, best_spread, True
        placement = decode(solver.model())
        cluster = replay_cluster(placement)
        ratio, spread = concrete_ratio(cluster, flow, sorted(placement.pods))
        if ratio is not None and ratio <= best:
            raise InternalError(
                f"the solver's placement ({describe(placement)}) should give a share ratio above {best}, "
                f"the executable model gives {ratio}"
            )
        best, best_placement, best_spread = ratio, placement, spread
        if ratio is None:
            return None, placement, spread, True
    return best, best_placement, best_spread, False


__all__ = ["beats", "concrete_ratio", "materialise", "share_terms", "worst_ratio"]
