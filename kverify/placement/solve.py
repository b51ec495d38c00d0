"""Deciding a claim over every placement: the scheduler's constraints and the rule table, one formula.

``decide_over_placements`` asks Z3 for a placement (and arrival node, and outcome) that breaks the
claim. Unsatisfiable: the claim is proved for every placement in the stated scope. Satisfiable: the
smallest such placement (fewest nodes, then fewest pods) is decoded, made concrete
(``materialise.py``) and replayed through the executable model, which must show the same violation
(a disagreement is an internal error, never output). A solver timeout is Unknown, never Proved.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import attrs
import z3

from kverify.errors import InputError, InternalError, Problem
from kverify.model import ClientKind, Destination, Flow, LoadBalancerProfile, Service
from kverify.model.enums import POD_TARGET_PROFILES
from kverify.model.workload import EXCLUDE_FROM_LB_LABEL, ZONE_LABEL, Taint, Workload
from kverify.placement import scheduler
from kverify.placement.design import Backend, Design, backends_of, with_pool_nodes
from kverify.placement.flow import FlowTerms, endpoints_of, flow_terms, holds, no_node_announces, template
from kverify.placement.materialise import Placement, describe, materialise
from kverify.placement.realise import realise
from kverify.placement.universe import PlacementUniverse
from kverify.semantics.vocabulary import LB_LABEL_NONE
from kverify.verdicts import Counterexample, Proved, Refuted, Unknown, Verdict

DEFAULT_TIMEOUT_MS = 30_000
SEED = 0


@attrs.frozen(kw_only=True)
class PlacementVerdict:
    """A verdict over placements, and the placement that decided it (refuted) if any."""

    verdict: Verdict
    placement: Placement | None = None


def workloads_to_place(design: Design, backends: tuple[Backend, ...]) -> tuple[Workload, ...]:
    """The Service's workloads, and the ones their anti-affinity and spread terms count."""
    chosen: list[Workload] = []
    for b in backends:
        if b.workload not in chosen:
            chosen.append(b.workload)
    for w in list(chosen):
        selectors = [(t.selector, t.namespaces) for t in w.scheduling.anti_affinity]
        selectors += [(c.selector, ()) for c in w.scheduling.spread if c.when_unsatisfiable == "DoNotSchedule"]
        for selector, spaces in selectors:
            for other in design.workloads:
                same_space = other.namespace in (spaces or (w.namespace,))
                if other not in chosen and same_space and selector.matches(other.label_map):
                    chosen.append(other)
    return tuple(chosen)


def _solver(timeout_ms: int) -> z3.Solver:
    solver = z3.Solver()
    solver.set("random_seed", SEED)
    solver.set("timeout", max(1, int(timeout_ms)))
    return solver


def scope_of(design: Design, u: PlacementUniverse, service: Service) -> str:
    pods = sum(w.replicas or 0 for w in u.workloads if w.replicas is not None)
    what = (
        ", ".join(
            f"{w.kind.spelling} {w.namespace}/{w.name} ({'one per node' if w.replicas is None else w.replicas})"
            for w in u.workloads
        )
        or "no workload selected by the Service"
    )
    dataplane = design.cluster.proxy.dataplane.spelling
    if design.cluster.nodes:
        where = f"the {len(design.cluster.nodes)} Node(s) of the manifests"
    elif design.node_pools:
        where = "node pools " + ", ".join(
            f"{p.name} ({p.min_count}{'' if p.min_count == p.max_count else f'-{p.max_count}'} nodes)"
            for p in design.node_pools
        )
    else:
        where = f"every cluster (any number of nodes, labels, taints and zones; {u.k} node slots represent them all"
        where += f": {pods} pod(s) use at most {pods} nodes, plus the arrival node and one more" if pods else ""
        where += f"; no node labelled {EXCLUDE_FROM_LB_LABEL})"
    return f"every placement of {what} on {where}, {dataplane}"


