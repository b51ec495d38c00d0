"""Kubernetes manifests (YAML, JSON, ``kubectl get -o yaml|json`` lists) -> kverify's model.

The only layer that sees YAML, dicts and camelCase. Every problem with the input is collected, with
file, line, object and field path in apimachinery's shape, and raised at once as an
:class:`~kverify.errors.InputError`; nothing is guessed silently (what kverify leaves out is listed in
``skipped``; what it cannot check is listed in ``warnings``).
"""

from __future__ import annotations

import gc
import operator
import os
from collections.abc import Callable, Mapping, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from kverify.errors import InputError, Problem
from kverify.load import validate
from kverify.load.allocate import allocate
from kverify.load.fields import Ctx, Path, invalid, quote, unsupported, validators_off
from kverify.load.kinds import SERVICE_NAME_LABEL, Skip, SliceRecord, node_from, slice_from
from kverify.load.lb_hints import K3S_SERVICELB, METALLB_BGP_KINDS, lb_hint
from kverify.load.mirroring import endpoints_from, never_mirrored
from kverify.load.node_typed import NodeDraft, built_nodes, typed_node_fields
from kverify.load.pod_sources import may_create_pods
from kverify.load.policies import ingress_policy_from, intent_from, ip_blocks_from, typed_service_intent
from kverify.load.service_cidrs import API_VERSIONS as SERVICE_CIDR_VERSIONS
from kverify.load.service_cidrs import DEFAULT_SERVICE_CIDR, service_cidrs_from
from kverify.load.service_typed import typed_service
from kverify.load.services import service_from
from kverify.load.sources import RawDoc, expand, read_file
from kverify.load.typed_fields import TypedFields
from kverify.model.cluster import Cluster, Endpoint, Node, ProxyConfig, Service
from kverify.model.convert import read_only, to_frozenset, to_tuple
from kverify.model.endpoint_columns import EndpointColumns
from kverify.model.enums import LoadBalancerProfile
from kverify.model.policy import IngressPolicy, IPBlockRule, ServiceIntent

if TYPE_CHECKING:  # the workload model is imported where a workload or an HPA is read (see _add_workload)
    from kverify.load.workloads import HpaRecord
    from kverify.model.workload import Workload

HPA = "HorizontalPodAutoscaler"
HPA_VERSIONS = ("autoscaling/v2", "autoscaling/v1")

#: A slice's or a Service's endpoints: a tuple, or columns (:mod:`kverify.load.slice_columns`).
SliceEndpoints = tuple[Endpoint, ...] | EndpointColumns
#: The apiVersion kverify reads for each kind it models.
API_VERSIONS = {
    "Node": "v1",
    "Service": "v1",
    "EndpointSlice": "discovery.k8s.io/v1",
    "Pod": "v1",
    "NetworkPolicy": "networking.k8s.io/v1",  # ingress ipBlocks only (kverify.load.policies)
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "ReplicaSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "ReplicationController": "v1",
    HPA: HPA_VERSIONS[0],  # autoscaling/v1 too
    "Endpoints": "v1",  # a selector-less Service's, as mirrored into EndpointSlices (kverify.load.mirroring)
    "ServiceCIDR": SERVICE_CIDR_VERSIONS[0],  # spec.cidrs only (kverify.load.service_cidrs); v1beta1 too
}
#: Kinds read in more than one apiVersion.
_MORE_VERSIONS = {HPA: HPA_VERSIONS, "ServiceCIDR": SERVICE_CIDR_VERSIONS}
#: The apiVersions accepted for each modelled kind.
_ACCEPTED_VERSIONS = {kind: _MORE_VERSIONS.get(kind, (version,)) for kind, version in API_VERSIONS.items()}
SKIP_REASONS: dict[str, str] = {}
_CLUSTER_SCOPED = frozenset(
    [
        "Node",
        "Namespace",
        "PersistentVolume",
        "StorageClass",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "IngressClass",
        "PriorityClass",
        "RuntimeClass",
        "APIService",
        "CSIDriver",
        "CSINode",
        "VolumeAttachment",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ServiceCIDR",
        "IPAddress",
        "ClusterIssuer",
    ]
)


