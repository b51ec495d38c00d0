"""How a load balancer's traffic spreads over pods: per-pod shares, concretely.

The load balancer spreads connections evenly over the nodes it may pick (ECMP, round robin); each
node's proxy picks uniformly among its chosen endpoints (iptables ``statistic --probability``,
nftables ``numgen random``, ipvs round robin). A pod's share is the sum over picked nodes.
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

import attrs

from kverify.concrete import route
from kverify.model import Cluster, Flow


def pod_shares(cluster: Cluster, flow: Flow) -> dict[str, Fraction]:
    """Endpoint IP -> fraction of the flow's connections it receives (dropped traffic counts for none)."""
    outcomes = route(cluster, attrs.evolve(flow, node=None))
    by_node: dict[str | None, list[str]] = defaultdict(list)
    for outcome in outcomes:
        by_node.setdefault(outcome.node, [])
        if outcome.delivered and outcome.endpoint_ip:
            by_node[outcome.node].append(outcome.endpoint_ip)
    shares: dict[str, Fraction] = defaultdict(Fraction)
    if not by_node:
        return {}
    per_node = Fraction(1, len(by_node))
    for endpoints in by_node.values():
        for ip in endpoints:
            shares[ip] += per_node / len(endpoints)
    return dict(shares)
