"""A claim over every state of a change: every timeline the controllers allow, every state of each.

Per state, the flow is routed by the executable model on that state's cluster. Behind a health-checked
load balancer an external flow arrives at every node the load balancer still sends to (its view lags,
:mod:`kverify.change.timing`; with none left it fails open, rule ``lb-fail-open``); otherwise the rule
table picks the arrival nodes from the state itself. A counterexample is the first state of the worst
timeline that breaks the claim, with the seconds it lasts; the worst-case seconds in which connections
are not delivered are reported with every verdict, and the same change is re-run with what would
shorten them (a PreStop sleep, minReadySeconds) to say by how much.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import attrs

from kverify.change.controllers import Change, Simulator, Timeline, TooManyTimelines
from kverify.change.failure import SOURCE as FAILURE_SOURCE
from kverify.change.failure import FailureTiming, grace_period, lost_at_dead_node, toleration_problem
from kverify.change.placements import initial_placements, other_workloads_matter
from kverify.change.states import build_states
from kverify.change.timeline import INF, State
from kverify.change.timing import PROFILES, HealthCheckTiming
from kverify.concrete import iter_route, route
from kverify.concrete.index import index_of
from kverify.errors import InternalError
from kverify.model import ClientKind, Destination, Endpoint, EndpointPort, Flow, LoadBalancerProfile, Node, Service
from kverify.model.enums import POD_TARGET_PROFILES
from kverify.model.workload import Workload, WorkloadKind
from kverify.placement.design import Design, backends_of
from kverify.placement.materialise import Placement, _pod_ip, materialise
from kverify.placement.solve import design_time_gap, workloads_to_place
from kverify.placement.universe import PlacementUniverse
from kverify.results import Outcome
from kverify.verdicts import Proved, Refuted, Unknown, Verdict

#: Profiles that announce nodes on their own (no probe kverify knows the timing of).
_NO_TIMING = (
    LoadBalancerProfile.K3S_SERVICELB,
    LoadBalancerProfile.CILIUM_L2,
    LoadBalancerProfile.CILIUM_BGP,
    LoadBalancerProfile.KUBE_VIP,
    LoadBalancerProfile.AWS_CLASSIC_ELB,  # its probe timing is not modelled yet
)
TIMELINE_LIMIT = 2_000
PLACEMENT_LIMIT = 200
TIMEOUT_MS = 30_000
#: Placements found for a setting (by id, while it is being decided), reused by the what-if re-runs.
_PLACEMENTS: dict[int, list[dict[str, str]]] = {}


@attrs.frozen(kw_only=True)
class Failure:
    """A state that breaks the claim, the flow and outcome that show it, and why."""

    state: State
    flow: Flow
    outcome: Outcome | None
    why: str


@attrs.frozen(kw_only=True)
class Judged:
    """One timeline, decided: its first failure, the seconds the claim fails, the seconds connections
    are not delivered (at some node the load balancer sends to)."""

    timeline: Timeline
    states: tuple[State, ...]
    failure: Failure | None
    failing_seconds: float
    dropped_seconds: float
    dropped_at: str = ""


@attrs.frozen(kw_only=True)
class Setting:
    """Everything a change's decision needs besides the timelines."""

    design: Design
    service: Service
    workload: Workload
    universe: PlacementUniverse
    flow: Flow
    prop: str
    hops: int | None
    ratio: float | None
    timing: HealthCheckTiming | None
    change: Change
    #: The nodes made concrete once (addresses, pod ranges), for every state of every timeline.
    nodes: tuple[Node, ...] = ()
    #: Seconds a new pod takes to start (image pull, container start) before its readiness probe runs.
    start_seconds: float = 0.0
    start_given: bool = False
    #: The node lifecycle controller's timing (a node failure only).
    failure: FailureTiming | None = None


