"""Converters from one Kubernetes object (a plain dict) to model values, one function per kind.

Each converter records every problem it finds in its :class:`~kverify.load.fields.Ctx` and returns
what it could build (``None`` when the object is unusable), or a :class:`Skip` with the reason the
object gets no proxy rules. Defaults are the API server's (``protocol: TCP``, ``type: ClusterIP``,
traffic policies ``Cluster``) and kube-proxy's (EndpointSlice conditions, see
``pkg/proxy/endpointslicecache.go`` ``newEndpointSliceInfo``).
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from kverify.load import validate
from kverify.load.allocate import Pending, cluster_ip_families, lb_families
from kverify.load.fields import MUST_BE_CIDR, Ctx, invalid, is_cidr, is_ip, unsupported
from kverify.model.cluster import Endpoint, EndpointPort, LoadBalancerIngress, Node, ServicePort
from kverify.model.enums import IPMode, Protocol, ServiceType, SessionAffinity, TrafficPolicy

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
ZONE_LABEL = "topology.kubernetes.io/zone"
SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"
AUTOSCALER_TAINT = "ToBeDeletedByClusterAutoscaler"

_STATUS_LB = ("status", "loadBalancer")


@attrs.frozen
class Skip:
    """The object is valid but kverify builds nothing from it, for this reason."""

    reason: str


@attrs.frozen
class SliceRecord:
    """An EndpointSlice's contribution: the Service it names and its endpoints with their indexes."""

    service: str | None  # the kubernetes.io/service-name label
    endpoints: tuple[tuple[int, Endpoint], ...]


def node_from(ctx: Ctx, obj: dict[str, Any], name: str) -> Node | None:
    """A Node: InternalIPs then ExternalIPs (kube-proxy's node IP is the first), zone, pod CIDRs."""
    meta, spec, status = obj["metadata"], ctx.mapping(obj, "spec", ()), ctx.mapping(obj, "status", ())
    internal: list[str] = []
    external: list[str] = []
    for i, entry in enumerate(ctx.list_of(status, "addresses", ("status",))):
        path = ("status", "addresses", i)
        if type(entry) is not dict:
            ctx.error(path, invalid(entry, "must be a mapping"))
            continue
        kind = ctx.string(entry, "type", path, required=True)
        address = ctx.string(entry, "address", path, required=True)
        if (
            kind in ("InternalIP", "ExternalIP")
            and address is not None
            and ctx.ip(address, (*path, "address")) is not None
        ):
            target = internal if kind == "InternalIP" else external
            if address not in internal and address not in external:
                target.append(address)
    labels = ctx.mapping(meta, "labels", ("metadata",))
    zone = ctx.string(labels, ZONE_LABEL, ("metadata", "labels"))
    pod_cidrs: list[str] = []
    for i, cidr in enumerate(ctx.strings(spec, "podCIDRs", ("spec",))):
        if (checked := ctx.cidr(cidr, ("spec", "podCIDRs", i))) is not None:
            pod_cidrs.append(checked)
    single = ctx.string(spec, "podCIDR", ("spec",))
    if not pod_cidrs and single is not None and (checked := ctx.cidr(single, ("spec", "podCIDR"))) is not None:
        pod_cidrs.append(checked)
    taints = ctx.list_of(spec, "taints", ("spec",))
    draining = meta.get("deletionTimestamp") is not None or any(
        type(t) is dict and t.get("key") == AUTOSCALER_TAINT for t in taints
    )
    try:
        return Node(name=name, addresses=(*internal, *external), zone=zone, pod_cidrs=pod_cidrs, draining=draining)
    except (ValueError, TypeError) as exc:
        ctx.model_error(exc)
        return None


