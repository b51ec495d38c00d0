"""Claims over every placement: the solver's verdicts, its counterexamples, and a brute-force oracle.

Expected verdicts follow from Kubernetes' behaviour, stated beside each row; the Hypothesis test
compares the solver with every placement enumerated and routed by the executable model.
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kverify.cli import main
from kverify.concrete import route
from kverify.model import (
    ClientKind,
    Cluster,
    Dataplane,
    Destination,
    Flow,
    LoadBalancerIngress,
    LoadBalancerProfile,
    ProxyConfig,
    Service,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)
from kverify.model.workload import (
    EXCLUDE_FROM_LB_LABEL,
    HOSTNAME_LABEL,
    ZONE_LABEL,
    ContainerPort,
    LabelSelector,
    NodePool,
    PodAffinityTerm,
    Scheduling,
    SpreadConstraint,
    Taint,
    Toleration,
    Workload,
    WorkloadKind,
    well_known_labels,
)
from kverify.placement import Design
from kverify.placement.realise import realise
from kverify.placement.solve import decide_over_placements, decide_share_over_placements

from .placement_oracle import violated

APP = (("app", "web"),)
LB_FLOW = Flow(service="default/web", client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER)
POD_FLOW = Flow(service="default/web", client=ClientKind.POD, destination=Destination.CLUSTER_IP)


def service(etp: str = "Local", itp: str = "Cluster", target: int | str = 8080) -> Service:
    return Service(
        namespace="default",
        name="web",
        type=ServiceType.LOAD_BALANCER,
        cluster_ips=("10.96.0.10",),
        ports=(ServicePort(port=80, node_port=30080, target_port=target),),
        external_traffic_policy=TrafficPolicy.parse(etp),
        internal_traffic_policy=TrafficPolicy.parse(itp),
        load_balancer_ingress=(LoadBalancerIngress(ip="198.51.100.10"),),
        health_check_node_port=32000 if etp == "Local" else None,
        selector=APP,
    )


def workload(replicas: int | None = 3, kind: WorkloadKind = WorkloadKind.DEPLOYMENT, **scheduling: object) -> Workload:
    return Workload(
        kind=kind if replicas is not None else WorkloadKind.DAEMON_SET,
        namespace="default",
        name="web",
        replicas=replicas,
        labels=APP,
        ports=(ContainerPort(name="http", port=8080),),
        scheduling=Scheduling(**scheduling),  # type: ignore[arg-type]
    )


def design(
    w: Workload,
    pools: tuple[NodePool, ...] = (),
    lb: LoadBalancerProfile = LoadBalancerProfile.NO_HEALTH_CHECK,
    svc: Service | None = None,
    dataplane: Dataplane = Dataplane.IPTABLES,
) -> Design:
    cluster = Cluster(services=(svc or service(),), load_balancer=lb, proxy=ProxyConfig(dataplane=dataplane))
    return Design(cluster=cluster, workloads=(w,), node_pools=pools)


def pool(name: str, count: int | tuple[int, int], **kw: object) -> NodePool:
    low, high = (count, count) if isinstance(count, int) else count
    return NodePool(name=name, min_count=low, max_count=high, **kw)  # type: ignore[arg-type]


ANTI_HOST = (PodAffinityTerm(selector=LabelSelector.of(APP), topology_key=HOSTNAME_LABEL),)
NO_SCHEDULE = Taint(key="dedicated", value="gpu", effect="NoSchedule")

CASES = [
    pytest.param(
        design(workload(3), (pool("workers", 5),)),
        LB_FLOW,
        "never-dropped",
        "refuted",
        id="3 replicas on 5 nodes, eTP Local, LB without health checks: some node has no replica and drops",
    ),
    pytest.param(
        design(workload(3), (pool("workers", 5),), lb=LoadBalancerProfile.HEALTH_CHECKED),
        LB_FLOW,
        "delivered",
        "proved",
        id="the same behind a health-checked LB: only nodes with a replica pass the healthCheckNodePort probe",
    ),
    pytest.param(
        design(workload(None), (pool("workers", 5),)),
        LB_FLOW,
        "never-dropped",
        "proved",
        id="a DaemonSet puts a pod on every node: eTP Local never drops",
    ),
    pytest.param(
        design(workload(None, node_selector=LabelSelector.of({"role": "edge"}))),
        LB_FLOW,
        "never-dropped",
        "refuted",
        id="a DaemonSet restricted by nodeSelector, any cluster: a node without the label gets LB traffic",
    ),
    pytest.param(
        design(workload(3, anti_affinity=ANTI_HOST), (pool("workers", 3),)),
        LB_FLOW,
        "never-dropped",
        "proved",
        id="3 replicas with hostname anti-affinity on exactly 3 nodes: one per node, nothing drops",
    ),
    pytest.param(
        design(workload(3, anti_affinity=ANTI_HOST), (pool("workers", (3, 4)),)),
        LB_FLOW,
        "never-dropped",
        "refuted",
        id="the same on a pool of 3 to 4 nodes: the fourth node has no replica",
    ),
    pytest.param(
        design(workload(2, anti_affinity=ANTI_HOST), (pool("workers", 2), pool("gpu", 1, taints=(NO_SCHEDULE,)))),
        LB_FLOW,
        "never-dropped",
        "refuted",
        id="2 replicas, 2 plain nodes and 1 tainted node: the tainted node drops",
    ),
    pytest.param(
        design(
            workload(3, tolerations=(Toleration(key="dedicated", operator="Exists"),), anti_affinity=ANTI_HOST),
            (pool("workers", 2), pool("gpu", 1, taints=(NO_SCHEDULE,))),
        ),
        LB_FLOW,
        "never-dropped",
        "proved",
        id="3 replicas that tolerate the taint, anti-affinity, 3 nodes: every node has one",
    ),
    pytest.param(
        design(workload(3), (pool("workers", 5),), svc=service(etp="Cluster")),
        LB_FLOW,
        "client-ip-preserved",
        "refuted",
        id="eTP Cluster: a node without a replica forwards and SNATs, the pod loses the client IP",
    ),
    pytest.param(
        design(workload(3), (pool("workers", 5),), svc=service(etp="Cluster"), dataplane=Dataplane.CILIUM_DSR),
        LB_FLOW,
        "client-ip-preserved",
        "proved",
        id="eTP Cluster on Cilium DSR: forwarded packets keep the client IP",
    ),
    pytest.param(
        design(workload(3), (pool("workers", 4),), svc=service(etp="Cluster", itp="Local")),
        POD_FLOW,
        "delivered",
        "refuted",
        id="iTP Local: a pod on a node without a replica has its ClusterIP traffic dropped",
    ),
    pytest.param(
        design(workload(3), (pool("workers", 4),), svc=service(target="metrics")),
        POD_FLOW,
        "delivered",
        "refuted",
        id="a named targetPort no container declares: no endpoint, connections rejected",
    ),
    pytest.param(
        design(workload(3), (pool("workers", 4),), svc=service(target="http")),
        POD_FLOW,
        "delivered",
        "proved",
        id="a named targetPort resolved against the container port: delivered",
    ),
    pytest.param(
        design(workload(2), (pool("workers", 3),), svc=service(etp="Local")),
        LB_FLOW,
        "stays-on-arrival-node",
        "proved",
        id="eTP Local on iptables: a delivered packet never leaves its arrival node",
    ),
]


@pytest.mark.parametrize(("the_design", "flow", "prop", "expected"), CASES)
def test_verdicts_follow_kubernetes(the_design: Design, flow: Flow, prop: str, expected: str) -> None:
    verdict = decide_over_placements(the_design, flow, prop, claim="c").verdict
    assert verdict.verdict == expected, getattr(verdict, "reason", "")
    if expected == "refuted":
        cx = verdict.counterexample  # type: ignore[union-attr]
        # The counterexample replays: the executable model shows the violation at the named node.
        outcomes = route(cx.cluster, cx.flow)
        assert any(o == cx.outcome for o in outcomes)
        assert "placement:" in cx.detail


def test_any_cluster_counterexample_is_the_smallest() -> None:
    """With no nodes described the smallest breaking cluster has 2 nodes: one holds the 3 replicas."""
    verdict = decide_over_placements(design(workload(3)), LB_FLOW, "never-dropped", claim="c").verdict
    assert verdict.verdict == "refuted"
    cx = verdict.counterexample  # type: ignore[union-attr]
    assert cx.nodes == 2
    assert cx.endpoints == 3
    assert "every cluster" in verdict.scope


def test_tainted_node_is_the_arrival_node() -> None:
    d = design(workload(2, anti_affinity=ANTI_HOST), (pool("workers", 2), pool("gpu", 1, taints=(NO_SCHEDULE,))))
    verdict = decide_over_placements(d, LB_FLOW, "never-dropped", claim="c").verdict
    assert verdict.counterexample.flow.node == "gpu-1"  # type: ignore[union-attr]


def test_pending_replicas_are_unknown_with_the_reason() -> None:
    """4 replicas with hostname anti-affinity cannot fit on 3 nodes: never a silent pass."""
    d = design(workload(4, anti_affinity=ANTI_HOST), (pool("workers", 3),))
    verdict = decide_over_placements(d, LB_FLOW, "never-dropped", claim="c").verdict
    assert verdict.verdict == "unknown"
    assert "Pending" in verdict.reason and "anti-affinity" in verdict.reason  # type: ignore[union-attr]


HOST_SPREAD = SpreadConstraint(max_skew=1, topology_key=HOSTNAME_LABEL, selector=LabelSelector.of(APP))


@pytest.mark.parametrize(
    ("taints_policy", "expected"),
    [
        pytest.param("Ignore", "unknown", id="nodeTaintsPolicy Ignore: the tainted node is a domain with 0 pods"),
        pytest.param("Honor", "proved", id="nodeTaintsPolicy Honor: only the 2 schedulable nodes are domains"),
    ],
)
def test_spread_counts_tainted_nodes_as_domains_by_default(taints_policy: str, expected: str) -> None:
    """kube-scheduler podtopologyspread: with the default nodeTaintsPolicy Ignore a node the pods cannot
    use still counts, its 0 pods cap every other node at maxSkew, so 4 replicas on 2 usable nodes leave
    2 Pending. Honor drops it from the domains and 2+2 fits."""
    spread = attrs.evolve(HOST_SPREAD, node_taints_policy=taints_policy)
    d = design(
        workload(4, spread=(spread,)),
        (pool("workers", 2), pool("gpu", 1, taints=(NO_SCHEDULE,))),
        lb=LoadBalancerProfile.HEALTH_CHECKED,
    )
    verdict = decide_over_placements(d, LB_FLOW, "delivered", claim="c").verdict
    assert verdict.verdict == expected


ZONE_SPREAD = SpreadConstraint(max_skew=1, topology_key=ZONE_LABEL, selector=LabelSelector.of(APP))
THREE_ZONES = tuple(pool(f"zone-{z}", 2, zone=f"zone-{z}") for z in "abc")


def test_zone_spread_bounds_the_share() -> None:
    """5 replicas over 3 zones, eTP Local behind a health-checked LB: each node with pods gets an equal
    part, split among its pods. With maxSkew 1 a zone holds 1 or 2 pods, so no node has more than 2
    and the worst ratio is 2; without the constraint 4 pods can share one node against 1 alone: 4."""
    lb = LoadBalancerProfile.HEALTH_CHECKED
    spread = decide_share_over_placements(
        design(workload(5, spread=(ZONE_SPREAD,)), THREE_ZONES, lb=lb), LB_FLOW, 2.0, claim="share"
    ).verdict
    assert spread.verdict == "proved"
    assert "worst share ratio over placements: 2" in spread.assumptions[0]  # type: ignore[union-attr]
    free = decide_share_over_placements(design(workload(5), THREE_ZONES, lb=lb), LB_FLOW, 2.0, claim="share")
    assert free.verdict.verdict == "refuted"
    assert "worst ratio over placements 4" in free.verdict.counterexample.detail  # type: ignore[union-attr]


def test_cluster_policy_shares_evenly() -> None:
    verdict = decide_share_over_placements(
        design(workload(5), THREE_ZONES, svc=service(etp="Cluster")), LB_FLOW, 1.0, claim="share"
    ).verdict
    assert verdict.verdict == "proved"


# -- the solver against every placement, enumerated --------------------------------------------------

PROPS = ["never-dropped", "delivered", "client-ip-preserved", "stays-on-arrival-node"]


@st.composite
def small_designs(draw: st.DrawFn) -> tuple[Design, Flow, str]:
    # Sometimes a pool carries the LB exclusion label (rule lb-exclude-label): "" and "true" leave it out of every
    # LB that reads the label, "false" only of MetalLB and the AWS LBC (the cloud controller keeps it, v1.34).
    excluded = st.sampled_from([(), (), ((EXCLUDE_FROM_LB_LABEL, ""),), ((EXCLUDE_FROM_LB_LABEL, "false"),)])
    pools = [pool("a", (draw(st.integers(1, 2)), 2), labels=draw(excluded))]
    if draw(st.booleans()):
        taints = (NO_SCHEDULE,) if draw(st.booleans()) else ()
        pools.append(pool("b", 1, taints=taints, zone="zone-b", labels=draw(excluded)))
    scheduling: dict[str, object] = {}
    if draw(st.booleans()):
        scheduling["anti_affinity"] = ANTI_HOST
    if draw(st.booleans()):
        scheduling["tolerations"] = (Toleration(key="dedicated", operator="Exists"),)
    replicas = draw(st.sampled_from([1, 2, 3, None]))
    svc = service(etp=draw(st.sampled_from(["Local", "Cluster"])), itp=draw(st.sampled_from(["Local", "Cluster"])))
    lb = draw(
        st.sampled_from(
            [
                LoadBalancerProfile.NO_HEALTH_CHECK,
                LoadBalancerProfile.HEALTH_CHECKED,
                LoadBalancerProfile.AWS_NLB_INSTANCE,
                LoadBalancerProfile.METALLB_L2,
            ]
        )
    )
    dataplane = draw(st.sampled_from([Dataplane.IPTABLES, Dataplane.IPVS, Dataplane.CILIUM_SNAT]))
    flow = draw(st.sampled_from([LB_FLOW, POD_FLOW, attrs.evolve(LB_FLOW, destination=Destination.NODE_PORT)]))
    d = design(workload(replicas, **scheduling), tuple(pools), lb=lb, svc=svc, dataplane=dataplane)
    return d, flow, draw(st.sampled_from(PROPS))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_designs())
def test_solver_agrees_with_every_placement_enumerated(case: tuple[Design, Flow, str]) -> None:
    d, flow, prop = case
    verdict = decide_over_placements(d, flow, prop, claim="c").verdict
    svc = d.cluster.services[0]
    found = violated(d, svc, flow, prop)  # route() keeps the arrival nodes the load balancer may pick
    if found is False:
        assert verdict.verdict == "unknown"  # no placement schedules every replica
        return
    assert verdict.verdict == ("proved" if found is None else "refuted"), (verdict, found)


# -- the command line at design time ----------------------------------------------------------------

DESIGN_DIR = Path(__file__).parent.parent / "kverify" / "data" / "specs" / "manifests" / "design"


def test_trace_at_design_time_shows_each_kind_of_outcome_on_its_own_placement(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """eTP Local, 3 replicas, an LB without health checks, any cluster: the flow is dropped where the
    LB picks a node without a replica, delivered with the client IP where it picks one with."""
    argv = [str(DESIGN_DIR / "web-local.yaml"), "--service", "shop/web", "--to", "load-balancer"]
    argv += ["--from", "external", "--load-balancer", "no-health-check", "--format", "json"]
    assert main(["trace", *argv]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["design_time"] is True and document["unknown"] is None
    kinds = {(o["delivered"], o["drop_kind"]) for p in document["placements"] for o in p["outcomes"]}
    assert kinds == {(True, None), (False, "drop")}
    dropped = next(p for p in document["placements"] if not p["outcomes"][0]["delivered"])
    arrival = dropped["outcomes"][0]["node"]
    assert dropped["placement"][arrival] == []  # dropped exactly where no replica runs
    assert sum(len(pods) for pods in dropped["placement"].values()) == 3


def test_check_on_raw_manifests_finds_the_design_flaw(capsys: pytest.CaptureFixture[str]) -> None:
    """The built-in check fires at design time: no Nodes, no EndpointSlices, only a Deployment."""
    code = main(["check", str(DESIGN_DIR / "web-local.yaml"), "--load-balancer", "no-health-check"])
    out = capsys.readouterr().out
    assert code == 1
    assert "etp-local-lb-without-health-checks" in out and "placement:" in out


def test_pool_nodes_carry_the_kubelet_os_label() -> None:
    """Manifests commonly select kubernetes.io/os: linux (ingress-nginx does); the kubelet sets it on
    every node, so a pool's nodes have it unless the pool's labels say otherwise."""
    linux = workload(1, node_selector=LabelSelector.of({"kubernetes.io/os": "linux"}))
    d = design(linux, (pool("workers", 2),), lb=LoadBalancerProfile.HEALTH_CHECKED)
    assert decide_over_placements(d, LB_FLOW, "delivered", claim="c").verdict.verdict == "proved"
    windows = design(linux, (pool("win", 2, labels=(("kubernetes.io/os", "windows"),)),))
    verdict = decide_over_placements(windows, LB_FLOW, "delivered", claim="c").verdict
    assert verdict.verdict == "unknown"
    assert "no node matches its nodeSelector (kubernetes.io/os In ['linux'])" in verdict.reason  # type: ignore[union-attr]


#: Weaveworks' Sock Shop (microservices-demo/microservices-demo, deploy/kubernetes/complete-demo.yaml),
#: trimmed: the front end selects the deprecated beta OS label.
SOCK_SHOP_FRONT_END = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: front-end, namespace: sock-shop}
spec:
  replicas: 1
  selector: {matchLabels: {name: front-end}}
  template:
    metadata: {labels: {name: front-end}}
    spec:
      containers:
      - name: front-end
        image: weaveworksdemos/front-end:0.3.12
        ports: [{containerPort: 8079}]
      nodeSelector:
        beta.kubernetes.io/os: linux
---
apiVersion: v1
kind: Service
metadata: {name: front-end, namespace: sock-shop}
spec:
  type: NodePort
  ports: [{port: 80, targetPort: 8079, nodePort: 30001}]
  selector: {name: front-end}
"""


