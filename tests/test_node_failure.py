"""A node that fails (NotReady) as a sequence of states: the node lifecycle controller's timing, the
load balancer's health check, and what is lost meanwhile (kverify.change.failure)."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from kverify.change.controllers import Change, Simulator
from kverify.change.decide import decide_change
from kverify.change.failure import (
    FailureTiming,
    grace_period,
    lost_at_dead_node,
    taint_times,
)
from kverify.check.specfile import load_spec
from kverify.concrete import route
from kverify.errors import InputError
from kverify.model import ClientKind, Destination, DropKind, Flow
from kverify.model.workload import (
    HOSTNAME_LABEL,
    LabelSelector,
    Lifecycle,
    PodAffinityTerm,
    Scheduling,
    Toleration,
    Workload,
    WorkloadKind,
)
from kverify.placement.universe import Slot
from kverify.verdicts import Proved, Refuted, Unknown

SPECS = Path(__file__).parent.parent / "specs"
LOCAL = Flow(service="shop/web-local", client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER)
CLUSTER = attrs.evolve(LOCAL, service="shop/web-cluster")
ONE = Change(kind="failure", nodes=1)


def _spec(tmp_path: Path, *, version: str = "1.34", load_balancer: str = "health-checked", count: int = 3):
    text = (SPECS / "node-failure.yaml").read_text().replace("manifests/", f"{SPECS}/manifests/")
    text = text.replace('kubernetesVersion: "1.34"', f'kubernetesVersion: "{version}"')
    text = text.replace("loadBalancer: health-checked", f"loadBalancer: {load_balancer}")
    text = text.replace("count: 3", f"count: {count}")
    (tmp_path / "s.yaml").write_text(text)
    return load_spec(str(tmp_path / "s.yaml"))


@pytest.mark.parametrize(
    ("version", "grace", "not_ready"),
    [
        pytest.param(31, 40.0, 50.0, id="v1.31: grace 40 s, Ready=Unknown by 40 + 2 x 5 s"),
        pytest.param(32, 50.0, 60.0, id="v1.32: grace 50 s (PR #126287), Ready=Unknown by 50 + 2 x 5 s"),
    ],
)
def test_the_grace_period_follows_the_version(version: int, grace: float, not_ready: float) -> None:
    assert grace_period(version) == grace
    assert FailureTiming(grace=grace).not_ready_after == not_ready


ZONES = {"a1": "a", "a2": "a", "a3": "a", "a4": "a", "b1": "b"}


@pytest.mark.parametrize(
    ("failed", "zones", "total", "expected"),
    [
        pytest.param(["a1"], ZONES, {"a": 4, "b": 1}, {"a1": 0.0}, id="one node: tainted at once (burst 1)"),
        pytest.param(
            ["a1", "a2"], ZONES, {"a": 4, "b": 1}, {"a1": 0.0, "a2": 10.0}, id="two in a zone: 10 s apart (0.1/s)"
        ),
        pytest.param(
            ["a1", "b1"], ZONES, {"a": 4, "b": 1}, {"a1": 0.0, "b1": 0.0}, id="one per zone: each zone's own bucket"
        ),
        pytest.param(
            ["a1", "a2", "a3"],
            ZONES,
            {"a": 4, "b": 1},
            {},
            id="3 of 4 (>2 and >=55%): partial disruption, small zone: none",
        ),
        pytest.param(
            ["a1", "a2", "a3", "a4", "b1"], ZONES, {"a": 4, "b": 1}, {}, id="every zone fully disrupted: none"
        ),
        pytest.param(
            ["b1"], ZONES, {"a": 4, "b": 1}, {"b1": 0.0}, id="one zone fully disrupted, another not: healthy rate"
        ),
    ],
)
def test_the_unreachable_taint_follows_the_zone_rate_limiter(failed, zones, total, expected) -> None:
    # ComputeZoneState / handleDisruption / ReducedQPSFunc (node_lifecycle_controller.go)
    assert taint_times(failed, zones, total) == expected


def _workload(tolerations: tuple[Toleration, ...] = ()) -> Workload:
    terms = (PodAffinityTerm(selector=LabelSelector.of({"app": "web"}), topology_key=HOSTNAME_LABEL),)
    return Workload(
        kind=WorkloadKind.DEPLOYMENT,
        namespace="shop",
        name="web",
        replicas=3,
        labels=(("app", "web"),),
        scheduling=Scheduling(anti_affinity=terms, tolerations=tolerations),
        lifecycle=Lifecycle(),
    )


def test_a_failed_nodes_pod_is_not_ready_at_the_grace_period_and_replaced_after_its_toleration() -> None:
    slots = [Slot(name=f"n{i}", labels={HOSTNAME_LABEL: f"n{i}"}, pool="p") for i in range(1, 5)]
    sim = Simulator(_workload(), slots, limit=100, start_seconds=10)
    placed = {"shop/web-0": "n1", "shop/web-1": "n2", "shop/web-2": "n3"}
    timing = FailureTiming(grace=50.0)
    seen = set()
    for t in sim.failures(placed, 1, timing):
        seen |= t.failed
        dead = [p for p in t.pods if p.node in t.failed]
        new = [p for p in t.pods if p.generation == "new"]
        if t.failed == {"n4"}:  # the empty node: nothing to evict
            assert not dead and not new
            continue
        (pod,) = dead
        assert (pod.not_ready_at, pod.deleted_at) == (60.0, 360.0)  # 50 + 2 x 5, then + 300 s
        assert pod.conditions(59.0) == (True, True, False)  # still listed ready: kube-proxy still sends
        assert pod.conditions(60.0) == (False, False, False)  # MarkPodsNotReady
        assert pod.conditions(400.0) == (False, False, True)  # evicted, Terminating for good
        assert [(p.node, p.created, p.ready_at) for p in new] == [("n4", 360.0, 370.0)]
    assert seen == {"n1", "n4"}  # a node with a pod (n1..n3 are alike) and the empty one


def test_a_pod_template_that_tolerates_unreachable_itself_is_unknown(tmp_path: Path) -> None:
    manifest = (SPECS / "manifests" / "design" / "web-failure.yaml").read_text()
    manifest = manifest.replace(
        "      containers:",
        "      tolerations: [{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute,"
        " tolerationSeconds: 30}]\n      containers:",
    )
    (tmp_path / "m.yaml").write_text(manifest)
    text = (SPECS / "node-failure.yaml").read_text().replace("manifests/design/web-failure.yaml", "m.yaml")
    (tmp_path / "s.yaml").write_text(text)
    spec = load_spec(str(tmp_path / "s.yaml"))
    verdict = decide_change(spec.design, LOCAL, "never-dropped", ONE, claim="c")
    assert isinstance(verdict, Unknown) and "tolerationSeconds" in verdict.reason


def test_etp_local_drops_only_while_the_load_balancer_still_probes_the_dead_node(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    verdict = decide_change(spec.design, LOCAL, "never-dropped", ONE, claim="c")
    assert isinstance(verdict, Refuted)
    cx = verdict.counterexample
    # GCP: 8 s x 3 probes, each unanswered after its 1 s timeout.
    assert "step 1 (t = 0 s to 25 s)" in cx.detail and "the claim fails 25 s in all" in cx.detail
    assert cx.outcome.drop_kind is DropKind.DROP and cx.outcome.node == cx.flow.node
    assert "change-node-failed" in cx.outcome.rules and cx.outcome.endpoint_ip is None
    assert isinstance(decide_change(spec.design, LOCAL, "client-ip-preserved", ONE, claim="c"), Proved)


@pytest.mark.parametrize(("version", "seconds"), [("1.31", 50), ("1.34", 60)])
def test_etp_cluster_drops_until_the_dead_pods_endpoint_is_not_ready(
    tmp_path: Path, version: str, seconds: int
) -> None:
    spec = _spec(tmp_path, version=version)
    verdict = decide_change(spec.design, CLUSTER, "never-dropped", ONE, claim="c")
    assert isinstance(verdict, Refuted)
    assert f"the claim fails {seconds} s in all" in verdict.counterexample.detail
    assert f"connections not delivered {seconds} s per node failure" in verdict.counterexample.detail


def test_after_the_window_a_live_node_sends_to_a_pod_on_the_dead_node_and_it_is_lost(tmp_path: Path) -> None:
    # Between 25 s (the LB left the dead node) and 60 s (its pod NotReady), eTP Cluster: the live node's
    # kube-proxy still picks the dead pod; the executable model delivers there, the failure loses it.
    from kverify.change.decide import _setting, _worst

    spec = _spec(tmp_path)
    service = spec.cluster.service("shop/web-cluster")
    setting = _setting(spec.design, service, CLUSTER, "never-dropped", None, None, ONE, None)
    judged, _, _ = _worst(setting)
    (state,) = [s for s in judged.states if s.start == 25.0]
    assert state.end == 60.0 and set(state.lb_nodes or ()) == {"workers-2", "workers-3"}
    dead_pod = next(e for e in state.cluster.service("shop/web-cluster").endpoints if e.node_name in state.failed)
    flow = attrs.evolve(CLUSTER, node="workers-2")
    to_dead = [o for o in route(state.cluster, flow) if o.endpoint_ip == dead_pod.ip]
    assert to_dead and all(o.delivered for o in to_dead)  # kube-proxy's choice, as the rule table says
    lost = [lost_at_dead_node(o, state.failed) for o in to_dead]
    assert all(o is not None and not o.delivered and o.drop_kind is DropKind.DROP for o in lost)
    assert all(o.endpoint_ip == dead_pod.ip for o in lost if o)  # kube-proxy did DNAT there: it stays shown


@pytest.mark.parametrize(
    ("profile", "version", "expected"),
    [
        ("metallb-l2", "1.34", "Unknown"),
        ("metallb-bgp", "1.34", "Unknown"),
        ("no-health-check", "1.26", "Unknown"),  # the service controller removes NotReady nodes (KEP-3458)
        ("no-health-check", "1.34", "Refuted"),  # keeps sending to the dead node: dropped without end
    ],
)
def test_load_balancers_whose_reaction_is_not_modelled_are_unknown(tmp_path, profile, version, expected) -> None:
    spec = _spec(tmp_path, version=version, load_balancer=profile)
    verdict = decide_change(spec.design, LOCAL, "never-dropped", ONE, claim="c")
    assert type(verdict).__name__ == expected, verdict
    if expected == "Refuted":
        assert "without end" in verdict.counterexample.detail


@pytest.mark.parametrize(
    ("during", "message"),
    [
        ("{nodeFailure: {nodes: 0}}", "claims[0].during.nodeFailure.nodes: Invalid value: 0"),
        ("{nodeFailure: {zone: a}}", "claims[0].during.nodeFailure.zone: unknown field"),
        ("{nodeFailure: {}, drain: {}}", "exactly one of `rollout`, `drain` or `nodeFailure`"),
        ("node-failures", 'Unsupported value: "node-failures"'),
    ],
)
def test_a_bad_node_failure_is_one_line_naming_the_field(tmp_path: Path, during: str, message: str) -> None:
    manifest = SPECS / "manifests" / "design" / "web-failure.yaml"
    (tmp_path / "s.yaml").write_text(
        "apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: s}\n"
        f"manifests: [{manifest}]\nnodes: [{{pool: w, count: 3}}]\n"
        f"claims:\n  - {{id: c, service: shop/web-local, property: never-dropped, during: {during}}}\n"
    )
    with pytest.raises(InputError) as error:
        load_spec(str(tmp_path / "s.yaml"))
    assert message in str(error.value), str(error.value)


def test_a_client_on_the_dead_node_is_gone_and_other_outcomes_are_untouched() -> None:
    from kverify.results import Hop, Outcome

    hops = (
        Hop(at="pod@n1", to="n1 (proxy)", src="10.0.0.200", dst="10.96.0.10:80"),
        Hop(at="n1", to="shop/web-1", src="10.0.0.200", dst="10.0.1.10:80"),
    )
    outcome = Outcome(
        node="n1", delivered=True, endpoint_ip="10.0.1.10", endpoint_node="n2", endpoint_pod="shop/web-1", hops=hops
    )
    assert lost_at_dead_node(outcome, frozenset({"n1"})) is None  # the client died with its node
    assert lost_at_dead_node(outcome, frozenset({"n3"})) is outcome
    lost = lost_at_dead_node(outcome, frozenset({"n2"}))
    assert lost is not None and not lost.delivered and lost.drop_kind is DropKind.DROP
    assert lost.hops[:-1] == hops and lost.hops[-1].to == "(end)" and "n2 has failed" in lost.hops[-1].note


def test_a_daemonsets_pods_on_a_failed_node_are_never_evicted(tmp_path: Path) -> None:
    # pkg/controller/daemon/util/daemonset_util.go AddOrUpdateDaemonPodTolerations: unreachable:NoExecute
    # tolerated without tolerationSeconds, so no replacement; eTP Local on 5 nodes with a pod on each: the
    # live nodes keep their own pods, only the load balancer's 25 s to the dead nodes are lost.
    from kverify.change.decide import _setting, _worst

    manifest = SPECS / "manifests" / "design" / "web-local-daemonset.yaml"
    (tmp_path / "s.yaml").write_text(
        "apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: s}\n"
        f"manifests: [{manifest}]\nnodes: [{{pool: w, count: 5}}]\n"
        "environment: {loadBalancer: health-checked}\n"
        "claims:\n  - {id: c, service: shop/web, property: never-dropped, during: {nodeFailure: {nodes: 2}}}\n"
    )
    spec = load_spec(str(tmp_path / "s.yaml"))
    flow = attrs.evolve(LOCAL, service="shop/web")
    change = Change(kind="failure", nodes=2)
    verdict = decide_change(spec.design, flow, "never-dropped", change, claim="c")
    assert isinstance(verdict, Refuted) and "the claim fails 25 s in all" in verdict.counterexample.detail
    assert "never evicted" in verdict.counterexample.detail
    setting = _setting(spec.design, spec.cluster.service("shop/web"), flow, "never-dropped", None, None, change, None)
    judged, _, _ = _worst(setting)
    assert not [p for p in judged.timeline.pods if p.generation == "new"]
    assert all(p.deleted_at == float("inf") for p in judged.timeline.pods)


def test_two_failed_nodes_of_one_zone_are_tainted_10_s_apart_in_either_order() -> None:
    # doNoExecuteTaintingPass: one token bucket per zone, 0.1/s with burst 1 (node_lifecycle_controller.go);
    # which node the queue takes first is not known, so both orders are timelines.
    slots = [Slot(name=f"n{i}", labels={HOSTNAME_LABEL: f"n{i}"}, pool="p") for i in range(1, 6)]
    sim = Simulator(_workload(), slots, limit=100, start_seconds=10)
    placed = {"shop/web-0": "n1", "shop/web-1": "n2", "shop/web-2": "n3"}
    evictions = set()
    for t in sim.failures(placed, 2, FailureTiming(grace=50.0)):
        if t.failed != {"n1", "n2"}:
            continue
        evictions.add(tuple((p.node, p.deleted_at) for p in sorted(t.pods, key=lambda p: p.name) if p.node in t.failed))
    # 2 of 5 not Ready: a normal zone (ComputeZoneState); Ready=Unknown at 60 s, + 300 s toleration.
    assert evictions == {(("n1", 360.0), ("n2", 370.0)), (("n1", 370.0), ("n2", 360.0))}
