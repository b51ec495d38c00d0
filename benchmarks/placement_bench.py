"""Benchmark: claims over any placement of R replicas on N nodes, solver vs enumeration.

    python benchmarks/placement_bench.py [--nodes 10 100 1000] [--replicas 3 30 100] [--budget 60]
                                         [--excluded-nodes K]

For each (N, R) and each claim, prints the wall time of ``decide_over_placements`` (the Z3 encoding
of the scheduler and the rule table, including building the formula and replaying the counterexample
through the executable model), and of brute-force enumeration: every placement of R interchangeable
replicas on N identical nodes (multisets: C(N+R-1, R) of them), each made concrete and routed by the
executable model, stopping at the first violation. Enumeration gets ``--budget`` seconds per cell and
reports how far it got when it runs out.

``--excluded-nodes K`` adds a pool of K nodes labelled node.kubernetes.io/exclude-from-external-load-balancers
(rule lb-exclude-label: the encoding then reads each slot's label and the fail-open over the targets).

Claims (a LoadBalancer Service, a plain Deployment, one node pool):
  never-dropped   eTP Local, LB without health checks (refuted whenever R < N)
  delivered       eTP Local, health-checked LB (proved)
  client-ip       eTP Cluster, LB without health checks, client-ip-preserved (refuted whenever R < N)
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from kverify.check.exhaustive import PROPERTIES
from kverify.concrete import iter_route
from kverify.concrete.index import index_of
from kverify.model import (
    ClientKind,
    Cluster,
    Destination,
    Flow,
    LoadBalancerIngress,
    LoadBalancerProfile,
    Service,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)
from kverify.model.workload import EXCLUDE_FROM_LB_LABEL, ContainerPort, NodePool, Workload, WorkloadKind
from kverify.placement import Design
from kverify.placement.materialise import Placement, materialise
from kverify.placement.solve import decide_over_placements
from kverify.placement.universe import PlacementUniverse

FLOW = Flow(service="default/web", client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER)
CLAIMS = {
    "never-dropped": ("Local", LoadBalancerProfile.NO_HEALTH_CHECK, "never-dropped"),
    "delivered": ("Local", LoadBalancerProfile.HEALTH_CHECKED, "delivered"),
    "client-ip": ("Cluster", LoadBalancerProfile.NO_HEALTH_CHECK, "client-ip-preserved"),
}


def design(nodes: int, replicas: int, etp: str, lb: LoadBalancerProfile, excluded: int = 0) -> Design:
    service = Service(
        namespace="default",
        name="web",
        type=ServiceType.LOAD_BALANCER,
        cluster_ips=("10.96.0.10",),
        ports=(ServicePort(port=80, node_port=30080, target_port=8080),),
        external_traffic_policy=TrafficPolicy.parse(etp),
        load_balancer_ingress=(LoadBalancerIngress(ip="198.51.100.10"),),
        health_check_node_port=32000 if etp == "Local" else None,
        selector=(("app", "web"),),
    )
    web = Workload(
        kind=WorkloadKind.DEPLOYMENT,
        namespace="default",
        name="web",
        replicas=replicas,
        labels=(("app", "web"),),
        ports=(ContainerPort(port=8080),),
    )
    pools = (NodePool(name="workers", min_count=nodes, max_count=nodes),)
    if excluded:
        label = ((EXCLUDE_FROM_LB_LABEL, ""),)
        pools += (NodePool(name="cp", min_count=excluded, max_count=excluded, labels=label),)
    return Design(cluster=Cluster(services=(service,), load_balancer=lb), workloads=(web,), node_pools=pools)


def enumerate_placements(d: Design, prop: str, budget: float) -> tuple[str, float, int, int]:
    """(answer, seconds, placements visited, placements in all)."""
    started = time.perf_counter()
    u = PlacementUniverse(d, d.workloads)
    names = [s.name for s in u.slots]
    replicas = d.workloads[0].replicas or 0
    total = math.comb(len(names) + replicas - 1, replicas)
    check = PROPERTIES[prop]
    service = d.cluster.services[0]
    visited = 0
    for combo in itertools.combinations_with_replacement(range(len(names)), replicas):
        if time.perf_counter() - started > budget:
            return "unfinished", time.perf_counter() - started, visited, total
        visited += 1
        pods = {f"default/web-{i}": names[j] for i, j in enumerate(combo)}
        placement = Placement(nodes=tuple(names), pods=pods, owners=dict.fromkeys(pods, "default/web"))
        cluster = materialise(d, service, placement, u.slots)
        node_names = frozenset(index_of(cluster).node_position)
        if any(check.violation(o, node_names) is not None for o in iter_route(cluster, FLOW)):
            return "refuted", time.perf_counter() - started, visited, total
    return "proved", time.perf_counter() - started, visited, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--replicas", type=int, nargs="+", default=[3, 30, 100])
    parser.add_argument("--budget", type=float, default=60.0, help="seconds of enumeration per cell")
    parser.add_argument("--claims", nargs="+", default=list(CLAIMS), choices=list(CLAIMS))
    parser.add_argument("--excluded-nodes", type=int, default=0, help="a pool of this many LB-excluded nodes")
    args = parser.parse_args()
    print("| N | R | claim | solver verdict | solver s | enumeration | enumeration s | placements visited / all |")
    print("|---:|---:|---|---|---:|---|---:|---|")
    for n in args.nodes:
        for r in args.replicas:
            for name in args.claims:
                etp, lb, prop = CLAIMS[name]
                d = design(n, r, etp, lb, args.excluded_nodes)
                started = time.perf_counter()
                verdict = decide_over_placements(d, FLOW, prop, claim=name).verdict
                solver_s = time.perf_counter() - started
                answer, enum_s, visited, total = enumerate_placements(d, prop, args.budget)
                shown = f"{total:,}" if total < 10**12 else f"{float(total):.2e}"
                print(
                    f"| {n} | {r} | {name} | {verdict.verdict} | {solver_s:.2f} | {answer} | {enum_s:.2f} "
                    f"| {visited:,} / {shown} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
