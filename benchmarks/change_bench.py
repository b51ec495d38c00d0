"""Benchmark: claims over every state of a rollout, a drain or a node failure, on N nodes.

    python benchmarks/change_bench.py [--nodes 100 1000] [--replicas 3]

One node pool of N nodes, a Deployment of R replicas behind an eTP Local LoadBalancer Service, GCP's
health check. For each N, prints the wall time of ``decide_change`` per claim (enumerating the
placements before the change with the solver, every timeline the controllers allow, building every
state and routing the flow in each), the number of placements and timelines, and the worst-case
seconds of undelivered connections it reports.

Claims:
  rollout-never-dropped  maxSurge 25%, maxUnavailable 25%, no PreStop hook   (refuted: the 24 s window)
  rollout-prestop        maxSurge 1, maxUnavailable 0, PreStop sleep 30 s    (proved)
  drain-client-ip        drain of 1 node, client-ip-preserved                (proved)
  drain-share            drain of 1 node, share-within 2, hostname anti-affinity
  failure-client-ip      failure of 1 node (NotReady), client-ip-preserved   (proved)
  failure-never-dropped  failure of 1 node, never-dropped                    (refuted: 25 s, 8 s x 3 + 1 s)
  failure-cluster-drops  failure of 1 node, eTP Cluster, never-dropped       (refuted: 60 s, Ready=Unknown)
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from kverify.change.controllers import Change
from kverify.change.decide import decide_change
from kverify.change.timing import PROFILES
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
from kverify.model.workload import (
    HOSTNAME_LABEL,
    ContainerPort,
    LabelSelector,
    Lifecycle,
    NodePool,
    PodAffinityTerm,
    Scheduling,
    Workload,
    WorkloadKind,
)
from kverify.placement import Design

FLOW = Flow(service="default/web", client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER)


def design(nodes: int, replicas: int, lifecycle: Lifecycle, anti_affinity: bool = False, local: bool = True) -> Design:
    service = Service(
        namespace="default",
        name="web",
        type=ServiceType.LOAD_BALANCER,
        cluster_ips=("10.96.0.10",),
        ports=(ServicePort(port=80, node_port=30080, target_port=8080),),
        external_traffic_policy=TrafficPolicy.LOCAL if local else TrafficPolicy.CLUSTER,
        load_balancer_ingress=(LoadBalancerIngress(ip="192.0.2.10"),),
        health_check_node_port=31000 if local else None,
        selector=(("app", "web"),),
    )
    terms = ()
    if anti_affinity:
        terms = (PodAffinityTerm(selector=LabelSelector.of({"app": "web"}), topology_key=HOSTNAME_LABEL),)
    workload = Workload(
        kind=WorkloadKind.DEPLOYMENT,
        namespace="default",
        name="web",
        replicas=replicas,
        labels=(("app", "web"),),
        ports=(ContainerPort(port=8080),),
        scheduling=Scheduling(anti_affinity=terms),
        lifecycle=lifecycle,
    )
    cluster = Cluster(services=(service,), load_balancer=LoadBalancerProfile.HEALTH_CHECKED)
    return Design(
        cluster=cluster, workloads=(workload,), node_pools=(NodePool(name="w", min_count=nodes, max_count=nodes),)
    )


CLAIMS = {
    "rollout-never-dropped": (Lifecycle(), False, "never-dropped", Change(kind="rollout")),
    "rollout-prestop": (
        Lifecycle(max_surge=1, max_unavailable=0, pre_stop_seconds=30, termination_grace_seconds=45),
        False,
        "never-dropped",
        Change(kind="rollout"),
    ),
    "drain-client-ip": (Lifecycle(), False, "client-ip-preserved", Change(kind="drain", nodes=1)),
    "drain-share": (Lifecycle(), True, "share-within", Change(kind="drain", nodes=1)),
    "failure-client-ip": (Lifecycle(), False, "client-ip-preserved", Change(kind="failure", nodes=1)),
    "failure-never-dropped": (Lifecycle(), False, "never-dropped", Change(kind="failure", nodes=1)),
    "failure-cluster-drops": (Lifecycle(), False, "never-dropped", Change(kind="failure", nodes=1)),
}
#: Claims on an eTP Cluster Service (the others: eTP Local).
CLUSTER_POLICY = ("failure-cluster-drops",)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--replicas", type=int, default=3)
    args = parser.parse_args()
    print(f"{'nodes':>6} {'claim':<22} {'verdict':<8} {'seconds':>8}  worst case")
    for n in args.nodes:
        for name, (lifecycle, anti, prop, change) in CLAIMS.items():
            d = design(n, args.replicas, lifecycle, anti, local=name not in CLUSTER_POLICY)
            started = time.perf_counter()
            verdict = decide_change(
                d,
                FLOW,
                prop,
                change,
                claim=name,
                ratio=2.0 if prop == "share-within" else None,
                health_check=PROFILES["gcp"],
            )
            seconds = time.perf_counter() - started
            facts = getattr(verdict, "assumptions", ()) or ()
            cx = getattr(verdict, "counterexample", None)
            worst = next((f for f in facts if f.startswith(("worst case", "no connection"))), "")
            if cx is not None:
                worst = next((p.strip() for p in cx.detail.split(";") if p.strip().startswith("worst case")), "")
            if verdict.verdict == "unknown":
                worst = verdict.reason
            scope = getattr(verdict, "scope", "")
            counted = scope[scope.find("every placement") : scope.find(", every state")] if scope else ""
            print(f"{n:>6} {name:<22} {verdict.verdict:<8} {seconds:>8.2f}  {worst} [{counted}]", flush=True)


if __name__ == "__main__":
    main()