def decide_change(
    design: Design,
    flow: Flow,
    prop: str,
    change: Change,
    *,
    claim: str,
    hops: int | None = None,
    ratio: float | None = None,
    health_check: HealthCheckTiming | None = None,
    disruption_budgets: bool = False,
    start_seconds: float | None = None,
) -> Verdict:
    """``prop`` holds in every state of every timeline of ``change``, or the worst timeline's first
    failing state (Refuted), or why it cannot be decided (Unknown). ``disruption_budgets``: the
    manifests hold a PodDisruptionBudget (a drain then evicts as it allows: not modelled).
    ``start_seconds``: how long a new pod takes to start; by default as long as the health-check window
    (a replacement on the same node never beats the load balancer), else 1 s."""
    started = time.perf_counter()
    cluster = design.cluster
    dataplane = cluster.proxy.dataplane
    service = cluster.service(flow.service)
    assert service is not None  # the spec loader checked it

    def unknown(reason: str) -> Unknown:
        return Unknown(claim=claim, dataplane=dataplane, reason=reason, seconds=time.perf_counter() - started)

    if disruption_budgets and change.kind == "drain":
        return unknown(
            "the manifests hold a PodDisruptionBudget: kubectl drain evicts only as far as it allows, "
            "which is not modelled (kverify evicts every pod of the drained nodes at once)"
        )
    setting_or_reason = _setting(design, service, flow, prop, hops, ratio, change, health_check)
    if isinstance(setting_or_reason, str):
        return unknown(setting_or_reason)
    setting = setting_or_reason
    if start_seconds is not None:
        setting = attrs.evolve(setting, start_seconds=float(start_seconds), start_given=True)
    else:
        window = setting.timing.down_after() if setting.timing is not None else 1.0
        setting = attrs.evolve(setting, start_seconds=window)
    try:
        worst, placements, timelines = _worst(setting)
    except TooManyTimelines as error:
        return unknown(f"{error}: the change has too many orders to try them all")
    if isinstance(worst, str):
        return unknown(worst)
    scope = _scope(setting, placements, timelines)
    try:
        facts = _facts(setting, worst)
    finally:
        _PLACEMENTS.pop(id(setting), None)
    seconds = time.perf_counter() - started
    if worst.failure is None:
        return Proved(claim=claim, dataplane=dataplane, scope=scope, assumptions=tuple(facts), seconds=seconds)
    cx = _counterexample(setting, worst, claim, facts)
    return Refuted(claim=claim, dataplane=dataplane, scope=scope, counterexample=cx, seconds=seconds)


# -- setting up ---------------------------------------------------------------------------------------


