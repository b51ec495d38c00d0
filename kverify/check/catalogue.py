"""The built-in checks: beliefs that follow from a Service's own configuration and the environment.

Each check looks at one Service's spec and endpoints (O(endpoints), never O(nodes x services)) to
find the few flows that could break its claim, then lets the executable model decide them: a
finding is always an outcome ``route()`` returned for a flow on the user's own manifests.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping

import attrs

from kverify.check.client_nodes import ClientNodes
from kverify.check.endpoint_reads import any_usable, first_usable_node_in, ready_nodes, usable_nodes
from kverify.check.exhaustive import PROPERTIES, Property
from kverify.concrete.index import index_of
from kverify.concrete.lb_exclusion import excluded_nodes
from kverify.concrete.route import load_balancer_may_pick
from kverify.concrete.unknown_lb import hostname_only
from kverify.model import ClientKind, Cluster, Destination, Flow, LoadBalancerProfile, Service, ServiceType
from kverify.model.enums import (
    CLIENT_EXTERNAL,
    CLIENT_POD,
    LB_NO_HEALTH_CHECK,
    POD_TARGET_PROFILES,
    POLICY_CLUSTER,
    TCP,
    TO_CLUSTER_IP,
    TO_LOAD_BALANCER,
    TO_NODE_PORT,
    TYPE_CLUSTER_IP,
    TYPE_LOAD_BALANCER,
    TYPE_NODE_PORT,
)
from kverify.model.metallb import spell_metallb
from kverify.model.node_meta import EXCLUDE_FROM_LB_LABEL
from kverify.model.policy import IPBlockRule
from kverify.results import Outcome


@attrs.frozen(kw_only=True)
class Candidate:
    """A flow that may break the check's claim, and why it is asked."""

    flow: Flow
    context: str = ""
    #: Only outcomes at nodes the load balancer may pick count (the flow names its arrival node).
    lb_picks_only: bool = False
    #: Extra test on an outcome the property allows (e.g. the address the pod sees is outside a policy).
    also: Callable[[Outcome], str | None] | None = None


@attrs.frozen(kw_only=True)
class Facts:
    """What the checks share about the cluster, computed once per run."""

    cluster: Cluster
    #: Nodes that run pods (they host an endpoint of some Service): where in-cluster clients live.
    client_nodes: ClientNodes
    ip_blocks: dict[str, list[IPBlockRule]]  # by namespace
    selectors: dict[str, tuple[tuple[str, str], ...]]  # Service key -> spec.selector
    needs_client_ip: dict[str, str]  # Service key -> why


@attrs.frozen(kw_only=True)
class BuiltinCheck:
    id: str
    statement: str
    why: str
    prop: Property
    candidates: Callable[[Facts, Service], list[Candidate] | None]  # None: does not apply
    #: The Service types the check may apply to (its ``candidates`` answers None for the others), so that
    #: the thousands of ClusterIP Services of a snapshot are not asked by checks about load balancers.
    service_types: frozenset[ServiceType] = frozenset(ServiceType)


def _may_arrive(cluster: Cluster, node: str) -> bool:
    """Whether a flow may name ``node`` as its arrival node: a Node of the manifests (a load balancer sends
    to the cluster's nodes). Without any Node object every name may: the flow is then Unknown, for that
    reason (:func:`~kverify.check.exhaustive.unsupported`)."""
    return not cluster.nodes or node in index_of(cluster).nodes_by_name


def _first_node_without(cluster: Cluster, names: set[str]) -> str | None:
    return next((n.name for n in cluster.nodes if n.name not in names), None)


def _ready_nodes(service: Service) -> set[str]:
    return ready_nodes(service.endpoints)


def _lb_ip(service: Service) -> bool:
    """The Service has a load balancer whose flows can be decided: an ingress IP, or only a hostname
    (external clients then arrive at node ports: :mod:`kverify.concrete.unknown_lb`)."""
    return any(i.ip for i in service.load_balancer_ingress) or hostname_only(service)


def _etp_local_lb_without_health_checks(facts: Facts, service: Service) -> list[Candidate] | None:
    cluster = facts.cluster
    if not (
        service.type is TYPE_LOAD_BALANCER
        and service.external_traffic_policy.spelling == "Local"
        and cluster.load_balancer_for(service) is LB_NO_HEALTH_CHECK
        and _lb_ip(service)
    ):
        return None
    # A node the load balancer leaves out (rule lb-exclude-label) receives nothing, endpoints or not.
    left_out = set(excluded_nodes(cluster, LoadBalancerProfile.NO_HEALTH_CHECK))
    node = _first_node_without(cluster, _ready_nodes(service) | left_out)
    flows = (
        []
        if node is None
        else [Flow(service=service.key, client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER, node=node)]
    )
    return [
        Candidate(
            flow=f,
            context=f"{node} has no Ready endpoint, and the load balancer sends to it anyway",
            lb_picks_only=True,
        )
        for f in flows
    ]


