"""A brute-force oracle for the placement solver: every placement enumerated, each routed concretely.

It checks the scheduler's constraints on a concrete placement in plain Python (written from the
kube-scheduler plugins' documented behaviour, independently of ``kverify.placement.scheduler``), builds
the cluster with :func:`kverify.placement.materialise.materialise` and routes every flow with the
executable model. Only for small designs: the number of placements grows as slots ** pods.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator

from kverify.check.exhaustive import PROPERTIES, at_most_hops
from kverify.concrete import route
from kverify.concrete.index import index_of
from kverify.model import Flow, Service
from kverify.model.workload import HOSTNAME_LABEL, Workload, WorkloadKind
from kverify.placement.design import Design, backends_of
from kverify.placement.materialise import Placement, materialise
from kverify.placement.universe import Slot


def slots_of(design: Design) -> list[Slot]:
    """Node pools expanded (the oracle works on fully described clusters only)."""
    out = []
    for pool in design.node_pools:
        for i in range(pool.max_count):
            name = f"{pool.name}-{i + 1}"
            out.append(Slot(name=name, labels=pool.label_map(name), taints=pool.taints, pool=pool.name))
    return out


def _domain(slot: Slot, key: str) -> str | None:
    assert slot.labels is not None
    return slot.labels.get(key)


def feasible(design: Design, workloads: list[Workload], nodes: list[Slot], where: dict[str, Slot]) -> bool:
    """Every pod on an allowed node, anti-affinity and DoNotSchedule spread respected, host ports free."""
    pods_of: dict[str, list[tuple[str, Slot]]] = {}
    for pod, slot in where.items():
        pods_of.setdefault(pod.rsplit("-", 1)[0], []).append((pod, slot))

    def of(w: Workload) -> list[tuple[str, Slot]]:
        return pods_of.get(f"{w.namespace}/{w.name}", [])

    for w in workloads:
        mine = of(w)
        for _, slot in mine:
            assert slot.labels is not None
            if not w.scheduling.node_allowed(slot.labels, slot.taints):
                return False
        for term in w.scheduling.anti_affinity:
            others = [p for o in workloads if term.selector.matches(o.label_map) for p in of(o)]
            for name_a, a in mine:
                for name_b, b in others:
                    da = _domain(a, term.topology_key)
                    if name_a != name_b and da is not None and da == _domain(b, term.topology_key):
                        return False
        for c in w.scheduling.spread:
            if c.when_unsatisfiable != "DoNotSchedule":
                continue
            matching = [o for o in workloads if o.namespace == w.namespace and c.selector.matches(o.label_map)]
            counted = [slot for o in matching for _, slot in of(o)]
            domains = set()
            for s in nodes:
                assert s.labels is not None
                if _domain(s, c.topology_key) is None:
                    continue
                if c.node_affinity_policy == "Honor" and not w.scheduling.matches_node(s.labels):
                    continue
                if c.node_taints_policy == "Honor" and not w.scheduling.tolerates_all(s.taints):
                    continue
                domains.add(_domain(s, c.topology_key))
            counts = Counter(_domain(s, c.topology_key) for s in counted)
            low = min((counts.get(d, 0) for d in domains), default=0)
            if c.min_domains is not None and len(domains) < c.min_domains:
                low = 0
            for _, slot in mine:
                d = _domain(slot, c.topology_key)
                if d is None or counts[d] - low > c.max_skew:
                    return False
    host = [(w, slot) for w in workloads if w.host_network for _, slot in of(w)]
    for (wa, a), (wb, b) in itertools.combinations(host, 2):
        if a is b and {p.port for p in wa.ports} & {p.port for p in wb.ports}:
            return False
    return True


def placements(design: Design, workloads: list[Workload]) -> Iterator[Placement]:
    """Every feasible placement of ``workloads`` with every pool size in its range."""
    pools = design.node_pools
    sizes = [range(p.min_count, p.max_count + 1) for p in pools]
    for counts in itertools.product(*sizes):
        nodes = [
            Slot(name=f"{p.name}-{i + 1}", labels=p.label_map(f"{p.name}-{i + 1}"), taints=p.taints, pool=p.name)
            for p, n in zip(pools, counts, strict=True)
            for i in range(n)
        ]
        pods: list[tuple[str, Workload]] = []
        daemon: list[tuple[str, Workload, Slot]] = []
        for w in workloads:
            if w.kind is WorkloadKind.DAEMON_SET:
                mine = [
                    (f"{w.namespace}/{w.name}-{j}", w, s)
                    for j, s in enumerate(nodes)
                    if s.labels is not None and w.scheduling.node_allowed(s.labels, s.taints)
                ]
                if not mine:
                    break  # a DaemonSet no node can take is not scheduled: no placement of this size
                daemon += mine
            else:
                pods += [(f"{w.namespace}/{w.name}-{i}", w) for i in range(w.replicas or 0)]
        else:
            yield from _assignments(design, workloads, nodes, pods, daemon)


def _assignments(
    design: Design,
    workloads: list[Workload],
    nodes: list[Slot],
    pods: list[tuple[str, Workload]],
    daemon: list[tuple[str, Workload, Slot]],
) -> Iterator[Placement]:
    """Every assignment of ``pods`` to ``nodes`` (DaemonSet pods fixed) the scheduler allows."""
    owners = {name: f"{w.namespace}/{w.name}" for name, w in pods}
    owners |= {name: f"{w.namespace}/{w.name}" for name, w, _ in daemon}
    for choice in itertools.product(nodes, repeat=len(pods)):
        where = {name: slot for (name, _), slot in zip(pods, choice, strict=True)}
        where.update({name: slot for name, _, slot in daemon})
        if feasible(design, workloads, nodes, where):
            yield Placement(
                nodes=tuple(s.name for s in nodes), pods={p: s.name for p, s in where.items()}, owners=owners
            )


def violated(
    design: Design, service: Service, flow: Flow, prop: str, hops: int | None = None
) -> Placement | bool | None:
    """The first placement whose concrete routing breaks ``prop`` (None: none does; False: no placement)."""
    port = service.port(flow.port, flow.protocol)
    assert port is not None
    workloads = list(dict.fromkeys(b.workload for b in backends_of(design, service, port)))
    check = at_most_hops(hops or 0) if prop == "at-most-hops" else PROPERTIES[prop]
    any_placement = False
    for placement in placements(design, workloads):
        any_placement = True
        cluster = materialise(design, service, placement, slots_of(design))
        names = frozenset(index_of(cluster).node_position)
        if any(check.violation(o, names) is not None for o in route(cluster, flow)):
            return placement
    return None if any_placement else False


__all__ = ["HOSTNAME_LABEL", "feasible", "placements", "slots_of", "violated"]
