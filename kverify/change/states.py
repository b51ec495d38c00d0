"""A timeline of pod lives -> the states a claim is decided on (:class:`~kverify.change.timeline.State`).

Each state is the cluster at that moment (endpoint conditions from the pods' lives) and, behind a
health-checked load balancer, the nodes it still sends to. Which nodes pass the health check at a
moment is the rule table's answer (rule ``lb-health-checked``, ``passes_probe``), asked once per node
that holds an endpoint or is draining and once for all the other nodes, which answer alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from kverify.change.timeline import INF, PodLife, State, cluster_at, lb_changes
from kverify.change.timing import HealthCheckTiming
from kverify.concrete.index import index_of
from kverify.concrete.route import handlings
from kverify.model import ClientKind, Cluster, Destination, Endpoint, Flow, LoadBalancerProfile, Node, Service
from kverify.semantics.lb_profiles import nlb_instance_probe
from kverify.semantics.load_balancer import passes_probe
from kverify.semantics.ops import CONCRETE


def probe_passes(cluster: Cluster, service: Service, port: int | None) -> frozenset[str]:
    """The nodes whose health check (healthCheckNodePort or kube-proxy /healthz) passes, by the rule table."""
    service = cluster.service(service.key) or service
    nlb = cluster.load_balancer_for(service) is LoadBalancerProfile.AWS_NLB_INSTANCE

    def probe(ops: object, s: object, node: int) -> object:  # rule lb-aws-nlb-instance-probe, or lb-health-checked
        return nlb_instance_probe(ops, s, node, False) if nlb else passes_probe(ops, s, node)  # type: ignore[arg-type]

    hosting = {e.node_name for e in service.endpoints if e.node_name}
    special = [n for n in cluster.nodes if n.name in hosting or n.draining]
    other = next((n for n in cluster.nodes if n.name not in hosting and not n.draining), None)
    position = index_of(cluster).node_position
    passing: set[str] = set()
    for node in [*special, *([other] if other is not None else [])]:
        flow = Flow(
            service=service.key,
            client=ClientKind.EXTERNAL,
            destination=Destination.NODE_PORT,
            node=node.name,
            port=port,
        )
        h = handlings(cluster, flow, service)[0]
        if probe(CONCRETE, h.situation, position[node.name]):
            passing.add(node.name)
    if other is not None and other.name in passing:
        passing |= {n.name for n in cluster.nodes if n.name not in hosting and not n.draining}
    return frozenset(passing)


def build_states(
    *,
    base: Cluster,
    service: Service,
    endpoints: dict[str, Endpoint],
    pods: Sequence[PodLife],
    nodes_at: Callable[[float], tuple[Node, ...]],
    timing: HealthCheckTiming | None,
    port: int | None,
    failed: frozenset[str] = frozenset(),
) -> list[State]:
    """The states of one timeline, from t = 0 until the change has settled (the last state lasts on).
    ``timing`` None: the load balancer follows the cluster at once (no health-check lag). ``failed``:
    nodes that die at t = 0; from then on their health checks go unanswered (the probe's timeout is
    added to the window) and whatever reaches them is lost (:func:`kverify.change.failure.lost_at_dead_node`)."""
    instants = sorted({0.0, *(t for p in pods for t in p.instants() if t >= 0)})

    def at(t: float) -> Cluster:
        return cluster_at(base, service, endpoints, pods, t, nodes_at(t))

    views: list[tuple[float, frozenset[str]]] = []
    if timing is not None:
        n = len(base.nodes) or len(nodes_at(0.0))

        def passes(t: float) -> frozenset[str]:
            answered = probe_passes(at(t), service, port)
            return answered - failed if t >= 0 else answered

        views = lb_changes(
            instants,
            passes,
            lambda node: timing.down_after(answers=node not in failed, nodes=n),
            timing.up_after(),
        )
    boundaries = sorted({*instants, *(t for t, _ in views if t >= 0)})
    states: list[State] = []
    for i, start in enumerate(boundaries):
        end = boundaries[i + 1] if i + 1 < len(boundaries) else INF
        cluster = at(start)
        view = None
        if views:
            current = [v for t, v in views if t <= start][-1]
            view = tuple(n.name for n in cluster.nodes if n.name in current)
        events = _events(pods, views, start, failed, published=service.publish_not_ready_addresses)
        if states and _same(states[-1], cluster, service.key, view):
            states[-1] = attrs.evolve(states[-1], end=end)
            continue
        states.append(
            State(
                index=len(states) + 1,
                start=start,
                end=end,
                cluster=cluster,
                lb_nodes=view,
                events=tuple(events),
                failed=failed,
            )
        )
    return states


def _same(state: State, cluster: Cluster, key: str, view: tuple[str, ...] | None) -> bool:
    a, b = state.cluster.service(key), cluster.service(key)
    return state.lb_nodes == view and a is not None and b is not None and a.endpoints == b.endpoints


def _events(
    pods: Sequence[PodLife],
    views: list[tuple[float, frozenset[str]]],
    t: float,
    failed: frozenset[str],
    *,
    published: bool = False,
) -> list[str]:
    out: list[str] = (
        [f"{node} fails (kubelet and kube-proxy gone, its pods unreachable)" for node in sorted(failed)]
        if t == 0
        else []
    )
    not_ready = sorted({p.node or "" for p in pods if p.not_ready_at == t})
    out += [f"the node lifecycle controller marks {node} Ready=Unknown and its pods NotReady" for node in not_ready]
    for p in pods:
        if p.stranded:
            if p.deleted_at == t:
                out.append(f"{p.name.split('/', 1)[-1]} on {p.node} evicted (unreachable:NoExecute toleration over)")
            continue
        short = p.name.split("/", 1)[-1]
        where = f" on {p.node}" if p.node else ""
        if p.deleted_at == t:
            if p.was_ready and p.serving_for > 0:
                out.append(f"{short}{where} deleted: serving & terminating for {p.serving_for:g} s (PreStop)")
            else:
                out.append(f"{short}{where} deleted: gone at once (no PreStop sleep)")
        elif p.was_ready and p.gone_at == t and p.serving_for > 0:
            out.append(f"{short}{where} gone")
        if published and p.listed_from == t and p.node is not None and t < min(p.ready_at, p.deleted_at):
            out.append(f"{short}{where} listed Ready before its readiness probe passes (publishNotReadyAddresses)")
        if p.ready_at == t and p.node is not None and p.ready_at < p.deleted_at:
            out.append(f"{short}{where} Ready")
        if p.created == t and p.node is None and p.deleted_at == INF:
            out.append(f"{short} Pending (no node takes it)")
    for i, (when, view) in enumerate(views):
        if when != t or i == 0:
            continue
        before = views[i - 1][1]
        for node in sorted(before - view):
            out.append(f"the load balancer stops sending to {node}")
        for node in sorted(view - before):
            out.append(f"the load balancer starts sending to {node}")
    return out