def _etp_local_node_port(facts: Facts, service: Service) -> list[Candidate] | None:
    if service.type is not TYPE_NODE_PORT or service.external_traffic_policy.spelling != "Local":
        return None
    node = _first_node_without(facts.cluster, _ready_nodes(service))
    if node is None:
        return []
    flow = Flow(service=service.key, client=CLIENT_EXTERNAL, destination=TO_NODE_PORT, node=node)
    context = (
        "a NodePort Service has no healthCheckNodePort: clients (or an LB in front) must pick nodes with endpoints"
    )
    return [Candidate(flow=flow, context=f"{context}; {node} has none")]


def _external_client_ip(cidr: str, excepts: tuple[str, ...], cluster_cidrs: tuple[str, ...]) -> str | None:
    """An address the ipBlock admits that kube-proxy sees as external (outside the cluster CIDR)."""
    network = ipaddress.ip_network(cidr, strict=False)
    blocked = [ipaddress.ip_network(c, strict=False) for c in (*excepts, *cluster_cidrs)]
    for offset in (1, 0, 10, 100):
        if offset >= network.num_addresses:
            continue
        address = network.network_address + offset
        if not any(address in b for b in blocked if b.version == address.version):
            return str(address)
    return None


def _admits(rule: IPBlockRule, ip: str | None) -> bool:
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    inside = lambda c: address in ipaddress.ip_network(c, strict=False)  # noqa: E731 - local shorthand
    return inside(rule.cidr) and not any(inside(c) for c in rule.excepts)


def _etp_cluster_hides_client_ip(facts: Facts, service: Service) -> list[Candidate] | None:
    if service.external_traffic_policy.spelling != "Cluster":
        return None
    rules = facts.ip_blocks.get(service.namespace, ())
    if not rules and (not facts.needs_client_ip or service.key not in facts.needs_client_ip):
        return None  # nothing asks for the client IP: the usual case, decided before reading any endpoint
    if _lb_ip(service):
        destination = Destination.LOAD_BALANCER
    elif any(p.node_port for p in service.ports):
        destination = Destination.NODE_PORT
    elif service.external_ips:
        destination = Destination.EXTERNAL_IP
    else:
        return None
    cluster = facts.cluster
    # Cilium keeps the client IP when the backend is local: arrive where no endpoint runs, if anywhere.
    node = _first_node_without(cluster, _ready_nodes(service)) or (cluster.nodes[0].name if cluster.nodes else None)
    out: list[Candidate] = []
    if service.key in facts.needs_client_ip:
        flow = Flow(service=service.key, client=ClientKind.EXTERNAL, destination=destination, node=node)
        out.append(Candidate(flow=flow, context=facts.needs_client_ip[service.key]))
    selector = facts.selectors.get(service.key)
    for rule in rules:
        if not selector or not rule.selects(service.namespace, selector):
            continue
        client = _external_client_ip(rule.cidr, rule.excepts, cluster.proxy.cluster_cidrs)
        if client is None:
            continue  # the block names in-cluster sources only: not about external clients
        flow = Flow(
            service=service.key, client=ClientKind.EXTERNAL, destination=destination, node=node, client_ip=client
        )
        context = f"NetworkPolicy {rule.policy} admits external clients by address (ipBlock {rule.cidr})"

        def outside(o: Outcome, rule: IPBlockRule = rule) -> str | None:
            return None if _admits(rule, o.source_ip_seen) else f"{o.source_ip_seen} is outside ipBlock {rule.cidr}"

        out.append(Candidate(flow=flow, context=context, also=outside))
    return out or None


def _itp_local_clients_without_endpoint(facts: Facts, service: Service) -> list[Candidate] | None:
    if service.internal_traffic_policy.spelling != "Local" or service.headless:
        return None
    node = facts.client_nodes.first_not_in(usable_nodes(service.endpoints))
    if node is None:
        return []
    flow = Flow(service=service.key, client=CLIENT_POD, destination=TO_CLUSTER_IP, node=node)
    return [
        Candidate(
            flow=flow, context=f"pods run on {node} (they back other Services) but it has no endpoint of this one"
        )
    ]


