"""Services of a JSON List decoded by msgspec into typed structs, and read from them.

A snapshot holds thousands of Services shaped alike (the 200 MB List of issue 11 has 16,000). The plain
reader (:mod:`kverify.load.plain_service`) walks each Service's dicts and checks each value's type in
Python. Here msgspec decodes a Service's ``spec`` and ``status`` into :class:`TypedService`, whose types
are exactly those the plain reader accepts (an enum field a ``Literal`` of its spellings, a port number
an integer in range, a selector a mapping of strings...): msgspec checks them in C and skips the fields
kverify does not read. A Service that does not fit fails to decode as a :class:`TypedService` and is
decoded as plain dicts instead, for the plain and careful readers.

:func:`typed_service` then makes the checks no type expresses (an IP address, fields that contradict
each other) and returns what :func:`~kverify.load.plain_service.plain_service` returns for the same
object, or ``None`` to leave it to those readers, which get the dicts the json module gives
(:meth:`~kverify.load.typed_fields.TypedFields.as_dict` decodes the text again). What depends only on
values most Services share with others (type, policies, ports, IP families: :func:`_shape`) is worked
out once per combination, down to what is pending (:class:`~kverify.load.allocate.Pending`): ports
decoded as frozen structs are hashable. ``tests/test_service_typed.py`` checks that the two paths
agree on generated Services.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import attrs

from kverify.load.allocate import FAMILIES, FamilyRequest, Pending
from kverify.load.fields import ip_version, is_ip, is_ipv4, validators_off
from kverify.load.plain_service import load_balancer_annotations
from kverify.load.service_annotations import ALLOCATED_ANNOTATION, topology_annotation
from kverify.load.validate import SOURCE_RANGES_ANNOTATION
from kverify.model.cluster import LoadBalancerIngress, ServicePort
from kverify.model.enums import IPMode, Protocol, ServiceType, SessionAffinity, TrafficPolicy

if TYPE_CHECKING:  # the structs import msgspec, which only a JSON List needs
    from kverify.load.service_structs import TypedLoadBalancerStatus, TypedPort, TypedService


_TYPES = {t.spelling: t for t in (ServiceType.CLUSTER_IP, ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER)}
_POLICIES = {p.spelling: p for p in TrafficPolicy}
_AFFINITIES = {a.spelling: a for a in SessionAffinity}
_PROTOCOLS = {p.spelling: p for p in Protocol}
_IP_MODES = {m.spelling: m for m in IPMode}
#: Annotations the careful reader checks or warns about: a Service with one is left to it.
_CAREFUL_ANNOTATIONS = frozenset((SOURCE_RANGES_ANNOTATION, ALLOCATED_ANNOTATION))
_EMPTY: tuple[()] = ()
_IPV4_ONLY = (4,)
#: What the load-balancer annotations say of a Service without any: PROXY protocol, client address kept.
_NO_ANNOTATIONS = load_balancer_annotations(None, False, None)[2:]


def typed_service(service: TypedService, metadata: dict[str, Any]) -> dict[str, Any] | None:
    """The keyword arguments :func:`~kverify.load.plain_service.plain_service` returns for the same
    Service read as dicts, or ``None`` where it would decline (``metadata``: the object's, a dict).

    Every value is checked here before a model value is built of it; the few values built with the
    model's validators (ports, load-balancer ingress entries) are built with them off."""
    spec = service.spec
    annotations = metadata.get("annotations")
    if annotations is not None and (type(annotations) is not dict or not _CAREFUL_ANNOTATIONS.isdisjoint(annotations)):
        return None
    health = spec.healthCheckNodePort
    if health is not None and not 1 <= health <= 65535:
        return None
    single, many = spec.clusterIP, spec.clusterIPs
    given: tuple[str, ...]
    given_families: tuple[int, ...]
    if many is not None and len(many) == 1 and many[0] == single and is_ipv4(single):
        given, headless, given_families = many, False, _IPV4_ONLY  # a snapshot's Services: _cluster_ips' answer
    else:
        cluster_ips = _cluster_ips(single or None, many or None, spec.type in (None, "ClusterIP"))
        if cluster_ips is None:
            return None
        given, headless, given_families = cluster_ips
    requested = spec.loadBalancerIP or None
    if requested is not None and not is_ip(requested):
        return None
    status = service.status
    if status is None or status.loadBalancer is None:  # most Services: no load-balancer status
        lb_entries: tuple[LoadBalancerIngress, ...] = ()
        has_status = False
    elif (ingress := _ingress(status.loadBalancer)) is not None:
        lb_entries, has_status = tuple(ingress), True
    else:
        return None
    shape = _shape(
        spec.type,
        spec.externalTrafficPolicy,
        spec.internalTrafficPolicy,
        spec.sessionAffinity,
        health is not None,
        spec.allocateLoadBalancerNodePorts,
        spec.ports,
        spec.ipFamilies,
        spec.ipFamilyPolicy or None,
        given_families,
        headless,
        not lb_entries and not has_status,
        spec.loadBalancerClass or None,
    )
    if shape is None:
        return None
    type_ = shape.type
    pending = shape.pending
    if annotations or requested is not None:  # what the annotations say, and the address asked for
        string_annotations, requested, lb_proxy_protocol, lb_preserve = load_balancer_annotations(
            annotations, type_ is ServiceType.LOAD_BALANCER, requested
        )
        if string_annotations or requested is not None:
            pending = attrs.evolve(
                pending, requested_ingress=requested, annotations=tuple(sorted(string_annotations.items()))
            )
    else:
        lb_proxy_protocol, lb_preserve = _NO_ANNOTATIONS
    selector = spec.selector
    return {
        "type": type_,
        "cluster_ips": given,
        "ports": shape.ports,  # shared by the Services of this shape (the model's values are frozen)
        "external_traffic_policy": shape.external_traffic_policy,
        "internal_traffic_policy": shape.internal_traffic_policy,
        "external_ips": (),
        "load_balancer_ingress": lb_entries,
        "load_balancer_source_ranges": (),
        "health_check_node_port": health,
        "session_affinity": shape.session_affinity,
        "traffic_distribution": spec.trafficDistribution or None,
        "topology_annotation": topology_annotation({"metadata": metadata}) if annotations else None,
        "selector": tuple(selector.items()) or None if selector is not None else None,
        "publish_not_ready_addresses": spec.publishNotReadyAddresses is True,
        "pending": pending,
        "proxy_protocol": lb_proxy_protocol,
        "lb_preserve_client_ip": lb_preserve,
    }


@attrs.frozen
class _Shape:
    """What a Service's shared values make of it (see :func:`_shape`)."""

    type: ServiceType
    ports: tuple[ServicePort, ...]
    external_traffic_policy: TrafficPolicy
    internal_traffic_policy: TrafficPolicy
    session_affinity: SessionAffinity
    #: What is pending for a Service of this shape that asks for no address and has no annotations.
    pending: Pending


@functools.lru_cache(maxsize=1024)
def _shape(
    word: str | None,
    etp: str | None,
    itp: str | None,
    affinity: str | None,
    health_given: bool,
    allocate_load_balancer_node_ports: bool | None,
    raw_ports: tuple[TypedPort, ...] | None,
    family_words: tuple[str, ...] | None,
    family_policy: str | None,
    given_families: tuple[int, ...],
    headless: bool,
    no_ingress: bool,
    lb_class: str | None,
) -> _Shape | None:
    """What the values most Services share with others (type, policies, ports, families...) make of a
    Service, worked out once per combination (a snapshot of 16,000 Services has a few dozen); ``None``
    where ``plain_service`` declines. ``no_ingress``: the Service has no ``status.loadBalancer``."""
    type_ = ServiceType.CLUSTER_IP if word is None else _TYPES[word]
    cluster_ip = type_ is ServiceType.CLUSTER_IP
    load_balancer = type_ is ServiceType.LOAD_BALANCER
    if etp is not None and cluster_ip:
        return None  # validate.service_spec: only for externally-accessible Services
    if health_given and not (load_balancer and etp == "Local"):
        return None
    family = _family_request(family_words, family_policy, given_families, headless)
    if family is None:
        return None
    family_request, family_defaults = family
    ports_read = _ports(raw_ports, type_, allocate_load_balancer_node_ports is not False)
    if ports_read is None:
        return None
    ports, node_ports, port_defaults = ports_read
    if not ports and not headless:
        return None  # "spec.ports: Required value"
    defaulted = [*(("spec.type",) if word is None else ()), *family_defaults, *port_defaults]
    if not cluster_ip and etp is None:
        defaulted.append("spec.externalTrafficPolicy")
    if itp is None:
        defaulted.append("spec.internalTrafficPolicy")
    if affinity is None:
        defaulted.append("spec.sessionAffinity")
    if load_balancer and allocate_load_balancer_node_ports is None:
        defaulted.append("spec.allocateLoadBalancerNodePorts")
    pending = Pending(
        family_request=family_request,
        node_ports=node_ports,
        health_check_node_port=not health_given and load_balancer and etp == "Local",
        needs_ingress=load_balancer and no_ingress,
        defaulted=tuple(defaulted),
        lb_class=lb_class,
    )
    return _Shape(
        type=type_,
        ports=ports,
        external_traffic_policy=TrafficPolicy.CLUSTER if etp is None else _POLICIES[etp],
        internal_traffic_policy=TrafficPolicy.CLUSTER if itp is None else _POLICIES[itp],
        session_affinity=SessionAffinity.NONE if affinity is None else _AFFINITIES[affinity],
        pending=pending,
    )


def _cluster_ips(
    single: str | None, many: tuple[str, ...] | None, cluster_ip: bool
) -> tuple[tuple[str, ...], bool, tuple[int, ...]] | None:
    """``plain_service._cluster_ips``: (the given ClusterIPs, headless, their families), ``None`` to decline."""
    if many is None:
        ips: tuple[str, ...] = (single,) if single is not None else _EMPTY
    elif single is None or many[0] == single:
        ips = many
    else:
        return None
    if "None" in ips:
        return (_EMPTY, True, _EMPTY) if cluster_ip else None
    if len(ips) > 2:
        return None
    families = []
    for ip in ips:
        if is_ipv4(ip):
            families.append(4)
        elif is_ip(ip):
            families.append(ip_version(ip))
        else:
            return None
    return ips, False, tuple(families)


@functools.lru_cache(maxsize=256)
def _family_request(
    words: tuple[str, ...] | None, policy: str | None, given_families: tuple[int, ...], headless: bool
) -> tuple[FamilyRequest | None, tuple[str, ...]] | None:
    """``plain_service._family_request`` for one combination of values (a few in a cluster): the request
    and the defaulted paths, or ``None`` to decline."""
    families: list[int] = []
    for word in words or ():
        if FAMILIES[word] in families:
            return None
        families.append(FAMILIES[word])
    if headless:
        return None, _EMPTY
    if any(have != want for have, want in zip(given_families, families, strict=False)):
        return None
    if len(given_families) == 2 and given_families[0] == given_families[1]:
        return None
    two = len(families) == 2 or len(given_families) == 2
    defaulted: list[str] = []
    if policy is None:
        policy = "RequireDualStack" if two else "SingleStack"
        defaulted.append("spec.ipFamilyPolicy")
    if policy == "SingleStack" and two:
        return None
    if not families:
        defaulted.append("spec.ipFamilies")
    return FamilyRequest(policy=policy, ip_families=tuple(families)), tuple(defaulted)


@functools.lru_cache(maxsize=1024)
def _ports(
    raw: tuple[TypedPort, ...] | None, type_: ServiceType, allocates_if_load_balancer: bool
) -> tuple[tuple[ServicePort, ...], tuple[int, ...], tuple[str, ...]] | None:
    """``plain_service._ports`` for one value of ``spec.ports`` (most Services share theirs with others):
    the ports, the indexes of those whose nodePort is allocated, the defaulted paths; ``None`` to decline.
    Each port is built with the model's validators off: every value is checked here first."""
    if raw is None:
        return _EMPTY, _EMPTY, _EMPTY
    allocates = type_ is ServiceType.NODE_PORT or (type_ is ServiceType.LOAD_BALANCER and allocates_if_load_balancer)
    ports: list[ServicePort] = []
    pending: list[int] = []
    defaulted: list[str] = []
    names: set[str] = set()
    for i, p in enumerate(raw):
        name = p.name or ""
        if (len(raw) > 1 and not name) or name in names:
            return None
        names.add(name)
        word = p.protocol
        protocol = Protocol.TCP if word is None else _PROTOCOLS[word]
        if word is None:
            defaulted.append(f"spec.ports[{i}].protocol")
        node_port = p.nodePort or None
        if node_port is not None and type_ is ServiceType.CLUSTER_IP:
            return None
        if node_port is None and allocates:
            pending.append(len(ports))
        target = p.targetPort
        if target is None or target == "" or target == 0:
            target = p.port
            defaulted.append(f"spec.ports[{i}].targetPort")
        elif type(target) is int and not 1 <= target <= 65535:
            return None
        with validators_off():
            port = ServicePort(name=name, port=p.port, protocol=protocol, node_port=node_port, target_port=target)
        ports.append(port)
    return tuple(ports), tuple(pending), tuple(defaulted)


def _ingress(lb: TypedLoadBalancerStatus) -> list[LoadBalancerIngress] | None:
    """``plain_service._ingress`` of a Service with a ``status.loadBalancer``: its ingress entries, built
    with the model's validators off (each address is checked here first); ``None`` to decline."""
    out: list[LoadBalancerIngress] = []
    for entry in lb.ingress or ():
        ip = entry.ip or None
        if ip is not None and not is_ip(ip):
            return None
        hostname = entry.hostname or None
        mode = _IP_MODES[entry.ipMode] if entry.ipMode else IPMode.VIP
        if ip is not None or hostname is not None:
            with validators_off():
                out.append(LoadBalancerIngress(ip=ip, hostname=hostname, ip_mode=mode))
    return out
