"""Workloads and the nodes they may run on, before anything is deployed.

A design review starts from manifests as they sit in Git: Deployments, StatefulSets, ReplicaSets,
ReplicationControllers, DaemonSets and bare Pods instead of EndpointSlices, and node pools (or nothing)
instead of Nodes.
These values say what the scheduler is told (``nodeSelector``, required node affinity, required pod
anti-affinity, ``topologySpreadConstraints``, taints and tolerations); :mod:`kverify.placement`
turns them into solver constraints. Label matching follows
``k8s.io/apimachinery/pkg/labels`` (selectors) and ``k8s.io/component-helpers/scheduling/corev1``
(node selectors, tolerations).
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
from attrs import validators as v

from kverify.model.convert import to_tuple
from kverify.model.enums import Protocol, _Spelled
from kverify.model.node_meta import EXCLUDE_FROM_LB_LABEL as EXCLUDE_FROM_LB_LABEL  # re-exported: lived here
from kverify.model.node_meta import Taint as Taint

Labels = tuple[tuple[str, str], ...]

ZONE_LABEL = "topology.kubernetes.io/zone"
HOSTNAME_LABEL = "kubernetes.io/hostname"
#: Labels the kubelet sets on every node (``pkg/kubelet/kubelet_node_status.go`` initialNode); a node
#: pool gets them for a Linux amd64 node unless its own labels say otherwise.
KUBELET_LABELS = {"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
#: Deprecated beta twins of the OS and arch labels. The kubelet stopped setting them (PR #91046, v1.19);
#: the node lifecycle controller keeps them on every Node, equal to the GA label, which wins when the
#: two differ (``pkg/controller/nodelifecycle/node_lifecycle_controller.go``, ``labelReconcileInfo``,
#: ``ensureSecondaryExists``; still so in v1.34). Manifests still select on them (Weaveworks' Sock Shop:
#: ``nodeSelector: beta.kubernetes.io/os: linux``).
BETA_TWINS = {"kubernetes.io/os": "beta.kubernetes.io/os", "kubernetes.io/arch": "beta.kubernetes.io/arch"}
_TWIN_OF = {**BETA_TWINS, **{beta: ga for ga, beta in BETA_TWINS.items()}}


def well_known_labels(labels: Labels, *, node_name: str, zone: str | None) -> dict[str, str]:
    """A node's labels as the scheduler sees them: ``labels`` over the kubelet's OS and arch labels,
    the hostname and zone labels unless ``labels`` set them, and the beta twins of OS and arch, which
    the node lifecycle controller keeps equal to the GA labels (``BETA_TWINS``)."""
    full = {**KUBELET_LABELS, **dict(labels)}
    for ga, beta in BETA_TWINS.items():
        full[beta] = full[ga]
    full.setdefault(HOSTNAME_LABEL, node_name)
    if zone is not None:
        full.setdefault(ZONE_LABEL, zone)
    return full


def label_twins(key: str) -> tuple[str, ...]:
    """``key`` and, for the OS and arch labels, its beta or GA twin: a node cannot set one apart from the other."""
    twin = _TWIN_OF.get(key)
    return (key,) if twin is None else (key, twin)


class WorkloadKind(_Spelled):
    DEPLOYMENT = 0, "Deployment"
    STATEFUL_SET = 1, "StatefulSet"
    REPLICA_SET = 2, "ReplicaSet"
    DAEMON_SET = 3, "DaemonSet"
    POD = 4, "Pod"
    #: core/v1, the ReplicaSet's predecessor: still in many examples (kubernetes/examples' guestbook
    #: era); its controller keeps ``replicas`` pods as a ReplicaSet's does.
    REPLICATION_CONTROLLER = 5, "ReplicationController"


@attrs.frozen(kw_only=True)
class LabelRequirement:
    """One requirement of a selector. ``matchLabels`` entries are ``key In (value)``.

    Operators: ``In``, ``NotIn``, ``Exists``, ``DoesNotExist`` (label selectors and node selectors),
    ``Gt``, ``Lt`` (node selectors only; the label's value and the one value are integers).
    """

    key: str = attrs.field(validator=v.instance_of(str))
    operator: str = attrs.field(validator=v.in_(("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")))
    values: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":  # labels.Requirement.Matches: a missing label is "not in"
            return not present or labels[self.key] not in self.values
        if not present or len(self.values) != 1:
            return False
        try:
            have, bound = int(labels[self.key]), int(self.values[0])
        except ValueError:
            return False
        return have > bound if self.operator == "Gt" else have < bound


@attrs.frozen(kw_only=True)
class LabelSelector:
    """Requirements that must all hold. No requirement selects everything (as ``{}`` does);
    ``matches_nothing`` is a nil selector where Kubernetes reads nil as "nothing"."""

    requirements: tuple[LabelRequirement, ...] = attrs.field(default=(), converter=to_tuple)
    matches_nothing: bool = False

    @classmethod
    def of(cls, labels: Mapping[str, str] | Labels) -> LabelSelector:
        """The selector ``matchLabels: labels``."""
        pairs = labels.items() if isinstance(labels, Mapping) else labels
        return cls(requirements=tuple(LabelRequirement(key=k, operator="In", values=(val,)) for k, val in pairs))

    def matches(self, labels: Mapping[str, str]) -> bool:
        return not self.matches_nothing and all(r.matches(labels) for r in self.requirements)


@attrs.frozen(kw_only=True)
class Toleration:
    """``key`` empty with ``Exists`` tolerates every taint; ``effect`` empty matches every effect."""

    key: str = ""
    operator: str = attrs.field(default="Equal", validator=v.in_(("Equal", "Exists")))
    value: str = ""
    effect: str = ""

    def tolerates(self, taint: Taint) -> bool:
        """``v1.Toleration.ToleratesTaint`` (k8s.io/api/core/v1/toleration.go)."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return self.value == taint.value


@attrs.frozen(kw_only=True)
class PodAffinityTerm:
    """A required (anti-)affinity term: pods matching ``selector`` in ``namespaces`` (empty: the pod's
    own namespace) within the same ``topology_key`` domain."""

    selector: LabelSelector
    topology_key: str = attrs.field(validator=v.instance_of(str))
    namespaces: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)