def design_time_gap(design: Design, service: Service, backends: tuple[Backend, ...]) -> str | None:
    """Why a Service's routing depends on something placement does not decide, if it does."""
    if service.traffic_distribution:
        return (
            f"trafficDistribution: {service.traffic_distribution}: the EndpointSlice controller's zone hints are "
            "not modelled at design time (decide it on a snapshot with EndpointSlices)"
        )
    if service.selector is None:
        # No controller makes its endpoints (Kubernetes docs, "Services without selectors"): they are an
        # EndpointSlice or Endpoints written by hand or by an operator, and none is in the manifests.
        return (
            "the Service has no selector: its endpoints are EndpointSlices (or an Endpoints object) written by "
            "hand or by an operator, and the manifests give none: add them to decide it"
        )
    if not backends and (sources := unmodelled_pod_sources(design, service)):
        named = ", ".join(f"{kind} {namespace}/{name}" for kind, namespace, name in sources[:3])
        more = f" and {len(sources) - 3} more" if len(sources) > 3 else ""
        return (
            f"no workload in the manifests serves the Service, but {named}{more}, of kinds kverify does not "
            "model, may create its pods: decide it on a snapshot"
        )
    return None


def _unpinned(design: Design, flow: Flow, service: Service) -> str | None:
    """A flow whose answer depends on a change kverify read but did not pin to a release, where a placement
    decides whether it applies (rule nftables-no-endpoint-nodeports-output: a node without a local pod)."""
    from kverify.concrete import nodeport_split

    if nodeport_split.may_apply(design.cluster, flow, service):
        return f"{nodeport_split.NOT_MODELLED} (a placement may leave the node without a pod of the Service)"
    return None


def _load_balancer_gap(design: Design, service: Service) -> str | None:
    """Why LB flows are not decided at design time: a profile not modelled on the dataplane (Cilium L2
    announcements without Cilium: its rule sends to no node, which would prove every claim vacuously),
    or the LB exclusion label on a node or pool."""
    from kverify.concrete.unknown_lb import unmodelled_reason

    cluster = design.cluster
    reason = unmodelled_reason(cluster.load_balancer_for(service), cluster.proxy.dataplane)
    return reason or _lb_exclusion_at_design_time(design, service)


def _lb_exclusion_at_design_time(design: Design, service: Service) -> str | None:
    """Why LB flows are not decided when a Node or a pool carries the LB exclusion label and the load balancer
    picks nodes by selectors kverify does not read (Cilium: :mod:`kverify.concrete.lb_exclusion`). The other
    load balancers' reading of the label is the rule table's (``lb-exclude-label``), read over the slots."""
    from kverify.concrete.lb_exclusion import exclusion_reason

    return exclusion_reason(with_pool_nodes(design), service)


def unmodelled_pod_sources(design: Design, service: Service) -> tuple[tuple[str, str, str], ...]:
    """Skipped objects in the Service's namespace that may create its pods."""
    return tuple(source for source in design.pod_sources if source[1] == service.namespace)


def schedulable(
    design: Design,
    workloads: tuple[Workload, ...],
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    universe: PlacementUniverse | None = None,
) -> str | None:
    """Why no placement schedules every replica of ``workloads`` (None: some placement does)."""
    if not workloads:
        return None
    u = universe if universe is not None else PlacementUniverse(design, workloads)
    solver = _solver(timeout_ms)
    solver.add(*u.pool_order())
    added = 0

    def add_universe_constraints() -> None:  # building a stage may declare topology domains
        nonlocal added
        solver.add(*u.constraints[added:])
        added = len(u.constraints)

    add_universe_constraints()
    stages: list[tuple[str, Callable[[], list[Any]]]] = [
        (
            "anti-affinity",
            lambda: [
                c for w in workloads for t in w.scheduling.anti_affinity for c in scheduler.anti_affinity(u, w, t)
            ],
        ),
        (
            "topologySpreadConstraints",
            lambda: [c for w in workloads for s in w.scheduling.spread for c in scheduler.spread(u, w, s)],
        ),
        ("host ports (hostNetwork)", lambda: scheduler.host_ports(u)),
    ]
    result = solver.check()
    if result == z3.unsat:
        return _no_node_reason(u, workloads)
    for label, build in stages:
        solver.add(*build())
        add_universe_constraints()
        result = solver.check()
        if result == z3.unsat:
            names = ", ".join(w.key for w in workloads)
            return f"replicas of {names} stay Pending: the {label} constraints cannot all be met on {_where(design)}"
    if result == z3.unknown:
        return None  # undecided: the claims themselves will say Unknown if the solver times out
    return None