def _setting(
    design: Design,
    service: Service,
    flow: Flow,
    prop: str,
    hops: int | None,
    ratio: float | None,
    change: Change,
    health_check: HealthCheckTiming | None,
) -> Setting | str:
    cluster = design.cluster
    if service.headless:
        return "the Service is headless (clusterIP: None)"
    if service.endpoints or service.key in design.endpoints_given:
        return "a change is decided at design time (workloads and nodes), not on a snapshot's EndpointSlices"
    if not design.nodes_described:
        return "a change is decided on described nodes: add `nodes:` (node pools) to the spec"
    if any(p.min_count != p.max_count for p in design.node_pools):
        return "a change is decided on a fixed number of nodes: give each node pool a `count`"
    if flow.destination is Destination.HEALTH_CHECK_NODE_PORT:
        return "health-check flows are not decided over a change"
    from kverify.placement.flow import template

    _, port = template(design, service, flow)
    backends = backends_of(design, service, port)
    if (reason := design_time_gap(design, service, backends)) is not None:
        return reason
    workloads = workloads_to_place(design, backends)
    if len(workloads) != 1:
        names = ", ".join(w.key for w in workloads) or "none"
        return f"a change is decided for a Service backed by exactly one workload (found: {names})"
    workload = workloads[0]
    # A ReplicationController is replaced as a ReplicaSet is: pkg/controller/replication runs the ReplicaSet
    # controller's code on it (NewReplicationManager wraps replicaset.NewBaseController).
    kinds = {
        "rollout": (WorkloadKind.DEPLOYMENT, WorkloadKind.DAEMON_SET),
        "drain": (WorkloadKind.DEPLOYMENT, WorkloadKind.REPLICA_SET, WorkloadKind.REPLICATION_CONTROLLER),
        "failure": (
            WorkloadKind.DEPLOYMENT,
            WorkloadKind.REPLICA_SET,
            WorkloadKind.REPLICATION_CONTROLLER,
            WorkloadKind.DAEMON_SET,
        ),
    }[change.kind]
    failure: FailureTiming | None = None
    if change.kind == "failure":
        if (reason := toleration_problem(workload)) is not None:
            return reason
        failure = FailureTiming(grace=grace_period(cluster.proxy.kubernetes_version))
        if workload.kind is WorkloadKind.DAEMON_SET:
            # daemonset_util.go AddOrUpdateDaemonPodTolerations: unreachable:NoExecute tolerated for ever.
            failure = attrs.evolve(failure, toleration=math.inf)
    if workload.kind not in kinds:
        allowed = ", ".join(k.spelling for k in kinds)
        return f"{change.describe()} of a {workload.kind.spelling} is not modelled (only {allowed})"
    if (reason := other_workloads_matter(design, workload)) is not None:
        return reason
    if workload.kind is WorkloadKind.DAEMON_SET and change.kind == "rollout":
        life = workload.lifecycle
        if life.on_delete:
            return f"{workload.key}: updateStrategy OnDelete: pods are replaced only when someone deletes them"
        if life.max_surge not in (0, "0%"):
            return f"{workload.key}: a DaemonSet rollout with maxSurge is not modelled (only maxUnavailable)"
    if workload.lifecycle.pre_stop_seconds is None:
        return (
            f"{workload.key}: the PreStop hook is neither a sleep nor an exec `sleep N`: "
            "how long it keeps the pod serving is not known"
        )
    profile = cluster.load_balancer_for(service)
    timing: HealthCheckTiming | None = None
    via_lb = flow.destination is Destination.LOAD_BALANCER
    if profile in POD_TARGET_PROFILES and via_lb:
        return f"{profile.spelling}: the load balancer checks pods directly: its timing during a change is not modelled"
    if profile in _NO_TIMING and via_lb:
        return (
            f"{profile.spelling}: how fast it stops announcing a node during a change is not modelled "
            "(modelled: health-checked cloud LBs, AWS NLB instance targets, MetalLB, no health check)"
        )
    if profile is LoadBalancerProfile.HEALTH_CHECKED:
        timing = health_check or PROFILES["gcp"]
    elif profile is LoadBalancerProfile.AWS_NLB_INSTANCE:
        timing = health_check or PROFILES["aws-nlb"]
    if failure is not None and via_lb and (reason := _failure_lb_gap(profile, cluster.proxy.kubernetes_version)):
        return reason
    u = PlacementUniverse(design, (workload,))
    empty = Placement(nodes=tuple(s.name for s in u.slots), pods={})
    nodes = materialise(design, service, empty, u.slots).nodes
    return Setting(
        nodes=nodes,
        design=design,
        service=service,
        workload=workload,
        universe=u,
        flow=flow,
        prop=prop,
        hops=hops,
        ratio=ratio,
        timing=timing,
        change=change,
        failure=failure,
    )


def _failure_lb_gap(profile: LoadBalancerProfile, version: int) -> str | None:
    """Why a node failure behind ``profile`` is not decided, if it is not."""
    if profile in (LoadBalancerProfile.METALLB_L2, LoadBalancerProfile.METALLB_BGP):
        return (
            f"{profile.spelling}: how fast MetalLB moves the address off a failed node (memberlist for L2, "
            "the BGP hold time for BGP) is not modelled for a node failure"
        )
    if profile is LoadBalancerProfile.NO_HEALTH_CHECK and version < 27:
        return (
            "a load balancer without health checks before v1.27: the service controller removes NotReady "
            "nodes from it (StableLoadBalancerNodeSet off, KEP-3458), how fast the cloud applies it is not modelled"
        )
    return None


def _worst(setting: Setting, given: list[dict[str, str]] | None = None) -> tuple[Judged | str, int, int]:
    """The worst timeline over every initial placement (failing first, then longest failing, then most
    seconds dropped), the number of placements and of timelines tried. ``given``: the placements, when
    already enumerated (they do not depend on the workload's lifecycle)."""
    u = setting.universe
    placements = given
    if placements is None and setting.workload.kind is WorkloadKind.DAEMON_SET:
        # One pod on every node it may run on (the DaemonSet controller): a single placement.
        w = setting.workload
        placements = [
            {
                f"{w.namespace}/{w.name}-{s.name}": s.name
                for s in u.slots
                if w.scheduling.node_allowed(s.labels or {}, s.taints)
            }
        ]
    if placements is None:
        u, placements, incomplete = initial_placements(
            setting.design, setting.workload, limit=PLACEMENT_LIMIT, timeout_ms=TIMEOUT_MS
        )
        if incomplete is not None:
            return f"the placements before the change were not all enumerated ({incomplete})", 0, 0
        _PLACEMENTS[id(setting)] = placements
    if not placements:
        return f"no node can take every replica of {setting.workload.key} before the change", 0, 0
    sim = Simulator(setting.workload, u.slots, limit=TIMELINE_LIMIT, start_seconds=setting.start_seconds)
    worst: Judged | None = None
    seen: set[tuple[object, ...]] = set()
    for initial in placements:
        for timeline in _timelines(sim, setting.change, initial, setting.failure):
            key = _shape(timeline, setting.universe)
            if key in seen:  # the same lives on interchangeable nodes: the same states, renamed
                continue
            seen.add(key)
            judged = judge(setting, timeline)
            if worst is None or _rank(judged) > _rank(worst):
                worst = judged
    if worst is None:
        return f"{setting.change.describe()} needs at least one node", len(placements), 0
    return worst, len(placements), len(seen)