@pytest.mark.parametrize(
    ("pool_flag", "delivered"),
    [
        pytest.param("workers=2", True, id="a Linux pool's nodes carry beta.kubernetes.io/os=linux too"),
        pytest.param("win=2,label=kubernetes.io/os=windows", False, id="the beta label follows the GA label"),
        pytest.param("w=2,label=beta.kubernetes.io/os=windows", True, id="the GA label wins over a stale beta one"),
    ],
)
def test_pool_nodes_carry_the_beta_os_label(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pool_flag: str, delivered: bool
) -> None:
    """The node lifecycle controller keeps beta.kubernetes.io/os equal to kubernetes.io/os on every Node
    (labelReconcileInfo, GA label primary), so a nodeSelector on the beta label schedules on Linux nodes."""
    manifest = tmp_path / "sock-shop.yaml"
    manifest.write_text(SOCK_SHOP_FRONT_END)
    args = ["trace", str(manifest), "--service", "sock-shop/front-end", "--to", "node-port", "--from", "external"]
    code = main([*args, "--node-pool", pool_flag, "--format", "json"])
    out = capsys.readouterr().out
    if delivered:
        assert code == 0, out
        assert "no node matches" not in out
        assert '"delivered"' in out
    else:
        assert code == 3, out
        assert "no node matches its nodeSelector (beta.kubernetes.io/os In ['linux'])" in out