def service_from(ctx: Ctx, obj: dict[str, Any]) -> dict[str, Any] | Skip | None:
    """The keyword arguments of a :class:`~kverify.model.cluster.Service`, without its endpoints.

    What the API server would allocate or default is left for :func:`kverify.load.allocate.allocate`:
    the kwargs carry it as ``"pending"`` (a :class:`~kverify.load.allocate.Pending`).
    """
    spec = ctx.mapping(obj, "spec", ())
    if spec.get("type") == "ExternalName":
        return Skip("ExternalName services get no proxy rules")
    before = len(ctx.problems)
    defaulted: list[str] = []

    def default(key: str) -> None:
        if spec.get(key) in (None, ""):
            defaulted.append(f"spec.{key}")

    type_ = ctx.enum(spec, "type", ("spec",), ServiceType, ServiceType.CLUSTER_IP, also=("ExternalName",))
    default("type")
    validate.service_spec(ctx, spec, type_.spelling)
    cluster_ips, headless = _cluster_ips(ctx, spec, type_)
    families, family_defaults = cluster_ip_families(ctx, spec, cluster_ips, headless=headless)
    defaulted += family_defaults
    ports, node_ports = _service_ports(ctx, spec, type_, headless=headless, defaulted=defaulted)
    external_ips = [
        ip for i, ip in enumerate(ctx.strings(spec, "externalIPs", ("spec",))) if ctx.ip(ip, ("spec", "externalIPs", i))
    ]
    ranges: list[str] = []  # kube-proxy trims whitespace: the API server once let it through
    for i, text in enumerate(ctx.strings(spec, "loadBalancerSourceRanges", ("spec",))):
        if (cidr := ctx.cidr(text, ("spec", "loadBalancerSourceRanges", i))) is not None:
            ranges.append(cidr)
    _source_ranges_annotation(ctx, obj, bool(ranges))
    if type_ is not ServiceType.CLUSTER_IP:  # the API server sets it for NodePort and LoadBalancer only
        default("externalTrafficPolicy")
    default("internalTrafficPolicy")
    default("sessionAffinity")
    if type_ is ServiceType.LOAD_BALANCER:
        default("allocateLoadBalancerNodePorts")
    ingress = _ingress(ctx, obj)
    health_check = ctx.port(spec, "healthCheckNodePort", ("spec",))
    requested = ctx.string(spec, "loadBalancerIP", ("spec",))
    if requested is not None and ctx.ip(requested, ("spec", "loadBalancerIP")) is None:
        requested = None
    no_status = not ingress and not _has_lb_status(obj)
    defaulted += _recorded_allocations(ctx, obj)
    pending = Pending(
        families=families,
        node_ports=node_ports,
        # apiservice.NeedsHealthCheck: LoadBalancer with externalTrafficPolicy Local
        health_check_node_port=health_check is None
        and type_ is ServiceType.LOAD_BALANCER
        and spec.get("externalTrafficPolicy") == "Local",
        ingress_families=lb_families(type_, cluster_ips, families) if no_status else (),
        requested_ingress=requested,
        defaulted=tuple(defaulted),
    )
    kwargs = {
        "type": type_,
        "cluster_ips": cluster_ips,
        "ports": ports,
        "external_traffic_policy": ctx.enum(
            spec, "externalTrafficPolicy", ("spec",), TrafficPolicy, TrafficPolicy.CLUSTER
        ),
        "internal_traffic_policy": ctx.enum(
            spec, "internalTrafficPolicy", ("spec",), TrafficPolicy, TrafficPolicy.CLUSTER
        ),
        "external_ips": external_ips,
        "load_balancer_ingress": ingress,
        "load_balancer_source_ranges": ranges,
        "health_check_node_port": health_check,
        "session_affinity": ctx.enum(spec, "sessionAffinity", ("spec",), SessionAffinity, SessionAffinity.NONE),
        "traffic_distribution": ctx.string(spec, "trafficDistribution", ("spec",)),
        "selector": _selector(ctx, spec),
        "pending": pending,
    }
    return kwargs if len(ctx.problems) == before else None


#: Written on exported manifests: the field paths kverify filled in (read back, so a counterexample
#: manifest still says which of its values are only known after apply).
ALLOCATED_ANNOTATION = "kverify.io/allocated"


