"""Changes over time (kverify.change): fenceposts, pod lives, the load balancer's lagging view, spec errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from kverify.change.fenceposts import resolve_fenceposts
from kverify.change.timeline import INF, PodLife, lb_changes
from kverify.change.timing import PROFILES, memberlist_failure_seconds
from kverify.check.specfile import load_spec
from kverify.errors import InputError

# Rows from the ResolveFenceposts doc comment (pkg/controller/deployment/util/deployment_util.go): the
# scale steps it lists follow from (surge, unavailable); and TestResolveFenceposts' 39%/39% of 10.
FENCEPOSTS = [
    pytest.param("0%", "1%", 2, (0, 1), id="2 desired, unavailable 1% rounds down to 0, surge 0%: unavailable 1"),
    pytest.param("0%", "1%", 1, (0, 1), id="1 desired, unavailable 1%, surge 0%: unavailable 1"),
    pytest.param("1%", "25%", 2, (1, 0), id="2 desired, unavailable 25% rounds down, surge 1% rounds up to 1"),
    pytest.param("1%", "0%", 2, (1, 0), id="2 desired, unavailable 0%, surge 1%: surge 1"),
    pytest.param("39%", "39%", 10, (4, 3), id="39% of 10: surge up to 4, unavailable down to 3"),
    pytest.param("0%", "0%", 0, (0, 1), id="0 desired, both 0%: unavailable 1"),
    pytest.param(1, 0, 2, (1, 0), id="integers are taken as they are"),
]


@pytest.mark.parametrize(("surge", "unavailable", "desired", "expected"), FENCEPOSTS)
def test_fenceposts_round_as_the_deployment_controller(surge, unavailable, desired, expected) -> None:
    assert resolve_fenceposts(surge, unavailable, desired) == expected


def test_a_deleted_pod_serves_while_its_pre_stop_sleep_runs() -> None:
    pod = PodLife(name="a/b-0", node="n1", generation="old", ready_at=-INF, deleted_at=10.0, serving_for=5.0)
    assert pod.conditions(9.0) == (True, True, False)
    assert pod.conditions(10.0) == (False, True, True)
    assert pod.conditions(15.0) is None


def test_the_load_balancer_leaves_a_failing_node_after_interval_times_threshold() -> None:
    gcp = PROFILES["gcp"]

    # n1 fails from t=0 for good: left at 8 x 3 = 24 s; n2 fails for 10 s only: never left.
    def passes(t: float) -> frozenset[str]:
        return frozenset({"n2"} if 0 <= t < 10 else {"n1", "n2"} if t < 0 else {"n2"} if t >= 10 else set())

    changes = lb_changes([0.0, 10.0], passes, lambda _n: gcp.down_after(), gcp.up_after())
    assert changes == [(-1.0, frozenset({"n1", "n2"})), (24.0, frozenset({"n2"}))]


def test_a_node_back_before_the_threshold_is_never_left() -> None:
    def passes(t: float) -> frozenset[str]:
        return frozenset({"n1"}) if t < 0 or t >= 20 else frozenset()

    assert lb_changes([0.0, 20.0], passes, lambda _n: 24.0, 8.0) == [(-1.0, frozenset({"n1"}))]


def test_memberlist_notices_a_dead_node_after_probe_and_suspicion() -> None:
    assert memberlist_failure_seconds(3) == 1.5 + 4  # log10(3) < 1
    assert memberlist_failure_seconds(1000) == 1.5 + 12


@pytest.mark.parametrize(
    ("during", "message"),
    [
        ("rollover", 'Unsupported value: "rollover"'),
        ("{drain: {nodes: 0}}", "claims[0].during.drain.nodes: Invalid value: 0"),
        ("{drain: {by: me}}", "claims[0].during.drain.by: Unsupported value"),
        ("{rollout: {}, healthCheck: gce}", "claims[0].during.healthCheck: Unsupported value: 'gce'"),
        ("{rollout: {}, drain: {}}", "claims[0].during: Required value: exactly one of"),
    ],
)
def test_a_bad_during_is_one_line_naming_the_field(tmp_path: Path, during: str, message: str) -> None:
    root = Path(__file__).parent.parent / "specs" / "manifests" / "design" / "web-rollout.yaml"
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: s}\n"
        f"manifests: [{root}]\nnodes: [{{pool: w, count: 2}}]\n"
        f"claims:\n  - {{id: c, service: shop/web, property: never-dropped, during: {during}}}\n"
    )
    with pytest.raises(InputError) as error:
        load_spec(str(spec))
    assert message in str(error.value), str(error.value)


# -- the controllers ---------------------------------------------------------------------------------

import attrs  # noqa: E402

from kverify.change.controllers import Simulator  # noqa: E402
from kverify.model.workload import (  # noqa: E402
    HOSTNAME_LABEL,
    LabelSelector,
    Lifecycle,
    PodAffinityTerm,
    Scheduling,
    Workload,
    WorkloadKind,
)
from kverify.placement.universe import Slot  # noqa: E402


def _workload(replicas: int, lifecycle: Lifecycle, anti_affinity: bool = False) -> Workload:
    terms = (PodAffinityTerm(selector=LabelSelector.of({"app": "web"}), topology_key=HOSTNAME_LABEL),)
    return Workload(
        kind=WorkloadKind.DEPLOYMENT,
        namespace="shop",
        name="web",
        replicas=replicas,
        labels=(("app", "web"),),
        scheduling=Scheduling(anti_affinity=terms if anti_affinity else ()),
        lifecycle=lifecycle,
    )


def _slots(n: int) -> list[Slot]:
    return [Slot(name=f"n{i}", labels={HOSTNAME_LABEL: f"n{i}"}, pool="p") for i in range(1, n + 1)]


def test_surge_one_unavailable_zero_deletes_an_old_pod_only_once_a_new_one_is_available() -> None:
    # rolling.go with replicas 2, maxSurge 1, maxUnavailable 0, Ready after 5 s: t=0 the new ReplicaSet
    # grows to 1 (2 + 1 - 2); t=5 new-0 is available, one old pod goes (3 available - minAvailable 2) and
    # new-1 is created; t=10 new-1 is available and the last old pod goes.
    life = Lifecycle(max_surge=1, max_unavailable=0, ready_after_seconds=5)
    sim = Simulator(_workload(2, life), _slots(2), limit=100)
    timelines = list(sim.rollouts({"shop/web-0": "n1", "shop/web-1": "n2"}))
    assert timelines
    for t in timelines:
        old = sorted(p.deleted_at for p in t.pods if p.generation == "old")
        new = sorted((p.name, p.created, p.ready_at) for p in t.pods if p.generation == "new")
        assert old == [5.0, 10.0]
        assert new == [("shop/web-new-0", 0.0, 5.0), ("shop/web-new-1", 5.0, 10.0)]
        # ActivePodsWithRanks: the old pod sharing a node with new-0 (2 active pods there) goes first.
        first = next(p for p in t.pods if p.generation == "old" and p.deleted_at == 5.0)
        new0 = next(p for p in t.pods if p.name == "shop/web-new-0")
        assert first.node == new0.node


def test_min_ready_seconds_delays_the_next_deletion() -> None:
    life = Lifecycle(max_surge=1, max_unavailable=0, ready_after_seconds=5, min_ready_seconds=20)
    sim = Simulator(_workload(1, life), _slots(2), limit=100)
    for t in sim.rollouts({"shop/web-0": "n1"}):
        assert [p.deleted_at for p in t.pods if p.generation == "old"] == [25.0]


def test_recreate_starts_the_new_pods_once_the_old_are_gone() -> None:
    life = Lifecycle(recreate=True, pre_stop_seconds=7)
    sim = Simulator(_workload(2, life), _slots(2), limit=100)
    for t in sim.rollouts({"shop/web-0": "n1", "shop/web-1": "n2"}):
        assert {p.deleted_at for p in t.pods if p.generation == "old"} == {0.0}
        assert {p.created for p in t.pods if p.generation == "new"} == {7.0}


def test_a_drained_nodes_replacement_stays_pending_under_hostname_anti_affinity() -> None:
    sim = Simulator(_workload(3, Lifecycle(), anti_affinity=True), _slots(3), limit=100)
    placed = {"shop/web-0": "n1", "shop/web-1": "n2", "shop/web-2": "n3"}
    timelines = list(sim.drains(placed, 1))
    assert len(timelines) == 1  # the three nodes are alike: one drain to try
    (new,) = [p for p in timelines[0].pods if p.generation == "new"]
    assert new.node is None and not timelines[0].completes
    # With a fourth, empty node the replacement goes there.
    sim = Simulator(_workload(3, Lifecycle(), anti_affinity=True), _slots(4), limit=100)
    drained = set()
    for t in sim.drains(placed, 1):
        drained |= t.cordoned
        new = [p.node for p in t.pods if p.generation == "new"]
        assert new == ([] if t.cordoned == {"n4"} else ["n4"])
    assert drained == {"n1", "n4"}  # a node with a pod (n1..n3 are alike) and the empty one


# -- claims over a change ------------------------------------------------------------------------------

from kverify.change.decide import decide_change  # noqa: E402
from kverify.concrete import route  # noqa: E402
from kverify.model import ClientKind, Destination, DropKind, Flow  # noqa: E402
from kverify.verdicts import Refuted, Unknown  # noqa: E402

SPECS = Path(__file__).parent.parent / "specs"
LB = Flow(service="shop/web", client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER)


def test_the_counterexample_is_the_executable_models_outcome_in_the_named_state() -> None:
    spec = load_spec(str(SPECS / "rollout-etp-local.yaml"))
    verdict = decide_change(spec.design, LB, "never-dropped", spec.claims[0].during.change, claim="c")
    assert isinstance(verdict, Refuted)
    cx = verdict.counterexample
    assert cx.outcome in route(cx.cluster, cx.flow) and cx.outcome.drop_kind is DropKind.DROP
    # GCP: 8 s x 3 = 24 s per node that loses its last Ready pod, no PreStop sleep; a replacement takes as
    # long to start (the default worst case), and each of the 2 nodes loses its last old pod in turn.
    assert "the claim fails 48 s in all" in cx.detail
    assert "with a PreStop sleep of 24 s (terminationGracePeriodSeconds 30): 0 s dropped" in cx.detail


def test_the_window_follows_the_health_check_timing() -> None:
    from kverify.change.timing import timing_from

    spec = load_spec(str(SPECS / "rollout-etp-local.yaml"))
    timing = timing_from({"intervalSeconds": 5, "timeoutSeconds": 1, "healthyThreshold": 1, "unhealthyThreshold": 2})
    verdict = decide_change(
        spec.design, LB, "never-dropped", spec.claims[0].during.change, claim="c", health_check=timing
    )
    assert isinstance(verdict, Refuted) and "the claim fails 20 s in all" in verdict.counterexample.detail  # 2 x 5 x 2


def test_a_load_balancer_without_health_checks_has_no_window_but_drops_anyway() -> None:
    import attrs

    from kverify.model import LoadBalancerProfile

    spec = load_spec(str(SPECS / "rollout-surge-prestop.yaml"))
    design = attrs.evolve(
        spec.design, cluster=attrs.evolve(spec.cluster, load_balancer=LoadBalancerProfile.NO_HEALTH_CHECK)
    )
    verdict = decide_change(design, LB, "never-dropped", spec.claims[0].during.change, claim="c")
    assert isinstance(verdict, Refuted)  # a node without a pod of the Service gets traffic in some state


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda d: d.replace("count: 2", "count: 2-3"), "fixed number of nodes"),
        (
            lambda d: d.replace("sleep: {seconds: 30}", "httpGet: {path: /drain, port: 8080}"),
            "PreStop hook is neither a sleep",
        ),
    ],
    ids=["a node pool with a range", "an HTTP PreStop hook"],
)
def test_what_is_not_modelled_is_unknown(tmp_path: Path, edit, reason: str) -> None:
    manifest = (SPECS / "manifests" / "design" / "web-rollout-prestop.yaml").read_text()
    spec_text = (SPECS / "rollout-surge-prestop.yaml").read_text()
    (tmp_path / "m.yaml").write_text(edit(manifest))
    spec_text = spec_text.replace("manifests/design/web-rollout-prestop.yaml", "m.yaml")
    (tmp_path / "s.yaml").write_text(edit(spec_text))
    spec = load_spec(str(tmp_path / "s.yaml"))
    verdict = decide_change(spec.design, LB, "never-dropped", spec.claims[0].during.change, claim="c")
    assert isinstance(verdict, Unknown) and reason in verdict.reason, verdict


def test_before_v1_26_a_pre_stop_sleep_does_not_close_the_window(tmp_path: Path) -> None:
    # KEP-1669: ProxyTerminatingEndpoints beta (on) in v1.26; before, kube-proxy never uses a terminating
    # endpoint, so the node that lost its last Ready pod drops for the whole window despite the sleep.
    text = (SPECS / "rollout-surge-prestop.yaml").read_text()
    text = text.replace("manifests/", f"{SPECS}/manifests/").replace(
        "loadBalancer: health-checked", 'loadBalancer: health-checked\n  kubernetesVersion: "1.25"'
    )
    (tmp_path / "s.yaml").write_text(text)
    spec = load_spec(str(tmp_path / "s.yaml"))
    verdict = decide_change(spec.design, LB, "never-dropped", spec.claims[0].during.change, claim="c")
    assert isinstance(verdict, Refuted) and "the claim fails 24 s in all" in verdict.counterexample.detail


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ("aws-nlb-instance", "Refuted 40"),  # LBC instance targets, eTP Local: 10 s x 2, on each of 2 nodes
        ("metallb-l2", "Proved"),  # no probe: announces from a node with a serving pod, following the slices
        ("cilium-l2", "Unknown"),  # announcement timing not modelled
        ("aws-nlb-ip", "Unknown"),  # pod targets
    ],
)
def test_each_load_balancer_profile_has_its_own_window_or_says_unknown(
    tmp_path: Path, profile: str, expected: str
) -> None:
    text = (SPECS / "rollout-etp-local.yaml").read_text().replace("manifests/", f"{SPECS}/manifests/")
    text = text.replace("loadBalancer: health-checked", f"loadBalancer: {profile}")
    (tmp_path / "s.yaml").write_text(text)
    spec = load_spec(str(tmp_path / "s.yaml"))
    verdict = decide_change(spec.design, LB, "never-dropped", spec.claims[0].during.change, claim="c")
    kind, _, seconds = expected.partition(" ")
    assert type(verdict).__name__ == kind, verdict
    if seconds:
        assert f"the claim fails {seconds} s in all" in verdict.counterexample.detail
    if profile.startswith("metallb"):  # the assumption behind the proof is stated with it
        assert any("reaction time" in a for a in verdict.assumptions)


def test_a_drain_of_up_to_k_nodes_tries_every_smaller_drain(tmp_path: Path) -> None:
    from kverify.change.controllers import Change

    spec = load_spec(str(SPECS / "drain-anti-affinity.yaml"))
    flow = Flow(service="shop/cache", client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER)
    one = decide_change(spec.design, flow, "client-ip-preserved", Change(kind="drain", nodes=1), claim="c")
    two = decide_change(spec.design, flow, "client-ip-preserved", Change(kind="drain", nodes=2), claim="c")
    assert "(1 distinct timeline(s))" in one.scope and "(2 distinct timeline(s))" in two.scope


def test_a_pod_disruption_budget_makes_a_drain_unknown(tmp_path: Path) -> None:
    manifest = (SPECS / "manifests" / "design" / "cache-anti-affinity.yaml").read_text()
    pdb = "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: cache, namespace: shop}\n"
    pdb += "spec:\n  minAvailable: 2\n  selector: {matchLabels: {app: cache}}\n"
    (tmp_path / "m.yaml").write_text(manifest + pdb)
    text = (
        (SPECS / "drain-anti-affinity.yaml").read_text().replace("manifests/design/cache-anti-affinity.yaml", "m.yaml")
    )
    (tmp_path / "s.yaml").write_text(text)
    from kverify.check.specfile import evaluate

    run = evaluate(load_spec(str(tmp_path / "s.yaml")))
    assert {r.verdict.verdict for r in run.results} == {"unknown"}
    assert all("PodDisruptionBudget" in r.verdict.reason for r in run.results)


def test_the_autoscalers_taint_fails_healthz_so_an_etp_cluster_lb_leaves_the_node() -> None:
    # KEP-3836 (rule lb-health-checked): under eTP Cluster the LB probes kube-proxy's /healthz, which fails
    # on a node tainted ToBeDeletedByClusterAutoscaler; kubectl drain alone leaves /healthz passing.
    import attrs

    from kverify.change.controllers import Change
    from kverify.change.decide import _setting, _worst
    from kverify.model import TrafficPolicy

    spec = load_spec(str(SPECS / "drain-anti-affinity.yaml"))
    services = tuple(
        attrs.evolve(s, external_traffic_policy=TrafficPolicy.CLUSTER, health_check_node_port=None)
        for s in spec.cluster.services
    )
    design = attrs.evolve(spec.design, cluster=attrs.evolve(spec.cluster, services=services))
    flow = Flow(service="shop/cache", client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER)
    views = {}
    for by in ("kubectl", "autoscaler"):
        setting = _setting(
            design, services[0], flow, "delivered", None, None, Change(kind="drain", nodes=1, by=by), None
        )
        judged, _, _ = _worst(setting)
        views[by] = [(s.start, s.lb_nodes) for s in judged.states]
    assert views["kubectl"] == [(0.0, ("workers-1", "workers-2", "workers-3"))]
    assert views["autoscaler"] == [(0.0, ("workers-1", "workers-2", "workers-3")), (24.0, ("workers-2", "workers-3"))]


# -- the Deployment's documented guarantees, on random rollouts ---------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kverify.change.fenceposts import resolve_fenceposts as _fp  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(
    replicas=st.integers(1, 5),
    surge=st.one_of(st.integers(0, 3), st.sampled_from(["0%", "25%", "50%", "100%"])),
    unavailable=st.one_of(st.integers(0, 3), st.sampled_from(["0%", "25%", "50%"])),
    ready_after=st.integers(0, 20),
    min_ready=st.integers(0, 20),
    nodes=st.integers(1, 4),
)
def test_a_rollout_keeps_the_deployments_bounds(replicas, surge, unavailable, ready_after, min_ready, nodes) -> None:
    """Kubernetes docs, Deployments, "Rolling Update Deployment": at least ``replicas - maxUnavailable``
    pods are available and at most ``replicas + maxSurge`` pods are created, at every moment; every old
    pod goes and ``replicas`` new pods come when every new pod can be scheduled."""
    if _fp(surge, unavailable, replicas) == (0, 0) or (surge in (0, "0%") and unavailable in (0, "0%")):
        return  # rejected by validation
    s, u = _fp(surge, unavailable, replicas)
    life = Lifecycle(
        max_surge=surge, max_unavailable=unavailable, ready_after_seconds=ready_after, min_ready_seconds=min_ready
    )
    sim = Simulator(_workload(replicas, life), _slots(nodes), limit=5000)
    initial = {f"shop/web-{i}": f"n{1 + i % nodes}" for i in range(replicas)}
    for t in sim.rollouts(initial):
        instants = sorted(
            {0.0, *(x for p in t.pods for x in (p.created, p.deleted_at, p.ready_at + min_ready) if 0 <= x < INF)}
        )
        for now in instants:
            available = sum(
                1
                for p in t.pods
                if p.node is not None
                and p.deleted_at > now
                and (p.generation == "old" or p.ready_at + min_ready <= now)
            )
            created = sum(1 for p in t.pods if p.created <= now and p.deleted_at > now)
            assert available >= min(replicas - u, replicas), (now, t)
            assert created <= replicas + s, (now, t)
        assert all(p.deleted_at < INF for p in t.pods if p.generation == "old")
        assert sum(1 for p in t.pods if p.generation == "new") == replicas


def test_a_replacement_on_the_same_node_drops_while_it_starts(tmp_path: Path) -> None:
    # One replica on one node (maxSurge 0, maxUnavailable 1): the old pod goes at once and the new one
    # can only go to the same node; until it is Ready the node has no endpoint. Instant start: no drop;
    # the default start (the 24 s window): the load balancer has nowhere else to send (fail open).
    manifest = (SPECS / "manifests" / "design" / "web-rollout.yaml").read_text().replace("replicas: 2", "replicas: 1")
    (tmp_path / "m.yaml").write_text(manifest)
    verdicts = {}
    for start in ("", ", podStartSeconds: 0"):
        text = (SPECS / "rollout-etp-local.yaml").read_text()
        text = text.replace("manifests/design/web-rollout.yaml", "m.yaml").replace("count: 2", "count: 1")
        text = text.replace(
            "during: {rollout: {}, healthCheck: gcp}", f"during: {{rollout: {{}}, healthCheck: gcp{start}}}"
        )
        (tmp_path / "s.yaml").write_text(text)
        spec = load_spec(str(tmp_path / "s.yaml"))
        verdicts[start] = decide_change(
            spec.design,
            LB,
            "delivered",
            spec.claims[0].during.change,
            claim="c",
            start_seconds=spec.claims[0].during.start_seconds,
        )
    assert isinstance(verdicts[""], Refuted) and "the claim fails 24 s in all" in verdicts[""].counterexample.detail
    assert verdicts[", podStartSeconds: 0"].verdict == "proved"


@pytest.mark.parametrize(
    ("client", "destination", "through_lb"),
    [
        (ClientKind.EXTERNAL, Destination.LOAD_BALANCER, True),
        (ClientKind.EXTERNAL, Destination.NODE_PORT, False),
        (ClientKind.POD, Destination.CLUSTER_IP, False),
    ],
)
def test_only_a_flow_through_the_load_balancer_is_told_where_it_sends(
    tmp_path: Path, client: ClientKind, destination: Destination, through_lb: bool
) -> None:
    # One replica, deleted at once: every flow finds no endpoint for the new pod's start (24 s). The
    # lagging load balancer decides where a flow to its address lands; a pod's ClusterIP flow or a
    # NodePort flow never meets it, so its counterexample must not speak of it.
    manifest = (SPECS / "manifests" / "design" / "web-rollout.yaml").read_text().replace("replicas: 2", "replicas: 1")
    (tmp_path / "m.yaml").write_text(manifest)
    text = (SPECS / "rollout-etp-local.yaml").read_text()
    (tmp_path / "s.yaml").write_text(
        text.replace("manifests/design/web-rollout.yaml", "m.yaml").replace("count: 2", "count: 1")
    )
    spec = load_spec(str(tmp_path / "s.yaml"))
    flow = Flow(service="shop/web", client=client, destination=destination)
    during = spec.claims[0].during
    verdict = decide_change(
        spec.design, flow, "delivered", during.change, claim="c", start_seconds=during.start_seconds
    )
    assert isinstance(verdict, Refuted) and "the claim fails 24 s in all" in verdict.counterexample.detail
    assert ("the load balancer sends to" in verdict.counterexample.detail) is through_lb


def test_a_daemonset_rollout_replaces_pods_node_by_node_within_max_unavailable() -> None:
    # daemonset_util.go UnavailableCount rounds the percentage up: 30% of 5 nodes = 2 at a time; the new
    # pod of a node is created when its old pod is gone (PreStop 4 s), Ready 6 s later (start 6 s).
    w = attrs.evolve(
        _workload(1, Lifecycle(max_surge=0, max_unavailable="30%", pre_stop_seconds=4)), kind=WorkloadKind.DAEMON_SET
    )
    sim = Simulator(w, _slots(5), limit=100, start_seconds=6)
    placed = {f"shop/web-n{i}": f"n{i}" for i in range(1, 6)}
    timelines = list(sim.daemon_rollouts(placed))
    assert len(timelines) == 1  # the nodes are alike
    deleted = sorted(p.deleted_at for p in timelines[0].pods if p.generation == "old")
    assert deleted == [0.0, 0.0, 10.0, 10.0, 20.0]
    for p in timelines[0].pods:
        if p.generation == "new":
            assert p.ready_at == p.created + 6 and p.created in (4.0, 14.0, 24.0)


def test_the_bundled_daemonset_rollout_drops_its_start_time_on_every_node() -> None:
    from kverify.check.specfile import evaluate

    spec = load_spec(str(SPECS / "design-web-daemonset.yaml"))
    (result,) = [r for r in evaluate(spec).results if r.claim == "rollout-never-drops"]
    assert "the claim fails 50 s in all" in result.verdict.counterexample.detail  # 5 nodes x 10 s
