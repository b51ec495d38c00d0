"""A change as a timeline: each pod's life in seconds, and the states (clusters) it passes through.

A pod is Ready from ``ready_at`` until it is deleted; deleted, it is ``serving & terminating`` (Ready
false: the EndpointSlice controller publishes a terminating pod as not Ready and its readiness as
``serving``, KEP-1669) while its PreStop hook runs, capped by ``terminationGracePeriodSeconds``
(the kubelet kills the container at the end of the grace period), and gone afterwards: kverify
assumes the application stops accepting connections when it gets SIGTERM, the end of the PreStop
hook. A pod that is not yet Ready has no usable endpoint and is left out of the slice.

A Service with ``publishNotReadyAddresses: true`` is the exception: the EndpointSlice controller writes
``ready: true`` for every pod it lists, whatever the pod's readiness, and ``serving`` as the pod's
readiness (kubernetes/kubernetes ``staging/src/k8s.io/endpointslice/utils.go`` ``podToEndpoint``:
``ready := service.Spec.PublishNotReadyAddresses || (serving && !terminating)``, at 115584ee), and it
lists a pod once the pod has an IP (``util/controller_utils.go`` ``ShouldPodBeInEndpoints``, terminating
pods included). kube-proxy sends to Ready endpoints, so such a Service's traffic reaches a pod from the
moment it is scheduled (kverify cannot time the sandbox: it takes the earliest moment) until it is gone,
and a pod marked NotReady on a failed node stays Ready for kube-proxy.

The load balancer's view lags behind: a node whose health check starts failing at ``t`` is left at
``t + down_after`` if it still fails then; one that passes again is used at ``t + up_after``
(:mod:`kverify.change.timing`). The states are the intervals between these instants.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import attrs

from kverify.model import Cluster, Endpoint, Node, Service

INF = math.inf


@attrs.frozen(kw_only=True)
class PodLife:
    """One pod of the change. ``node`` None: Pending (never scheduled)."""

    name: str
    node: str | None
    generation: str  # "old" or "new"
    created: float = 0.0
    ready_at: float = 0.0
    deleted_at: float = INF
    serving_for: float = 0.0  # seconds it keeps serving once deleted (PreStop, capped by the grace period)
    #: On a node that failed: the node lifecycle controller marks it NotReady at ``not_ready_at``
    #: (MarkPodsNotReady), and once deleted it stays Terminating (no kubelet confirms it is gone).
    not_ready_at: float = INF
    stranded: bool = False
    #: When the scheduler bound it to ``node`` (None: it was created there, at ``created``).
    scheduled_at: float | None = None

    @property
    def gone_at(self) -> float:
        if self.stranded:
            return INF
        return self.deleted_at + self.serving_for if self.was_ready else self.deleted_at

    @property
    def was_ready(self) -> bool:
        return self.ready_at < self.deleted_at

    @property
    def listed_from(self) -> float:
        """When the pod is on its node (and, at the earliest, has the IP the EndpointSlice controller lists)."""
        return self.created if self.scheduled_at is None else self.scheduled_at

    def conditions(self, t: float, *, publish_not_ready: bool = False) -> tuple[bool, bool, bool] | None:
        """(ready, serving, terminating) at time ``t``, or None when the pod has no usable endpoint.
        ``publish_not_ready``: the Service's ``publishNotReadyAddresses`` (module docstring)."""
        if publish_not_ready:
            return self._published(t)
        if self.node is None or (t < self.ready_at and t < self.deleted_at):
            return None
        if t >= self.not_ready_at:  # listed, not ready and not serving: kube-proxy does not use it
            return (False, False, t >= self.deleted_at)
        if t < self.deleted_at:
            return (True, True, False)
        if self.was_ready and t < self.gone_at:
            return (False, True, True)
        return None

    def _published(self, t: float) -> tuple[bool, bool, bool] | None:
        """podToEndpoint under publishNotReadyAddresses: Ready whatever the pod, serving as the pod is."""
        if self.node is None or t < self.listed_from or t >= self.gone_at:
            return None
        terminating = t >= self.deleted_at
        serving = self.ready_at <= t < self.not_ready_at and (not terminating or self.was_ready)
        return (True, serving, terminating)

    def instants(self) -> tuple[float, ...]:
        times = (self.ready_at, self.deleted_at, self.gone_at, self.not_ready_at, self.listed_from)
        return tuple(x for x in times if math.isfinite(x))