def _recorded_allocations(ctx: Ctx, obj: dict[str, Any]) -> list[str]:
    annotations = obj["metadata"].get("annotations")
    if type(annotations) is not dict or ALLOCATED_ANNOTATION not in annotations:
        return []
    value = annotations[ALLOCATED_ANNOTATION]
    if type(value) is not str:
        ctx.error(("metadata", "annotations", ALLOCATED_ANNOTATION), invalid(value, "must be a string"))
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def _has_lb_status(obj: dict[str, Any]) -> bool:
    """``status.loadBalancer`` is there, even empty: a snapshot, where an LB still being provisioned
    has no address (nothing to allocate); manifests from Git have no status at all."""
    status = obj.get("status")
    return type(status) is dict and type(status.get("loadBalancer")) is dict


def _selector(ctx: Ctx, spec: dict[str, Any]) -> tuple[tuple[str, str], ...] | None:
    """``spec.selector``: label pairs; ``None`` when absent or empty (the API server treats an
    empty selector as none: the EndpointSlice controller manages no endpoints for it)."""
    raw = ctx.mapping(spec, "selector", ("spec",))
    pairs: list[tuple[str, str]] = []
    for key, value in raw.items():
        if type(value) is not str:
            ctx.error(("spec", "selector", str(key)), invalid(value, "must be a string"))
        else:
            pairs.append((str(key), value))
    return tuple(pairs) or None


def _cluster_ips(ctx: Ctx, spec: dict[str, Any], type_: ServiceType) -> tuple[tuple[str, ...], bool]:
    """The given ``clusterIPs`` (or ``clusterIP``), and whether the Service is headless (``None``)."""
    single = ctx.string(spec, "clusterIP", ("spec",))
    many = ctx.strings(spec, "clusterIPs", ("spec",))
    if many and single is not None and many[0] != single:
        ctx.error(("spec", "clusterIPs", 0), invalid(many[0], "must match `clusterIP`"))
    ips, path = (many, ("spec", "clusterIPs")) if many else ([single] if single else [], ("spec", "clusterIP"))
    if "None" in ips:
        if type_ is not ServiceType.CLUSTER_IP:
            ctx.error(path, invalid("None", "may only be set to 'None' for ClusterIP services"))
        return (), True
    if len(ips) > 2:
        ctx.error(("spec", "clusterIPs"), "Too many: may only hold up to 2 values")
        return (), False
    given = tuple(ip for i, ip in enumerate(ips) if ctx.ip(ip, path if path[-1] == "clusterIP" else (*path, i)))
    return (given if len(given) == len(ips) else ()), False


def _service_ports(
    ctx: Ctx, spec: dict[str, Any], type_: ServiceType, *, headless: bool, defaulted: list[str]
) -> tuple[list[ServicePort], tuple[int, ...]]:
    """The ports, and the indexes of those whose ``nodePort`` the API server allocates."""
    raw = ctx.list_of(spec, "ports", ("spec",))
    if not raw and not headless and spec.get("ports") in (None, []):
        ctx.error(("spec", "ports"), "Required value")
    ports: list[ServicePort] = []
    pending: list[int] = []
    names: set[str] = set()
    for i, p in enumerate(raw):
        path = ("spec", "ports", i)
        if type(p) is not dict:
            ctx.error(path, invalid(p, "must be a mapping"))
            continue
        name = ctx.string(p, "name", path) or ""
        if len(raw) > 1 and not name:
            ctx.error((*path, "name"), "Required value")
        elif name in names:
            ctx.error((*path, "name"), f'Duplicate value: "{name}"')
        names.add(name)
        port = ctx.port(p, "port", path, required=True)
        protocol = ctx.enum(p, "protocol", path, Protocol, Protocol.TCP)
        if p.get("protocol") in (None, ""):
            defaulted.append(f"spec.ports[{i}].protocol")
        node_port = ctx.port(p, "nodePort", path)
        if node_port is not None and type_ == ServiceType.CLUSTER_IP:
            ctx.error((*path, "nodePort"), "Forbidden: may not be used when `type` is 'ClusterIP'")
        if node_port is None and port is not None and _allocates_node_ports(type_, spec):
            pending.append(len(ports))
        target = p.get("targetPort")
        if target is None or target == "" or (type(target) is int and target == 0):
            target = port  # the API server defaults targetPort to port
            defaulted.append(f"spec.ports[{i}].targetPort")
        elif (type(target) is int and not 1 <= target <= 65535) or type(target) not in (int, str):
            ctx.error((*path, "targetPort"), invalid(target, "must be a port number or a port name"))
        if port is not None:
            ports.append(ServicePort(name=name, port=port, protocol=protocol, node_port=node_port, target_port=target))
    return ports, tuple(pending)


