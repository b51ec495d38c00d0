"""A node that dies: when the control plane notices, what it does, and what the network loses meanwhile.

A failed node (power loss, kernel panic, network cut) runs no kubelet and no kube-proxy, and nothing
reaches its pods. The control plane learns of it only by the silence of its heartbeats:

1. **Ready=Unknown.** ``pkg/controller/nodelifecycle/node_lifecycle_controller.go``: every
   ``--node-monitor-period`` (5 s) ``monitorNodeHealth`` runs ``tryUpdateNodeHealth``, which takes the
   controller's own clock as ``probeTimestamp`` when it sees a renewed node Lease, and sets the node's
   Ready condition to Unknown once ``now.After(probeTimestamp + nodeMonitorGracePeriod)``. In the worst
   case the last renewal was just before the failure, seen one period later, and the pass that finds
   it stale comes one period after the grace period ends: ``grace + 2 x period``. The grace period
   (``--node-monitor-grace-period``) defaults to 40 s, and to 50 s from v1.32 (kubernetes/kubernetes
   PR #126287, CHANGELOG-1.32: "The default value for node-monitor-grace-period has been increased to
   50s (earlier 40s)").
2. **Pods NotReady, endpoints not ready.** In the same pass ``monitorNodeHealth`` calls
   ``controllerutil.MarkPodsNotReady`` on the node's pods; the EndpointSlice controller then publishes
   their endpoints with ``ready: false`` and ``serving: false`` (the pod's Ready condition), which
   kube-proxy does not use. The EndpointSlice controller's and kube-proxy's own sync delays are left
   out, as in :mod:`kverify.change.timing`.
3. **Taint and eviction.** ``processTaintBaseEviction`` queues the node for the
   ``node.kubernetes.io/unreachable:NoExecute`` taint; ``doNoExecuteTaintingPass`` drains that queue
   through a token bucket per zone (``--node-eviction-rate`` 0.1/s, burst 1: one node at once, then one
   every 10 s). ``ComputeZoneState``/``handleDisruption``: a zone where more than 2 nodes and at least
   ``--unhealthy-zone-threshold`` (55 %) of them are not Ready is partially disrupted (rate
   ``--secondary-node-eviction-rate`` 0.01/s above ``--large-cluster-size-threshold`` 50 nodes, else 0:
   no taint); when every zone is fully disrupted no node is tainted. Pods tolerate the taint for 300 s
   (``plugin/pkg/admission/defaulttolerationseconds`` ``--default-unreachable-toleration-seconds``,
   added to every pod that does not tolerate it already); then the taint eviction controller deletes
   them, the ReplicaSet controller creates replacements and the scheduler places them on the other
   nodes (the failed one carries the ``unreachable:NoSchedule`` taint, ``doNoScheduleTaintingPass``).
   The deleted pods stay Terminating (their kubelet never confirms), so the scheduler still counts them.
4. **The load balancer** stops sending to the node when its health check has failed ``unhealthy
   threshold`` times, each unanswered probe waiting its timeout (``HealthCheckTiming.down_after(answers=
   False)``): whatever the probe (healthCheckNodePort under eTP Local, kube-proxy's /healthz on 10256
   or the traffic port under eTP Cluster), nothing answers on a dead node.

Meanwhile a packet sent to the node (by the load balancer) or to a pod on it (by kube-proxy elsewhere,
which still lists its endpoints as ready) is lost: :func:`lost_at_dead_node`. This is a rule of the
change engine, applied to the executable model's outcomes; the Z3 encoding has no dead nodes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs

from kverify.errors import InternalError
from kverify.model.enums import DropKind
from kverify.model.workload import Taint, Workload
from kverify.results import Hop, Outcome

K8S = "kubernetes/kubernetes"
#: ``--node-monitor-period`` (pkg/controller/apis/config/v1alpha1 defaults, NodeMonitorPeriod 5 s).
NODE_MONITOR_PERIOD = 5.0
#: ``--node-eviction-rate`` 0.1 nodes/s and ``--secondary-node-eviction-rate`` 0.01 (kube-controller-manager).
EVICTION_RATE = 0.1
SECONDARY_EVICTION_RATE = 0.01
LARGE_CLUSTER_THRESHOLD = 50
UNHEALTHY_ZONE_THRESHOLD = 0.55
#: ``--default-unreachable-toleration-seconds`` (DefaultTolerationSeconds admission plugin).
DEFAULT_TOLERATION_SECONDS = 300.0
UNREACHABLE_NO_EXECUTE = Taint(key="node.kubernetes.io/unreachable", effect="NoExecute")
SOURCE = (
    f"{K8S} pkg/controller/nodelifecycle/node_lifecycle_controller.go (monitorNodeHealth, tryUpdateNodeHealth, "
    "MarkPodsNotReady, doNoExecuteTaintingPass, ComputeZoneState); PR #126287 (grace period 50 s from v1.32); "
    "plugin/pkg/admission/defaulttolerationseconds (300 s)"
)


def grace_period(kubernetes_version: int) -> float:
    """``--node-monitor-grace-period``'s default: 40 s, 50 s from v1.32 (PR #126287)."""
    return 50.0 if kubernetes_version >= 32 else 40.0


