"""An in-cluster client of its own Service's AWS NLB (instance targets), reached by the NLB's hostname.

kube-proxy writes no rule for a hostname-only ingress (``unknown_lb``), so a pod or a host-network
process that dials the NLB's name leaves the node for the NLB, which picks a target node. With client
IP preservation on (the default for instance targets), AWS documents that NAT loopback (hairpinning)
is not supported: when the NLB sends the connection back to the node it came from, source and
destination are the same instance and the connection times out, for EKS pods on that node too,
whatever their addresses. That part is decided here; a connection through another node (the client's
address seen there, and the reply's way back through the NLB) is not modelled, and says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from kverify.concrete import classify
from kverify.model import Cluster, DropKind, Flow, LoadBalancerProfile, Service
from kverify.results import Hop, Outcome
from kverify.semantics.registry import declare, mark

AWS_DOCS = "docs.aws.amazon.com/elasticloadbalancing/latest/network"

HAIRPIN = declare(
    "lb-aws-nlb-hairpin",
    title="AWS NLB with instance targets and client IP preservation on: an in-cluster client (a pod or the node "
    "itself) that connects through the NLB to a Service the NLB sends back to the client's own node times out "
    "(NAT loopback / hairpinning is not supported: source and destination are the same instance, also for pods "
    "with different addresses on that node). With preservation off the NLB connects from its own address.",
    source=f"{AWS_DOCS}/load-balancer-troubleshooting.html#loopback-timeout ('Connections time out for requests "
    "from a target to its load balancer': 'the connection succeeds only if the request is routed to a different "
    "instance'; 'this applies to Amazon EKS pods running in the same EC2 worker node instance'); "
    "repost.aws/knowledge-center/target-connection-fails-load-balancer; "
    f"{AWS_DOCS}/edit-target-group-attributes.html (client IP preservation on by default for instance targets)",
    since="AWS NLB (client IP preservation for instance targets)",
)

#: The words kverify has always used for in-cluster clients of a hostname-only load balancer it cannot follow.
LEAVES = (
    "the load balancer is known only by a hostname: in-cluster clients leave the cluster to reach it, "
    "which is not modelled (external clients are)"
)


def client_nodes(cluster: Cluster, flow: Flow) -> list[str]:
    """The nodes an in-cluster client may run on: the one given, else every node."""
    return [flow.node] if flow.node is not None else [n.name for n in cluster.nodes]


def unknown_reason(cluster: Cluster, flow: Flow, service: Service, picks: Sequence[str]) -> str | None:
    """Why an in-cluster client's connection through the hostname-only load balancer is not decided (``None``:
    it is, by rule ``lb-aws-nlb-hairpin``). ``picks`` are the nodes the load balancer may send to."""
    if cluster.load_balancer_for(service) is not LoadBalancerProfile.AWS_NLB_INSTANCE:
        return LEAVES
    if not cluster.preserves_client_ip(service, flow.protocol):
        return (
            "the AWS NLB (instance targets) has client IP preservation off: it connects to the node from its own "
            "address, and the in-cluster client's path through it is not modelled"
        )
    for node in client_nodes(cluster, flow):
        if list(picks) != [node]:
            others = ", ".join(p for p in picks if p != node) or "none"
            if node in picks:
                return (
                    f"an in-cluster client on {node} through the AWS NLB: the NLB may send the connection back to "
                    f"{node}, where it times out (client IP preservation: NAT loopback is not supported, rule "
                    f"lb-aws-nlb-hairpin), or to {others}, a path kverify does not model"
                )
            return (
                f"an in-cluster client on {node} through the AWS NLB reaches another node ({others}), a path kverify "
                "does not model (only the NLB's hairpin back to the client's own node is: rule lb-aws-nlb-hairpin)"
            )
    return None


def outcomes(cluster: Cluster, flow: Flow, service: Service, hostname: str) -> tuple[Outcome, ...]:
    """One timed-out connection per client node (call only when :func:`unknown_reason` is ``None``)."""
    mark(HAIRPIN)
    result = []
    for node in client_nodes(cluster, flow):
        owner = next(n for n in cluster.nodes if n.name == node)
        source = flow.client_ip or classify.default_client_ip(cluster, flow.client, owner, service)
        port = f":{flow.port}" if flow.port else ""
        hops = (
            Hop(at=f"{flow.client.spelling} on {node}", to="load-balancer", src=source, dst=f"{hostname}{port}"),
            Hop(
                at="load-balancer",
                to=node,
                src=source,
                dst=f"{node}'s node port",
                note=f"the NLB keeps the client's address and sends the connection back to {node}, the client's "
                "own instance: NAT loopback is not supported, the connection times out",
            ),
        )
        result.append(Outcome(node=node, delivered=False, drop_kind=DropKind.DROP, rules=(HAIRPIN,), hops=hops))
    return tuple(result)
