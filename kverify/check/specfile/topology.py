"""A spec's inline ``topology``: a few nodes and Services written tersely, with the API server's
allocations (ClusterIP, nodePort, healthCheckNodePort, load balancer IP) filled in when omitted."""

from __future__ import annotations

from typing import Any

from kverify.check.findings import Location
from kverify.load import validate
from kverify.load.fields import Ctx, Path, invalid
from kverify.load.service_range import FULL, ServiceRanges
from kverify.model import (
    Endpoint,
    LoadBalancerIngress,
    Node,
    Service,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)

_NODE = ("name", "address", "zone", "podCIDR", "draining")
_SERVICE = (
    "name",
    "type",
    "externalTrafficPolicy",
    "internalTrafficPolicy",
    "clusterIP",
    "port",
    "targetPort",
    "nodePort",
    "loadBalancerIP",
    "healthCheckNodePort",
    "externalIPs",
    "endpoints",
)
_ENDPOINT = ("ip", "node", "pod", "ready", "serving", "terminating")


def _known(ctx: Ctx, m: dict[str, Any], path: Path, fields: tuple[str, ...]) -> None:
    from kverify.check.specfile.loader import known_fields

    known_fields(ctx, m, path, fields)


def topology_from(
    ctx: Ctx, topo: dict[str, Any], service_cidrs: tuple[str, ...] = ()
) -> tuple[tuple[Node, ...], tuple[Service, ...], dict[str, Location]]:
    """The nodes and Services of a spec's ``topology``; omitted ClusterIPs come from ``service_cidrs`` (the
    spec's ``environment.serviceCIDR``), which a given one must lie in, as the API server requires."""
    _known(ctx, topo, ("topology",), ("nodes", "services"))
    nodes: list[Node] = []
    node_lines: dict[str, int] = {}
    for i, raw in enumerate(ctx.list_of(topo, "nodes", ("topology",))):
        path: Path = ("topology", "nodes", i)
        if type(raw) is not dict:
            ctx.error(path, invalid(raw, "must be a mapping"))
            continue
        before = len(ctx.problems)  # this node's own problems: one elsewhere (environment) must not cascade
        _known(ctx, raw, path, _NODE)
        name = ctx.string(raw, "name", path, required=True)
        if name is not None and validate.check_name(ctx, (*path, "name"), name, "DNS-1123 subdomain"):
            if name in node_lines:
                validate.duplicate(ctx, (*path, "name"), name, node_lines[name])
            node_lines.setdefault(name, ctx.locate(path))
        address = ctx.string(raw, "address", path) or f"192.168.0.{11 + i}"
        ctx.ip(address, (*path, "address"))
        cidr = ctx.string(raw, "podCIDR", path) or f"10.244.{1 + i}.0/24"
        ctx.cidr(cidr, (*path, "podCIDR"))
        zone = ctx.string(raw, "zone", path)
        draining = ctx.boolean(raw, "draining", path)
        if name is not None and len(ctx.problems) == before:
            nodes.append(Node(name=name, addresses=(address,), zone=zone, pod_cidrs=(cidr,), draining=bool(draining)))
    names = {n.name for n in nodes}
    services: list[Service] = []
    lines: dict[str, Location] = {}
    raws = ctx.list_of(topo, "services", ("topology",))
    # Values the user gave are claimed first, so that a filled-in one never takes them.
    given = _Given(raws, ServiceRanges.of(service_cidrs))
    for i, raw in enumerate(raws):
        path = ("topology", "services", i)
        if type(raw) is not dict:
            ctx.error(path, invalid(raw, "must be a mapping"))
            continue
        service = _service(ctx, raw, path, i, names, given)
        if service is None:
            continue
        if service.key in lines:
            validate.duplicate(ctx, (*path, "name"), service.key, lines[service.key].line)
            continue
        services.append(service)
        lines[service.key] = Location(file=ctx.file, line=ctx.locate(path))
    return tuple(nodes), tuple(services), lines


class _Given:
    """The nodePorts, healthCheckNodePorts and ClusterIPs the topology's Services name, and the
    allocator for the ones it fills in (the first candidate not given by anyone)."""

    def __init__(self, raws: list[Any], ranges: ServiceRanges) -> None:
        keys = ("nodePort", "healthCheckNodePort")
        self.ports = {v for r in raws if type(r) is dict for k in keys if type(v := r.get(k)) is int}
        self.ips = {v for r in raws if type(r) is dict if type(v := r.get("clusterIP")) is str}
        self.claims = validate.Allocations()
        self.ranges = ranges

    def free_port(self, first: int) -> int:
        port = first
        while port in self.ports:
            port += 1
        self.ports.add(port)
        return port

    def free_ip(self, i: int) -> str | None:
        """The ``i``-th Service's ClusterIP: the 10th address of the service CIDR onwards, one per Service
        (10.96.0.10, 10.96.0.11... on the assumed 10.96.0.0/12); ``None`` when the declared CIDRs are full."""
        if not self.ranges.declared:
            for n in range(10 + i, 10 + i + 65536):
                ip = f"10.96.{n // 256}.{n % 256}"
                if ip not in self.ips:
                    self.ips.add(ip)
                    return ip
            raise AssertionError("unreachable: a topology has fewer than 65,536 Services")
        return self.ranges.address_from(10 + i, self.ips)


