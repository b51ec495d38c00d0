"""The symbolic cluster of a design review: node slots, and a node variable for every pod.

Three ways to know the nodes:

- **Node objects** (a snapshot's, or written by hand): every slot is present, labels and taints known.
- **Node pools** (``min..max`` identical nodes each): a pool's slots beyond ``min`` may be absent.
- **Nothing described**: every cluster. A placement of P pods touches at most P nodes, and a node
  without a pod of the Service matters to routing only as the arrival node or the client's node, so
  P + 3 slots with free labels and zones represent clusters of every size (the third spare slot is
  "some other node" for the load balancer and for topology domains without pods). Eligibility of a
  slot for a workload (its labels match the workload's node selector and affinity, and its taints
  are tolerated) is then a free Boolean, one per distinct set of node constraints.

Pods of one workload are interchangeable, so their node variables are ordered (``node[i] <=
node[i+1]``): a symmetry the solver would otherwise explore once per permutation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import z3

from kverify.concrete.lb_exclusion import label_class
from kverify.model import Node
from kverify.model.workload import (
    EXCLUDE_FROM_LB_LABEL,
    HOSTNAME_LABEL,
    Taint,
    Workload,
    WorkloadKind,
    well_known_labels,
)
from kverify.placement.design import Design

NO_DOMAIN = -1  # the node has no label for this topology key
#: A draining Node (``Node.draining``) carries the cluster autoscaler's NoSchedule taint, which the
#: loader keeps in ``draining`` rather than in ``taints``: new pods are not scheduled there.
AUTOSCALER_TAINT = Taint(key="ToBeDeletedByClusterAutoscaler", effect="NoSchedule")


@attrs.frozen(kw_only=True)
class Slot:
    """A node the cluster may have. ``labels`` is ``None`` when the cluster is not described."""

    name: str
    labels: Mapping[str, str] | None
    taints: tuple[Taint, ...] = ()
    pool: str | None = None
    addresses: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class Pod:
    """One replica of a workload: on slot ``node`` (a Z3 Int), present when ``present`` holds."""

    workload: Workload
    index: int
    node: Any
    present: Any = True

    @property
    def name(self) -> str:
        return f"{self.workload.namespace}/{self.workload.name}-{self.index}"


def node_labels(node: Node) -> dict[str, str]:
    """A Node's labels, with the well-known hostname and zone labels the kubelet sets."""
    return well_known_labels(node.labels, node_name=node.name, zone=node.zone)


def _constraint_signature(workload: Workload) -> tuple[Any, ...]:
    s = workload.scheduling
    return (s.node_selector, s.node_affinity, s.tolerations)


def _unconstrained(workload: Workload) -> bool:
    """Goes on every node: no node selector or affinity, and tolerates every taint."""
    s = workload.scheduling
    tolerates_all = any(t.operator == "Exists" and not t.key and not t.effect for t in s.tolerations)
    return not s.node_selector.requirements and not s.node_affinity and tolerates_all


