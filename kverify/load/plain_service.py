"""The common, well-formed Service read in one pass, beside the careful reader (:mod:`kverify.load.services`).

A snapshot holds thousands of Services shaped alike: a type, one or two ClusterIPs, a few named ports,
a selector. The careful reader checks each field through a typed getter that would record a problem
with its path; for such a Service none fires, and the getters cost ~50 us a Service (16,000 of them
in the 200 MB List of issue 11). :func:`plain_service` reads the same fields with plain lookups and
declines (returns ``None``) at the first value that is anything but plainly valid, so that the careful
reader, and only it, reports problems and warnings. Whatever it returns is what the careful reader
returns for the same object (``tests/test_plain_service.py`` checks this on generated Services).
"""

from __future__ import annotations

from typing import Any

from kverify.load.allocate import FAMILIES, POLICIES, FamilyRequest, Pending
from kverify.load.fields import E, ip_version, is_ip
from kverify.load.lb_hints import preserve_client_ip, proxy_protocol, requested_ips
from kverify.load.service_annotations import ALLOCATED_ANNOTATION, topology_annotation
from kverify.load.validate import SOURCE_RANGES_ANNOTATION
from kverify.model.cluster import LoadBalancerIngress, ServicePort
from kverify.model.enums import IPMode, Protocol, ServiceType, SessionAffinity, TrafficPolicy

_TYPES = {t.spelling: t for t in (ServiceType.CLUSTER_IP, ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER)}
_POLICIES = {p.spelling: p for p in TrafficPolicy}
_AFFINITIES = {a.spelling: a for a in SessionAffinity}
_PROTOCOLS = {p.spelling: p for p in Protocol}
_IP_MODES = {m.spelling: m for m in IPMode}
#: Annotations the careful reader checks or warns about: a Service with one is left to it.
_CAREFUL_ANNOTATIONS = frozenset((SOURCE_RANGES_ANNOTATION, ALLOCATED_ANNOTATION))
_EMPTY: tuple[()] = ()
_NO_ANNOTATIONS = (proxy_protocol({}), preserve_client_ip({}))


def load_balancer_annotations(
    annotations: dict[Any, Any] | None, load_balancer: bool, requested: str | None
) -> tuple[dict[str, str], str | None, bool, bool | None]:
    """What a Service's annotations say to a load balancer, as both fast readers take it: its string
    annotations (a LoadBalancer's only), the address asked for (``requested``, else the first valid one
    the annotations name), and whether PROXY protocol is on and the client address kept."""
    strings = {str(k): v for k, v in annotations.items() if type(v) is str} if load_balancer and annotations else {}
    if requested is None and strings:
        requested = next((ip for ip in requested_ips(strings) if is_ip(ip)), None)
    # Most Services have no annotation the load-balancer hints read: their answers are those of none.
    proxy, preserve = (proxy_protocol(strings), preserve_client_ip(strings)) if strings else _NO_ANNOTATIONS
    return strings, requested, proxy, preserve


class _Decline(Exception):
    """A value that is not plainly valid: the careful reader takes the Service."""


