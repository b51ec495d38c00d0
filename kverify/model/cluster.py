"""The cluster as kverify sees it: nodes, services, their endpoints, and the proxy in front of them.

All values are frozen: change one with ``attrs.evolve``. A validator here checks one object; checks
that span objects (an endpoint's node exists, a flow names a known service) live in
:func:`kverify.model.check.check_cluster` and in the loader, which report every problem at once.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import attrs
from attrs import validators as v

from kverify.model.cilium import CiliumSettings
from kverify.model.convert import to_frozenset, to_tuple
from kverify.model.enums import (
    LB_AWS_NLB_IP,
    Cni,
    Dataplane,
    IPMode,
    LoadBalancerProfile,
    Protocol,
    ServiceType,
    SessionAffinity,
    TrafficPolicy,
)
from kverify.model.metallb import NEWEST_METALLB, OLDEST_METALLB
from kverify.model.node_meta import Taint
from kverify.model.versions import NEWEST, OLDEST, resolve_gates

if TYPE_CHECKING:
    from kverify.model.endpoint_columns import EndpointColumns


def _ip_address(_instance: object, attribute: attrs.Attribute, value: str) -> None:  # type: ignore[type-arg]
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{attribute.name}: Invalid value: {value!r}: must be a valid IP address") from None


def _ip_addresses(_instance: object, attribute: attrs.Attribute, values: tuple[str, ...]) -> None:  # type: ignore[type-arg]
    for value in values:
        _ip_address(_instance, attribute, value)


def _cidrs(_instance: object, attribute: attrs.Attribute, values: tuple[str, ...]) -> None:  # type: ignore[type-arg]
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(f"{attribute.name}: Invalid value: {value!r}: must be a CIDR") from None


def _pair(value: tuple[int, int] | list[int]) -> tuple[int, int]:
    """A version pair from a tuple or list (a spec's YAML gives lists)."""
    minor, patch = value
    return minor, patch


def _to_endpoints(values: Iterable[Endpoint]) -> Sequence[Endpoint]:
    """Endpoints as a tuple; columns (:mod:`kverify.model.endpoint_columns`) are kept as they are."""
    if type(values) is tuple:
        return values
    return values if isinstance(values, _columns_class()) else tuple(values)


@functools.cache
def _columns_class() -> type[EndpointColumns]:
    """:class:`~kverify.model.endpoint_columns.EndpointColumns`, imported once on first use (it imports
    Endpoint from here); an import statement per Service cost ~0.03 s on a 16,000-Service snapshot."""
    from kverify.model.endpoint_columns import EndpointColumns  # it imports Endpoint from here

    return EndpointColumns


_port = v.and_(v.instance_of(int), v.ge(1), v.le(65535))
_name = v.and_(v.instance_of(str), v.min_len(1))


@attrs.frozen(kw_only=True)
class Node:
    """A Kubernetes Node. ``addresses[0]`` is its primary IP (kube-proxy's ``--node-ip``)."""

    name: str = attrs.field(validator=_name)
    addresses: tuple[str, ...] = attrs.field(converter=to_tuple, validator=_ip_addresses)
    zone: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    pod_cidrs: tuple[str, ...] = attrs.field(default=(), converter=to_tuple, validator=_cidrs)
    #: The Node has a deletionTimestamp or the ToBeDeletedByClusterAutoscaler taint; kube-proxy's
    #: /healthz then fails (rule ``lb-healthz-draining-node``).
    draining: bool = attrs.field(default=False, validator=v.instance_of(bool))
    #: ``metadata.labels`` but the zone label (held in ``zone``), for placement (node selectors).
    labels: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=to_tuple)
    #: ``spec.taints`` (the scheduler's TaintToleration filter) but the cluster autoscaler's
    #: ``ToBeDeletedByClusterAutoscaler`` (held in ``draining``; it is a NoSchedule taint).
    taints: tuple[Taint, ...] = attrs.field(default=(), converter=to_tuple)

    @property
    def primary_address(self) -> str | None:
        return self.addresses[0] if self.addresses else None


@attrs.frozen(kw_only=True)
class EndpointPort:
    """One port of an EndpointSlice; ``name`` matches the Service port's name."""

    name: str = attrs.field(default="", validator=v.instance_of(str))
    port: int = attrs.field(validator=_port)
    protocol: Protocol = attrs.field(default=Protocol.TCP, validator=v.instance_of(Protocol))