@pytest.mark.parametrize("eligible", [True, False], ids=["eligible node", "ineligible node"])
def test_realised_nodes_keep_the_beta_os_label_with_the_ga_one(eligible: bool) -> None:
    """A counterexample node the solver makes (in)eligible for a workload that selects the beta OS label
    gets the same OS on both labels: the lifecycle controller does not let a Node carry them apart."""
    beta = workload(1, node_selector=LabelSelector.of({"beta.kubernetes.io/os": "linux"}))
    labels, _ = realise("node-2", {beta: eligible}, {})
    assert labels["beta.kubernetes.io/os"] == labels["kubernetes.io/os"]
    assert (labels["kubernetes.io/os"] == "linux") is eligible
    # as the Node is read back (a counterexample replayed): the workload's eligibility is unchanged
    replayed = well_known_labels(tuple(labels.items()), node_name="node-2", zone=None)
    assert beta.scheduling.node_allowed(replayed, ()) is eligible


def test_traffic_distribution_is_unknown_at_design_time() -> None:
    svc = attrs.evolve(service(), traffic_distribution="PreferClose")
    verdict = decide_over_placements(design(workload(3), svc=svc), LB_FLOW, "delivered", claim="c").verdict
    assert verdict.verdict == "unknown" and "trafficDistribution" in verdict.reason  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "scheduling",
    [
        pytest.param({"node_selector": LabelSelector.of({"role": "edge"})}, id="nodeSelector In"),
        pytest.param({}, id="no selector: a taint keeps it off"),
        pytest.param({"tolerations": (Toleration(operator="Exists"),)}, id="tolerates everything: unconstrained"),
    ],
)
@pytest.mark.parametrize("eligible", [True, False])
def test_realised_nodes_give_the_solvers_choice(scheduling: dict[str, object], eligible: bool) -> None:
    """The labels and taints written for an abstract node make the scheduler's own predicate agree
    with the solver's choice (or, for a workload nothing can keep off a node, refuse to pretend)."""
    from kverify.errors import InternalError
    from kverify.model.workload import HOSTNAME_LABEL as HOST
    from kverify.placement.realise import realise

    w = workload(1, **scheduling)
    try:
        labels, taints = realise("node-1", {w: eligible}, {ZONE_LABEL: "zone-1"})
    except InternalError:
        assert not eligible and "tolerations" in scheduling  # nothing keeps it off: never pretend
        return
    assert w.scheduling.node_allowed({**labels, HOST: "node-1"}, taints) is eligible
    assert labels[ZONE_LABEL] == "zone-1"


NAMED_TARGET_PORT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: nginx, ports: [{name: http, containerPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  ports: [{name: http, port: 80, targetPort: TARGET}]
  selector: {app: web}
"""


@pytest.mark.parametrize(
    ("target", "finding"),
    [
        pytest.param("https", True, id="a targetPort naming no container port leaves the Service without endpoints"),
        pytest.param("http", False, id="the named port is found"),
    ],
)
def test_no_usable_endpoints_says_which_named_target_port_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str, finding: bool
) -> None:
    """The EndpointSlice controller gives a pod no entry for a Service port whose targetPort name it lacks
    (getEndpointPorts: findPort fails), so the Deployment's pods are no endpoints: the finding says so."""
    manifest = tmp_path / "web.yaml"
    manifest.write_text(NAMED_TARGET_PORT.replace("TARGET", target))
    code = main(["check", str(manifest)])
    out = capsys.readouterr().out
    if finding:
        assert code == 1, out
        assert "the selector matches Deployment shop/web, but no container of theirs has a port named as the " in out
        assert '("https", same protocol)' in out
    else:
        assert code == 4, out  # a ClusterIP Service whose pods serve it: nothing to check