#: Load balancers that probe the healthCheckNodePort under eTP Local and, when no target passes, fail open
#: onto every target (rule lb-fail-open): the cloud's health-checked profile and an NLB with instance targets
#: (rule lb-aws-nlb-instance-probe). A Classic ELB probes too but sends nowhere then.
PROBING_FAILING_OPEN = (LoadBalancerProfile.HEALTH_CHECKED, LoadBalancerProfile.AWS_NLB_INSTANCE)


def _terminating_behind_health_checked_lb(facts: Facts, service: Service) -> list[Candidate] | None:
    cluster = facts.cluster
    profile = cluster.load_balancer_for(service)
    if not (
        service.type is TYPE_LOAD_BALANCER
        and service.external_traffic_policy.spelling == "Local"
        and profile in PROBING_FAILING_OPEN
        and _lb_ip(service)
    ):
        return None
    ready = _ready_nodes(service)
    terminating = _terminating_nodes(service)
    if not terminating:
        return None
    # A node the load balancer leaves out (rule lb-exclude-label), or one the manifests do not hold, is never
    # picked: ask one it may pick. One of each kind: the LB rule costs O(nodes).
    left_out = set(excluded_nodes(cluster, profile))
    nodes = [n for n in terminating if n not in left_out and _may_arrive(cluster, n)][:1]
    if (empty := _first_node_without(cluster, ready | set(terminating) | left_out)) is not None:
        nodes.append(empty)
    no_ready_target = not (ready - left_out)
    return [
        Candidate(
            flow=Flow(service=service.key, client=CLIENT_EXTERNAL, destination=TO_LOAD_BALANCER, node=n),
            context=f"only terminating endpoints are left on {', '.join(terminating)}"
            + ("; no node it targets has a Ready one, so the load balancer fails open" if no_ready_target else ""),
            lb_picks_only=True,
        )
        for n in nodes
    ]


def _terminating_nodes(service: Service) -> list[str]:
    """Nodes with a serving-terminating endpoint and no Ready one (where kube-proxy falls back to them)."""
    return sorted(usable_nodes(service.endpoints) - _ready_nodes(service))


#: Load balancers that probe the healthCheckNodePort under eTP Local (rules lb-health-checked,
#: lb-aws-nlb-instance-probe, lb-aws-classic-elb-probe).
PROBING = (
    LoadBalancerProfile.HEALTH_CHECKED,
    LoadBalancerProfile.AWS_NLB_INSTANCE,
    LoadBalancerProfile.AWS_CLASSIC_ELB,
)


def _probed_targets(cluster: Cluster, service: Service) -> tuple[set[str], set[str]] | None:
    """The load balancer's targets that pass its probe of the healthCheckNodePort (a node the LB sends to,
    with a local Ready endpoint: rules health-check-status, lb-exclude-label) and the nodes it leaves out;
    None when the Service is not eTP Local behind a probing load balancer with an address."""
    profile = cluster.load_balancer_for(service)
    if not (
        service.type is TYPE_LOAD_BALANCER
        and service.external_traffic_policy.spelling == "Local"
        and profile in PROBING
        and _lb_ip(service)
    ):
        return None
    left_out = set(excluded_nodes(cluster, profile))
    known = index_of(cluster).nodes_by_name
    return {n for n in _ready_nodes(service) if n in known and n not in left_out}, left_out


def _why_no_target_passes(service: Service, known: Mapping[str, object], left_out: set[str]) -> str:
    """Why no node the load balancer targets has a Ready endpoint, in the user's words."""
    ready = [e for e in service.endpoints if e.ready]
    if not ready:
        return "no endpoint is Ready (the health check does not count serving-terminating ones)"
    excluded = sorted({e.node_name for e in ready if e.node_name in left_out})
    unknown = sorted({e.node_name for e in ready if e.node_name and e.node_name not in known})
    parts = []
    if excluded:
        parts.append(f"on {', '.join(excluded[:3])}, which the load balancer leaves out ({EXCLUDE_FROM_LB_LABEL})")
    if unknown:
        parts.append(f"on {', '.join(unknown[:3])}, which the manifests do not hold")
    if any(not e.node_name for e in ready):
        parts.append("with no nodeName, so no node's health check counts them")
    return "every Ready endpoint is " + "; or ".join(parts)


