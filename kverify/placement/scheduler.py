"""The scheduler's constraints on a placement, as Z3 constraints over a :class:`PlacementUniverse`.

Modelled (kube-scheduler filter plugins, ``pkg/scheduler/framework/plugins``):

- ``NodeAffinity`` (nodeSelector and required node affinity) and ``TaintToleration``: a pod goes only
  on an eligible slot (``universe.py``); ``NodeName`` pins it.
- ``InterPodAffinity``, required anti-affinity: no two pods matched by a term share a topology domain
  (``interpodaffinity/filtering.go``; a node without the topology label never conflicts). Required pod
  *affinity* is not modelled: :func:`unsupported` says so and the claim comes back Unknown.
- ``PodTopologySpread`` with ``whenUnsatisfiable: DoNotSchedule`` (``podtopologyspread/filtering.go``):
  a pod's domain may hold at most ``maxSkew`` more matching pods than the least-loaded eligible
  domain (``minDomains`` not met: that minimum is 0); a node without the topology label is never
  chosen. The filter runs per pod, in some order; every final placement that satisfies the skew
  bound can be reached by adding pods to the least-loaded domain first, and every reachable one
  satisfies it, so the bound on the final placement is exact. ``nodeAffinityPolicy`` (default Honor)
  and ``nodeTaintsPolicy`` (default Ignore: tainted nodes still count as domains, so replicas can
  stay Pending) decide which nodes count. ``ScheduleAnyway`` is a preference and constrains nothing.
- ``NodePorts``: pods on the host network listen on the node's ports (``hostPort`` defaults to the
  container port), so two of them with a common port never share a node.

Steady state: every replica is scheduled (and Ready). A design where that is impossible is reported
on its own by :func:`kverify.placement.solve.schedulable`.
"""

from __future__ import annotations

from typing import Any

import z3

from kverify.model.workload import HOSTNAME_LABEL, PodAffinityTerm, SpreadConstraint, Workload
from kverify.placement.universe import NO_DOMAIN, PlacementUniverse, Pod


def unsupported(workloads: tuple[Workload, ...]) -> str | None:
    """Why the placement of these workloads cannot be decided, if it cannot."""
    for w in workloads:
        if w.scheduling.affinity:
            return f"{w.key} has required pod affinity, which the placement solver does not model"
        for c in w.scheduling.spread:
            if c.when_unsatisfiable == "DoNotSchedule" and c.min_domains is not None and c.min_domains < 1:
                return f"{w.key}: topologySpreadConstraints minDomains must be at least 1"
    return None


def _selected(u: PlacementUniverse, owner: Workload, term_selector: Any, namespaces: tuple[str, ...]) -> list[Pod]:
    spaces = namespaces or (owner.namespace,)
    return [p for p in u.pods if p.workload.namespace in spaces and term_selector.matches(p.workload.label_map)]


def _same_domain(u: PlacementUniverse, key: str, a: Pod, b: Pod) -> Any:
    if key == HOSTNAME_LABEL:
        return a.node == b.node  # a Python bool when both slots are known, else a Z3 term
    domains = [u.domain(key, j) for j in range(u.k)]
    da, db = u.at(domains, a.node), u.at(domains, b.node)
    return z3.And(_int(da) == _int(db), _int(da) != NO_DOMAIN)


def _int(x: Any) -> Any:
    return z3.IntVal(x) if isinstance(x, int) else x


def anti_affinity(u: PlacementUniverse, workload: Workload, term: PodAffinityTerm) -> list[Any]:
    """Pods of ``workload`` never share a ``term.topology_key`` domain with pods the term selects."""
    mine = u.pods_of(workload)
    others = _selected(u, workload, term.selector, term.namespaces)
    c: list[Any] = []
    seen: set[tuple[int, int]] = set()
    for a in mine:
        for b in others:
            if a is b:
                continue
            pair = tuple(sorted((id(a), id(b))))
            if pair in seen:
                continue
            seen.add(pair)  # type: ignore[arg-type]
            same = _same_domain(u, term.topology_key, a, b)
            if isinstance(same, bool):
                if same and a.present is True and b.present is True:
                    c.append(z3.BoolVal(False))
                continue
            c.append(z3.Not(z3.And(_bool(a.present), _bool(b.present), same)))
    return c