def serves_port(ports: tuple[EndpointPort, ...], port_name: str) -> bool:
    """Whether an endpoint with these ports serves the Service port named ``port_name`` (no ports: every one)."""
    return not ports or any(p.name == port_name for p in ports)


@attrs.frozen(kw_only=True)
class Endpoint:
    """One endpoint of an EndpointSlice, with its conditions already defaulted as kube-proxy does.

    ``node_name`` is ``None`` when the endpoint has no ``nodeName``; such an endpoint is never
    local to any node. ``ports`` empty means "every port of the Service" (convenient for specs).
    """

    ip: str = attrs.field(validator=_ip_address)
    node_name: str | None = attrs.field(default=None, validator=v.optional(_name))
    ready: bool = attrs.field(default=True, validator=v.instance_of(bool))
    serving: bool = attrs.field(default=True, validator=v.instance_of(bool))
    terminating: bool = attrs.field(default=False, validator=v.instance_of(bool))
    zone_hints: frozenset[str] = attrs.field(default=frozenset(), converter=to_frozenset)
    node_hints: frozenset[str] = attrs.field(default=frozenset(), converter=to_frozenset)
    #: ``namespace/name`` of the Pod behind the endpoint (its targetRef), if known.
    pod: str | None = attrs.field(default=None)
    ports: tuple[EndpointPort, ...] = attrs.field(default=(), converter=to_tuple)

    @property
    def usable(self) -> bool:
        """Ready, or serving while terminating: the endpoints kube-proxy may ever send to."""
        return self.ready or (self.serving and self.terminating)

    def serves(self, port_name: str) -> bool:
        return serves_port(self.ports, port_name)

    def target_port(self, port_name: str) -> int | None:
        return next((p.port for p in self.ports if p.name == port_name), None)


@attrs.frozen(kw_only=True)
class ServicePort:
    name: str = attrs.field(default="", validator=v.instance_of(str))
    port: int = attrs.field(validator=_port)
    protocol: Protocol = attrs.field(default=Protocol.TCP, validator=v.instance_of(Protocol))
    node_port: int | None = attrs.field(default=None, validator=v.optional(_port))
    target_port: int | str | None = attrs.field(default=None)


@attrs.frozen(kw_only=True)
class LoadBalancerIngress:
    """One ``status.loadBalancer.ingress`` entry. Hostname-only entries have ``ip=None``."""

    ip: str | None = attrs.field(default=None, validator=v.optional(_ip_address))
    hostname: str | None = attrs.field(default=None)
    ip_mode: IPMode = attrs.field(default=IPMode.VIP, validator=v.instance_of(IPMode))