def _no_healthy_lb_target(facts: Facts, service: Service) -> list[Candidate] | None:
    """eTP Local behind a load balancer that probes the healthCheckNodePort, where no target passes: the
    ready endpoints are all on nodes it leaves out, name no node, or there are none. An LB that fails open
    (rule lb-fail-open: the health-checked cloud profile, the NLB) then sends to every target, which DROPs
    (rule drop-no-local-endpoints); a Classic ELB sends nowhere. Linear: one pass over the endpoints."""
    cluster = facts.cluster
    found = _probed_targets(cluster, service)
    if found is None or not any_usable(service.endpoints):
        return None  # not probed, or no endpoint at all: no-usable-endpoints speaks for it
    healthy, left_out = found
    profile = cluster.load_balancer_for(service)
    if profile in PROBING_FAILING_OPEN and _terminating_nodes(service):
        return None  # terminating-endpoints-behind-health-checked-lb asks the same flows, and the Ready pods
    if healthy:
        return []  # the LB sends only to targets passing the probe, which have a Ready endpoint to deliver to
    known = index_of(cluster).nodes_by_name
    why = _why_no_target_passes(service, known, left_out)
    if profile is LoadBalancerProfile.AWS_CLASSIC_ELB:  # no fail-open: the route answers that no node receives
        flow = Flow(service=service.key, client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER)
        return [Candidate(flow=flow, context=f"{why}: no instance passes the health check")]
    node = _first_node_without(cluster, usable_nodes(service.endpoints) | left_out)
    if node is None:
        return []  # every target has a serving-terminating endpoint: delivered there
    flow = Flow(service=service.key, client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER, node=node)
    context = f"{why}: the health check fails on every target, and the load balancer fails open onto {node}"
    return [Candidate(flow=flow, context=context, lb_picks_only=True)]


def lb_hides_client_ip(cluster: Cluster, service: Service) -> bool:
    """eTP Local on a LoadBalancer Service whose load balancer sends to nodes but rewrites the source of TCP
    connections (a Classic ELB; an NLB with ``preserve_client_ip.enabled=false``) and sends no PROXY header:
    the policy meant to keep the client IP keeps the load balancer's."""
    return (
        service.type is TYPE_LOAD_BALANCER
        and service.external_traffic_policy.spelling == "Local"
        and cluster.load_balancer_for(service) not in POD_TARGET_PROFILES
        and any(p.protocol is TCP for p in service.ports)
        and not cluster.preserves_client_ip(service, TCP)
        and not cluster.proxy_protocol_for(service)
    )


def _etp_local_behind_rewriting_lb(facts: Facts, service: Service) -> list[Candidate] | None:
    if not (lb_hides_client_ip(facts.cluster, service) and _lb_ip(service)):
        return None
    # A node the load balancer sends to: a Ready endpoint on a node it leaves out, or on one the manifests
    # do not hold (the LB targets the cluster's nodes), receives nothing.
    left_out = set(excluded_nodes(facts.cluster, facts.cluster.load_balancer_for(service)))
    ready = sorted(n for n in _ready_nodes(service) - left_out if _may_arrive(facts.cluster, n))
    if not ready:
        return None  # nothing is delivered to a pod: no-healthy-lb-target or no-usable-endpoints speaks for it
    flow = Flow(service=service.key, client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER, node=ready[0])
    lb = facts.cluster.load_balancer_for(service).spelling
    return [
        Candidate(flow=flow, context=f"{ready[0]} has a Ready endpoint; the {lb} load balancer rewrites the source")
    ]


_METALLB = (LoadBalancerProfile.METALLB_L2, LoadBalancerProfile.METALLB_BGP)


def _metallb_not_announced(facts: Facts, service: Service) -> list[Candidate] | None:
    """MetalLB announces only while it counts an endpoint, and which ones it counts depends on its release
    (rule lb-metallb-announce): ask the rule at the node of an endpoint the proxy uses, where an announcement
    would come from under either policy (one node: linear). Only when it does not announce from there is the
    load balancer's own pick routed (``node`` unset), which the executable model answers as nobody announcing."""
    cluster = facts.cluster
    if not (
        service.type is TYPE_LOAD_BALANCER
        and cluster.load_balancer_for(service) in _METALLB
        and any(i.ip for i in service.load_balancer_ingress)
    ):
        return None
    known = index_of(cluster).nodes_by_name
    node = first_usable_node_in(service.endpoints, known)
    if node is None:
        return None  # no endpoint the proxy uses on a known node: no-usable-endpoints speaks for it
    at_node = Flow(service=service.key, client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER, node=node)
    if load_balancer_may_pick(cluster, at_node):
        return []
    if any(key == EXCLUDE_FROM_LB_LABEL for key, _ in known[node].labels):  # rule lb-exclude-label
        why = f"it carries the label {EXCLUDE_FROM_LB_LABEL}, so MetalLB's speakers do not announce from it"
    else:
        why = f"{spell_metallb(cluster.metallb_version)} does not count it"
    return [
        Candidate(flow=attrs.evolve(at_node, node=None), context=f"{node} has an endpoint the proxy uses, but {why}")
    ]


