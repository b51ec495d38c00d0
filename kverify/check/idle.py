"""Why no built-in check applied to a Service, in the words the summaries print.

A run in which nothing was checked must not read like a pass: the summary counts the Services each
check looked at and, for the others, says why there was nothing to check ("ClusterIP only", "no
endpoints and no workload"). The reasons are a small fixed vocabulary so that counts add up and JSON
consumers can key on them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from kverify.model import LoadBalancerProfile, Service, ServiceType
from kverify.model.enums import TYPE_CLUSTER_IP, TYPE_LOAD_BALANCER

HEADLESS = "headless"
NO_ENDPOINTS_NO_WORKLOAD = "no endpoints and no workload"
CLUSTER_IP_ONLY = "ClusterIP only"
NO_LOAD_BALANCER_IP = "no load balancer IP"
CLIENT_IP_NOT_NEEDED = "eTP Cluster and the client IP not needed"
HEALTH_CHECKED_NO_ROLLOUT = "eTP Local behind a health-checked load balancer and no terminating endpoint"
NO_CHECK_APPLIES = "no built-in check applies"

#: Every reason, in the order the summaries list them.
REASONS = (
    CLUSTER_IP_ONLY,
    NO_ENDPOINTS_NO_WORKLOAD,
    HEADLESS,
    NO_LOAD_BALANCER_IP,
    CLIENT_IP_NOT_NEEDED,
    HEALTH_CHECKED_NO_ROLLOUT,
    NO_CHECK_APPLIES,
)


def why_nothing_to_check(
    service: Service,
    *,
    load_balancer: LoadBalancerProfile,
    needs_client_ip: Mapping[str, str],
    has_workload: bool = False,
) -> str:
    """The reason no built-in check applied to ``service`` (asked only once none did)."""
    if service.headless:
        return HEADLESS
    if not service.endpoints and not has_workload:
        return NO_ENDPOINTS_NO_WORKLOAD
    local_internal = service.internal_traffic_policy.spelling == "Local"
    if service.type is TYPE_CLUSTER_IP and not service.external_ips and not local_internal:
        return CLUSTER_IP_ONLY
    lb_ip = any(i.ip for i in service.load_balancer_ingress)
    if service.type is TYPE_LOAD_BALANCER and not lb_ip and not any(p.node_port for p in service.ports):
        return NO_LOAD_BALANCER_IP
    if service.external_traffic_policy.spelling == "Cluster" and service.key not in needs_client_ip:
        return CLIENT_IP_NOT_NEEDED
    if (
        service.type is ServiceType.LOAD_BALANCER
        and service.external_traffic_policy.spelling == "Local"
        and load_balancer is LoadBalancerProfile.HEALTH_CHECKED
    ):
        return HEALTH_CHECKED_NO_ROLLOUT
    return NO_CHECK_APPLIES


def tally(reasons: Iterable[str]) -> tuple[tuple[str, int], ...]:
    """``(reason, count)`` pairs in :data:`REASONS` order (unknown reasons last), zero counts left out."""
    counts = Counter(reasons)
    order = {r: i for i, r in enumerate(REASONS)}
    return tuple(sorted(counts.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))