@attrs.frozen(kw_only=True)
class Service:
    """A Service with its endpoints (from its EndpointSlices)."""

    namespace: str = attrs.field(validator=_name)
    name: str = attrs.field(validator=_name)
    type: ServiceType = attrs.field(default=ServiceType.CLUSTER_IP, validator=v.instance_of(ServiceType))
    #: Empty for a headless Service (``clusterIP: None``), which gets no proxy rules.
    cluster_ips: tuple[str, ...] = attrs.field(default=(), converter=to_tuple, validator=_ip_addresses)
    ports: tuple[ServicePort, ...] = attrs.field(default=(), converter=to_tuple)
    external_traffic_policy: TrafficPolicy = attrs.field(
        default=TrafficPolicy.CLUSTER, validator=v.instance_of(TrafficPolicy)
    )
    internal_traffic_policy: TrafficPolicy = attrs.field(
        default=TrafficPolicy.CLUSTER, validator=v.instance_of(TrafficPolicy)
    )
    external_ips: tuple[str, ...] = attrs.field(default=(), converter=to_tuple, validator=_ip_addresses)
    load_balancer_ingress: tuple[LoadBalancerIngress, ...] = attrs.field(default=(), converter=to_tuple)
    load_balancer_source_ranges: tuple[str, ...] = attrs.field(default=(), converter=to_tuple, validator=_cidrs)
    health_check_node_port: int | None = attrs.field(default=None, validator=v.optional(_port))
    session_affinity: SessionAffinity = attrs.field(
        default=SessionAffinity.NONE, validator=v.instance_of(SessionAffinity)
    )
    traffic_distribution: str | None = attrs.field(default=None)
    #: The topology annotation, as ``(key, value)``: ``service.kubernetes.io/topology-mode`` or the
    #: deprecated ``service.kubernetes.io/topology-aware-hints`` (older kube-proxy honours zone hints
    #: only with it; rule ``topology-hints-annotation``).
    topology_annotation: tuple[str, str] | None = attrs.field(default=None)
    #: A tuple, or :class:`~kverify.model.endpoint_columns.EndpointColumns` as the loader reads big slices.
    endpoints: Sequence[Endpoint] = attrs.field(default=(), converter=_to_endpoints)
    #: ``spec.selector`` as label pairs; ``None`` when the Service has none (endpoints managed by hand).
    selector: tuple[tuple[str, str], ...] | None = attrs.field(default=None)
    #: ``spec.publishNotReadyAddresses``: the EndpointSlice controller writes ``ready: true`` for every pod
    #: it lists, Ready or not (read where kverify derives endpoint conditions from pods: ``kverify.change``).
    publish_not_ready_addresses: bool = attrs.field(default=False, validator=v.instance_of(bool))
    #: Field paths kverify filled in because the API server allocates or defaults them at apply time
    #: (``spec.clusterIP``, ``spec.ports[0].nodePort``, ``status.loadBalancer.ingress``...): shown as
    #: "allocated at apply time" wherever they appear, never passed off as real.
    allocated: frozenset[str] = attrs.field(default=frozenset(), converter=to_frozenset)
    #: The load balancer profile well-known annotations point to (AWS, MetalLB, GCP, Azure), if any, and
    #: why (``"from annotation service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: ip"``).
    #: Used only when the user has not chosen a profile (see :meth:`Cluster.load_balancer_for`).
    load_balancer_hint: LoadBalancerProfile | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(LoadBalancerProfile))
    )
    load_balancer_hint_reason: str = ""
    #: The load balancer sends a PROXY protocol header (``service.beta.kubernetes.io/aws-load-balancer-proxy-protocol:
    #: "*"``, or ``proxy_protocol_v2.enabled=true`` among the target-group attributes).
    proxy_protocol: bool = attrs.field(default=False, validator=v.instance_of(bool))
    #: ``preserve_client_ip.enabled`` from ``service.beta.kubernetes.io/aws-load-balancer-target-group-attributes``;
    #: ``None``: the default for the target type (rule ``lb-preserve-client-ip``).
    lb_preserve_client_ip: bool | None = attrs.field(default=None, validator=v.optional(v.instance_of(bool)))

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def headless(self) -> bool:
        return not self.cluster_ips

    def port(self, number: int | None, protocol: Protocol = Protocol.TCP) -> ServicePort | None:
        """The port with this number (the first port when ``number`` is None)."""
        for port in self.ports:
            if (number is None or port.port == number) and port.protocol == protocol:
                return port
        return None

    def node_port_for(self, number: int, protocol: Protocol = Protocol.TCP) -> ServicePort | None:
        return next((p for p in self.ports if p.node_port == number and p.protocol == protocol), None)

    def allocated_values(self) -> tuple[tuple[str, str], ...]:
        """The addresses and ports in :attr:`allocated` (known only after apply) as ``(field path,
        value)``, in field order; fields merely defaulted to a fixed value (``spec.type``) are left out."""
        # Pick the valued fields first and sort only those: in a snapshot of applied objects no field
        # is still to be allocated, and sorting every defaulted path with a regex key cost ~0.08 s
        # on 16,000 Services. Its paths (spec.ipFamilies...) name no value at all: asked once per set.
        if not may_name_values(self.allocated):
            return ()
        out = [
            (path, value)
            for path in self.allocated
            if (value := self._allocated_value(path)) is not None
            and not (path == "spec.clusterIPs[0]" and "spec.clusterIP" in self.allocated)
        ]
        if not out:
            return ()
        out.sort(key=lambda item: _field_order(item[0]))
        return tuple(out)

    def allocated_addresses(self) -> frozenset[str]:
        """The addresses among :meth:`allocated_values` (to mark them wherever they are printed)."""
        return frozenset(value for path, value in self.allocated_values() if not path.endswith("odePort"))

    def _allocated_value(self, path: str) -> str | None:
        match = _INDEXED.fullmatch(path)
        if path == "spec.clusterIP" and self.cluster_ips:
            return self.cluster_ips[0]
        if path == "spec.healthCheckNodePort" and self.health_check_node_port:
            return str(self.health_check_node_port)
        if match is None:
            return None
        field, index, rest = match.group(1), int(match.group(2)), match.group(3)
        if field == "spec.clusterIPs" and index < len(self.cluster_ips) and not rest:
            return self.cluster_ips[index]
        if field == "spec.ports" and rest == ".nodePort" and index < len(self.ports):
            number = self.ports[index].node_port
            return str(number) if number else None
        if field == "status.loadBalancer.ingress" and rest == ".ip" and index < len(self.load_balancer_ingress):
            return self.load_balancer_ingress[index].ip
        return None