def _no_usable_endpoints(facts: Facts, service: Service) -> list[Candidate] | None:
    if service.headless or any_usable(service.endpoints) or not facts.cluster.nodes:
        return None
    node = facts.client_nodes.first() or facts.cluster.nodes[0].name
    flow = Flow(service=service.key, client=CLIENT_POD, destination=TO_CLUSTER_IP, node=node)
    return [Candidate(flow=flow, context="no endpoint is Ready or serving-terminating")]


_READY_AND_DELIVERED = Property(
    id="delivered-to-ready-pod",
    phrase="every connection is delivered to a Ready (not terminating) pod",
    violation=lambda o, names: (
        PROPERTIES["delivered"].violation(o, names) or PROPERTIES["reaches-ready-pod"].violation(o, names)
    ),
)

CHECKS: tuple[BuiltinCheck, ...] = (
    BuiltinCheck(
        id="etp-local-lb-without-health-checks",
        statement="External traffic to the load balancer IP is delivered "
        "(eTP Local, load balancer without health checks).",
        why="eTP Local delivers only to endpoints on the arrival node; an LB that does not probe healthCheckNodePort "
        "still sends to nodes without one, which DROP (rule drop-no-local-endpoints).",
        prop=PROPERTIES["delivered"],
        candidates=_etp_local_lb_without_health_checks,
        service_types=frozenset({ServiceType.LOAD_BALANCER}),
    ),
    BuiltinCheck(
        id="etp-local-lb-without-healthy-target",
        statement="External traffic to the load balancer IP is delivered "
        "(eTP Local, load balancer that probes the healthCheckNodePort).",
        why="the healthCheckNodePort answers 200 only on a node with a local Ready endpoint (rule "
        "health-check-status), and the load balancer counts only the nodes it targets (rule lb-exclude-label). "
        "When no target passes, a cloud LB or an NLB fails open and sends to every target, which DROPs "
        "(rules lb-fail-open, drop-no-local-endpoints); a Classic ELB sends to none.",
        prop=PROPERTIES["delivered"],
        candidates=_no_healthy_lb_target,
        service_types=frozenset({ServiceType.LOAD_BALANCER}),
    ),
    BuiltinCheck(
        id="etp-local-node-port",
        statement="External traffic to the NodePort is delivered on every node (eTP Local, type NodePort).",
        why="only LoadBalancer Services get a healthCheckNodePort; a NodePort Service with eTP Local DROPs on nodes "
        "without a local endpoint, and nothing tells clients which nodes those are.",
        prop=PROPERTIES["delivered"],
        candidates=_etp_local_node_port,
        service_types=frozenset({ServiceType.NODE_PORT}),
    ),
    BuiltinCheck(
        id="etp-cluster-hides-client-ip",
        statement="External clients' IPs reach the pods (the Service needs them), under eTP Cluster.",
        why="eTP Cluster SNATs external traffic to the node's address (rule masquerade-etp-cluster), so pods, "
        "NetworkPolicy ipBlocks and logs see the node, not the client.",
        prop=PROPERTIES["client-ip-preserved"],
        candidates=_etp_cluster_hides_client_ip,
    ),
    BuiltinCheck(
        id="etp-local-behind-rewriting-lb",
        statement="External clients' IPs reach the pods through the load balancer (eTP Local, which keeps them).",
        why="the load balancer in front rewrites the source before kube-proxy sees the packet (a Classic ELB proxies "
        "TCP; an NLB with preserve_client_ip.enabled=false), so eTP Local keeps the load balancer's address, not "
        "the client's, and still drops at nodes without an endpoint (rule lb-preserve-client-ip). PROXY protocol "
        "(aws-load-balancer-proxy-protocol: '*', and a server that expects it) carries the client IP instead.",
        prop=PROPERTIES["client-ip-preserved"],
        candidates=_etp_local_behind_rewriting_lb,
        service_types=frozenset({ServiceType.LOAD_BALANCER}),
    ),
    BuiltinCheck(
        id="itp-local-clients-without-endpoint",
        statement="Pods on every node that runs pods reach the Service's ClusterIP (iTP Local).",
        why="iTP Local sends a pod's traffic only to endpoints on its own node and DROPs it where there are none "
        "(rule drop-no-local-endpoints).",
        prop=PROPERTIES["delivered"],
        candidates=_itp_local_clients_without_endpoint,
    ),
    BuiltinCheck(
        id="terminating-endpoints-behind-health-checked-lb",
        statement="New connections the health-checked load balancer sends reach Ready pods "
        "(eTP Local, during a rollout).",
        why="the health check counts Ready endpoints only (rule health-check-status); when none is left the LB fails "
        "open (rule lb-fail-open): nodes without endpoints DROP, the others fall back to terminating pods.",
        prop=_READY_AND_DELIVERED,
        candidates=_terminating_behind_health_checked_lb,
        service_types=frozenset({ServiceType.LOAD_BALANCER}),
    ),
    BuiltinCheck(
        id="metallb-announces-usable-endpoints",
        statement="MetalLB announces the load balancer IP while the Service has an endpoint the proxy uses.",
        why="MetalLB's speakers announce only while they count an endpoint, and the release decides which: Ready "
        "only before v0.14 (a Service whose pods are all terminating but still serving goes dark), the serving "
        "condition first in v0.14.0-v0.14.4 (a publishNotReadyAddresses Service whose pods are not ready goes "
        "dark), Ready or serving from v0.14.5 (rule lb-metallb-announce; give the release with --metallb-version).",
        prop=PROPERTIES["delivered"],
        candidates=_metallb_not_announced,
        service_types=frozenset({ServiceType.LOAD_BALANCER}),
    ),
    BuiltinCheck(
        id="no-usable-endpoints",
        statement="The Service has an endpoint to deliver to.",
        why="with no Ready or serving-terminating endpoint, every dataplane REJECTs (rule reject-no-endpoints).",
        prop=PROPERTIES["delivered"],
        candidates=_no_usable_endpoints,
    ),
)