def _allocates_node_ports(type_: ServiceType, spec: dict[str, Any]) -> bool:
    """The API server allocates node ports for NodePort Services, and for LoadBalancer Services
    unless ``allocateLoadBalancerNodePorts: false``."""
    if type_ == ServiceType.LOAD_BALANCER:
        return spec.get("allocateLoadBalancerNodePorts") is not False
    return type_ == ServiceType.NODE_PORT


def _ingress(ctx: Ctx, obj: dict[str, Any]) -> list[LoadBalancerIngress]:
    lb = ctx.mapping(ctx.mapping(obj, "status", ()), "loadBalancer", ("status",))
    out: list[LoadBalancerIngress] = []
    for i, entry in enumerate(ctx.list_of(lb, "ingress", _STATUS_LB)):
        path = (*_STATUS_LB, "ingress", i)
        if type(entry) is not dict:
            ctx.error(path, invalid(entry, "must be a mapping"))
            continue
        ip = ctx.string(entry, "ip", path)
        if ip is not None and ctx.ip(ip, (*path, "ip")) is None:
            continue
        hostname = ctx.string(entry, "hostname", path)
        mode = ctx.enum(entry, "ipMode", path, IPMode, IPMode.VIP)
        if ip is not None or hostname is not None:
            out.append(LoadBalancerIngress(ip=ip, hostname=hostname, ip_mode=mode))
    return out


def _source_ranges_annotation(ctx: Ctx, obj: dict[str, Any], have_field: bool) -> None:
    """kube-proxy reads only ``spec.loadBalancerSourceRanges`` (``pkg/proxy/serviceport.go``
    ``newBaseServiceInfo``); the legacy annotation is read by cloud providers only. kverify models
    kube-proxy, so it ignores the annotation, and says so rather than guessing what the LB does."""
    annotations = obj["metadata"].get("annotations")
    if type(annotations) is not dict or SOURCE_RANGES_ANNOTATION not in annotations:
        return
    path = ("metadata", "annotations", SOURCE_RANGES_ANNOTATION)
    value = annotations[SOURCE_RANGES_ANNOTATION]
    if type(value) is not str:
        ctx.error(path, invalid(value, "must be a string"))
        return
    for part in value.split(","):
        if part.strip() and not is_cidr(part.strip()):
            ctx.error(path, invalid(part.strip(), MUST_BE_CIDR))
    if not have_field and value.strip():
        ctx.warn(
            path,
            "kube-proxy ignores this annotation (it reads only spec.loadBalancerSourceRanges); "
            "kverify does not apply it, though a cloud load balancer may",
        )