@attrs.frozen(kw_only=True)
class LoadedManifests:
    """What :func:`load_manifests` read.

    ``source_lines`` maps ``"Kind namespace/name"`` (``"Node name"`` for cluster-scoped kinds) to the
    ``(file, line)`` where the object starts, for every object read, modelled or skipped.
    """

    nodes: tuple[Node, ...] = ()
    services: tuple[Service, ...] = ()
    #: One line per object kverify builds nothing from, with the reason.
    skipped: tuple[str, ...] = ()
    #: The kind of each object in ``skipped``, in the same order (``"(not a Kubernetes object)"`` for a
    #: document without apiVersion and kind, such as a Helm values file).
    skipped_kinds: tuple[str, ...] = ()
    #: Problems that do not stop the analysis (partial snapshots, fields kube-proxy ignores).
    warnings: tuple[Problem, ...] = ()
    source_lines: Mapping[str, tuple[str, int]] = attrs.field(factory=dict, converter=read_only, hash=False)
    #: Ingress ipBlocks of the NetworkPolicies read (kverify does not model enforcement).
    ip_blocks: tuple[IPBlockRule, ...] = ()
    #: The NetworkPolicies that restrict ingress (not enforced by kverify: reports say so).
    ingress_policies: tuple[IngressPolicy, ...] = ()
    #: ``namespace/name`` -> selector and annotations of Services that have any.
    intents: Mapping[str, ServiceIntent] = attrs.field(factory=dict, converter=read_only, hash=False)
    #: Deployments, StatefulSets, ReplicaSets, ReplicationControllers, DaemonSets and bare Pods (those no
    #: controller owns),
    #: with an HPA's ``minReplicas`` applied to the workload it scales.
    workloads: tuple[Workload, ...] = ()
    #: ``namespace/name`` of the Services for which EndpointSlices were given (a snapshot): their
    #: endpoints are those, even when there are none; none are derived from workloads.
    endpoints_given: frozenset[str] = frozenset()
    #: Skipped objects that may create pods, as (kind, namespace, name): see :mod:`kverify.load.pod_sources`.
    pod_sources: tuple[tuple[str, str, str], ...] = ()
    #: The union of the ServiceCIDR objects' ``spec.cidrs``, in the order read (kube-proxy watches them all).
    service_cidrs: tuple[str, ...] = ()


def load_manifests(
    paths: Sequence[str | os.PathLike[str]],
    *,
    namespace: str = "default",
    service_cidrs: Sequence[str] = (),
    keep: Callable[..., None] | None = None,
) -> LoadedManifests:
    """Read manifest files (and directories of them, recursively) into nodes and services with their endpoints.

    Accepts multi-document YAML, JSON (one object, a stream of objects, or a ``List``/``*List`` as
    ``kubectl get -o json`` prints it); ``-`` is standard input. Objects without a namespace land in
    ``namespace``, as ``kubectl apply -n`` puts them. ClusterIPs the manifests leave out are allocated
    from ``service_cidrs`` (``--service-cidr``, a spec's ``environment.serviceCIDR``) and the ServiceCIDR
    objects read (:mod:`kverify.load.allocate`). Raises :class:`~kverify.errors.InputError`
    listing every problem found, each as ``FILE:LINE: Kind namespace/name: field.path: message``.
    ``keep`` is given what was read on the way (the documents decoded, the objects read from them),
    which a caller that exits right after may hold rather than have freed on return: freeing a big
    snapshot's millions of objects one by one took 0.1 s of its check (issue 11).
    """
    problems: list[Problem] = []
    read: list[object] = []
    assembly = _Assembly(problems, namespace, tuple(service_cidrs))
    # Loading allocates millions of acyclic objects; the cyclic GC would rescan the growing heap
    # again and again (it doubled the load time of a 100 MB snapshot). Nothing here makes cycles.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for file in expand([os.fspath(p) for p in paths], problems):
            before = len(problems)
            documents = 0
            for doc in read_file(file, problems, typed_slices=True):
                documents += doc.data is not None  # `null`, `~` or a lone `---` hold no object either
                assembly.add_doc(file, doc)
                if keep is not None:
                    read.append(doc)
            if documents == 0 and len(problems) == before:  # an empty file is almost always a mistake
                assembly.warnings.append(Problem("no Kubernetes objects in this file", file))
        if keep is not None:
            keep(read, assembly)
        return assembly.finish()
    finally:
        if gc_was_enabled:
            gc.enable()


def routed_as_snapshot(service: Service, endpoints_given: frozenset[str]) -> bool:
    """Whether the Service is routed from its EndpointSlices, as on a running cluster, rather than
    decided over the placements of its workloads: it is headless, has endpoints, or EndpointSlices
    (``endpoints_given``, :attr:`LoadedManifests.endpoints_given`) name it, even with none."""
    return service.headless or bool(service.endpoints) or service.key in endpoints_given


def to_cluster(
    loaded: LoadedManifests,
    proxy: ProxyConfig | None = None,
    load_balancer: LoadBalancerProfile | None = None,
) -> Cluster:
    """The :class:`~kverify.model.cluster.Cluster` of what was loaded, behind this proxy and LB.

    With no ``load_balancer``, each Service's well-known annotations choose its profile
    (:mod:`kverify.load.lb_hints`), and ``health-checked`` where none do. The proxy knows the ServiceCIDR
    objects' CIDRs besides those it was given (``--service-cidr``), as kube-proxy watches every object."""
    proxy = proxy or ProxyConfig()
    if loaded.service_cidrs:
        known = tuple(dict.fromkeys((*proxy.service_cidrs, *loaded.service_cidrs)))
        proxy = attrs.evolve(proxy, service_cidrs=known)
    return Cluster(
        nodes=loaded.nodes,
        services=loaded.services,
        proxy=proxy,
        load_balancer=load_balancer or LoadBalancerProfile.HEALTH_CHECKED,
        load_balancer_explicit=load_balancer is not None,
    )


_TYPE_NAMES = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