def _no_node_reason(u: PlacementUniverse, workloads: tuple[Workload, ...]) -> str:
    """Which workload no node can take, and the part of its pod spec no node satisfies."""
    for w in workloads:
        if any(u.eligible(w, j) is not False for j in range(u.k)):
            continue
        s = w.scheduling
        labelled = [slot for slot in u.slots if slot.labels is not None]
        if s.node_name is not None:
            why = f"spec.nodeName {s.node_name!r} names no node"
        elif labelled and not any(s.matches_node(slot.labels or {}) for slot in labelled):
            selector = ", ".join(f"{r.key} {r.operator} {list(r.values)}" for r in s.node_selector.requirements)
            why = f"no node matches its nodeSelector ({selector})" if selector else "no node matches its node affinity"
        else:
            why = "every node that matches its node selector has a taint it does not tolerate"
        return f"no node can take the pods of {w.key}: {why}"
    names = ", ".join(w.key for w in workloads)
    return f"replicas of {names} stay Pending: not enough nodes for all of them"


def _where(design: Design) -> str:
    if design.cluster.nodes:
        return f"the {len(design.cluster.nodes)} Node(s) given"
    if design.node_pools:
        return "the node pools described"
    return "any cluster"


def decide_over_placements(
    design: Design,
    flow: Flow,
    prop: str,
    *,
    claim: str,
    hops: int | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    files: tuple[str, ...] | None = None,
) -> PlacementVerdict:
    """``prop`` holds for every outcome of ``flow`` in every placement, or the smallest placement that breaks it."""
    started = time.perf_counter()
    cluster = design.cluster
    dataplane = cluster.proxy.dataplane
    service = cluster.service(flow.service)
    if service is None:
        known = ", ".join(s.key for s in cluster.services) or "none"
        raise InputError(Problem(f'Not found: "{flow.service}" (services: {known})', field="service"))

    def unknown(reason: str, scope: str = "") -> PlacementVerdict:
        seconds = time.perf_counter() - started
        return PlacementVerdict(
            verdict=Unknown(claim=claim, dataplane=dataplane, reason=reason, scope=scope, seconds=seconds)
        )

    if service.headless:
        return unknown(
            "the Service is headless (clusterIP: None): clients reach pods directly, kverify models proxied Services"
        )
    if flow.destination is Destination.HEALTH_CHECK_NODE_PORT:
        return unknown("health-check flows are decided on snapshots, not over placements")
    if flow.destination is Destination.LOAD_BALANCER and (reason := _load_balancer_gap(design, service)):
        return unknown(reason)
    base, port = template(design, service, flow)
    backends = backends_of(design, service, port)
    if (reason := design_time_gap(design, service, backends) or _unpinned(design, flow, service)) is not None:
        return unknown(reason)
    workloads = workloads_to_place(design, backends)
    if (reason := scheduler.unsupported(workloads)) is not None:
        return unknown(reason)
    u = PlacementUniverse(design, workloads)
    if (reason := schedulable(design, workloads, timeout_ms, u)) is not None:
        return unknown(reason)
    scope = scope_of(design, u, service)
    arrival = _named_slot(u, flow)
    endpoints = endpoints_of(u, backends)
    terms = flow_terms(u, base, endpoints, flow, arrival)
    solver = _solver(timeout_ms)
    solver.add(*scheduler.constraints(u), *terms.well_formed)
    lb_flow = flow.client is ClientKind.EXTERNAL and flow.destination is Destination.LOAD_BALANCER and flow.node is None
    violation = z3.Not(holds(terms, prop, hops))
    if lb_flow:
        at_picked = z3.And(terms.lb_picks, violation)
        profile = cluster.load_balancer_for(service)
        metallb = profile in (
            LoadBalancerProfile.METALLB_L2,
            LoadBalancerProfile.METALLB_BGP,
        )
        # Every node left out by the LB exclusion label (rule lb-exclude-label): the LB has no target either.
        labelled = profile not in POD_TARGET_PROFILES and any(label != LB_LABEL_NONE for label in u.lb_labels)
        if (metallb or labelled) and prop in ("delivered", "never-dropped"):  # nobody receiving drops every packet
            violation = z3.Or(at_picked, no_node_announces(u, base, endpoints, flow, cluster))
        else:
            violation = at_picked
    solver.add(violation)
    result = solver.check()
    seconds = lambda: time.perf_counter() - started  # noqa: E731
    if result == z3.unknown:
        return unknown(f"solver: {solver.reason_unknown()}", scope)
    if result == z3.unsat:
        return PlacementVerdict(verdict=Proved(claim=claim, dataplane=dataplane, scope=scope, seconds=seconds()))
    model = _smallest(solver, u, terms)
    placement = _decode(u, model)
    cx = _replay(design, service, flow, prop, hops, terms, model, placement, u, claim, files)
    verdict = Refuted(claim=claim, dataplane=dataplane, scope=scope, counterexample=cx, seconds=seconds())
    return PlacementVerdict(verdict=verdict, placement=placement)


