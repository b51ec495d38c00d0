"""What the controllers do during a change, as every timeline of pod lives they allow.

**Rolling update** (``pkg/controller/deployment/rolling.go``): at each sync the Deployment controller
first scales the new ReplicaSet up (``NewRSNewReplicas``: up to ``replicas + maxSurge`` pods counted
by ReplicaSet sizes, so terminating pods do not count), then the old ones down
(``reconcileOldReplicaSets``: only while ``allPods - minAvailable - newUnavailable > 0``, by
``available - minAvailable``, where ``minAvailable = replicas - maxUnavailable`` and a pod is
available once Ready for ``minReadySeconds``). It syncs again when a new pod becomes available.
``Recreate`` deletes every old pod and creates the new ones once the old are gone
(``rolloutRecreate``).

**Which old pod goes** (``pkg/controller/replicaset/replica_set.go`` ``getPodsToDelete``,
``pkg/controller/controller_utils.go`` ``ActivePodsWithRanks``): among Ready, running pods, the one
whose node holds the most active pods of the Deployment (old and new) first; between equals any
(kverify tries each).

**When a new pod is Ready**: ``start_seconds`` (pulling the image and starting the container: not in
the manifests, so the caller chooses it) plus the readiness probe's delay after it is scheduled.

**Where a new pod goes**: any node the scheduler's filters allow at that moment
(:func:`kverify.change.placements.schedulable`); kverify tries each kind of node. A pod no node takes
stays Pending and is retried whenever a pod is gone.

**Drain** (``kubectl drain``: cordon, then evict every pod of the node; ``staging/src/k8s.io/kubectl/
pkg/drain``): the drained nodes take no new pods; their pods are deleted at once (PodDisruptionBudgets
are not modelled) and the ReplicaSet controller creates as many replacements at once.

**Node failure** (:mod:`kverify.change.failure`): up to ``k`` nodes die at t = 0; their pods are
marked NotReady when the node lifecycle controller notices, deleted when their toleration of the
``unreachable:NoExecute`` taint runs out, and replaced then on the other nodes (in every order the
controller's per-zone rate limiter may taint them). The failed nodes never come back.

Nodes that hold the same pods and differ only in name are tried once. The number of timelines is
capped; past the cap the decision is Unknown.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from itertools import combinations

import attrs

from kverify.change.failure import FailureTiming
from kverify.change.fenceposts import resolve_fenceposts
from kverify.change.placements import schedulable, signature
from kverify.change.timeline import INF, PodLife
from kverify.model.workload import Workload
from kverify.placement.universe import Slot


class TooManyTimelines(Exception):
    """The controllers allow more timelines than the cap."""


@attrs.frozen(kw_only=True)
class Change:
    """A rolling update (``kind == "rollout"``), the drain of ``nodes`` nodes, or their failure."""

    kind: str  # "rollout" | "drain" | "failure"
    nodes: int = 0
    by: str = "kubectl"  # drain: "kubectl" or "autoscaler" (ToBeDeletedByClusterAutoscaler taint)

    def describe(self) -> str:
        if self.kind == "rollout":
            return "a rolling update"
        if self.kind == "failure":
            return f"the failure of up to {self.nodes} node(s) (NotReady: kubelet and kube-proxy gone)"
        who = "the cluster autoscaler" if self.by == "autoscaler" else "kubectl drain"
        return f"a drain of up to {self.nodes} node(s) by {who}"


@attrs.frozen(kw_only=True)
class Timeline:
    pods: tuple[PodLife, ...]
    cordoned: frozenset[str] = frozenset()
    completes: bool = True  # every pod the controllers want got scheduled
    failed: frozenset[str] = frozenset()  # nodes that died at t = 0


class _Sim:
    """One branch of the simulation: pod lives so far (mutable copies per branch)."""

    def __init__(self, pods: list[PodLife]) -> None:
        self.pods = pods

    def copy(self) -> _Sim:
        return _Sim(list(self.pods))

    def present(self, t: float) -> dict[str, int]:
        """Pods on each node at ``t`` that the scheduler still counts (scheduled, not gone)."""
        out: dict[str, int] = {}
        for p in self.pods:
            if p.node is not None and p.gone_at > t:
                out[p.node] = out.get(p.node, 0) + 1
        return out

    def active_on(self, node: str, t: float) -> int:
        return sum(1 for p in self.pods if p.node == node and p.deleted_at > t)


class Simulator:
    """Timelines of ``workload``'s pods on ``slots`` for a change."""

    def __init__(self, workload: Workload, slots: Sequence[Slot], *, limit: int, start_seconds: float = 0.0) -> None:
        self.workload = workload
        self.slots = list(slots)
        self.by_name = {s.name: s for s in slots}
        self.domains = {s.name: dict(s.labels or {}) for s in slots}
        self.limit = limit
        self.count = 0
        life = workload.lifecycle
        grace = life.termination_grace_seconds
        self.serving_for = float(min(life.pre_stop_seconds or 0, grace))
        #: From scheduling to the readiness probe's first chance: the image pull and container start
        #: (``start_seconds``), then the probe's delay.
        self.ready_after = float(start_seconds) + float(life.ready_after_seconds)
        self.min_ready = float(life.min_ready_seconds)
        self.prefix = f"{workload.namespace}/{workload.name}"

    # -- shared ------------------------------------------------------------------------------------
    def _emit(self, sim: _Sim, cordoned: frozenset[str]) -> Timeline:
        self.count += 1
        if self.count > self.limit:
            raise TooManyTimelines(f"more than {self.limit} timelines")
        return Timeline(
            pods=tuple(sim.pods),
            cordoned=cordoned,
            completes=all(p.node is not None for p in sim.pods if p.deleted_at == INF),
        )

    def _classes(self, sim: _Sim, names: Sequence[str], t: float) -> list[str]:
        """One node of each kind among ``names``: same signature and same pods (by generation and state)."""
        seen: dict[tuple[object, ...], str] = {}
        for name in names:
            pods = tuple(
                sorted(
                    (p.generation, p.deleted_at <= t, p.ready_at <= t)
                    for p in sim.pods
                    if p.node == name and p.gone_at > t
                )
            )
            seen.setdefault((signature(self.by_name[name]), pods), name)
        return list(seen.values())

    def _place(self, sim: _Sim, index: int, t: float, cordoned: frozenset[str]) -> Iterator[_Sim]:
        """Every way to schedule Pending pod ``sim.pods[index]`` at ``t`` (or leave it Pending)."""
        present = sim.present(t)
        names = [
            s.name
            for s in self.slots
            if s.name not in cordoned and schedulable(self.workload, s, present, self.domains)
        ]
        if not names:
            yield sim
            return
        for name in self._classes(sim, names, t):
            branch = sim.copy()
            branch.pods[index] = attrs.evolve(sim.pods[index], node=name, ready_at=t + self.ready_after, scheduled_at=t)
            yield branch

    def _place_all(self, sim: _Sim, t: float, cordoned: frozenset[str]) -> Iterator[_Sim]:
        """Every way to schedule each Pending (undeleted) pod at ``t``, one after the other."""
        pending = [i for i, p in enumerate(sim.pods) if p.node is None and p.deleted_at == INF and p.created <= t]
        yield from self._place_each(sim, pending, t, cordoned)

    def _place_each(self, sim: _Sim, pending: list[int], t: float, cordoned: frozenset[str]) -> Iterator[_Sim]:
        if not pending:
            yield sim
            return
        for branch in self._place(sim, pending[0], t, cordoned):
            yield from self._place_each(branch, pending[1:], t, cordoned)

    def _retry_times(self, sim: _Sim, after: float) -> list[float]:
        if not any(p.node is None and p.deleted_at == INF for p in sim.pods):
            return []
        return sorted({p.gone_at for p in sim.pods if math.isfinite(p.gone_at) and p.gone_at > after})

    # -- rolling update ------------------------------------------------------------------------------
    def rollouts(self, initial: dict[str, str]) -> Iterator[Timeline]:
        w = self.workload
        replicas = w.replicas or 0
        old = [
            PodLife(name=name, node=node, generation="old", created=-INF, ready_at=-INF)
            for name, node in sorted(initial.items())
        ]
        sim = _Sim(old)
        if w.lifecycle.recreate:
            yield from self._recreate(sim, replicas)
            return
        surge, unavailable = resolve_fenceposts(w.lifecycle.max_surge, w.lifecycle.max_unavailable, replicas)
        state = {"old": replicas, "new": 0}
        yield from self._sync(sim, 0.0, dict(state), replicas, surge, unavailable)

    def _available(self, sim: _Sim, generation: str, t: float) -> int:
        return sum(
            1
            for p in sim.pods
            if p.generation == generation
            and p.node is not None
            and p.deleted_at > t
            and p.ready_at + self.min_ready <= t
        )

    def _sync(
        self, sim: _Sim, t: float, sizes: dict[str, int], replicas: int, surge: int, unavailable: int
    ) -> Iterator[Timeline]:
        # reconcileNewReplicaSet: NewRSNewReplicas
        total = sizes["old"] + sizes["new"]
        up = min(replicas + surge - total, replicas - sizes["new"]) if total < replicas + surge else 0
        if up > 0:
            for _ in range(up):
                sim.pods.append(
                    PodLife(
                        name=f"{self.prefix}-new-{sizes['new']}", node=None, generation="new", created=t, ready_at=INF
                    )
                )
                sizes["new"] += 1
        for placed in self._place_all(sim, t, frozenset()):
            yield from self._scale_down(placed, t, dict(sizes), replicas, surge, unavailable)

    def _scale_down(
        self, sim: _Sim, t: float, sizes: dict[str, int], replicas: int, surge: int, unavailable: int
    ) -> Iterator[Timeline]:
        # reconcileOldReplicaSets + scaleDownOldReplicaSetsForRollingUpdate
        min_available = replicas - unavailable
        new_available = self._available(sim, "new", t)
        new_unavailable = sizes["new"] - new_available
        down = 0
        if sizes["old"] > 0 and sizes["old"] + sizes["new"] - min_available - new_unavailable > 0:
            available = self._available(sim, "old", t) + new_available
            down = min(sizes["old"], max(available - min_available, 0))
        if down:
            sizes["old"] -= down
            for branch in self._delete(sim, down, t):  # the ReplicaSets changed: the controller syncs again
                yield from self._sync(branch, t, dict(sizes), replicas, surge, unavailable)
            return
        yield from self._next(sim, t, sizes, replicas, surge, unavailable)

    def _delete(self, sim: _Sim, count: int, t: float) -> Iterator[_Sim]:
        """Every choice of ``count`` old pods the ReplicaSet controller may delete at ``t``."""
        alive = [i for i, p in enumerate(sim.pods) if p.generation == "old" and p.deleted_at > t]
        ranks = {i: sim.active_on(sim.pods[i].node or "", t) for i in alive}
        yield from self._delete_each(sim, alive, ranks, count, t)

    def _delete_each(self, sim: _Sim, alive: list[int], ranks: dict[int, int], count: int, t: float) -> Iterator[_Sim]:
        if count == 0:
            yield sim
            return
        top = max(ranks[i] for i in alive)
        tied = [i for i in alive if ranks[i] == top]
        by_class: dict[str, int] = {}
        for name in self._classes(sim, [sim.pods[i].node or "" for i in tied], t):
            by_class[name] = next(i for i in tied if sim.pods[i].node == name)
        for i in by_class.values():
            branch = sim.copy()
            branch.pods[i] = attrs.evolve(sim.pods[i], deleted_at=t, serving_for=self.serving_for)
            yield from self._delete_each(branch, [j for j in alive if j != i], ranks, count - 1, t)

    def _next(
        self, sim: _Sim, t: float, sizes: dict[str, int], replicas: int, surge: int, unavailable: int
    ) -> Iterator[Timeline]:
        done = sizes["old"] == 0 and sizes["new"] == replicas
        wake = [
            p.ready_at + self.min_ready
            for p in sim.pods
            if p.generation == "new" and p.node is not None and p.ready_at + self.min_ready > t and p.deleted_at == INF
        ]
        retry = self._retry_times(sim, t)
        upcoming = sorted(x for x in [*wake, *retry] if math.isfinite(x))
        if done and not any(p.node is None for p in sim.pods):
            yield self._emit(sim, frozenset())
            return
        if not upcoming:
            yield self._emit(sim, frozenset())  # stuck: Pending pods no node takes, or nothing more to do
            return
        yield from self._sync(sim, upcoming[0], sizes, replicas, surge, unavailable)

    def _recreate(self, sim: _Sim, replicas: int) -> Iterator[Timeline]:
        for i, p in enumerate(sim.pods):
            sim.pods[i] = attrs.evolve(p, deleted_at=0.0, serving_for=self.serving_for)
        start = max([p.gone_at for p in sim.pods] or [0.0])
        for k in range(replicas):
            sim.pods.append(
                PodLife(name=f"{self.prefix}-new-{k}", node=None, generation="new", created=start, ready_at=INF)
            )
        for placed in self._place_all(sim, start, frozenset()):
            yield self._emit(placed, frozenset())

    # -- DaemonSet rolling update ------------------------------------------------------------------
    def daemon_rollouts(self, initial: dict[str, str]) -> Iterator[Timeline]:
        """``pkg/controller/daemon/update.go`` ``rollingUpdate`` without surge: a node counts as
        unavailable from the deletion of its old pod until its new pod is available; old pods are
        deleted while fewer than ``maxUnavailable`` nodes are (``UnavailableCount``: the percentage of the
        nodes scheduled, rounded up), in any order; the new pod of a node is created once its old pod is
        gone (``podsShouldBeOnNode`` counts a terminating pod as present)."""
        from kverify.change.fenceposts import scaled_value

        old = [
            PodLife(name=name, node=node, generation="old", created=-INF, ready_at=-INF)
            for name, node in sorted(initial.items())
        ]
        limit = max(scaled_value(self.workload.lifecycle.max_unavailable, len(old), round_up=True), 0)
        if limit == 0:
            return
        yield from self._daemon_sync(_Sim(old), 0.0, limit)

    def _daemon_sync(self, sim: _Sim, t: float, limit: int) -> Iterator[Timeline]:
        nodes = sorted({p.node for p in sim.pods if p.node is not None})

        def available(node: str) -> bool:
            return any(
                p.node == node and p.deleted_at > t and (p.generation == "old" or p.ready_at + self.min_ready <= t)
                for p in sim.pods
            )

        unavailable = sum(1 for n in nodes if not available(n))
        candidates = [
            n for n in nodes if any(p.node == n and p.generation == "old" and p.deleted_at > t for p in sim.pods)
        ]
        budget = min(max(limit - unavailable, 0), len(candidates))
        for branch in self._daemon_delete(sim, candidates, budget, t):
            yield from self._daemon_next(branch, t, limit)

    def _daemon_delete(self, sim: _Sim, candidates: list[str], count: int, t: float) -> Iterator[_Sim]:
        if count == 0:
            yield sim
            return
        for node in self._classes(sim, candidates, t):
            branch = sim.copy()
            for i, p in enumerate(branch.pods):
                if p.node == node and p.generation == "old" and p.deleted_at > t:
                    branch.pods[i] = attrs.evolve(p, deleted_at=t, serving_for=self.serving_for)
                    branch.pods.append(
                        PodLife(
                            name=p.name.replace(f"{self.prefix}-", f"{self.prefix}-new-", 1),
                            node=node,
                            generation="new",
                            created=branch.pods[i].gone_at,
                            ready_at=branch.pods[i].gone_at + self.ready_after,
                        )
                    )
            yield from self._daemon_delete(branch, [n for n in candidates if n != node], count - 1, t)

    def _daemon_next(self, sim: _Sim, t: float, limit: int) -> Iterator[Timeline]:
        if all(p.deleted_at < INF for p in sim.pods if p.generation == "old"):
            yield self._emit(sim, frozenset())
            return
        wake = [
            p.ready_at + self.min_ready for p in sim.pods if p.generation == "new" and p.ready_at + self.min_ready > t
        ]
        if not wake:
            yield self._emit(sim, frozenset())
            return
        yield from self._daemon_sync(sim, min(wake), limit)

    # -- drain -------------------------------------------------------------------------------------
    def drains(self, initial: dict[str, str], nodes: int) -> Iterator[Timeline]:
        old = [
            PodLife(name=name, node=node, generation="old", created=-INF, ready_at=-INF)
            for name, node in sorted(initial.items())
        ]
        base = _Sim(old)
        names = [s.name for s in self.slots]
        if nodes > len(names):
            return
        kinds = self._classes(base, names, 0.0)
        for chosen in _choices(base, self, names, kinds, nodes):
            cordoned = frozenset(chosen)
            sim = base.copy()
            evicted = 0
            for i, p in enumerate(sim.pods):
                if p.node in cordoned:
                    sim.pods[i] = attrs.evolve(p, deleted_at=0.0, serving_for=self.serving_for)
                    evicted += 1
            for k in range(evicted):
                sim.pods.append(
                    PodLife(name=f"{self.prefix}-new-{k}", node=None, generation="new", created=0.0, ready_at=INF)
                )
            for placed in self._place_all(sim, 0.0, cordoned):
                yield from self._drain_retry(placed, 0.0, cordoned)

    def _drain_retry(self, sim: _Sim, t: float, cordoned: frozenset[str]) -> Iterator[Timeline]:
        retry = self._retry_times(sim, t)
        if not retry:
            yield self._emit(sim, cordoned)
            return
        for placed in self._place_all(sim, retry[0], cordoned):
            yield from self._drain_retry(placed, retry[0], cordoned)

    # -- node failure -------------------------------------------------------------------------------
    def failures(self, initial: dict[str, str], nodes: int, timing: FailureTiming) -> Iterator[Timeline]:
        """Every timeline of ``nodes`` nodes failing at t = 0 (one set per multiset of node kinds, every
        order in which the node lifecycle controller may taint those of one zone)."""
        from collections import Counter

        from kverify.change.failure import taint_times
        from kverify.model.workload import ZONE_LABEL

        old = [
            PodLife(name=name, node=node, generation="old", created=-INF, ready_at=-INF)
            for name, node in sorted(initial.items())
        ]
        base = _Sim(old)
        names = [s.name for s in self.slots]
        if nodes > len(names):
            return
        zones = {n: self.domains[n].get(ZONE_LABEL) for n in names}
        total = Counter(zones.values())
        kinds = self._classes(base, names, 0.0)
        for chosen in _choices(base, self, names, kinds, nodes):
            failed = frozenset(chosen)
            for order in _zone_orders(chosen, zones):
                taints = taint_times(order, zones, total)
                sim = base.copy()
                evictions: list[float] = []
                for i, p in enumerate(sim.pods):
                    if p.node not in failed:
                        continue
                    evict = timing.not_ready_after + taints[p.node] + timing.toleration if p.node in taints else INF
                    sim.pods[i] = attrs.evolve(p, not_ready_at=timing.not_ready_after, deleted_at=evict, stranded=True)
                    if math.isfinite(evict):
                        evictions.append(evict)
                for k, t in enumerate(sorted(evictions)):  # the ReplicaSet controller replaces each at once
                    sim.pods.append(
                        PodLife(name=f"{self.prefix}-new-{k}", node=None, generation="new", created=t, ready_at=INF)
                    )
                for timeline in self._failure_steps(sim, sorted(set(evictions)), failed):
                    yield attrs.evolve(timeline, failed=failed)

    def _failure_steps(self, sim: _Sim, times: list[float], failed: frozenset[str]) -> Iterator[Timeline]:
        """Place the replacements created at each eviction time, then retry Pending ones."""
        if not times:
            yield from self._drain_retry(sim, 0.0, failed)
            return
        for placed in self._place_all(sim, times[0], failed):
            yield from self._failure_steps(placed, times[1:], failed)