@functools.lru_cache(maxsize=256)
def may_name_values(paths: frozenset[str]) -> bool:
    """Whether some path may name an address or a port (:meth:`Service._allocated_value` may answer it):
    ``spec.clusterIP``, ``spec.healthCheckNodePort`` or an indexed path. The loader gives the Services
    of a snapshot a few sets of merely defaulted paths, shared: each is asked once."""
    return any(p in ("spec.clusterIP", "spec.healthCheckNodePort") or _INDEXED.fullmatch(p) for p in paths)


_INDEXED = re.compile(r"([A-Za-z.]+)\[(\d+)\](.*)")


def _field_order(path: str) -> tuple[int, str]:
    """spec before status; within each, as written (``ports[10]`` after ``ports[9]``)."""
    return (path.startswith("status"), re.sub(r"\d+", lambda m: m.group().zfill(6), path))


def cni_problem(dataplane: Dataplane, cni: Cni) -> str | None:
    """Why kverify does not model ``cni`` under ``dataplane`` (refused rather than guessed), or None."""
    cilium = dataplane in (Dataplane.CILIUM_SNAT, Dataplane.CILIUM_DSR)
    if cni is Cni.CILIUM and not cilium:
        return (
            "Cilium as the CNI is modelled with its kube-proxy replacement (dataplane cilium-snat or cilium-dsr); "
            "Cilium beside kube-proxy balances ClusterIPs in its own programs, which kverify does not model"
        )
    if cilium and cni not in (Cni.GENERIC, Cni.CILIUM):
        return (
            f"Cilium's kube-proxy replacement is modelled with Cilium as the CNI (cilium or generic), not "
            f"{cni.spelling} (CNI chaining is not modelled)"
        )
    return None


# Tuples made once: asked per flow routed, and an enum member read through its class takes Python 3.11's hooked
# attribute lookup (hundreds of instructions a read).
_CILIUM = (Dataplane.CILIUM_SNAT, Dataplane.CILIUM_DSR)
#: Load balancers that do not keep the client's address unless told to (a generic IP-target LB, a Classic ELB).
_REWRITING_BY_DEFAULT = (LoadBalancerProfile.IP_TARGET, LoadBalancerProfile.AWS_CLASSIC_ELB)