def _bool(x: Any) -> Any:
    return z3.BoolVal(x) if isinstance(x, bool) else x


def spread(u: PlacementUniverse, workload: Workload, constraint: SpreadConstraint) -> list[Any]:
    """``DoNotSchedule`` topology spread of ``workload``'s pods over ``constraint.topology_key``."""
    if constraint.when_unsatisfiable != "DoNotSchedule":
        return []
    key = constraint.topology_key
    counted = _selected(u, workload, constraint.selector, ())
    domains = u.domain_count(key)
    slot_domain = [u.domain(key, j) for j in range(u.k)]

    def counts_as_domain(j: int) -> Any:
        # Which nodes are domains: present, labelled, and per the two policies.
        parts = [_bool(u.present[j]), _int(slot_domain[j]) != NO_DOMAIN]
        if constraint.node_affinity_policy == "Honor":
            parts.append(_bool(u.matches_node_affinity(workload, j)))
        if constraint.node_taints_policy == "Honor":
            parts.append(_bool(u.eligible(workload, j)))
        return z3.And(*parts)

    exists = [
        z3.Or(*[z3.And(counts_as_domain(j), _int(slot_domain[j]) == d) for j in range(u.k)]) for d in range(domains)
    ]
    pod_domain = {id(p): _int(u.at(slot_domain, p.node)) for p in counted}
    count = [
        z3.Sum([z3.If(z3.And(_bool(p.present), pod_domain[id(p)] == d), 1, 0) for p in counted] or [z3.IntVal(0)])
        for d in range(domains)
    ]
    minimum = z3.Int(f"spread_min_{workload.namespace}/{workload.name}_{key}_{id(constraint)}")
    c: list[Any] = [z3.Or(*[z3.And(exists[d], minimum == count[d]) for d in range(domains)] or [z3.BoolVal(False)])]
    c += [z3.Implies(exists[d], minimum <= count[d]) for d in range(domains)]
    if constraint.min_domains is not None:
        n_domains = z3.Sum([z3.If(e, 1, 0) for e in exists])
        minimum = z3.If(n_domains < constraint.min_domains, 0, minimum)
    for p in u.pods_of(workload):
        d = _int(u.at(slot_domain, p.node))
        c.append(z3.Implies(_bool(p.present), d != NO_DOMAIN))
        for dom in range(domains):
            c.append(z3.Implies(z3.And(_bool(p.present), d == dom), count[dom] - minimum <= constraint.max_skew))
    return c


def host_ports(u: PlacementUniverse) -> list[Any]:
    """Host-network pods that share a port number never share a node (``NodePorts`` filter)."""
    c: list[Any] = []
    host = [p for p in u.pods if p.workload.host_network]
    for i, a in enumerate(host):
        ports_a = {(cp.port, cp.protocol) for cp in a.workload.ports}
        for b in host[i + 1 :]:
            if ports_a & {(cp.port, cp.protocol) for cp in b.workload.ports}:
                same = a.node == b.node
                if isinstance(same, bool):
                    if same:
                        c.append(z3.Not(z3.And(_bool(a.present), _bool(b.present))))
                    continue
                c.append(z3.Not(z3.And(_bool(a.present), _bool(b.present), same)))
    return c


def constraints(u: PlacementUniverse) -> list[Any]:
    """Every scheduler constraint on the universe's pods, and the universe's own."""
    c = list(u.constraints) + u.pool_order()
    for w in u.workloads:
        for term in w.scheduling.anti_affinity:
            c += anti_affinity(u, w, term)
        for sc in w.scheduling.spread:
            c += spread(u, w, sc)
    c += host_ports(u)
    return c