def slice_from(ctx: Ctx, obj: dict[str, Any], namespace: str) -> SliceRecord | Skip | None:
    """An EndpointSlice: one endpoint per entry of ``endpoints`` (kube-proxy uses ``addresses[0]``)."""
    address_type = obj.get("addressType")
    if address_type == "FQDN":
        return Skip("addressType FQDN is not used by kube-proxy")
    if address_type not in ("IPv4", "IPv6"):
        if address_type is None:
            ctx.error(("addressType",), "Required value")
        else:
            ctx.error(("addressType",), unsupported(address_type, ("FQDN", "IPv4", "IPv6")))
        return None
    before = len(ctx.problems)
    labels = ctx.mapping(obj["metadata"], "labels", ("metadata",))
    service = ctx.string(labels, SERVICE_NAME_LABEL, ("metadata", "labels"))
    if service is None:
        ctx.warn(("metadata", "labels"), f"no {SERVICE_NAME_LABEL} label: kube-proxy ignores this EndpointSlice")
    ports = _slice_ports(ctx, obj)
    endpoints = _slice_endpoints(ctx, obj, namespace, ports, v6=address_type == "IPv6")
    if len(ctx.problems) != before:
        return None
    if not ports and endpoints:
        ctx.warn(("ports",), "no usable ports: kube-proxy builds no endpoints from this EndpointSlice")
        return SliceRecord(service, ())
    return SliceRecord(service, tuple(endpoints))


def _slice_ports(ctx: Ctx, obj: dict[str, Any]) -> tuple[EndpointPort, ...]:
    ports: list[EndpointPort] = []
    for i, p in enumerate(ctx.list_of(obj, "ports", ())):
        path = ("ports", i)
        if type(p) is not dict:
            ctx.error(path, invalid(p, "must be a mapping"))
            continue
        name = ctx.string(p, "name", path) or ""
        number = ctx.port(p, "port", path, zero_unset=False)  # a pointer in the API: 0 is invalid
        protocol = ctx.enum(p, "protocol", path, Protocol, Protocol.TCP)
        if number is None:
            if p.get("port") is None:  # endpointslicecache.go: "Ignoring invalid endpoint port"
                ctx.warn((*path, "port"), "no port number: kube-proxy ignores this port")
            continue
        ports.append(EndpointPort(name=name, port=number, protocol=protocol))
    return tuple(ports)


def _slice_endpoints(
    ctx: Ctx, obj: dict[str, Any], namespace: str, ports: tuple[EndpointPort, ...], *, v6: bool
) -> list[tuple[int, Endpoint]]:
    """The hot loop of the loader: plain lookups on the happy path, a helper call on any anomaly.

    Every field of an Endpoint is checked here before it is built, so its attrs validators (an
    ``ipaddress`` parse per endpoint: a third of the loading time of a 150,000-endpoint snapshot)
    are switched off while the loop runs.
    """
    was_on = attrs.validators.get_disabled() is False
    attrs.validators.set_disabled(True)
    try:
        return _endpoints_unvalidated(ctx, obj, namespace, ports, v6=v6)
    finally:
        attrs.validators.set_disabled(not was_on)


#: Dotted-quad IPv4, as ``ipaddress.IPv4Address`` accepts it (no leading zeros).
_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\Z")