@attrs.frozen(kw_only=True)
class FailureTiming:
    """Seconds from the failure (t = 0) to what the node lifecycle controller does, worst case."""

    grace: float
    period: float = NODE_MONITOR_PERIOD
    toleration: float = DEFAULT_TOLERATION_SECONDS

    @property
    def not_ready_after(self) -> float:
        """Ready=Unknown and the pods marked NotReady: ``grace + 2 x period`` (see the module)."""
        return self.grace + 2 * self.period

    def describe(self) -> str:
        evicted = (
            f"its pods evicted {self.toleration:g} s after the unreachable:NoExecute taint (DefaultTolerationSeconds)"
            if math.isfinite(self.toleration)
            else "its pods never evicted (a DaemonSet's pods tolerate unreachable:NoExecute for ever: "
            "pkg/controller/daemon/util/daemonset_util.go AddOrUpdateDaemonPodTolerations)"
        )
        return (
            f"node Ready=Unknown and its pods NotReady {self.not_ready_after:g} s after it fails "
            f"(--node-monitor-grace-period {self.grace:g} s + 2 x --node-monitor-period {self.period:g} s, "
            f"worst case), {evicted}"
        )


def toleration_problem(workload: Workload) -> str | None:
    """Why the default 300 s does not apply: the pod template tolerates the taint itself (its
    ``tolerationSeconds`` is not read by kverify)."""
    if any(t.tolerates(UNREACHABLE_NO_EXECUTE) for t in workload.scheduling.tolerations):
        return (
            f"{workload.key} tolerates node.kubernetes.io/unreachable:NoExecute itself: its tolerationSeconds "
            "(how long its pods stay on a failed node) is not modelled"
        )
    return None


def taint_times(
    failed: Sequence[str], zones: Mapping[str, str | None], total: Mapping[str | None, int]
) -> dict[str, float]:
    """Seconds after Ready=Unknown at which each failed node gets the NoExecute taint (absent: never),
    the nodes taken in the order given (the caller tries each order). ``zones``: node -> zone;
    ``total``: zone -> number of nodes."""
    down: dict[str | None, int] = {}
    for node in failed:
        down[zones.get(node)] = down.get(zones.get(node), 0) + 1
    states = {zone: _zone_state(n, total.get(zone, n)) for zone, n in down.items()}
    every_zone_full = all(states.get(zone) == "full" for zone in total)
    out: dict[str, float] = {}
    seen: dict[str | None, int] = {}
    for node in failed:
        zone = zones.get(node)
        rate = _rate(states[zone], total.get(zone, 0))
        if every_zone_full or rate == 0:
            continue
        k = seen.get(zone, 0)
        seen[zone] = k + 1
        out[node] = k / rate  # token bucket, burst 1: the first at once, then one per 1/rate seconds
    return out


def _zone_state(not_ready: int, size: int) -> str:
    """``ComputeZoneState``: full (no Ready node), partial (> 2 not Ready and >= 55 %), else normal."""
    if not_ready >= size:
        return "full"
    if not_ready > 2 and not_ready / size >= UNHEALTHY_ZONE_THRESHOLD:
        return "partial"
    return "normal"


def _rate(state: str, size: int) -> float:
    """``setLimiterInZone``: normal and full disruption (while some zone is not) use the healthy rate;
    partial disruption ``ReducedQPSFunc``: the secondary rate above the large-cluster threshold, else 0."""
    if state == "partial":
        return SECONDARY_EVICTION_RATE if size > LARGE_CLUSTER_THRESHOLD else 0.0
    return EVICTION_RATE


def lost_at_dead_node(outcome: Outcome, dead: frozenset[str]) -> Outcome | None:
    """``outcome`` on a cluster where the nodes ``dead`` have failed (rule ``change-node-failed``): a
    packet that must reach a dead node (the load balancer sends it there, or kube-proxy elsewhere sends
    it to a pod there) is lost, silently; other outcomes are unchanged. None: the client was itself on a
    dead node (an in-cluster client there is gone with it)."""
    if not dead or not outcome.hops:
        return outcome
    first = outcome.hops[0].at
    if "@" in first and first.split("@", 1)[1] in dead:
        return None
    targets = {n for n in (outcome.node, outcome.endpoint_node) if n in dead}
    if not targets:
        return outcome
    pods = {outcome.endpoint_pod, outcome.endpoint_ip} - {None} if outcome.endpoint_node in dead else set()
    for i, hop in enumerate(outcome.hops):
        into = hop.to.split(" ", 1)[0]
        if into in targets or into in pods:
            where = into if into in targets else outcome.endpoint_node
            # The path up to the failed node is the executable model's; the loss is a last hop to
            # "(end)", as route() marks every drop.
            lost = Hop(
                at=hop.to,
                to="(end)",
                src=hop.src,
                dst=hop.dst,
                note=f"{where} has failed (no kubelet, no kube-proxy): the packet is lost (rule change-node-failed)",
            )
            outcome = attrs.evolve(
                outcome,
                delivered=False,
                drop_kind=DropKind.DROP,
                reply_ok=False,
                reply_path=None,
                source_ip_seen=None,
                proxy_header=False,
                hops=(*outcome.hops[: i + 1], lost),
                rules=(*outcome.rules, "change-node-failed"),
            )
            if where == outcome.node:  # no kube-proxy ran there: no endpoint was chosen, nothing rewritten
                outcome = attrs.evolve(
                    outcome,
                    endpoint_ip=None,
                    endpoint_node=None,
                    endpoint_pod=None,
                    masqueraded=False,
                    crosses_nodes=False,
                    rules=("change-node-failed",),
                )
            return outcome
    raise InternalError(f"an outcome reaches failed node(s) {sorted(targets)} by no hop: this is a bug ({outcome})")


def eviction_seconds(timing: FailureTiming, taint_after: float) -> float:
    """When a failed node's pods are deleted: Ready=Unknown, the taint's place in the queue, the toleration."""
    return timing.not_ready_after + taint_after + timing.toleration if math.isfinite(taint_after) else math.inf