#: The kind counted for a document that is no Kubernetes object (Helm values, most config files).
NOT_AN_OBJECT = "(not a Kubernetes object)"


def skipped_summary(kinds: Sequence[str]) -> str | None:
    """The one line every command prints about what it skipped, or ``None`` when nothing was."""
    if not kinds:
        return None
    objects = "object" if len(kinds) == 1 else "objects"
    distinct = len(set(kinds))
    of_kinds = "kind" if distinct == 1 else "kinds"
    return f"skipped {len(kinds)} {objects} of {distinct} {of_kinds} not modelled; --verbose lists them"


WORKLOAD_KINDS = frozenset(("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "ReplicationController"))


class _Assembly:
    """Collects objects file by file, then joins them (endpoints to services, nodes to endpoints)."""

    def __init__(self, problems: list[Problem], namespace: str = "default", given_cidrs: tuple[str, ...] = ()) -> None:
        self.problems = problems
        self.namespace = namespace
        self.warnings: list[Problem] = []
        self.skipped: list[str] = []
        self.skipped_kinds: list[str] = []
        self.skipped_at: list[tuple[int, int]] = []  # (file's rank in reading order, line) of each skipped object
        self.file_rank: dict[str, int] = {}
        self.pod_sources: list[tuple[str, str, str]] = []
        self.first: dict[str, tuple[str, int]] = {}
        self.nodes: list[Node] = []
        #: Each Node's name to itself: a slice read after its nodes shares their strings (see typed_columns).
        self.node_names: dict[str, str] = {}
        #: The field values of typed Nodes (a JSON List's) not built yet: built together, in order.
        self.node_drafts: list[NodeDraft] = []
        self.services: list[tuple[Ctx, str, str, dict[str, Any]]] = []
        self.skipped_services: set[str] = set()
        self.slices: list[tuple[Ctx, str, SliceRecord]] = []
        #: Endpoints objects the mirroring controller may copy: (ctx, namespace, name, object, file, line).
        self.mirrors: list[tuple[Ctx, str, str, dict[str, Any], str, int]] = []
        self.pods: set[str] = set()
        self.ip_blocks: list[IPBlockRule] = []
        self.ingress_policies: list[IngressPolicy] = []
        self.intents: dict[str, ServiceIntent] = {}
        self.workloads: list[Workload] = []
        self.metallb_bgp = False  # a BGPAdvertisement or BGPPeer: MetalLB announces over BGP
        self.k3s_servicelb = False  # an object labelled svccontroller.k3s.cattle.io/*: k3s ServiceLB runs
        self.label_keys: set[object] = set()  # the label keys seen, none of them k3s ServiceLB's
        self.hpas: list[tuple[Ctx, HpaRecord]] = []
        self.service_cidrs: list[str] = []
        #: The CIDRs ClusterIPs are allocated from: the given ones, then the objects' (the default one first).
        self.given_cidrs = given_cidrs
        self.default_cidrs: tuple[str, ...] = ()

    def add_doc(self, file: str, doc: RawDoc) -> None:
        data = doc.data
        self.file_rank.setdefault(file, len(self.file_rank))
        if data is None:  # an empty document, e.g. a trailing "---"
            return
        if type(data) is not dict:
            what = _TYPE_NAMES.get(type(data), type(data).__name__)
            self.problems.append(Problem(f"document is not a mapping (a Kubernetes object) but {what}", file, doc.line))
            return
        kind = data.get("kind")
        if type(kind) is str and kind.endswith("List") and "items" in data:
            self._add_list(file, doc, kind)
        else:
            self.add_object(file, data, doc.line, doc.locate)

    def _add_list(self, file: str, doc: RawDoc, kind: str) -> None:
        items = doc.data["items"]
        if type(items) is not list:
            self.problems.append(Problem(invalid(items, "must be a list"), file, doc.locate(("items",)), kind, "items"))
            return
        located = doc.items or tuple(
            (item, doc.locate(("items", i)), _prefixed(doc.locate, ("items", i))) for i, item in enumerate(items)
        )
        item_kind = kind[:-4] if kind != "List" else None  # `kubectl get --raw` lists omit the items' kind
        for i, (item, line, locate) in enumerate(located):
            if type(item) is not dict:
                message = invalid(item, "must be a mapping (a Kubernetes object)")
                self.problems.append(Problem(message, file, line, kind, f"items[{i}]"))
                continue
            if item_kind and "kind" not in item:
                item = {**item, "kind": item_kind, "apiVersion": item.get("apiVersion", doc.data.get("apiVersion"))}
            self.add_object(file, item, line, locate)
        self._build_nodes()

    def _build_nodes(self) -> None:
        """Build the typed Nodes read so far (``node_drafts``) at once, after those already built."""
        if self.node_drafts:
            self.nodes.extend(built_nodes(self.node_drafts))
            self.node_drafts.clear()

    def add_object(self, file: str, data: dict[str, Any], line: int, locate: Callable[[Path], int]) -> None:
        kind, api_version, meta = data.get("kind"), data.get("apiVersion"), data.get("metadata")
        # The common case first (every object of a snapshot): a kind kverify models, in an apiVersion it
        # reads, with a name, and a namespace that is a string or absent. None of _add_unusual's checks
        # can fire on it but the name's and the duplicate's, made here the same way.
        if type(kind) is str and type(meta) is dict and api_version in _ACCEPTED_VERSIONS.get(kind, ()):
            name, given_namespace = meta.get("name"), meta.get("namespace")
            if type(name) is str and name and (given_namespace is None or type(given_namespace) is str):
                namespace = given_namespace or self.namespace
                label = f"{kind} {name}" if kind in _CLUSTER_SCOPED else f"{kind} {namespace}/{name}"
                labels = meta.get("labels")
                if (
                    labels
                    and not self.k3s_servicelb
                    and type(labels) is dict
                    and not self.label_keys.issuperset(labels)
                ):
                    self._note_label_keys(labels)
                ctx = Ctx(file, locate, label, self.problems, self.warnings)
                if not validate.object_name(ctx, kind, name, given_namespace or None):
                    return
                first = self.first
                if label in first:
                    f, n = first[label]
                    ctx.error(("metadata", "name"), f"Duplicate value: {quote(name)}: already defined at {f}:{n}")
                    return
                first[label] = (file, line)
                self._READERS[kind](self, ctx, data, line, kind, namespace, name)
                return
        self._add_unusual(file, data, line, locate, kind, api_version, meta)

    def _add_unusual(
        self,
        file: str,
        data: dict[str, Any],
        line: int,
        locate: Callable[[Path], int],
        kind: Any,
        api_version: Any,
        meta: Any,
    ) -> None:
        """:meth:`add_object` of any other object: not one (Helm values), of a kind kverify does not model,
        or with a field the API server refuses."""
        if kind is None and (api_version is None or meta is None):
            # Helm values, a chart's Chart.yaml (apiVersion: v2, no kind, no metadata)...: not an object
            self._skip(file, line, NOT_AN_OBJECT, "no kind and no metadata: not a Kubernetes object")
            return
        if type(meta) is dict:
            name, given_namespace, labels = meta.get("name"), meta.get("namespace"), meta.get("labels")
        else:
            name = given_namespace = labels = None
        kind_ok = type(kind) is str and kind != ""
        name_ok = type(name) is str and name != ""
        namespace = given_namespace if type(given_namespace) is str and given_namespace else self.namespace
        if not kind_ok:  # the object's label in messages ("Kind namespace/name"), as far as it has one
            label = None
        elif not name_ok:
            label = kind
        else:
            label = f"{kind} {name}" if kind in _CLUSTER_SCOPED else f"{kind} {namespace}/{name}"
        if labels and not self.k3s_servicelb and type(labels) is dict and not self.label_keys.issuperset(labels):
            self._note_label_keys(labels)
        if type(kind) is str and kind and kind not in API_VERSIONS and type(api_version) is str and api_version:
            if kind in METALLB_BGP_KINDS and api_version.startswith("metallb.io/"):
                self.metallb_bgp = True
            # Not modelled: its shape is none of kverify's business (a Kustomization has no name).
            if label is not None and label not in self.first:
                self.first[label] = (file, line)
            self._skip(file, line, kind, f"{label or kind}: {SKIP_REASONS.get(kind, 'kind not modelled')}")
            if name_ok and may_create_pods(api_version, kind):
                self.pod_sources.append((kind, namespace, name))  # type: ignore[arg-type]
            return
        ctx = Ctx(file, locate, label, self.problems, self.warnings)
        well_formed = (  # none of the checks below can fire
            name_ok
            and kind_ok
            and type(api_version) is str
            and api_version != ""
            and (given_namespace is None or type(given_namespace) is str)
        )
        if not well_formed and not self._object_fields(ctx, data, meta, name, name_ok):
            return
        if label is None or type(kind) is not str or type(name) is not str:
            return
        modelled = kind in API_VERSIONS
        if modelled and not validate.object_name(ctx, kind, name, given_namespace or None):
            return
        if label in self.first:
            if modelled:
                f, n = self.first[label]
                ctx.error(("metadata", "name"), f"Duplicate value: {quote(name)}: already defined at {f}:{n}")
                return
        else:
            self.first[label] = (file, line)
        if not modelled:
            self._skip(file, line, kind, f"{label}: {SKIP_REASONS.get(kind, 'kind not modelled')}")
            return
        accepted = _ACCEPTED_VERSIONS[kind]
        if api_version not in accepted:
            ctx.error(("apiVersion",), unsupported(api_version, accepted))
            return
        self._READERS[kind](self, ctx, data, line, kind, namespace, name)

    def _note_label_keys(self, labels: dict[Any, Any]) -> None:
        """Label keys not seen before: whether one is k3s ServiceLB's, and remember them (most objects'
        label keys are those of objects read before)."""
        self.k3s_servicelb = _has_k3s_label(labels)
        self.label_keys.update(labels)

    # The reader of each modelled kind (_READERS), given (ctx, data, line, kind, namespace, name): ctx.obj
    # is the object's label ("Kind namespace/name"), ctx.file its file.

    def _add_slice(self, ctx: Ctx, data: dict[str, Any], line: int, kind: str, namespace: str, name: str) -> None:
        record = slice_from(ctx, data, namespace, self.node_names)
        if isinstance(record, Skip):
            self._skip(ctx.file, line, kind, f"{ctx.obj}: {record.reason}")
        elif record is not None:
            self.slices.append((ctx, namespace, record))

    def _add_node(self, ctx: Ctx, data: dict[str, Any], line: int, kind: str, namespace: str, name: str) -> None:
        typed = data.get("spec")
        if type(typed) is TypedFields:  # decoded typed from a JSON List (kverify.load.node_typed)
            draft = typed_node_fields(typed.typed, name, data["metadata"])
            if draft is not None:  # built with the List's other typed Nodes (_build_nodes)
                self.node_drafts.append(draft)
                self.node_names[name] = name
                return
            data = typed.as_dict()  # node_from reads the dicts the json module gives
        node = node_from(ctx, data, name)
        if node is not None:
            self._build_nodes()  # the typed Nodes read before it first: Nodes stay in file order
            self.nodes.append(node)
            self.node_names[node.name] = node.name

    def _add_pod(self, ctx: Ctx, data: dict[str, Any], line: int, kind: str, namespace: str, name: str) -> None:
        """A Pod checks endpoints' targetRefs; a bare Pod is a workload of its own."""
        self.pods.add(f"{namespace}/{name}")
        if not data["metadata"].get("ownerReferences"):
            self._add_workload(ctx, data, kind, namespace, name)

    def _add_controller(self, ctx: Ctx, data: dict[str, Any], line: int, kind: str, namespace: str, name: str) -> None:
        """A workload that makes pods (one of WORKLOAD_KINDS)."""
        self._add_workload(ctx, data, kind, namespace, name)

    def _add_hpa(self, ctx: Ctx, data: dict[str, Any], line: int, kind: str, namespace: str, name: str) -> None:
        from kverify.load.workloads import hpa_from

        if (hpa := hpa_from(ctx, data, namespace, name)) is not None:
            self.hpas.append((ctx, hpa))

    def _add_network_policy(
        self, ctx: Ctx, data: dict[str, Any], line: int, kind: str, namespace: str, name: str
    ) -> None:
        self.ip_blocks.extend(ip_blocks_from(ctx, data, namespace, name))
        if (policy := ingress_policy_from(data, namespace, name)) is not None:
            self.ingress_policies.append(policy)

    def _add_endpoints(self, ctx: Ctx, data: dict[str, Any], line: int, kind: str, namespace: str, name: str) -> None:
        """Endpoints are read once every Service is known (_mirror)."""
        if (skip := never_mirrored(ctx, data)) is not None:
            self._skip(ctx.file, line, kind, f"{ctx.obj}: {skip.reason}")
        else:
            self.mirrors.append((ctx, namespace, name, data, ctx.file, line))

    def _add_service_cidr(
        self, ctx: Ctx, data: dict[str, Any], line: int, kind: str, namespace: str, name: str
    ) -> None:
        cidrs = service_cidrs_from(ctx, data)
        self.service_cidrs.extend(cidrs)
        if name == DEFAULT_SERVICE_CIDR:
            self.default_cidrs = cidrs

    def _add_service(self, ctx: Ctx, data: dict[str, Any], line: int, kind: str, namespace: str, name: str) -> None:
        typed = data.get("spec")
        if type(typed) is TypedFields:  # decoded typed from a JSON List (kverify.load.service_typed)
            service = typed.typed
            kwargs = typed_service(service, data["metadata"])
            if kwargs is not None:
                self.services.append((ctx, namespace, name, kwargs))
                annotations = data["metadata"].get("annotations")
                if (intent := typed_service_intent(ctx, kwargs["selector"], annotations)) is not None:
                    self.intents[f"{namespace}/{name}"] = intent
                return
            data = typed.as_dict()  # the other readers read the dicts the json module gives
        result = service_from(ctx, data)
        if isinstance(result, Skip):
            self._skip(ctx.file, line, kind, f"{ctx.obj}: {result.reason}")
            self.skipped_services.add(f"{namespace}/{name}")
        elif result is not None:
            self.services.append((ctx, namespace, name, result))
            if (intent := intent_from(ctx, data)) is not None:
                self.intents[f"{namespace}/{name}"] = intent

    #: The reader of each kind kverify models (API_VERSIONS), called as ``_READERS[kind](self, ...)``.
    _READERS: ClassVar[dict[str, Callable[..., None]]] = {
        "Service": _add_service,
        "EndpointSlice": _add_slice,
        "Node": _add_node,
        "Pod": _add_pod,
        **dict.fromkeys(WORKLOAD_KINDS, _add_controller),
        HPA: _add_hpa,
        "NetworkPolicy": _add_network_policy,
        "Endpoints": _add_endpoints,
        "ServiceCIDR": _add_service_cidr,
    }

    def _object_fields(self, ctx: Ctx, data: dict[str, Any], meta: object, name: object, name_ok: bool) -> bool:
        """Check apiVersion, kind and metadata as the API server does; whether no problem was found."""
        before = len(self.problems)
        ctx.string(data, "apiVersion", (), required=True)
        ctx.string(data, "kind", (), required=True)
        if meta is None:
            ctx.error(("metadata",), "Required value")
        elif type(meta) is not dict:
            ctx.error(("metadata",), invalid(meta, "must be a mapping"))
        elif not name_ok:
            if name is None or name == "":
                ctx.error(("metadata", "name"), "Required value: name or generateName is required")
            else:
                ctx.error(("metadata", "name"), invalid(name, "must be a string"))
        else:
            ctx.string(meta, "namespace", ("metadata",))
        return len(self.problems) == before

    def _add_workload(self, ctx: Ctx, data: dict[str, Any], kind: str, namespace: str, name: str) -> None:
        # Here, not at the top: a snapshot without workloads (and every trace of one) need not import
        # the workload model, a tenth of kverify's start-up.
        from kverify.load.workloads import workload_from

        if (workload := workload_from(ctx, data, kind, namespace, name)) is not None:
            self.workloads.append(workload)

    def _workloads(self) -> tuple[Workload, ...]:
        """The workloads, with HPAs' ``minReplicas`` applied and "every namespace" spelled out."""
        if not self.workloads and not self.hpas:
            return ()
        from kverify.load.workloads import every_namespace

        by_key = {f"{w.kind.spelling} {w.namespace}/{w.name}": i for i, w in enumerate(self.workloads)}
        workloads = list(self.workloads)
        for ctx, hpa in self.hpas:
            kind, _, target = hpa.target.partition(" ")
            i = by_key.get(f"{kind} {hpa.namespace}/{target}")
            if i is None:
                ctx.warn(
                    ("spec", "scaleTargetRef"), f"{hpa.target} not found in the manifests; this HPA scales nothing"
                )
            elif workloads[i].replicas is not None:  # an HPA cannot scale a DaemonSet
                source = f"minReplicas of HorizontalPodAutoscaler {hpa.namespace}/{hpa.name}"
                workloads[i] = attrs.evolve(workloads[i], replicas=hpa.min_replicas, replicas_source=source)
        namespaces = tuple(sorted({w.namespace for w in workloads}))
        return tuple(every_namespace(w, namespaces) for w in workloads)

    def _mirror(self, by_service: _EndpointsByService) -> frozenset[str]:
        """Add the endpoints of each Endpoints object the mirroring controller would copy (its Service is
        here and has no selector, and no EndpointSlice of the Service was given: a snapshot holds the
        mirrored slices already); return those Services' keys. The others are skipped, with the reason."""
        if not self.mirrors:
            return frozenset()
        sliced = {f"{ns}/{record.service}" for _, ns, record in self.slices if record.service is not None}
        selectors = {f"{ns}/{name}": kwargs["selector"] for _, ns, name, kwargs in self.services}
        mirrored: set[str] = set()
        for ctx, ns, name, data, file, line in self.mirrors:
            key = f"{ns}/{name}"
            if key not in selectors:
                reason = "no Service of this name in the manifests: the mirroring controller copies nothing"
            elif selectors[key] is not None:
                reason = "the Service has a selector: the EndpointSlice controller manages its endpoints"
            elif key in sliced:
                reason = "EndpointSlices of the Service are given (a snapshot): those are read"
            else:
                if (record := endpoints_from(ctx, data, ns)) is not None:
                    by_service.add(key, record.endpoints)
                    mirrored.add(key)
                continue
            self._skip(file, line, "Endpoints", f"Endpoints {key}: {reason}")
        return frozenset(mirrored)

    def _skip(self, file: str, line: int, kind: str, what: str) -> None:
        self.skipped.append(f"{file}:{line}: {what}, skipped")
        self.skipped_kinds.append(kind)
        self.skipped_at.append((self.file_rank.setdefault(file, len(self.file_rank)), line))

    def _all_known(self, record: SliceRecord, node_names: set[str], nodes_noted: bool) -> bool:
        """No endpoint of a slice names a Node or Pod missing from the manifests: nothing to warn about.

        The common case, decided by set operations over the slice (a snapshot has 480,000 endpoints);
        :meth:`_warn_unknown` finds the endpoints to warn about otherwise. A slice decoded with its
        Nodes' names (``record.nodes_known``) names none missing: each such Node was read, or is a
        problem that stops the load before any warning is given."""
        endpoints = record.endpoints
        columns = endpoints if type(endpoints) is EndpointColumns else None
        node_column = columns.node_names if columns is not None else list(map(_NODE_NAME, endpoints))
        # issuperset walks the column without building a set of it: the answer for nearly every slice.
        # A None (no nodeName) or a name not found is decided on the names themselves.
        if not record.nodes_known and not node_names.issuperset(node_column):
            names = set(node_column)
            names.discard(None)
            if not names.issubset(node_names) and (node_names or not nodes_noted):
                return False
        if self.pods:
            pod_column = columns.pods if columns is not None else list(map(_POD, endpoints))
            if self.pods.issuperset(pod_column):
                return True
            pods = set(pod_column)
            pods.discard(None)
            return pods.issubset(self.pods)
        return True

    def _warn_unknown(self, ctx: Ctx, endpoints: SliceEndpoints, node_names: set[str], nodes_noted: bool) -> bool:
        """Warn about each endpoint naming a Node or Pod missing from the manifests; whether the
        "no Node objects" warning has been given (it is given once)."""
        for i, endpoint in enumerate(endpoints):
            node = endpoint.node_name
            if node is not None and node not in node_names:
                if not node_names:
                    if not nodes_noted:
                        nodes_noted = True
                        self.warnings.append(
                            Problem("no Node objects in the manifests; no endpoint is local to a known node")
                        )
                else:
                    ctx.warn(
                        ("endpoints", i, "nodeName"),
                        f"node {quote(node)} not found in the manifests; the endpoint is never local to a known node",
                    )
            if self.pods and endpoint.pod is not None and endpoint.pod not in self.pods:
                ctx.warn(("endpoints", i, "targetRef"), f"Pod {quote(endpoint.pod)} not found in the manifests")
        return nodes_noted

    def finish(self) -> LoadedManifests:
        node_names = {n.name for n in self.nodes}
        keys = [f"{ns}/{name}" for _, ns, name, _ in self.services]  # each Service's namespace/name, once
        service_keys = set(keys)
        by_service = _EndpointsByService()  # the endpoints of each Service's slices
        first, more = by_service.first, by_service.more
        missing_nodes_noted = False
        sliced: set[str] = set()  # the Services whose EndpointSlices were given
        pods = self.pods
        for ctx, ns, record in self.slices:
            key = f"{ns}/{record.service}"
            if record.service is not None:
                sliced.add(key)
                if key not in service_keys and key not in self.skipped_services:
                    ctx.warn(
                        ("metadata", "labels", SERVICE_NAME_LABEL),
                        f"Service {quote(key)} not found in the manifests; these endpoints are not used",
                    )
            # A slice decoded with its Nodes' names, and no Pod to look for: _all_known's answer is True
            # without a call (nearly every slice of a snapshot: 16,000 in issue 11's List).
            if (pods or not record.nodes_known) and not self._all_known(record, node_names, missing_nodes_noted):
                missing_nodes_noted = self._warn_unknown(ctx, record.endpoints, node_names, missing_nodes_noted)
            if key in service_keys:
                if key in first:  # by_service.add, written out: run once per slice
                    more.setdefault(key, [first[key]]).append(record.endpoints)
                else:
                    first[key] = record.endpoints
        mirrored = self._mirror(by_service)
        # Endpoints are skipped (or not) only once every Service is known: back into file order.
        order = sorted(range(len(self.skipped)), key=self.skipped_at.__getitem__)
        self.skipped = [self.skipped[i] for i in order]
        self.skipped_kinds = [self.skipped_kinds[i] for i in order]
        drafts = [
            (ctx, key, kwargs, kwargs.pop("pending"))
            for (ctx, _, _, kwargs), key in zip(self.services, keys, strict=True)
        ]
        for _, _, kwargs, pending in drafts:
            if not pending.annotations and pending.lb_class is None and not self.k3s_servicelb:
                continue  # nothing for lb_hint to go by (most Services): it would answer None
            hint = lb_hint(
                dict(pending.annotations), pending.lb_class, metallb_bgp=self.metallb_bgp, k3s=self.k3s_servicelb
            )
            if hint is not None:
                kwargs["load_balancer_hint"], kwargs["load_balancer_hint_reason"] = hint
        allocate(drafts, (*self.given_cidrs, *self.default_cidrs, *self.service_cidrs))
        services: list[Service] = []
        allocations = validate.Allocations()
        # Every field was checked as the Service was read (names, addresses, CIDRs, ports, enums), or
        # allocated; the endpoints as their slices were: the model's validators would repeat it.
        with validators_off():
            for (ctx, ns, name, kwargs), key in zip(self.services, keys, strict=True):
                allocations.service(ctx, key, kwargs)
                try:
                    services.append(checked_service(ns, name, by_service.of(key), kwargs))
                except (ValueError, TypeError) as exc:
                    ctx.model_error(exc)
        if self.problems:
            raise InputError(_in_file_order(self.problems))
        return LoadedManifests(
            nodes=tuple(self.nodes),
            services=tuple(services),
            skipped=tuple(self.skipped),
            skipped_kinds=tuple(self.skipped_kinds),
            pod_sources=tuple(self.pod_sources),
            workloads=self._workloads(),
            endpoints_given=frozenset(sliced) | mirrored,
            warnings=tuple(_in_file_order(self.warnings)),
            source_lines=self.first,
            ip_blocks=tuple(self.ip_blocks),
            ingress_policies=tuple(self.ingress_policies),
            intents=self.intents,
            service_cidrs=tuple(dict.fromkeys(self.service_cidrs)),
        )


#: What sets one slot of a Service, and the converter of its field (None: none).
_SlotSetter = Callable[[Service, object], None]
_Converter = Callable[[Any], object] | None
#: Each Service field but the three :func:`checked_service` is given on their own: its name, what sets its
#: slot, its default and its converter (the model's converters to a tuple or a frozenset taken as the
#: builtins they call: no Python frame per field).
_FAST_CONVERTERS: dict[object, _Converter] = {to_tuple: tuple, to_frozenset: frozenset}
_SERVICE_SLOTS: tuple[tuple[str, _SlotSetter, object, _Converter], ...] = tuple(
    (
        field.name,
        Service.__dict__[field.name].__set__,
        field.default,
        _FAST_CONVERTERS.get(field.converter, field.converter),  # type: ignore[arg-type]
    )
    for field in attrs.fields(Service)
    if field.name not in ("namespace", "name", "endpoints")
)
_SERVICE_FIELD_NAMES = frozenset(name for name, _, _, _ in _SERVICE_SLOTS)
_ENDPOINTS_CONVERTER: Callable[[SliceEndpoints], Sequence[Endpoint]] = attrs.fields(Service).endpoints.converter  # type: ignore[assignment]
if any(isinstance(default, attrs.Factory) or default is attrs.NOTHING for _, _, default, _ in _SERVICE_SLOTS):  # type: ignore[arg-type]  # pragma: no cover
    raise ImportError("a Service field has a default factory or none: checked_service must call it or require it")


def checked_service(namespace: str, name: str, endpoints: SliceEndpoints, fields: Mapping[str, Any]) -> Service:
    """``Service(namespace=namespace, name=name, endpoints=endpoints, **fields)`` as built with the model's
    validators off (:class:`~kverify.load.fields.validators_off`), for fields the loader has checked: the
    same value, each slot set directly. attrs' ``__init__`` takes the fields as keywords (a dict merged and
    matched per call) and sets each through ``object.__setattr__``; the loader builds 16,000 Services for
    issue 11's List. ``tests/test_load_checked_service.py`` holds the two to the same Services."""
    if not _SERVICE_FIELD_NAMES.issuperset(fields):
        unexpected = ", ".join(sorted(set(fields) - _SERVICE_FIELD_NAMES))
        raise TypeError(f"Service.__init__() got unexpected keyword arguments: {unexpected}")
    service: Service = object.__new__(Service)
    slots = Service.__dict__
    slots["namespace"].__set__(service, namespace)
    slots["name"].__set__(service, name)
    slots["endpoints"].__set__(service, _ENDPOINTS_CONVERTER(endpoints))
    value_of = fields.get
    for field, set_slot, default, convert in _SERVICE_SLOTS:
        value = value_of(field, default)
        set_slot(service, value if convert is None else convert(value))
    return service


_NODE_NAME = operator.attrgetter("node_name")
_POD = operator.attrgetter("pod")


class _EndpointsByService:
    """The endpoints of each Service's slices (and mirrored Endpoints), by ``namespace/name``: the first
    slice's as they are, the others' (rare) listed with them. Most Services have one slice: no list is
    made for each only to hold it."""

    __slots__ = ("first", "more")

    def __init__(self) -> None:
        self.first: dict[str, SliceEndpoints] = {}
        self.more: dict[str, list[SliceEndpoints]] = {}

    def add(self, key: str, endpoints: SliceEndpoints) -> None:
        """One more slice's endpoints for Service ``key``."""
        if key in self.first:
            self.more.setdefault(key, [self.first[key]]).append(endpoints)
        else:
            self.first[key] = endpoints

    def of(self, key: str) -> SliceEndpoints:
        """Service ``key``'s endpoints, every slice's, in the order added (:func:`_joined`)."""
        more = self.more
        if more and key in more:
            return _joined(more[key])
        found = self.first.get(key)
        return _joined([]) if found is None else found


def _joined(slices: list[SliceEndpoints]) -> SliceEndpoints:
    """A Service's endpoints: its one slice's as they are (most Services have one), else joined once:
    columns to columns when every slice was read as columns, else into one tuple. Each copy of 480,000
    endpoints touches every one of them, at a cache miss each."""
    if len(slices) == 1:
        return slices[0]
    if all(type(part) is EndpointColumns for part in slices):
        return EndpointColumns.join(slices)  # type: ignore[arg-type]
    return tuple(chain.from_iterable(slices))


def _has_k3s_label(labels: dict[Any, Any]) -> bool:
    """Whether a label key starts with k3s ServiceLB's prefix (a loop: run for every object)."""
    for key in labels:  # noqa: SIM110 - no generator: this runs for every object
        if (key if type(key) is str else str(key)).startswith(K3S_SERVICELB):
            return True
    return False


def _prefixed(locate: Callable[[Path], int], prefix: Path) -> Callable[[Path], int]:
    return lambda path: locate((*prefix, *path))


def _in_file_order(problems: list[Problem]) -> list[Problem]:
    """Problems grouped by file (first one seen first), then by line; stable within a line."""
    rank: dict[str | None, int] = {}
    for problem in problems:
        rank.setdefault(problem.file, len(rank))
    return sorted(problems, key=lambda p: (rank[p.file], p.line or 0))