def check(check_id: str) -> BuiltinCheck:
    for c in CHECKS:
        if c.id == check_id:
            return c
    raise KeyError(check_id)


#: The checks that may apply to each Service type, in :data:`CHECKS` order.
CHECKS_FOR_TYPE: dict[ServiceType, tuple[BuiltinCheck, ...]] = {
    kind: tuple(c for c in CHECKS if kind in c.service_types) for kind in ServiceType
}


# Asked of every Service by plainly_cluster_ip_only: module globals, read without going through the enum
# classes' attribute lookup (a hooked __getattr__ in Python 3.11, ~700 instructions a read).


def plainly_cluster_ip_only(facts: Facts, service: Service) -> bool:
    """Whether no built-in check applies to ``service``, decided by its shape alone: a ClusterIP Service
    (not headless) without externalIPs, under iTP Cluster, whose client IP nothing asks for and that has
    an endpoint the proxy uses. Its idle reason is then :data:`~kverify.check.idle.CLUSTER_IP_ONLY`.

    Most Services of a snapshot (14,000 of issue 11's 16,000) are like this. :func:`candidate_flows` would
    ask the three checks a ClusterIP Service may meet, each answering None: etp-cluster-hides-client-ip
    (no ipBlock rule in the namespace, client IP not needed), itp-local-clients-without-endpoint (iTP
    Cluster) and no-usable-endpoints (a usable endpoint). False means "ask the checks", never "one applies";
    ``tests/test_check_idle_shape.py`` holds the two to the same answers."""
    return (
        service.type is TYPE_CLUSTER_IP
        and not service.external_ips
        and service.internal_traffic_policy is POLICY_CLUSTER
        and len(service.cluster_ips) > 0
        and not facts.ip_blocks.get(service.namespace)
        # The key spelled as Service.key spells it, without the property's call (asked of every Service).
        and (not facts.needs_client_ip or f"{service.namespace}/{service.name}" not in facts.needs_client_ip)
        and any_usable(service.endpoints)
    )


def candidate_flows(facts: Facts, service: Service) -> list[tuple[BuiltinCheck, list[Candidate]]]:
    """Each check that applies to ``service`` with the flows that may break it (a list, not a generator:
    asked of every Service of a snapshot, and for most of them no check applies)."""
    applying = []
    for c in CHECKS_FOR_TYPE[service.type]:
        found = c.candidates(facts, service)
        if found is not None:
            applying.append((c, found))
    return applying