@attrs.frozen(kw_only=True)
class ProxyConfig:
    """How the service proxy on every node is configured.

    ``cluster_cidrs`` is kube-proxy's ``--cluster-cidr``: with ``local_traffic_detector`` it decides
    which sources count as pod traffic (``LocalTrafficDetector``, ClusterCIDR mode). Empty
    ``node_port_addresses`` means the dataplane's default (see rule ``nodeport-addresses``).
    """

    dataplane: Dataplane = attrs.field(default=Dataplane.IPTABLES, validator=v.instance_of(Dataplane))
    cluster_cidrs: tuple[str, ...] = attrs.field(default=("10.0.0.0/8",), converter=to_tuple, validator=_cidrs)
    local_traffic_detector: bool = attrs.field(default=True, validator=v.instance_of(bool))
    masquerade_all: bool = attrs.field(default=False, validator=v.instance_of(bool))
    node_port_addresses: tuple[str, ...] = attrs.field(default=(), converter=to_tuple, validator=_cidrs)
    localhost_node_ports: bool = attrs.field(default=True, validator=v.instance_of(bool))
    #: The service CIDRs (the ServiceCIDR objects' ``spec.cidrs``; kube-apiserver's ``--service-cluster-ip-range``
    #: makes the default one). Empty: not known. Only nftables reads them (rule ``nftables-unallocated-service-ip``).
    service_cidrs: tuple[str, ...] = attrs.field(default=(), converter=to_tuple, validator=_cidrs)
    #: The Kubernetes minor version kube-proxy runs (34 for v1.34); see :mod:`kverify.model.versions`.
    kubernetes_version: int = attrs.field(
        default=NEWEST, validator=v.and_(v.instance_of(int), v.ge(OLDEST), v.le(NEWEST))
    )
    #: ``--feature-gates`` given on top of the version's defaults, as ``(name, value)`` pairs.
    feature_gates: tuple[tuple[str, bool], ...] = attrs.field(default=(), converter=to_tuple)
    #: The pod network the proxy runs on (``--cni``): the masquerade source address, the CNI's own SNAT
    #: of pod traffic to other nodes, the bridge's hairpin mode (:mod:`kverify.semantics.cni`).
    cni: Cni = attrs.field(default=Cni.GENERIC, validator=v.instance_of(Cni))

    @cni.validator
    def _cni_fits(self, _attribute: object, value: Cni) -> None:
        problem = cni_problem(self.dataplane, value)
        if problem:
            raise ValueError(f"cni: {problem}")

    #: The Cilium version and Helm options (read only when the dataplane is Cilium).
    cilium: CiliumSettings = attrs.field(factory=CiliumSettings, validator=v.instance_of(CiliumSettings))

    @feature_gates.validator
    def _known_gates(self, _attribute: object, value: tuple[tuple[str, bool], ...]) -> None:
        try:
            resolve_gates(self.kubernetes_version, value)
        except ValueError as error:
            raise ValueError(f"feature_gates: {error}") from None

    @property
    def gates(self) -> dict[str, bool]:
        """Every routing-relevant feature gate's value (the version's defaults, then ``feature_gates``)."""
        return resolve_gates(self.kubernetes_version, self.feature_gates)

    def dataplane_for(self, protocol: Protocol) -> Dataplane:
        """The dataplane a flow of ``protocol`` meets: Cilium's ``loadBalancer.mode=hybrid`` is DSR for TCP
        and SNAT for every other protocol (cilium/cilium Documentation/network/kubernetes/kubeproxy-free.rst
        'Hybrid DSR and SNAT Mode')."""
        if self.dataplane in _CILIUM and self.cilium.hybrid:
            return Dataplane.CILIUM_DSR if protocol is Protocol.TCP else Dataplane.CILIUM_SNAT
        return self.dataplane

    @property
    def detects_pod_traffic(self) -> bool:
        """A LocalTrafficDetector is configured (kube-proxy needs a cluster CIDR for it)."""
        return self.local_traffic_detector and bool(self.cluster_cidrs)


