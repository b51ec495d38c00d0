"""Where a workload's pods can be before a change: every placement the scheduler allows, up to symmetry.

The solver enumerates them (:mod:`kverify.placement`): the scheduler's constraints, plus an order on
interchangeable nodes (same pool, labels and taints: a node holds at least as many of the pods as the
next such node), so each placement is found once whatever the node names. Then, during the change,
:func:`schedulable` is the same filter applied to one more pod with every other pod fixed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping

import z3

from kverify.model.workload import HOSTNAME_LABEL, Workload
from kverify.placement import scheduler
from kverify.placement.design import Design
from kverify.placement.universe import PlacementUniverse, Slot

SEED = 0


def signature(slot: Slot) -> tuple[object, ...]:
    """What makes two nodes interchangeable for the scheduler and for routing (all but their names)."""
    labels = tuple(sorted((k, v) for k, v in (slot.labels or {}).items() if k != HOSTNAME_LABEL))
    return (slot.pool, labels, slot.taints)


def initial_placements(
    design: Design, workload: Workload, *, limit: int, timeout_ms: int
) -> tuple[PlacementUniverse, list[dict[str, str]], str | None]:
    """The universe, every placement of ``workload`` (pod name -> node name) up to symmetry, and why
    the enumeration is incomplete (None: it is complete)."""
    u = PlacementUniverse(design, (workload,))
    solver = z3.Solver()
    solver.set("random_seed", SEED)
    solver.set("timeout", max(1, timeout_ms))
    solver.add(*scheduler.constraints(u))
    pods = u.pods_of(workload)
    # A run of interchangeable nodes: a placement maps onto one that uses only the run's first len(pods)
    # nodes, holding non-increasing numbers of pods (permuting a run changes no label, taint or rule).
    usable: list[int] = []
    run_start = 0
    for j in range(u.k):
        if j and signature(u.slots[j - 1]) != signature(u.slots[j]):
            run_start = j
        if j - run_start < len(pods):
            usable.append(j)
    for p in pods:
        solver.add(z3.Or([p.node == j for j in usable]))
    counts = {j: z3.Sum([z3.If(p.node == j, 1, 0) for p in pods]) for j in usable} if pods else {}
    for a, b in itertools.pairwise(usable):
        if b == a + 1 and signature(u.slots[a]) == signature(u.slots[b]):
            solver.add(counts[a] >= counts[b])
    found: list[dict[str, str]] = []
    while True:
        result = solver.check()
        if result == z3.unsat:
            return u, found, None
        if result == z3.unknown:
            return u, found, f"solver: {solver.reason_unknown()}"
        if len(found) >= limit:
            return u, found, f"more than {limit} placements of {workload.key}"
        model = solver.model()
        values = [model.eval(p.node, model_completion=True).as_long() for p in pods]
        found.append({p.name: u.slots[v].name for p, v in zip(pods, values, strict=True)})
        if not pods:
            return u, found, None
        solver.add(z3.Or([p.node != v for p, v in zip(pods, values, strict=True)]))


def schedulable(
    workload: Workload, slot: Slot, present: Mapping[str, int], domains: Mapping[str, Mapping[str, str]]
) -> bool:
    """The scheduler's filters for one more pod of ``workload`` on ``slot``, given how many of its pods
    (old, new or terminating: the scheduler counts a pod until it is gone) each node holds now.
    NodeAffinity and TaintToleration (``Scheduling.node_allowed``), required anti-affinity between the
    workload's own pods (InterPodAffinity; a node without the topology label never conflicts), and
    NodePorts for host-network pods. ``domains``: node name -> labels."""
    labels = slot.labels or {}
    if not workload.scheduling.node_allowed(labels, slot.taints):
        return False
    if workload.host_network and workload.ports and present.get(slot.name, 0):
        return False
    for term in workload.scheduling.anti_affinity:
        if not term.selector.matches(workload.label_map):
            continue
        value = labels.get(term.topology_key)
        if value is None:
            continue
        if any(n and domains[node].get(term.topology_key) == value for node, n in present.items()):
            return False
    return True


def other_workloads_matter(design: Design, workload: Workload) -> str | None:
    """Why placing only ``workload`` during a change would be wrong (another workload's pods count for
    its anti-affinity or spread, or it spreads at all), if so."""
    s = workload.scheduling
    if s.affinity:
        return f"{workload.key} has required pod affinity, which is not modelled during a change"
    if any(c.when_unsatisfiable == "DoNotSchedule" for c in s.spread):
        return f"{workload.key} has topologySpreadConstraints (DoNotSchedule), which are not modelled during a change"
    others: Iterable[Workload] = (
        w for w in design.workloads if w is not workload and w.namespace == workload.namespace
    )
    for other in others:
        for term in s.anti_affinity:
            if term.selector.matches(other.label_map):
                return f"{workload.key}'s anti-affinity also matches {other.key}, which is not modelled during a change"
    return None