def _shape(timeline: Timeline, u: PlacementUniverse) -> tuple[object, ...]:
    """A timeline up to node and pod names: per kind of node, the lives of the pods on it."""
    from kverify.change.placements import signature

    slots = {s.name: s for s in u.slots}
    per_node: dict[str | None, list[tuple[object, ...]]] = {}
    for p in timeline.pods:
        per_node.setdefault(p.node, []).append((p.generation, p.created, p.ready_at, p.deleted_at, p.serving_for))
    shapes = sorted(
        (
            repr(signature(slots[n])) if n is not None else "",
            n in timeline.cordoned,
            n in timeline.failed,
            tuple(sorted(lives)),
        )
        for n, lives in per_node.items()
    )
    return tuple(shapes)


def _rank(j: Judged) -> tuple[bool, float, float]:
    return (j.failure is not None, j.failing_seconds, j.dropped_seconds)


def _timelines(
    sim: Simulator, change: Change, initial: dict[str, str], timing: FailureTiming | None = None
) -> Iterator[Timeline]:
    if change.kind == "rollout" and sim.workload.kind is WorkloadKind.DAEMON_SET:
        yield from sim.daemon_rollouts(initial)
    elif change.kind == "rollout":
        yield from sim.rollouts(initial)
    elif change.kind == "failure":
        assert timing is not None
        for count in range(1, change.nodes + 1):  # up to k nodes: every smaller failure too
            yield from sim.failures(initial, count, timing)
    else:
        for count in range(1, change.nodes + 1):  # up to k nodes: every smaller drain too
            yield from sim.drains(initial, count)


# -- one timeline -------------------------------------------------------------------------------------


def judge(setting: Setting, timeline: Timeline) -> Judged:
    """Every state of ``timeline``, decided."""
    service = setting.service
    full = attrs.evolve(setting.design.cluster, nodes=setting.nodes)
    endpoints = _endpoints(setting, timeline)
    draining = setting.change.kind == "drain" and setting.change.by == "autoscaler"
    marked = tuple(
        attrs.evolve(n, draining=True) if draining and n.name in timeline.cordoned else n for n in full.nodes
    )

    def nodes_at(t: float) -> tuple[Node, ...]:
        return marked if t >= 0 else full.nodes

    states = build_states(
        base=full,
        service=service,
        endpoints=endpoints,
        pods=timeline.pods,
        nodes_at=nodes_at,
        timing=setting.timing,
        port=setting.flow.port,
        failed=timeline.failed,
    )
    failure: Failure | None = None
    failing = dropped = 0.0
    dropped_at = ""
    for state in states:
        found, lost = _check_state(setting, state)
        if found is not None:
            failing += state.seconds
            failure = failure or found
        if lost is not None:
            dropped += state.seconds
            dropped_at = dropped_at or lost
    return Judged(
        timeline=timeline,
        states=tuple(states),
        failure=failure,
        failing_seconds=failing,
        dropped_seconds=dropped,
        dropped_at=dropped_at,
    )