def plain_service(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The keyword arguments :func:`kverify.load.services.service_from` returns for ``obj``, or ``None``
    when any field is not plainly valid (or is one this reader leaves to the careful one). Call it with
    the model's validators off, as ``service_from`` does: every value is checked here first."""
    try:
        return _read(obj)
    except _Decline:
        return None


def _read(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec")
    if type(spec) is not dict:
        raise _Decline
    annotations = obj["metadata"].get("annotations")
    if annotations is not None and (type(annotations) is not dict or not _CAREFUL_ANNOTATIONS.isdisjoint(annotations)):
        raise _Decline
    defaulted: list[str] = []
    word = spec.get("type")
    type_ = ServiceType.CLUSTER_IP if word is None else _spelled(_TYPES, word)  # not ExternalName: careful
    if word is None:
        defaulted.append("spec.type")
    cluster_ip = type_ is ServiceType.CLUSTER_IP
    load_balancer = type_ is ServiceType.LOAD_BALANCER
    # Fields validate.service_spec refuses on some types, and lists the careful reader checks entry by entry.
    etp = spec.get("externalTrafficPolicy")
    if etp is not None and cluster_ip:
        raise _Decline  # validate.service_spec: only for externally-accessible Services
    external_policy = TrafficPolicy.CLUSTER if etp is None else _spelled(_POLICIES, etp)
    health = spec.get("healthCheckNodePort")
    if health is not None and not (type(health) is int and 1 <= health <= 65535 and load_balancer and etp == "Local"):
        raise _Decline
    if spec.get("externalIPs") not in (None, []) or spec.get("loadBalancerSourceRanges") not in (None, []):
        raise _Decline
    given, headless = _cluster_ips(spec, cluster_ip)
    family_request = _family_request(spec, given, headless, defaulted)
    ports, node_ports = _ports(spec, type_, defaulted)
    if not ports and not headless:
        raise _Decline  # "spec.ports: Required value"
    if not cluster_ip and etp is None:
        defaulted.append("spec.externalTrafficPolicy")
    itp = spec.get("internalTrafficPolicy")
    internal_policy = TrafficPolicy.CLUSTER if itp is None else _spelled(_POLICIES, itp)
    if itp is None:
        defaulted.append("spec.internalTrafficPolicy")
    affinity_word = spec.get("sessionAffinity")
    affinity = SessionAffinity.NONE if affinity_word is None else _spelled(_AFFINITIES, affinity_word)
    if affinity_word is None:
        defaulted.append("spec.sessionAffinity")
    allocate_node_ports = spec.get("allocateLoadBalancerNodePorts")
    if allocate_node_ports is not None and type(allocate_node_ports) is not bool:
        raise _Decline  # the careful reader defaults "" and lets other values through unchecked
    if load_balancer and allocate_node_ports is None:
        defaulted.append("spec.allocateLoadBalancerNodePorts")
    ingress, has_status = _ingress(obj)
    requested = _optional_string(spec, "loadBalancerIP")
    if requested is not None and not is_ip(requested):
        raise _Decline
    string_annotations, requested, lb_proxy_protocol, lb_preserve = load_balancer_annotations(
        annotations, load_balancer, requested
    )
    pending = Pending(
        family_request=family_request,
        node_ports=node_ports,
        health_check_node_port=health is None and load_balancer and etp == "Local",
        needs_ingress=load_balancer and not ingress and not has_status,
        requested_ingress=requested,
        defaulted=tuple(defaulted),
        annotations=tuple(sorted(string_annotations.items())),
        lb_class=_optional_string(spec, "loadBalancerClass"),
    )
    publish = spec.get("publishNotReadyAddresses")
    if publish is not None and type(publish) is not bool:
        raise _Decline
    return {
        "type": type_,
        "cluster_ips": given,
        "ports": tuple(ports),
        "external_traffic_policy": external_policy,
        "internal_traffic_policy": internal_policy,
        "external_ips": (),
        "load_balancer_ingress": tuple(ingress),
        "load_balancer_source_ranges": (),
        "health_check_node_port": health,
        "session_affinity": affinity,
        "traffic_distribution": _optional_string(spec, "trafficDistribution"),
        "topology_annotation": topology_annotation(obj),
        "selector": _selector(spec),
        "publish_not_ready_addresses": publish is True,
        "pending": pending,
        "proxy_protocol": lb_proxy_protocol,
        "lb_preserve_client_ip": lb_preserve,
    }


def _spelled(members: dict[str, E], word: object) -> E:
    """The enum member spelled ``word`` (``Ctx.enum`` for a present, valid value)."""
    member = members.get(word) if type(word) is str else None
    if member is None:
        raise _Decline
    return member


def _optional_string(spec: dict[str, Any], key: str) -> str | None:
    """An optional string field (empty counts as absent, as the careful reader's ``Ctx.string``)."""
    value = spec.get(key)
    if value is None or value == "":
        return None
    if type(value) is not str:
        raise _Decline
    return value


def _cluster_ips(spec: dict[str, Any], cluster_ip: bool) -> tuple[tuple[str, ...], bool]:
    """``services._cluster_ips`` for plainly valid values: (the given ClusterIPs, headless)."""
    single = _optional_string(spec, "clusterIP")
    many = spec.get("clusterIPs")
    if many is None or many == []:
        ips = [single] if single is not None else []
    elif type(many) is list and all(type(ip) is str for ip in many) and (single is None or many[0] == single):
        ips = many
    else:
        raise _Decline
    if "None" in ips:
        if not cluster_ip:
            raise _Decline
        return _EMPTY, True
    if len(ips) > 2 or not all(is_ip(ip) for ip in ips):
        raise _Decline
    return tuple(ips), False


def _family_request(
    spec: dict[str, Any], given: tuple[str, ...], headless: bool, defaulted: list[str]
) -> FamilyRequest | None:
    """``allocate.cluster_ip_families`` for values it accepts without a problem."""
    words = spec.get("ipFamilies")
    families: list[int] = []
    if words is not None:
        if type(words) is not list:
            raise _Decline
        for word in words:
            family = FAMILIES.get(word) if type(word) is str else None
            if family is None or family in families:
                raise _Decline
            families.append(family)
    policy = spec.get("ipFamilyPolicy")
    if policy == "":
        policy = None
    if policy is not None and (type(policy) is not str or policy not in POLICIES):
        raise _Decline
    if headless:
        return None
    given_families = [ip_version(ip) for ip in given]
    if any(have != want for have, want in zip(given_families, families, strict=False)):
        raise _Decline
    if len(given_families) == 2 and given_families[0] == given_families[1]:
        raise _Decline
    two = len(families) == 2 or len(given) == 2
    if policy is None:
        policy = "RequireDualStack" if two else "SingleStack"
        defaulted.append("spec.ipFamilyPolicy")
    if policy == "SingleStack" and two:
        raise _Decline
    if not families:
        defaulted.append("spec.ipFamilies")
    return FamilyRequest(policy=policy, ip_families=tuple(families))


def _ports(spec: dict[str, Any], type_: ServiceType, defaulted: list[str]) -> tuple[list[ServicePort], tuple[int, ...]]:
    """``services._service_ports`` for plainly valid ports."""
    raw = spec.get("ports")
    if raw is None:
        return [], _EMPTY
    if type(raw) is not list:
        raise _Decline
    allocates = type_ is ServiceType.NODE_PORT or (
        type_ is ServiceType.LOAD_BALANCER and spec.get("allocateLoadBalancerNodePorts") is not False
    )
    ports: list[ServicePort] = []
    pending: list[int] = []
    names: set[str] = set()
    for i, p in enumerate(raw):
        if type(p) is not dict:
            raise _Decline
        name = p.get("name")
        if name is None or name == "":
            name = ""
        elif type(name) is not str:
            raise _Decline
        if (len(raw) > 1 and not name) or name in names:
            raise _Decline
        names.add(name)
        port = p.get("port")
        if type(port) is not int or not 1 <= port <= 65535:
            raise _Decline
        word = p.get("protocol")
        protocol = Protocol.TCP if word is None else _spelled(_PROTOCOLS, word)
        if word is None:
            defaulted.append(f"spec.ports[{i}].protocol")
        node_port = p.get("nodePort")
        if node_port is not None:
            if type(node_port) is not int or not 0 <= node_port <= 65535:
                raise _Decline
            if node_port == 0:
                node_port = None
            elif type_ is ServiceType.CLUSTER_IP:
                raise _Decline
        if node_port is None and allocates:
            pending.append(len(ports))
        target = p.get("targetPort")
        if target is None or target == "" or (type(target) is int and target == 0):
            target = port
            defaulted.append(f"spec.ports[{i}].targetPort")
        elif not ((type(target) is int and 1 <= target <= 65535) or type(target) is str):
            raise _Decline
        ports.append(ServicePort(name=name, port=port, protocol=protocol, node_port=node_port, target_port=target))
    return ports, tuple(pending)


def _ingress(obj: dict[str, Any]) -> tuple[list[LoadBalancerIngress], bool]:
    """``status.loadBalancer.ingress`` as ``services._ingress`` reads it, and whether ``status.loadBalancer``
    is there (``services._has_lb_status``)."""
    status = obj.get("status")
    if status is None:
        return [], False
    if type(status) is not dict:
        raise _Decline
    lb = status.get("loadBalancer")
    if lb is None:
        return [], False
    if type(lb) is not dict:
        raise _Decline
    entries = lb.get("ingress")
    if entries is None:
        return [], True
    if type(entries) is not list:
        raise _Decline
    out: list[LoadBalancerIngress] = []
    for entry in entries:
        if type(entry) is not dict:
            raise _Decline
        ip = _optional_string(entry, "ip")
        if ip is not None and not is_ip(ip):
            raise _Decline
        hostname = _optional_string(entry, "hostname")
        word = entry.get("ipMode")
        mode = IPMode.VIP if word is None or word == "" else _spelled(_IP_MODES, word)
        if ip is not None or hostname is not None:
            out.append(LoadBalancerIngress(ip=ip, hostname=hostname, ip_mode=mode))
    return out, True


def _selector(spec: dict[str, Any]) -> tuple[tuple[str, str], ...] | None:
    """``services._selector`` for a selector whose values are all strings."""
    raw = spec.get("selector")
    if raw is None:
        return None
    if type(raw) is not dict:
        raise _Decline
    pairs = tuple((str(key), value) for key, value in raw.items())
    if not all(type(value) is str for _, value in pairs):
        raise _Decline
    return pairs or None