def _service(ctx: Ctx, raw: dict[str, Any], path: Path, i: int, nodes: set[str], given: _Given) -> Service | None:
    before = len(ctx.problems)
    _known(ctx, raw, path, _SERVICE)
    key = ctx.string(raw, "name", path, required=True) or "default/unnamed"
    namespace, _, name = key.rpartition("/")
    if not name:  # "shop/" or "/"
        ctx.error((*path, "name"), invalid(key, "must be NAME or NAMESPACE/NAME"))
    else:
        validate.check_name(ctx, (*path, "name"), name, "DNS-1035 label")
    if namespace or "/" in key:
        validate.check_name(ctx, (*path, "name"), namespace, "DNS-1123 label")
    key = f"{namespace or 'default'}/{name}"
    type_ = ctx.enum(raw, "type", path, ServiceType, ServiceType.CLUSTER_IP)
    etp = ctx.enum(raw, "externalTrafficPolicy", path, TrafficPolicy, TrafficPolicy.CLUSTER)
    itp = ctx.enum(raw, "internalTrafficPolicy", path, TrafficPolicy, TrafficPolicy.CLUSTER)
    given_ip = ctx.string(raw, "clusterIP", path)
    cluster_ip = given_ip or given.free_ip(i)
    if cluster_ip is None:
        ctx.error((*path, "clusterIP"), FULL)
        cluster_ip = "0.0.0.0"  # a placeholder: the problem just recorded fails the spec
    elif ctx.ip(cluster_ip, (*path, "clusterIP")) and given_ip:
        if (refusal := given.ranges.refusal(given_ip)) is not None:
            ctx.error((*path, "clusterIP"), invalid(given_ip, refusal))
        given.claims.cluster_ip(ctx, (*path, "clusterIP"), given_ip, key)
    port = ctx.port(raw, "port", path) or 80
    target = ctx.port(raw, "targetPort", path) or 8080
    exposed = type_ is not ServiceType.CLUSTER_IP
    given_port = ctx.port(raw, "nodePort", path)
    node_port = given_port or (given.free_port(30080 + i) if exposed else None)
    if node_port is not None and not exposed:
        ctx.error((*path, "nodePort"), "Forbidden: may not be used when `type` is 'ClusterIP'")
    elif given_port is not None:
        given.claims.node_port(ctx, (*path, "nodePort"), given_port, key)
    lb_ip = ctx.string(raw, "loadBalancerIP", path) or (
        f"198.51.100.{10 + i}" if type_ is ServiceType.LOAD_BALANCER else None
    )
    if lb_ip is not None:
        ctx.ip(lb_ip, (*path, "loadBalancerIP"))
    needs_hc = type_ is ServiceType.LOAD_BALANCER and etp is TrafficPolicy.LOCAL
    given_health = ctx.port(raw, "healthCheckNodePort", path)
    health = given_health or (given.free_port(32000 + i) if needs_hc else None)
    if given_health is not None:
        given.claims.node_port(ctx, (*path, "healthCheckNodePort"), given_health, key)
    external_ips = [
        ip for j, ip in enumerate(ctx.strings(raw, "externalIPs", path)) if ctx.ip(ip, (*path, "externalIPs", j))
    ]
    validate.service_spec(ctx, raw, type_.spelling, base=path)
    endpoints: list[Endpoint] = []
    for j, e in enumerate(ctx.list_of(raw, "endpoints", path)):
        p: Path = (*path, "endpoints", j)
        if type(e) is not dict:
            ctx.error(p, invalid(e, "must be a mapping"))
            continue
        _known(ctx, e, p, _ENDPOINT)
        ip = ctx.string(e, "ip", p, required=True)
        if ip is not None:
            ctx.ip(ip, (*p, "ip"))
        node = ctx.string(e, "node", p)
        if node is not None and node not in nodes:
            ctx.error((*p, "node"), f'Not found: "{node}" (nodes: {", ".join(sorted(nodes)) or "none"})')
        pod = ctx.string(e, "pod", p)
        ready, serving, terminating = (ctx.boolean(e, k, p) for k in ("ready", "serving", "terminating"))
        if len(ctx.problems) == before and ip is not None:
            endpoints.append(
                Endpoint(
                    ip=ip,
                    node_name=node,
                    pod=f"{namespace}/{pod}" if pod else None,
                    # a terminating endpoint is not Ready unless the spec says so (as EndpointSlices report it)
                    ready=ready if ready is not None else terminating is not True,
                    serving=serving is not False,
                    terminating=terminating is True,
                )
            )
    if len(ctx.problems) != before:
        return None
    return Service(
        namespace=namespace or "default",
        name=name,
        type=type_,
        cluster_ips=(cluster_ip,),
        ports=(ServicePort(name="http", port=port, node_port=node_port, target_port=target),),
        external_traffic_policy=etp,
        internal_traffic_policy=itp,
        external_ips=external_ips,
        load_balancer_ingress=(LoadBalancerIngress(ip=lb_ip),) if lb_ip else (),
        health_check_node_port=health,
        endpoints=endpoints,
    )
