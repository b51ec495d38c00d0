"""A Service (a plain dict) -> the keyword arguments of :class:`~kverify.model.cluster.Service`.

Defaults are the API server's (``protocol: TCP``, ``type: ClusterIP``, traffic policies ``Cluster``,
``targetPort`` = ``port``); what it allocates at apply time (ClusterIPs, node ports, the load
balancer's address) is left pending here and filled in by :mod:`kverify.load.allocate`, which sees
every Service at once.
"""

from __future__ import annotations

from typing import Any

from kverify.load import validate
from kverify.load.allocate import Pending, cluster_ip_families
from kverify.load.fields import MUST_BE_CIDR, Ctx, invalid, is_cidr, is_ip, validators_off
from kverify.load.kinds import Skip
from kverify.load.lb_hints import preserve_client_ip, proxy_protocol, requested_ips
from kverify.load.plain_service import plain_service
from kverify.load.service_annotations import ALLOCATED_ANNOTATION, topology_annotation
from kverify.model.cluster import LoadBalancerIngress, ServicePort
from kverify.model.enums import IPMode, Protocol, ServiceType, SessionAffinity, TrafficPolicy

SOURCE_RANGES_ANNOTATION = validate.SOURCE_RANGES_ANNOTATION
_STATUS_LB = ("status", "loadBalancer")


def service_from(ctx: Ctx, obj: dict[str, Any]) -> dict[str, Any] | Skip | None:
    """The keyword arguments of a :class:`~kverify.model.cluster.Service`, without its endpoints.

    What the API server would allocate or default is left for :func:`kverify.load.allocate.allocate`:
    the kwargs carry it as ``"pending"`` (a :class:`~kverify.load.allocate.Pending`).
    """
    # Each port and ingress entry is built from fields checked just before: see validators_off.
    with validators_off():
        plain = plain_service(obj)  # the common well-formed Service; None leaves it to the careful reader
        return plain if plain is not None else _service_from(ctx, obj)


def _service_from(ctx: Ctx, obj: dict[str, Any]) -> dict[str, Any] | Skip | None:
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
    metadata_annotations = obj["metadata"].get("annotations")
    validate.service_spec(
        ctx, spec, type_.spelling, annotations=metadata_annotations if type(metadata_annotations) is dict else None
    )
    cluster_ips, headless = _cluster_ips(ctx, spec, type_)
    family_request, family_defaults = cluster_ip_families(ctx, spec, cluster_ips, headless=headless)
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
    annotations = _string_annotations(obj) if type_ is ServiceType.LOAD_BALANCER else {}
    requested = ctx.string(spec, "loadBalancerIP", ("spec",))
    if requested is not None and ctx.ip(requested, ("spec", "loadBalancerIP")) is None:
        requested = None
    if requested is None:
        requested = next((ip for ip in requested_ips(annotations) if is_ip(ip)), None)
    no_status = not ingress and not _has_lb_status(obj)
    defaulted += _recorded_allocations(ctx, obj)
    pending = Pending(
        family_request=family_request,
        node_ports=node_ports,
        # apiservice.NeedsHealthCheck: LoadBalancer with externalTrafficPolicy Local
        health_check_node_port=health_check is None
        and type_ is ServiceType.LOAD_BALANCER
        and spec.get("externalTrafficPolicy") == "Local",
        needs_ingress=type_ is ServiceType.LOAD_BALANCER and no_status,
        requested_ingress=requested,
        defaulted=tuple(defaulted),
        annotations=tuple(sorted(annotations.items())),
        lb_class=ctx.string(spec, "loadBalancerClass", ("spec",)),
    )
    kwargs = {
        "type": type_,
        "cluster_ips": cluster_ips,
        "ports": tuple(ports),
        "external_traffic_policy": ctx.enum(
            spec, "externalTrafficPolicy", ("spec",), TrafficPolicy, TrafficPolicy.CLUSTER
        ),
        "internal_traffic_policy": ctx.enum(
            spec, "internalTrafficPolicy", ("spec",), TrafficPolicy, TrafficPolicy.CLUSTER
        ),
        "external_ips": tuple(external_ips),
        "load_balancer_ingress": tuple(ingress),
        "load_balancer_source_ranges": tuple(ranges),
        "health_check_node_port": health_check,
        "session_affinity": ctx.enum(spec, "sessionAffinity", ("spec",), SessionAffinity, SessionAffinity.NONE),
        "traffic_distribution": ctx.string(spec, "trafficDistribution", ("spec",)),
        "topology_annotation": topology_annotation(obj),
        "selector": _selector(ctx, spec),
        "publish_not_ready_addresses": ctx.boolean(spec, "publishNotReadyAddresses", ("spec",)) is True,
        "pending": pending,
        "proxy_protocol": proxy_protocol(annotations),
        "lb_preserve_client_ip": preserve_client_ip(annotations),
    }
    return kwargs if len(ctx.problems) == before else None


def _recorded_allocations(ctx: Ctx, obj: dict[str, Any]) -> list[str]:
    annotations = obj["metadata"].get("annotations")
    if type(annotations) is not dict or ALLOCATED_ANNOTATION not in annotations:
        return []
    value = annotations[ALLOCATED_ANNOTATION]
    if type(value) is not str:
        ctx.error(("metadata", "annotations", ALLOCATED_ANNOTATION), invalid(value, "must be a string"))
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def _string_annotations(obj: dict[str, Any]) -> dict[str, str]:
    annotations = obj["metadata"].get("annotations")
    if type(annotations) is not dict:
        return {}
    return {str(k): v for k, v in annotations.items() if type(v) is str}


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
