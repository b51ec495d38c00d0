"""How a load balancer's traffic spreads over pods: per-pod shares, concretely.

The load balancer spreads connections evenly over the nodes it may pick (ECMP, round robin); each
node's proxy picks uniformly among its chosen endpoints (iptables ``statistic --probability``,
nftables ``numgen random``, ipvs round robin). A pod's share is the sum over picked nodes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from fractions import Fraction

import attrs

from kverify.concrete import OutcomeGroup, iter_handling_groups
from kverify.model import Cluster, Flow


def pod_shares(cluster: Cluster, flow: Flow) -> dict[str, Fraction]:
    """Endpoint IP -> fraction of the flow's connections it receives (dropped traffic counts for none),
    arriving at every node the flow may arrive at."""
    return shares_of(cluster, attrs.evolve(flow, node=None))


def shares_of(cluster: Cluster, flow: Flow) -> dict[str, Fraction]:
    """:func:`pod_shares` for ``flow`` as given (a named client or arrival node kept), the endpoints
    in the order :func:`~kverify.concrete.route` reaches them first. Read from the outcome groups of
    each handling: no outcome is built per endpoint (a snapshot's Service of thousands of endpoints
    on thousands of nodes, as ``kverify diff`` compares them)."""
    return shares_from_groups(iter_handling_groups(cluster, flow))


def shares_from_groups(handlings: Iterable[tuple[OutcomeGroup, ...]]) -> dict[str, Fraction]:
    """:func:`shares_of` from the flow's :func:`~kverify.concrete.iter_handling_groups` (a caller that
    reads them for something else too routes the flow once)."""
    by_node: dict[str | None, list[str]] = {}
    for handled in handlings:
        reached = by_node.setdefault(handled[0].outcome.node, [])
        if handled[0].members is None:  # one outcome, not one per endpoint
            outcome = handled[0].outcome
            if outcome.delivered and outcome.endpoint_ip:
                reached.append(outcome.endpoint_ip)
            continue
        delivered = [group for group in handled if group.outcome.delivered]
        if len(delivered) == 1:  # one class reached: its endpoints are in order already
            reached.extend(delivered[0].pick(delivered[0].members.ips))  # type: ignore[union-attr]
        elif delivered:  # in endpoint order, as route() lists them
            at = sorted(
                (i, ip)
                for group in delivered
                for i, ip in zip(group.positions, group.pick(group.members.ips), strict=True)  # type: ignore[union-attr]
            )
            reached.extend(ip for _, ip in at)
    if not by_node:
        return {}
    # Nodes that reach the same endpoints (every node, under eTP Cluster) give each the same share: added
    # once per distinct list, times its nodes, not once per node and endpoint. In order of first sight, so
    # each endpoint keeps the place it first has in route order.
    per_node = Fraction(1, len(by_node))
    shares: dict[str, Fraction] = defaultdict(Fraction)
    for endpoints, nodes in Counter(map(tuple, by_node.values())).items():
        if endpoints:
            share = per_node * nodes / len(endpoints)
            for ip in endpoints:
                shares[ip] += share
    return dict(shares)