def _endpoints(setting: Setting, timeline: Timeline) -> dict[str, Endpoint]:
    """One endpoint per scheduled pod of the timeline, as :func:`materialise` makes them: an address
    from its node's pod range (the node's own for a host-network pod), on the Service ports its
    workload serves."""
    by_name = {n.name: n for n in setting.nodes}
    ports: dict[str, list[EndpointPort]] = {}
    for port in setting.service.ports:
        for backend in backends_of(setting.design, setting.service, port):
            if backend.workload is setting.workload:
                entry = EndpointPort(name=port.name, port=backend.target_port, protocol=port.protocol)
                ports.setdefault("", []).append(entry)
    used: dict[str, int] = {}
    out: dict[str, Endpoint] = {}
    for pod in sorted((p for p in timeline.pods if p.node is not None), key=lambda p: p.name):
        node = by_name[pod.node or ""]
        ip = node.addresses[0] if setting.workload.host_network else _pod_ip(node, used)
        out[pod.name] = Endpoint(ip=ip, node_name=node.name, pod=pod.name, ports=tuple(ports.get("", ())))
    return out


def _through_load_balancer(flow: Flow) -> bool:
    """Whether the flow arrives through the Service's load balancer, whose lagging view of the nodes
    (``State.lb_nodes``) then decides where it lands: an external client's, to the LB address."""
    return flow.client is ClientKind.EXTERNAL and flow.destination is Destination.LOAD_BALANCER


def _arrivals(setting: Setting, state: State) -> list[Flow]:
    """The flows to route in ``state``: at each node the lagging load balancer sends to (one node per
    kind: those without an endpoint answer alike), or the claim's flow as it is."""
    flow = setting.flow
    if not _through_load_balancer(flow) or flow.node is not None or state.lb_nodes is None:
        return [flow]
    nodes = list(state.lb_nodes) or [n.name for n in state.cluster.nodes]  # none healthy: fail open
    service = state.cluster.service(flow.service)
    hosting = {e.node_name for e in (service.endpoints if service else ())}
    draining = {n.name for n in state.cluster.nodes if n.draining} | state.failed
    special = [n for n in nodes if n in hosting or n in draining]
    other = next((n for n in nodes if n not in hosting and n not in draining), None)
    return [attrs.evolve(flow, node=n) for n in [*special, *([other] if other else [])]]


def _weights(setting: Setting, state: State) -> dict[str | None, int]:
    """How many load-balanced nodes each routed arrival node stands for."""
    flows = _arrivals(setting, state)
    if len(flows) == 1 and flows[0].node is None:
        return {None: 1}
    nodes = list(state.lb_nodes or ()) or [n.name for n in state.cluster.nodes]
    routed = {f.node for f in flows}
    weights: dict[str | None, int] = {n: 1 for n in routed}
    spare = next((f.node for f in reversed(flows) if f.node is not None), None)
    extra = len([n for n in nodes if n not in routed])
    if spare is not None and extra:
        weights[spare] += extra
    return weights


def _check_state(setting: Setting, state: State) -> tuple[Failure | None, str | None]:
    """The first outcome of ``state`` that breaks the claim, and a node the load balancer sends to where
    a connection is not delivered (for the dropped seconds), each if any: one routing pass."""
    from kverify.check.exhaustive import PROPERTIES, at_most_hops

    lb_flow = _through_load_balancer(setting.flow)
    lost: str | None = None
    if lb_flow and setting.flow.node is not None:  # the dropped seconds are about every arrival node
        lost = _undelivered_at(setting, state)
    failure: Failure | None = None
    if setting.prop == "share-within":
        failure = _check_share(setting, state)
        return failure, lost if setting.flow.node is not None or not lb_flow else _undelivered_at(setting, state)
    check = at_most_hops(setting.hops or 0) if setting.prop == "at-most-hops" else PROPERTIES[setting.prop]
    names = index_of(state.cluster).node_names
    unready = _listed_unready(state, setting.service.key) if setting.prop == "reaches-ready-pod" else {}
    for flow in _arrivals(setting, state):
        for outcome in _outcomes(state, flow):
            if lb_flow and lost is None and not outcome.delivered:
                lost = outcome.node or "the load balancer"
            if failure is None:
                why = check.violation(outcome, names)
                if why is None and outcome.delivered and outcome.endpoint_ip in unready:
                    why = f"delivered to {outcome.endpoint_ip}, {unready[outcome.endpoint_ip]}"
                if why is not None:
                    failure = Failure(state=state, flow=flow, outcome=outcome, why=why)
    return failure, lost