# Not slotted: attrs gives a slotted class with a cached_property a __getattr__, and then every attribute read
# of an instance goes through Python 3.11's hooked lookup (hundreds of instructions, read thousands of times
# by the executable model); here a cached value is kept in the instance's __dict__.
@attrs.frozen(kw_only=True, slots=False)
class Cluster:
    """Everything routing depends on: nodes, services (with endpoints), the proxy, the load balancer."""

    nodes: tuple[Node, ...] = attrs.field(default=(), converter=to_tuple)
    services: tuple[Service, ...] = attrs.field(default=(), converter=to_tuple)
    proxy: ProxyConfig = attrs.field(factory=ProxyConfig)
    load_balancer: LoadBalancerProfile = attrs.field(
        default=LoadBalancerProfile.HEALTH_CHECKED, validator=v.instance_of(LoadBalancerProfile)
    )
    #: The user chose ``load_balancer`` (a flag, a spec's environment): it overrides every Service's
    #: annotation hint. ``False`` when it is only the default.
    load_balancer_explicit: bool = attrs.field(default=True, validator=v.instance_of(bool))
    #: ``--proxy-protocol`` / a spec's ``environment.proxyProtocol``: every Service's load balancer sends (True) or
    #: does not send (False) a PROXY protocol header; ``None``: each Service's annotations say.
    proxy_protocol: bool | None = attrs.field(default=None, validator=v.optional(v.instance_of(bool)))
    #: ``--metallb-version`` / a spec's ``environment.metallbVersion``, as ``(minor, patch)`` of v0.minor.patch: which
    #: endpoint conditions make MetalLB announce (:mod:`kverify.model.metallb`). Read only by the MetalLB profiles.
    metallb_version: tuple[int, int] = attrs.field(
        default=NEWEST_METALLB, converter=_pair, validator=v.and_(v.ge(OLDEST_METALLB), v.le((NEWEST_METALLB[0], 99)))
    )

    def proxy_protocol_for(self, service: Service | None) -> bool:
        """Whether the load balancer in front of ``service`` sends PROXY protocol headers."""
        if self.proxy_protocol is not None:
            return self.proxy_protocol
        return service is not None and service.proxy_protocol

    def preserves_client_ip(self, service: Service | None, protocol: Protocol) -> bool:
        """Whether the load balancer in front of ``service`` keeps the client's address (rule
        ``lb-preserve-client-ip``): the target-group attribute if set, else the target type's default
        (instance targets on; IP targets off for TCP, on for UDP; a generic ``ip-target`` LB and a Classic ELB,
        which proxies every TCP connection, off)."""
        profile = self.load_balancer_for(service)
        if (
            service is not None
            and service.lb_preserve_client_ip is not None
            and profile
            in (
                LoadBalancerProfile.AWS_NLB_INSTANCE,
                LoadBalancerProfile.AWS_NLB_IP,
            )
        ):
            return service.lb_preserve_client_ip
        if profile is LB_AWS_NLB_IP:
            return protocol is Protocol.UDP
        return profile not in _REWRITING_BY_DEFAULT

    def load_balancer_for(self, service: Service | None) -> LoadBalancerProfile:
        """The load balancer in front of ``service``: the user's choice, else the Service's
        annotation hint, else the default. The one place this is decided."""
        if self.load_balancer_explicit or service is None or service.load_balancer_hint is None:
            return self.load_balancer
        return service.load_balancer_hint

    def load_balancer_reason(self, service: Service | None) -> str:
        """Why :meth:`load_balancer_for` chose what it chose, for reports."""
        if self.load_balancer_explicit:
            return "chosen by the user"
        if service is not None and service.load_balancer_hint is not None:
            return service.load_balancer_hint_reason
        return "the default: no --load-balancer, no spec environment, no well-known annotation"

    def node(self, name: str | None) -> Node | None:
        """The node named ``name`` (the first, if the list repeats it)."""
        return self._nodes_by_name.get(name) if name is not None else None

    def service(self, key: str) -> Service | None:
        """The service named ``namespace/name`` (the first, if the list repeats it)."""
        return self.services_by_key.get(key)

    def node_owning(self, ip: str) -> Node | None:
        """The (first) node that has ``ip`` among its addresses."""
        return self._nodes_by_address.get(ip)

    # The lookups above are asked once per Service or per counterexample: on a snapshot of 16,000
    # nodes and Services a scan each time made them nodes x Services (issue 11). Built on first use;
    # the cluster is frozen, so they never go stale (attrs.evolve makes a new cluster).
    @functools.cached_property
    def _nodes_by_name(self) -> dict[str, Node]:
        found: dict[str, Node] = {}
        for n in self.nodes:
            found.setdefault(n.name, n)
        return found

    @functools.cached_property
    def services_by_key(self) -> dict[str, Service]:
        """Each Service by its ``namespace/name`` (the first, if the list repeats it), in order; a reader
        must not change it. The executable model's index shares it (one build, not two, per cluster)."""
        services = self.services
        # The keys made by f-strings, not by Service.key (a property call per Service) nor by a
        # "{0.namespace}/{0.name}".format mapped over them (which parses its format each time: four times
        # the instructions): 16,000 keys in issue 11's List.
        found = {f"{s.namespace}/{s.name}": s for s in services}
        if len(found) < len(services):  # a key repeated (bad input the loader reports): the first wins
            found = {}
            for s in services:
                found.setdefault(s.key, s)
        return found

    @functools.cached_property
    def _nodes_by_address(self) -> dict[str, Node]:
        found: dict[str, Node] = {}
        for n in self.nodes:
            for address in n.addresses:
                found.setdefault(address, n)
        return found