class PlacementUniverse:
    """Node slots and pods for the workloads in ``workloads`` (all of them are placed together)."""

    def __init__(self, design: Design, workloads: Sequence[Workload]) -> None:
        self.design = design
        self.workloads = tuple(workloads)
        self.abstract = not design.nodes_described
        self.slots, self.present, self.size_floor = self._slots()
        self.k = len(self.slots)
        # Each slot's LB exclusion label (rule lb-exclude-label), as LB_LABEL_*: known for Node objects and pools.
        # Clusters not described are assumed unlabelled, and the scope says so (solve.scope_text).
        self.lb_labels: list[int] = [label_class((s.labels or {}).get(EXCLUDE_FROM_LB_LABEL)) for s in self.slots]
        self._eligible: dict[tuple[Any, ...], list[Any]] = {}
        self._domains: dict[str, list[Any]] = {}
        self._eligible_bits: dict[int, list[Any]] = {}
        self.pods: list[Pod] = []
        self.constraints: list[Any] = []
        #: Terms built once per universe and reused (kverify.placement.flow).
        self.memo: dict[tuple[Any, ...], Any] = {}
        for w in self.workloads:
            self._add_pods(w)

    # -- slots ------------------------------------------------------------------------------------
    def _slots(self) -> tuple[list[Slot], list[Any], int]:
        design = self.design
        if design.cluster.nodes:
            slots = [
                Slot(
                    name=n.name,
                    labels=node_labels(n),
                    taints=(*n.taints, AUTOSCALER_TAINT) if n.draining else n.taints,
                    addresses=n.addresses,
                )
                for n in design.cluster.nodes
            ]
            return slots, [True] * len(slots), len(slots)
        if design.node_pools:
            slots = []
            present: list[Any] = []
            for pool in design.node_pools:
                for i in range(pool.max_count):
                    name = f"{pool.name}-{i + 1}"
                    slots.append(Slot(name=name, labels=pool.label_map(name), taints=pool.taints, pool=pool.name))
                    present.append(True if i < pool.min_count else z3.Bool(f"present_{name}"))
            return slots, present, sum(p.min_count for p in design.node_pools)
        fixed = sum(w.replicas or 0 for w in self.workloads if w.kind is not WorkloadKind.DAEMON_SET)
        k = fixed + 3
        slots = [Slot(name=f"node-{i + 1}", labels=None) for i in range(k)]
        present = [True] + [z3.Bool(f"present_node-{i + 1}") for i in range(1, k)]
        return slots, present, 1

    def pool_order(self) -> list[Any]:
        """A pool's optional slots are used in order (symmetry), and constraints for that."""
        c = []
        for i in range(1, self.k):
            a, b = self.present[i - 1], self.present[i]
            if not isinstance(b, bool) and self.slots[i - 1].pool == self.slots[i].pool:
                c.append(z3.Implies(b, a) if not isinstance(a, bool) else True)
        return [x for x in c if x is not True]

    def node_count(self) -> Any:
        return z3.Sum([z3.If(p, 1, 0) if not isinstance(p, bool) else z3.IntVal(int(p)) for p in self.present])

    # -- what a slot is -----------------------------------------------------------------------------
    def eligible(self, workload: Workload, slot: int) -> Any:
        """The workload's pods may be scheduled on ``slot`` (node affinity, taints, nodeName)."""
        sched = workload.scheduling
        if sched.node_name is not None:
            if self.abstract:
                return slot == 0  # the named node is some node of the cluster: call it the first
            return self.slots[slot].name == sched.node_name
        labels = self.slots[slot].labels
        if labels is not None:
            return sched.node_allowed(labels, self.slots[slot].taints)
        if _unconstrained(workload):
            return True
        key = _constraint_signature(workload)
        if key not in self._eligible:
            self._eligible[key] = [z3.Bool(f"eligible{len(self._eligible)}_{j}") for j in range(self.k)]
        return self._eligible[key][slot]

    def matches_node_affinity(self, workload: Workload, slot: int) -> Any:
        """Node affinity alone (nodeSelector and required terms), without taints: a spread
        constraint's ``nodeAffinityPolicy: Honor`` counts these nodes as domains."""
        labels = self.slots[slot].labels
        if labels is not None:
            return workload.scheduling.matches_node(labels)
        return self.eligible(workload, slot)  # abstract: one free choice per set of constraints

    def domain(self, key: str, slot: int) -> Any:
        """The slot's value of the topology label ``key``, as an index (``NO_DOMAIN``: no such label)."""
        if key == HOSTNAME_LABEL:
            return slot
        if key not in self._domains:
            if self.abstract:
                free = [z3.Int(f"domain_{key}_{j}") for j in range(self.k)]
                self.constraints += [z3.And(d >= NO_DOMAIN, d < self.k) for d in free]
                self._domains[key] = free
            else:
                values = sorted({s.labels[key] for s in self.slots if s.labels and key in s.labels})
                index = {v: i for i, v in enumerate(values)}
                self._domains[key] = [
                    index.get(s.labels.get(key, ""), NO_DOMAIN) if s.labels is not None else NO_DOMAIN
                    for s in self.slots
                ]
        return self._domains[key][slot]

    def domain_count(self, key: str) -> int:
        """How many distinct values ``key`` can take (domain indexes are ``0..count-1``)."""
        if key == HOSTNAME_LABEL or self.abstract:
            return self.k
        self.domain(key, 0)
        return max([d for d in self._domains[key] if isinstance(d, int)] + [NO_DOMAIN]) + 1

    def at(self, values: Sequence[Any], node: Any) -> Any:
        """``values[node]`` for a symbolic slot index."""
        if not z3.is_expr(node):
            return values[node]
        result = _lift(values[-1])
        for j in range(len(values) - 2, -1, -1):
            result = z3.If(node == j, _lift(values[j]), result)
        return result

    # -- pods ----------------------------------------------------------------------------------------
    def _add_pods(self, workload: Workload) -> None:
        if workload.kind is WorkloadKind.DAEMON_SET:
            # One pod on every node the DaemonSet's pods may run on (the DaemonSet controller).
            pods = []
            for j in range(self.k):
                present = z3.And(_lift(self.present[j]), _lift(self.eligible(workload, j)))
                pods.append(Pod(workload=workload, index=j, node=j, present=z3.simplify(present)))
            self.pods += pods
            # Scheduled means running somewhere: a DaemonSet no node can take is reported, not proved.
            self.constraints.append(z3.Or(*[_lift(p.present) for p in pods]))
            return
        previous = None
        for i in range(workload.replicas or 0):
            var = z3.Int(f"node_{workload.namespace}/{workload.name}#{i}")
            self.pods.append(Pod(workload=workload, index=i, node=var))
            self.constraints += [var >= 0, var < self.k]
            if not all(p is True for p in self.present):  # a node pool with a range: some slots may be absent
                self.constraints.append(self.at(self.present, var))
            self.constraints.append(self._eligible_at(workload, var))
            if previous is not None:
                self.constraints.append(previous <= var)
            previous = var

    def _eligible_at(self, workload: Workload, var: Any) -> Any:
        """``eligible(workload, var)`` as intervals of slot indexes when it is concrete (large clusters)."""
        bits = self._eligible_bits.get(id(workload))
        if bits is None:  # the same for every replica: computed once per workload
            bits = self._eligible_bits[id(workload)] = [self.eligible(workload, j) for j in range(self.k)]
        if not all(isinstance(b, bool) for b in bits):
            return self.at(bits, var)
        runs, start = [], None
        for j, bit in enumerate([*bits, False]):
            if bit and start is None:
                start = j
            elif not bit and start is not None:
                runs.append(z3.And(var >= start, var < j))
                start = None
        return z3.Or(*runs) if runs else z3.BoolVal(False)

    def pods_of(self, workload: Workload) -> list[Pod]:
        return [p for p in self.pods if p.workload is workload]


def _lift(x: Any) -> Any:
    if isinstance(x, bool):
        return z3.BoolVal(x)
    if isinstance(x, int):
        return z3.IntVal(x)
    return x