def _listed_unready(state: State, key: str) -> dict[str, str]:
    """Endpoints kube-proxy reads as Ready whose pod is not Ready (not yet, or NotReady on a failed node) or
    is terminating: a publishNotReadyAddresses Service's (``kverify.change.timeline``). The property's
    route rules see only the Ready condition, which that Service sets for every pod."""
    service = state.cluster.service(key)
    if service is None or not service.publish_not_ready_addresses:
        return {}
    why = "whose pod is {} (publishNotReadyAddresses: its EndpointSlice lists it Ready)"
    return {
        e.ip: why.format("terminating" if e.terminating else "not Ready")
        for e in service.endpoints
        if e.ready and (e.terminating or not e.serving)
    }


def _check_share(setting: Setting, state: State) -> Failure | None:
    assert setting.ratio is not None
    weights = _weights(setting, state)
    total = sum(weights.values())
    got: dict[str, Fraction] = {}
    outcomes: dict[str, Outcome] = {}
    for flow in _arrivals(setting, state):
        by_node: dict[str | None, list[Outcome]] = {}
        for o in _outcomes(state, flow):
            by_node.setdefault(o.node, []).append(o)
        for node, found in by_node.items():
            weight = Fraction(weights.get(flow.node, 1), total) if flow.node is not None else Fraction(1, len(by_node))
            delivered = [o for o in found if o.delivered and o.endpoint_ip]
            for o in delivered:
                got[o.endpoint_ip or ""] = got.get(o.endpoint_ip or "", Fraction(0)) + weight / len(delivered)
                outcomes.setdefault(o.endpoint_ip or "", o)
            del node
    service = state.cluster.service(setting.flow.service)
    # Pods on a failed node are not load: what is sent to them is lost (counted as dropped seconds).
    ready = {e.ip for e in (service.endpoints if service else ()) if e.ready and e.node_name not in state.failed}
    spread = {ip: got.get(ip, Fraction(0)) for ip in sorted(ready | set(got))}
    if not spread:
        return Failure(state=state, flow=setting.flow, outcome=None, why="no Ready pod to share the connections")
    low, high = min(spread.values()), max(spread.values())
    if high <= low * Fraction(setting.ratio).limit_denominator(1000):
        return None
    richest = max(spread, key=lambda ip: spread[ip])
    listed = ", ".join(f"{ip} gets {share}" for ip, share in spread.items())
    ratio = "infinite" if low == 0 else str(high / low)
    outcome = outcomes[richest]
    return Failure(
        state=state,
        flow=attrs.evolve(setting.flow, node=outcome.node),
        outcome=outcome,
        why=f"per-pod shares: {listed} (largest/smallest {ratio} > {setting.ratio:g})",
    )


def _outcomes(state: State, flow: Flow) -> Iterator[Outcome]:
    """The executable model's outcomes of ``flow`` in ``state``, with what reaches a failed node lost."""
    for outcome in iter_route(state.cluster, flow):
        found = lost_at_dead_node(outcome, state.failed)
        if found is not None:
            yield found


def _undelivered_at(setting: Setting, state: State) -> str | None:
    """A node the load balancer sends to where connections are not delivered in ``state``, if any."""
    flow = setting.flow
    if flow.client is not ClientKind.EXTERNAL or flow.destination is not Destination.LOAD_BALANCER:
        return None
    lb_flow = attrs.evolve(flow, node=None)
    for f in _arrivals(attrs.evolve(setting, flow=lb_flow), state):
        for o in _outcomes(state, f):
            if not o.delivered:
                return o.node or "the load balancer"
    return None


# -- reporting ----------------------------------------------------------------------------------------


def _seconds(x: float) -> str:
    return "without end (the change ends in this state)" if x == INF else f"{x:g} s"


def _scope(setting: Setting, placements: int, timelines: int) -> str:
    w = setting.workload
    life = w.lifecycle
    nodes = len(setting.universe.slots)
    lb = setting.design.cluster.load_balancer_for(setting.service).spelling
    timing = f", health check {setting.timing.describe()}" if setting.timing else ""
    what = setting.change.describe()
    if setting.change.kind == "rollout" and w.kind is WorkloadKind.DAEMON_SET:
        what += f" of {w.key} (one pod per node, maxUnavailable {life.max_unavailable})"
    elif setting.change.kind == "rollout":
        what += f" of {w.key} ({w.replicas} replicas, maxSurge {life.max_surge}, maxUnavailable {life.max_unavailable})"
    return (
        f"{what} on {nodes} node(s): every placement before it ({placements}) and every order the controllers "
        f"and the scheduler allow ({timelines} distinct timeline(s)), every state of each; load balancer {lb}{timing}; "
        f"{setting.design.cluster.proxy.dataplane.spelling}"
    )