def _named_slot(u: PlacementUniverse, flow: Flow) -> int | None:
    if flow.node is None:
        return None
    names = [s.name for s in u.slots]
    if u.abstract or flow.node not in names:
        known = ", ".join(names) if not u.abstract else "none: the spec describes no nodes"
        raise InputError(Problem(f'Not found: "{flow.node}" (nodes: {known})', field="node"))
    return names.index(flow.node)


def _smallest(solver: z3.Solver, u: PlacementUniverse, terms: FlowTerms | None) -> z3.ModelRef:
    """The canonical smallest model: fewest nodes, then the least value of each decision variable in
    a fixed order (slots, labels, arrival node, pods, outcome). It depends only on the formula, not on
    the solver's history, so a counterexample's id is the same in every run and every process."""
    count = u.node_count()
    size = solver.model().eval(count, model_completion=True).as_long()
    model = solver.model()
    solver.push()
    for n in range(u.size_floor, size + 1):
        if solver.check(count == n) == z3.sat:
            model = solver.model()  # before add(): adding a constraint discards the model
            solver.add(count == n)
            break
    for var in [p for p in u.present if z3.is_expr(p)] + [b for bits in u._eligible.values() for b in bits]:
        model, _ = _least(solver, var, model)
    for var in [d for ds in u._domains.values() for d in ds if z3.is_expr(d)]:
        model, _ = _least(solver, var, model)
    if terms is not None and z3.is_expr(terms.h):
        model, _ = _least(solver, terms.h, model)
    previous: tuple[Any, int] = (None, -1)
    for pod in u.pods:
        if z3.is_expr(pod.node):
            floor = previous[1] if previous[0] is pod.workload else -1
            model, value = _least(solver, pod.node, model, floor)
            previous = (pod.workload, value)
    if terms is not None:
        model, _ = _least(solver, terms.choice, model)
    solver.pop()
    return model


def _least(solver: z3.Solver, var: Any, model: z3.ModelRef, floor: int = -1) -> tuple[z3.ModelRef, int]:
    """Fix ``var`` to its least satisfiable value (True before False for a Boolean); ``floor`` is a
    value no smaller one can take (every domain starts at -1; a pod's node is at least its
    predecessor's). Returns a model with the value, and the value (0/1 for a Boolean)."""
    if z3.is_bool(var):
        if z3.is_true(model.eval(var, model_completion=True)):
            solver.add(var)
            return model, 1
        if solver.check(var) == z3.sat:
            model = solver.model()
            solver.add(var)
            return model, 1
        solver.add(z3.Not(var))
        return model, 0
    low, high = floor, model.eval(var, model_completion=True).as_long()
    if low < high:  # the floor first: most pods share their predecessor's node in the least placement
        if solver.check(var <= low) == z3.sat:
            high, model = low, solver.model()
        else:
            low += 1
    while low < high:
        mid = (low + high) // 2
        if solver.check(var <= mid) == z3.sat:
            high = mid
            model = solver.model()
        else:
            low = mid + 1
    solver.add(var == high)
    return model, high