@attrs.frozen(kw_only=True)
class SpreadConstraint:
    """One ``topologySpreadConstraints`` entry, with the API server's and scheduler's defaults."""

    max_skew: int = attrs.field(validator=v.and_(v.instance_of(int), v.ge(1)))
    topology_key: str = attrs.field(validator=v.instance_of(str))
    when_unsatisfiable: str = attrs.field(default="DoNotSchedule", validator=v.in_(("DoNotSchedule", "ScheduleAnyway")))
    selector: LabelSelector = attrs.field(factory=LabelSelector)
    min_domains: int | None = None
    node_affinity_policy: str = attrs.field(default="Honor", validator=v.in_(("Honor", "Ignore")))
    node_taints_policy: str = attrs.field(default="Ignore", validator=v.in_(("Honor", "Ignore")))


@attrs.frozen(kw_only=True)
class Scheduling:
    """What a pod template tells the scheduler (required terms only: preferences never forbid)."""

    node_selector: LabelSelector = attrs.field(factory=LabelSelector)
    #: ``requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms``: any one term must match.
    node_affinity: tuple[LabelSelector, ...] = attrs.field(default=(), converter=to_tuple)
    anti_affinity: tuple[PodAffinityTerm, ...] = attrs.field(default=(), converter=to_tuple)
    #: Required pod affinity: not modelled by the placement solver (a claim then comes back Unknown).
    affinity: tuple[PodAffinityTerm, ...] = attrs.field(default=(), converter=to_tuple)
    spread: tuple[SpreadConstraint, ...] = attrs.field(default=(), converter=to_tuple)
    tolerations: tuple[Toleration, ...] = attrs.field(default=(), converter=to_tuple)
    #: ``spec.nodeName``: the pod bypasses the scheduler.
    node_name: str | None = None

    def node_allowed(self, labels: Mapping[str, str], taints: tuple[Taint, ...]) -> bool:
        """The node passes NodeAffinity (nodeSelector and required terms) and TaintToleration."""
        return self.matches_node(labels) and self.tolerates_all(taints)

    def matches_node(self, labels: Mapping[str, str]) -> bool:
        if not self.node_selector.matches(labels):
            return False
        return not self.node_affinity or any(term.matches(labels) for term in self.node_affinity)

    def tolerates_all(self, taints: tuple[Taint, ...]) -> bool:
        """Taints with effect NoSchedule or NoExecute must be tolerated (PreferNoSchedule never forbids)."""
        return all(
            any(t.tolerates(taint) for t in self.tolerations)
            for taint in taints
            if taint.effect in ("NoSchedule", "NoExecute")
        )