def _facts(setting: Setting, worst: Judged) -> list[str]:
    """The worst-case dropped seconds and what would shorten them, each re-run through the model."""
    facts: list[str] = []
    lb_flow = _through_load_balancer(setting.flow)
    if not lb_flow:
        return facts
    life = setting.workload.lifecycle
    if worst.dropped_seconds == 0:
        facts.append(f"no connection is dropped in any state of {setting.change.describe()}")
    else:
        facts.append(
            f"worst case: connections not delivered {_seconds(worst.dropped_seconds)} per "
            f"{_PER[setting.change.kind]} (at {worst.dropped_at})"
        )
    if setting.failure is not None:
        return facts + _failure_facts(setting)
    how = "given" if setting.start_given else "the worst case: as long as the health-check window; set podStartSeconds"
    if not setting.start_given and setting.timing is None:
        how = "a placeholder: set podStartSeconds"
    facts.append(f"a new pod is taken to start in {setting.start_seconds:g} s ({how})")
    profile = setting.design.cluster.load_balancer_for(setting.service)
    if profile in (LoadBalancerProfile.METALLB_L2, LoadBalancerProfile.METALLB_BGP):
        facts.append(
            "MetalLB follows the EndpointSlices (no probe): its reaction time (the speaker's sync, then a "
            "gratuitous ARP or a BGP withdrawal) is taken as 0 s"
        )
    if setting.timing is not None:
        window = setting.timing.down_after()
        facts.append(
            f"health-check window: {window:g} s ({setting.timing.describe()}; source: {setting.timing.source})"
        )
        serving = min(life.pre_stop_seconds or 0, life.termination_grace_seconds)
        if not setting.design.cluster.proxy.gates.get("ProxyTerminatingEndpoints", True):
            facts.append(
                f"a deleted pod serves {serving:g} s more, but kube-proxy "
                f"v1.{setting.design.cluster.proxy.kubernetes_version} has no terminating-endpoint fallback "
                "(ProxyTerminatingEndpoints off): it does not use it"
            )
            return facts + (_what_shortens(setting, window) if worst.dropped_seconds > 0 else [])
        facts.append(
            f"a deleted pod keeps serving {serving:g} s (PreStop {life.pre_stop_seconds} s, "
            f"terminationGracePeriodSeconds {life.termination_grace_seconds} s), through the "
            "terminating-endpoint fallback (KEP-1669)"
        )
        if worst.dropped_seconds > 0:
            facts += _what_shortens(setting, window)
    return facts


_PER = {"rollout": "rollout", "drain": "drain", "failure": "node failure"}


def _failure_facts(setting: Setting) -> list[str]:
    """The node lifecycle controller's and the load balancer's timings for a failed node, with sources."""
    assert setting.failure is not None
    out = [
        f"{setting.failure.describe()}; Kubernetes v1.{setting.design.cluster.proxy.kubernetes_version} "
        f"(source: {FAILURE_SOURCE})",
    ]
    if math.isfinite(setting.failure.toleration):
        out.append(
            f"a replacement pod is taken to start in {setting.start_seconds:g} s"
            + (
                ""
                if setting.start_given
                else " (the worst case: as long as the health-check window; set podStartSeconds)"
            )
        )
    if setting.timing is not None:
        window = setting.timing.down_after(answers=False, nodes=len(setting.nodes))
        out.append(
            f"the load balancer leaves a failed node after {window:g} s: its probe goes unanswered "
            f"({setting.timing.describe()}; source: {setting.timing.source})"
        )
    elif setting.design.cluster.load_balancer_for(setting.service) is LoadBalancerProfile.NO_HEALTH_CHECK:
        out.append(
            "a load balancer without health checks keeps sending to a failed node: from v1.27 the service "
            "controller no longer removes NotReady nodes (KEP-3458, StableLoadBalancerNodeSet)"
        )
    out.append(
        "kverify trace does not know a node failed: a reproduce command shows kube-proxy's choice, and the "
        "packet is then lost at the failed node (rule change-node-failed, the change engine only)"
    )
    return out