def _decode(u: PlacementUniverse, model: z3.ModelRef) -> Placement:
    def val(term: Any) -> Any:
        if isinstance(term, bool | int):
            return term
        v = model.eval(term, model_completion=True)
        return z3.is_true(v) if z3.is_bool(v) else v.as_long()

    present = [j for j in range(u.k) if val(u.present[j])]
    pods: dict[str, str] = {}
    owners: dict[str, str] = {}
    for p in u.pods:
        if val(p.present):
            pods[p.name] = u.slots[val(p.node)].name
            owners[p.name] = f"{p.workload.namespace}/{p.workload.name}"
    zones: dict[str, str | None] = {}
    labels: dict[str, Mapping[str, str]] = {}
    taints: dict[str, tuple[Taint, ...]] = {}
    if u.abstract:  # the solver chose each node's labels: make them real
        for j in present:
            name = u.slots[j].name
            domains = {}
            for key in u._domains:
                d = val(u.domain(key, j))
                domains[key] = f"{'zone' if key == ZONE_LABEL else key.rsplit('/', 1)[-1]}-{d + 1}" if d >= 0 else None
            zones[name] = domains.get(ZONE_LABEL)
            eligible = {w: bool(val(u.eligible(w, j))) for w in u.workloads if w.scheduling.node_name is None}
            labels[name], taints[name] = realise(name, eligible, domains)
    return Placement(
        nodes=tuple(u.slots[j].name for j in present),
        pods=pods,
        owners=owners,
        zones=zones,
        labels=labels,
        taints=taints,
    )


def _replay(
    design: Design,
    service: Service,
    flow: Flow,
    prop: str,
    hops: int | None,
    terms: FlowTerms,
    model: z3.ModelRef,
    placement: Placement,
    u: PlacementUniverse,
    claim: str,
    files: tuple[str, ...] | None,
) -> Counterexample:
    """The counterexample on the concrete cluster of ``placement``, as the executable model routes it."""
    from kverify.check.exhaustive import PROPERTIES, at_most_hops, counterexample
    from kverify.concrete import iter_route
    from kverify.concrete.index import index_of

    cluster = materialise(design, service, placement, u.slots)
    h = terms.h if isinstance(terms.h, int) else model.eval(terms.h, model_completion=True).as_long()
    arrival = u.slots[h].name
    replay_flow = attrs.evolve(flow, node=arrival)
    check = at_most_hops(hops or 0) if prop == "at-most-hops" else PROPERTIES[prop]
    names = index_of(cluster).node_names
    for candidate in (replay_flow, flow):
        for outcome in iter_route(cluster, candidate):
            why = check.violation(outcome, names)
            if why is not None:
                detail = f"{why}; placement: {describe(placement)}"
                shown = _shown(design, service, placement, u, candidate, check, arrival)
                if shown is not None:  # a large cluster: the manifest keeps the nodes that matter
                    small, small_cluster, small_outcome, left_out = shown
                    detail += f"; the manifest keeps {len(small.nodes)} node(s), {left_out} without a pod are left out"
                    cx = counterexample(small_cluster, candidate, small_outcome, claim, None, detail=detail)
                    return attrs.evolve(cx, placement=small.as_pairs())
                # The placed cluster exists nowhere but in the counterexample: it is written as its own manifest.
                cx = counterexample(cluster, candidate, outcome, claim, None, detail=detail)
                return attrs.evolve(cx, placement=placement.as_pairs())
    raise InternalError(
        f"the solver's placement ({describe(placement)}) breaks {claim!r} at {arrival}, "
        "but the executable model routes every outcome there within the claim"
    )


def _shown(
    design: Design,
    service: Service,
    placement: Placement,
    u: PlacementUniverse,
    flow: Flow,
    check: Any,
    arrival: str,
) -> tuple[Placement, Any, Any, int] | None:
    """For a placement on more than ``EXPORT_MAX_NODES`` nodes: the same placement on only the nodes
    with a pod of the Service and the arrival node, if the executable model shows the same violation
    there (it does whenever no rule looks at the nodes left out). ``None``: export the whole cluster."""
    from kverify.check.exhaustive import EXPORT_MAX_NODES
    from kverify.concrete import iter_route
    from kverify.concrete.index import index_of

    if len(placement.nodes) <= EXPORT_MAX_NODES:
        return None
    keep = tuple(n for n in placement.nodes if n == arrival or placement.pods_on(n))
    if len(keep) > EXPORT_MAX_NODES:
        return None
    small = attrs.evolve(placement, nodes=keep)
    cluster = materialise(design, service, small, u.slots)
    names = index_of(cluster).node_names
    for outcome in iter_route(cluster, flow):
        if check.violation(outcome, names) is not None:
            return small, cluster, outcome, len(placement.nodes) - len(keep)
    return None