def _zone_orders(chosen: Sequence[str], zones: dict[str, str | None]) -> Iterator[tuple[str, ...]]:
    """Every order of ``chosen`` that differs within a zone (the taint queue's order is not known)."""
    from itertools import permutations, product

    by_zone: dict[str | None, list[str]] = {}
    for node in chosen:
        by_zone.setdefault(zones.get(node), []).append(node)
    groups = [list(permutations(nodes)) for nodes in by_zone.values()]
    for combo in product(*groups):
        yield tuple(n for group in combo for n in group)


def _choices(sim: _Sim, simulator: Simulator, names: list[str], kinds: list[str], k: int) -> Iterator[tuple[str, ...]]:
    """Sets of ``k`` nodes to drain, one per multiset of node kinds (nodes of one kind are alike)."""
    members: dict[str, list[str]] = {kind: [] for kind in kinds}
    key_of = {}
    for kind in kinds:
        key_of[kind] = simulator._classes(sim, [kind], 0.0)[0]
    for name in names:
        for kind in kinds:
            if simulator._classes(sim, [kind, name], 0.0) == [kind]:
                members[kind].append(name)
                break
    pool = [name for kind in kinds for name in members[kind][:k]]
    seen: set[tuple[str, ...]] = set()
    for combo in combinations(pool, k):
        key = tuple(sorted(next(kind for kind in kinds if n in members[kind]) for n in combo))
        if key not in seen:
            seen.add(key)
            yield combo