@attrs.frozen(kw_only=True)
class State:
    """One interval of the change: the cluster as kube-proxy sees it and the load balancer's nodes."""

    index: int
    start: float
    end: float  # INF: the state the change ends in
    cluster: Cluster
    #: The nodes the load balancer sends to, when its health checks lag behind the cluster (None: the
    #: rule table decides from the cluster itself, as in a steady state).
    lb_nodes: tuple[str, ...] | None
    events: tuple[str, ...]  # what changed at ``start``
    failed: frozenset[str] = frozenset()  # nodes that have died (everything sent to them is lost)

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def describe(self) -> str:
        until = "on" if self.end == INF else f"{self.end:g} s"
        what = "; ".join(self.events) or "the steady state before the change"
        return f"step {self.index} (t = {self.start:g} s to {until}): {what}"


def cluster_at(
    base: Cluster,
    service: Service,
    endpoints: dict[str, Endpoint],
    pods: Sequence[PodLife],
    t: float,
    nodes: tuple[Node, ...],
) -> Cluster:
    """``base`` with ``service``'s endpoints as they are at ``t`` (conditions set, gone ones left out)."""
    found: list[Endpoint] = []
    published = service.publish_not_ready_addresses
    for pod in pods:
        c = pod.conditions(t, publish_not_ready=published)
        if c is None or pod.name not in endpoints:
            continue
        ready, serving, terminating = c
        found.append(attrs.evolve(endpoints[pod.name], ready=ready, serving=serving, terminating=terminating))
    placed = attrs.evolve(service, endpoints=tuple(found))
    return attrs.evolve(base, nodes=nodes, services=tuple(placed if s.key == service.key else s for s in base.services))


def lb_changes(
    instants: Sequence[float],
    passes: Callable[[float], frozenset[str]],
    down_after: Callable[[str], float],
    up_after: float,
) -> list[tuple[float, frozenset[str]]]:
    """When the load balancer's set of healthy nodes changes, as ``(time, healthy nodes)``, the first
    entry being the set before the change (time -1). A node leaves the set once it has failed its check
    for ``down_after(node)`` seconds without a break, and joins it once it has passed for ``up_after``
    seconds. ``passes(t)`` is the set of nodes passing at ``t``; it changes only at ``instants``."""
    times = sorted({0.0, *(t for t in instants if t >= 0)})
    before = passes(-1.0)  # converged before the change starts
    status = [passes(t) for t in times]
    changing: set[str] = set()
    for p in status:
        changing |= p ^ before
    flips: dict[float, dict[str, bool]] = {}
    for node in sorted(changing):
        seen = node in before
        runs: list[tuple[float, bool]] = []  # (start, passes) of each run of equal answers
        for t, p in zip(times, status, strict=True):
            if not runs or runs[-1][1] != (node in p):
                runs.append((t, node in p))
        for i, (start, value) in enumerate(runs):
            end = runs[i + 1][0] if i + 1 < len(runs) else INF
            if value == seen:
                continue
            flip = start + (up_after if value else down_after(node))
            if flip < end:
                flips.setdefault(flip, {})[node] = value
                seen = value
    view = set(before)
    out: list[tuple[float, frozenset[str]]] = [(-1.0, frozenset(view))]
    for t in sorted(flips):
        for node, up in flips[t].items():
            if up:
                view.add(node)
            else:
                view.discard(node)
        out.append((t, frozenset(view)))
    return out