@attrs.frozen(kw_only=True)
class WorstShare:
    """The largest ratio of Ready pods' shares any placement gives (``worst`` None: infinite, a pod gets
    nothing), on its canonical placement; or why it was not found (``unknown``)."""

    worst: Fraction | None = Fraction(1)
    placement: Placement | None = None
    finished: bool = True
    scope: str = ""
    unknown: str | None = None
    #: The placement made concrete (a Cluster), to replay it through the executable model.
    replay: Any = attrs.field(default=None, eq=False, repr=False)

    @property
    def shown(self) -> str:
        return "infinite (a Ready pod gets no traffic)" if self.worst is None else str(self.worst)


def worst_share_over_placements(design: Design, flow: Flow, *, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> WorstShare:
    """The worst share ratio over every placement of the Service's workloads (see :class:`WorstShare`)."""
    from kverify.placement.share import reaches, share_terms, worst_ratio

    started = time.perf_counter()
    cluster = design.cluster
    service = cluster.service(flow.service)
    if service is None:
        raise InputError(Problem(f'Not found: "{flow.service}"', field="service"))
    if service.headless:
        return WorstShare(unknown="the Service is headless")
    base, port = template(design, service, flow)
    backends = backends_of(design, service, port)
    workloads = workloads_to_place(design, backends)
    u = PlacementUniverse(design, workloads)
    reason = design_time_gap(design, service, backends) or _unpinned(design, flow, service)
    reason = reason or scheduler.unsupported(workloads)
    reason = reason or schedulable(design, workloads, timeout_ms, u)
    if reason is not None:
        return WorstShare(unknown=reason)
    scope = scope_of(design, u, service)
    endpoints = endpoints_of(u, backends)
    if not endpoints:
        reason = "the Service has no Ready pods to share traffic (no workload serves this port)"
        return WorstShare(unknown=reason, scope=scope)
    shares = share_terms(u, base, endpoints, flow)
    solver = _solver(timeout_ms)
    solver.add(*scheduler.constraints(u))
    deadline = started + timeout_ms / 1000

    def replay_cluster(placement: Placement) -> Any:
        return materialise(design, service, placement, u.slots)

    worst, placement, _, finished = worst_ratio(
        solver, u, shares, endpoints, lambda m: _decode(u, m), replay_cluster, flow, deadline
    )
    if finished and placement is not None:  # the canonical placement with that ratio: a stable id
        solver.push()
        solver.add(reaches(shares, endpoints, worst))
        if solver.check() == z3.sat:
            placement = _decode(u, _smallest(solver, u, None))
        solver.pop()
    return WorstShare(worst=worst, placement=placement, finished=finished, scope=scope, replay=replay_cluster)


def decide_share_over_placements(
    design: Design,
    flow: Flow,
    ratio: float,
    *,
    claim: str,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> PlacementVerdict:
    """Every Ready pod gets a share within ``ratio`` of every other's in every placement (Proved, with
    the worst ratio any placement gives), or the placement with the worst ratio (Refuted)."""
    from kverify.check.exhaustive import decide_share

    started = time.perf_counter()
    dataplane = design.cluster.proxy.dataplane
    found = worst_share_over_placements(design, flow, timeout_ms=timeout_ms)
    if found.unknown is not None:
        return PlacementVerdict(
            verdict=Unknown(claim=claim, dataplane=dataplane, reason=found.unknown, scope=found.scope)
        )
    worst, placement, finished, scope, shown = found.worst, found.placement, found.finished, found.scope, found.shown
    bound = Fraction(ratio).limit_denominator(1000)
    seconds = time.perf_counter() - started
    if worst is None or worst > bound:
        assert placement is not None
        concrete = decide_share(found.replay(placement), flow, ratio, claim=claim, files=None)
        if not isinstance(concrete, Refuted):
            raise InternalError(
                f"placement {describe(placement)} gives share ratio {shown}, the executable model disagrees"
            )
        cx = attrs.evolve(
            concrete.counterexample,
            placement=placement.as_pairs(),
            detail=f"{concrete.counterexample.detail}; worst ratio over placements "
            f"{'at least ' if not finished else ''}{shown}, placement: {describe(placement)}",
        )
        verdict = Refuted(claim=claim, dataplane=dataplane, scope=scope, counterexample=cx, seconds=seconds)
        return PlacementVerdict(verdict=verdict, placement=placement)
    if not finished:
        reason = f"the search for the worst ratio did not finish in {timeout_ms / 1000:g} s (worst found: {shown})"
        return PlacementVerdict(verdict=Unknown(claim=claim, dataplane=dataplane, reason=reason, scope=scope))
    where = f", placement: {describe(placement)}" if placement is not None else " (every placement shares evenly)"
    proved = Proved(
        claim=claim,
        dataplane=dataplane,
        scope=scope,
        assumptions=(f"worst share ratio over placements: {shown}{where}",),
        seconds=seconds,
    )
    return PlacementVerdict(verdict=proved, placement=placement)


@attrs.frozen(kw_only=True)
class PlacedOutcome:
    """One kind of outcome the flow can have in some placement, shown on the smallest such placement."""

    placement: Placement
    cluster: Any  # the placement made concrete (kverify.model.Cluster)
    outcomes: tuple[Any, ...]  # route() at the arrival node of that placement


MAX_OUTCOME_KINDS = 12


def outcomes_over_placements(
    design: Design, flow: Flow, *, timeout_ms: int = DEFAULT_TIMEOUT_MS
) -> tuple[tuple[PlacedOutcome, ...], str, str | None]:
    """Every kind of outcome (delivered or the drop kind; crossing nodes; client IP kept; reply ok) the
    flow has in some placement, each on its canonical smallest placement, replayed by the executable
    model. Returns them, the scope, and why the placement cannot be decided (else None)."""
    from kverify.concrete import route

    service = design.cluster.service(flow.service)
    if service is None:
        known = ", ".join(s.key for s in design.cluster.services) or "none"
        raise InputError(Problem(f'Not found: "{flow.service}" (services: {known})', field="--service"))
    base, port = template(design, service, flow)
    backends = backends_of(design, service, port)
    workloads = workloads_to_place(design, backends)
    u = PlacementUniverse(design, workloads)
    reason = design_time_gap(design, service, backends) or _unpinned(design, flow, service)
    reason = reason or scheduler.unsupported(workloads)
    reason = reason or schedulable(design, workloads, timeout_ms, u)
    scope = scope_of(design, u, service)
    if reason is not None:
        return (), scope, reason
    terms = flow_terms(u, base, endpoints_of(u, backends), flow, _named_slot(u, flow))
    solver = _solver(timeout_ms)
    solver.add(*scheduler.constraints(u), *terms.well_formed)
    if flow.client is ClientKind.EXTERNAL and flow.destination is Destination.LOAD_BALANCER and flow.node is None:
        solver.add(terms.lb_picks)
    kind = (terms.delivered, terms.drop_kind, terms.crosses, terms.client_ip_kept, terms.reply_ok)
    found: list[PlacedOutcome] = []
    while len(found) < MAX_OUTCOME_KINDS:
        result = solver.check()
        if result == z3.unknown:
            return tuple(found), scope, f"solver: {solver.reason_unknown()}"
        if result == z3.unsat:
            break
        values = [solver.model().eval(k, model_completion=True) for k in kind]
        same = z3.And(*[k == v for k, v in zip(kind, values, strict=True)])
        solver.push()
        solver.add(same)
        solver.check()
        model = _smallest(solver, u, terms)
        solver.pop()
        placement = _decode(u, model)
        cluster = materialise(design, service, placement, u.slots)
        h = terms.h if isinstance(terms.h, int) else model.eval(terms.h, model_completion=True).as_long()
        outcomes = route(cluster, attrs.evolve(flow, node=u.slots[h].name))
        found.append(PlacedOutcome(placement=placement, cluster=cluster, outcomes=outcomes))
        solver.add(z3.Not(same))
    return tuple(found), scope, None
