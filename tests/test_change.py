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