def _what_shortens(setting: Setting, window: float) -> list[str]:
    """The same change with a longer PreStop sleep, or with minReadySeconds, re-run."""
    out: list[str] = []
    life = setting.workload.lifecycle
    need = int(-(-window // 1))
    variants = []
    if (life.pre_stop_seconds or 0) < need:
        grace = max(life.termination_grace_seconds, need)
        variants.append(
            (
                f"a PreStop sleep of {need} s (terminationGracePeriodSeconds {grace})",
                attrs.evolve(life, pre_stop_seconds=need, termination_grace_seconds=grace),
            )
        )
    if (
        setting.change.kind == "rollout"
        and setting.timing is not None
        and life.min_ready_seconds < setting.timing.up_after()
    ):
        up = int(-(-setting.timing.up_after() // 1))
        variants.append((f"minReadySeconds {up}", attrs.evolve(life, min_ready_seconds=up)))
    for label, changed in variants:
        workload = attrs.evolve(setting.workload, lifecycle=changed)
        design = attrs.evolve(
            setting.design, workloads=tuple(workload if w is setting.workload else w for w in setting.design.workloads)
        )
        variant = attrs.evolve(setting, workload=workload, design=design)
        try:
            judged, _, _ = _worst(variant, _PLACEMENTS.get(id(setting)))
        except TooManyTimelines:
            continue
        if isinstance(judged, Judged):
            out.append(f"with {label}: {_seconds(judged.dropped_seconds)} dropped (re-run)")
    return out


def _counterexample(setting: Setting, worst: Judged, claim: str, facts: list[str]) -> Any:
    from kverify.check.exhaustive import counterexample

    failure = worst.failure
    assert failure is not None
    state = failure.state
    outcome = failure.outcome
    if outcome is None:  # no Ready pod at all: show the flow's first outcome there
        outcome = next(iter(route(state.cluster, failure.flow)), None)
        if outcome is None:
            raise InternalError(f"state {state.index} breaks {claim!r} but the executable model gives no outcome")
    lb = ""
    if state.lb_nodes is not None and _through_load_balancer(failure.flow):  # other flows never meet it
        lb = f"; the load balancer sends to {', '.join(state.lb_nodes) or 'every node (none passes: fail open)'}"
    detail = (
        f"{failure.why}; {state.describe()}, lasting {_seconds(state.seconds)}{lb}; "
        f"the claim fails {_seconds(worst.failing_seconds)} in all; " + "; ".join(facts)
    )
    shown, outcome = _small(setting, state, failure, outcome)
    cx = counterexample(shown, failure.flow, outcome, claim, None, detail=detail)
    service = shown.service(setting.service.key)
    pods_on: dict[str, list[str]] = {}
    for e in service.endpoints if service else ():
        if e.node_name and e.pod:
            pods_on.setdefault(e.node_name, []).append(e.pod)
    return attrs.evolve(cx, placement=tuple((n.name, tuple(sorted(pods_on.get(n.name, [])))) for n in shown.nodes))


def _small(setting: Setting, state: State, failure: Failure, outcome: Outcome) -> tuple[Any, Outcome]:
    """On a large cluster, the state with only the nodes that hold a pod of the Service, drain, or are
    the arrival node, if the executable model shows the same violation there (else the whole state)."""
    from kverify.check.exhaustive import EXPORT_MAX_NODES, PROPERTIES, at_most_hops

    cluster = state.cluster
    if len(cluster.nodes) <= EXPORT_MAX_NODES or setting.prop == "share-within" or failure.flow.node is None:
        return cluster, outcome
    service = cluster.service(setting.service.key)
    hosting = {e.node_name for e in (service.endpoints if service else ())}
    keep = tuple(
        n
        for n in cluster.nodes
        if n.name in hosting or n.draining or n.name in state.failed or n.name == failure.flow.node
    )
    if len(keep) > EXPORT_MAX_NODES:
        return cluster, outcome
    small = attrs.evolve(cluster, nodes=keep)
    check = at_most_hops(setting.hops or 0) if setting.prop == "at-most-hops" else PROPERTIES[setting.prop]
    names = frozenset(n.name for n in keep)
    for o in _outcomes(attrs.evolve(state, cluster=small), failure.flow):
        if check.violation(o, names) is not None:
            return small, o
    return cluster, outcome