@attrs.frozen(kw_only=True)
class ContainerPort:
    name: str = ""
    port: int = attrs.field(validator=v.and_(v.instance_of(int), v.ge(1), v.le(65535)))
    protocol: Protocol = attrs.field(default=Protocol.TCP, validator=v.instance_of(Protocol))


@attrs.frozen(kw_only=True)
class Lifecycle:
    """What a rolling update and a pod's termination depend on, with the API server's defaults.

    ``max_surge`` and ``max_unavailable`` are ``spec.strategy.rollingUpdate`` as written (an int or a
    percentage string; default ``"25%"`` each, ``pkg/apis/apps/v1/defaults.go`` SetDefaults_Deployment);
    ``recreate`` is ``strategy.type: Recreate``; ``on_delete`` a DaemonSet's ``updateStrategy.type: OnDelete``
    (a DaemonSet's ``maxUnavailable`` defaults to 1 and ``maxSurge`` to 0, ``SetDefaults_DaemonSet``).
    ``pre_stop_seconds`` is the PreStop hook's sleep
    (``lifecycle.preStop.sleep.seconds`` or an exec ``sleep N``); ``None`` when the hook does something
    kverify cannot time. ``ready_after_seconds`` is when the readiness probe can first pass
    (``initialDelaySeconds`` + (``successThreshold`` - 1) x ``periodSeconds``; 0 without a probe).
    """

    max_surge: int | str = "25%"
    max_unavailable: int | str = "25%"
    recreate: bool = False
    on_delete: bool = False
    min_ready_seconds: int = 0
    termination_grace_seconds: int = 30
    pre_stop_seconds: int | None = 0
    ready_after_seconds: int = 0


@attrs.frozen(kw_only=True)
class Workload:
    """Pods from one template: ``replicas`` of them (``None`` for a DaemonSet: one per eligible node)."""

    kind: WorkloadKind = attrs.field(validator=v.instance_of(WorkloadKind))
    namespace: str = attrs.field(validator=v.instance_of(str))
    name: str = attrs.field(validator=v.instance_of(str))
    replicas: int | None = attrs.field(default=1)
    #: Where ``replicas`` came from: ``spec.replicas``, ``default 1``, or an HPA's ``minReplicas``.
    replicas_source: str = "spec.replicas"
    labels: Labels = attrs.field(default=(), converter=to_tuple)
    ports: tuple[ContainerPort, ...] = attrs.field(default=(), converter=to_tuple)
    host_network: bool = False
    scheduling: Scheduling = attrs.field(factory=Scheduling)
    #: Rolling update strategy, readiness and termination timing (see :class:`Lifecycle`).
    lifecycle: Lifecycle = attrs.field(factory=Lifecycle)

    @replicas.validator
    def _non_negative(self, attribute: attrs.Attribute, value: int | None) -> None:  # type: ignore[type-arg]
        if value is not None and (type(value) is not int or value < 0):
            raise ValueError(f"replicas: Invalid value: {value}: must be greater than or equal to 0")

    @property
    def key(self) -> str:
        return f"{self.kind.spelling} {self.namespace}/{self.name}"

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    def named_port(self, name: str, protocol: Protocol) -> int | None:
        """The container port a Service's named ``targetPort`` resolves to (``podutil.FindPort``)."""
        return next((p.port for p in self.ports if p.name == name and p.protocol == protocol), None)


@attrs.frozen(kw_only=True)
class NodePool:
    """``min_count``..``max_count`` identical nodes (a range lets the solver pick the size)."""

    name: str = attrs.field(validator=v.and_(v.instance_of(str), v.min_len(1)))
    min_count: int = attrs.field(validator=v.and_(v.instance_of(int), v.ge(0)))
    max_count: int = attrs.field(validator=v.and_(v.instance_of(int), v.ge(0)))
    labels: Labels = attrs.field(default=(), converter=to_tuple)
    zone: str | None = None
    taints: tuple[Taint, ...] = attrs.field(default=(), converter=to_tuple)

    @max_count.validator
    def _at_least_min(self, attribute: attrs.Attribute, value: int) -> None:  # type: ignore[type-arg]
        if value < self.min_count:
            raise ValueError(f"count: Invalid value: {self.min_count}-{value}: the range is empty")

    def label_map(self, node_name: str) -> dict[str, str]:
        """The labels of one node of the pool, with the well-known hostname and zone labels."""
        return well_known_labels(self.labels, node_name=node_name, zone=self.zone)