def _endpoints_unvalidated(
    ctx: Ctx, obj: dict[str, Any], namespace: str, ports: tuple[EndpointPort, ...], *, v6: bool
) -> list[tuple[int, Endpoint]]:
    out: list[tuple[int, Endpoint]] = []
    append = out.append
    for i, e in enumerate(ctx.list_of(obj, "endpoints", ())):
        if type(e) is not dict:
            ctx.error(("endpoints", i), invalid(e, "must be a mapping"))
            continue
        addresses = e.get("addresses")
        if type(addresses) is not list or not addresses or type(addresses[0]) is not str:
            _bad_addresses(ctx, i, addresses)
            continue
        ip = addresses[0]
        if (":" in ip) != v6:
            ctx.error(("endpoints", i, "addresses", 0), invalid(ip, _family(v6)))
            continue
        if len(addresses) > 1:
            _extra_addresses(ctx, i, addresses, v6)
        ready = serving = True
        terminating = False
        conditions = e.get("conditions")
        if conditions is not None:
            if type(conditions) is not dict:
                ctx.error(("endpoints", i, "conditions"), invalid(conditions, "must be a mapping"))
                continue
            r, s, t = conditions.get("ready"), conditions.get("serving"), conditions.get("terminating")
            if not (type(r) in _OPT_BOOL and type(s) in _OPT_BOOL and type(t) in _OPT_BOOL):
                for key in ("ready", "serving", "terminating"):
                    ctx.boolean(conditions, key, ("endpoints", i, "conditions"))
                continue
            # endpointslicecache.go newEndpointSliceInfo: nil ready/serving mean true, nil terminating false.
            ready, serving, terminating = r is not False, s is not False, t is True
        node = e.get("nodeName")
        if node is not None and (type(node) is not str or not node):
            ctx.error(("endpoints", i, "nodeName"), invalid(node, "must be a non-empty string"))
            continue
        pod = None
        ref = e.get("targetRef")
        if ref is not None:
            if type(ref) is not dict or type(ref.get("name")) is not str:
                ctx.error(("endpoints", i, "targetRef"), invalid(ref, "must be an object reference with a name"))
                continue
            if ref.get("kind") == "Pod":
                pod = f"{ref.get('namespace') or namespace}/{ref['name']}"
        # Validated here, so the Endpoint need not parse it again (validators are off in this loop).
        if not (_IPV4.match(ip) if not v6 else is_ip(ip)):
            ctx.error(("endpoints", i, "addresses", 0), invalid(ip, _family(v6)))
            continue
        hints = e.get("hints")
        try:
            if hints is None:
                endpoint = Endpoint(
                    ip=ip, node_name=node, ready=ready, serving=serving, terminating=terminating, pod=pod, ports=ports
                )
            else:
                zones, nodes = _hints(ctx, i, hints)
                endpoint = Endpoint(
                    ip=ip,
                    node_name=node,
                    ready=ready,
                    serving=serving,
                    terminating=terminating,
                    pod=pod,
                    ports=ports,
                    zone_hints=zones,
                    node_hints=nodes,
                )
        except ValueError:
            ctx.error(("endpoints", i, "addresses", 0), invalid(ip, _family(v6)))
            continue
        append((i, endpoint))
    return out


_OPT_BOOL = (type(None), bool)


def _family(v6: bool) -> str:
    return "must be a valid IPv6 address" if v6 else "must be a valid IPv4 address"


def _bad_addresses(ctx: Ctx, i: int, addresses: object) -> None:
    path: tuple[str | int, ...] = ("endpoints", i, "addresses")
    if addresses is None or addresses == []:
        ctx.error(path, "Required value: must contain at least 1 address")
    elif type(addresses) is not list:
        ctx.error(path, invalid(addresses, "must be a list"))
    else:
        ctx.error((*path, 0), invalid(addresses[0], "must be a string"))


def _extra_addresses(ctx: Ctx, i: int, addresses: list[Any], v6: bool) -> None:
    for j, extra in enumerate(addresses[1:], start=1):
        if type(extra) is not str or (":" in extra) != v6 or not is_ip(extra):
            ctx.error(("endpoints", i, "addresses", j), invalid(extra, _family(v6)))
    ctx.warn(
        ("endpoints", i, "addresses"),
        "kube-proxy uses only the first address (pkg/proxy/endpointslicecache.go); the others are ignored",
    )


def _hints(ctx: Ctx, i: int, hints: object) -> tuple[frozenset[str], frozenset[str]]:
    path: tuple[str | int, ...] = ("endpoints", i, "hints")
    if type(hints) is not dict:
        ctx.error(path, invalid(hints, "must be a mapping"))
        return frozenset(), frozenset()
    found: list[frozenset[str]] = []
    for key in ("forZones", "forNodes"):
        names = set()
        for j, entry in enumerate(ctx.list_of(hints, key, path)):
            if type(entry) is not dict:
                ctx.error((*path, key, j), invalid(entry, "must be a mapping"))
            elif (name := ctx.string(entry, "name", (*path, key, j), required=True)) is not None:
                names.add(name)
        found.append(frozenset(names))
    return found[0], found[1]
