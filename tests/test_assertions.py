"""The assertion API (kverify.testing.assertions): proofs and concrete checks, and what their failures say.

A failure message is a counterexample a reviewer can act on: the outcome line, every hop, and a
command that reproduces it; these tests run that command. Usage errors name the mistake, and no
failure shows a traceback into kverify.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

import kverify
from kverify.cli import main
from kverify.errors import InputError
from kverify.model import (
    ClientKind,
    Cluster,
    Destination,
    Endpoint,
    Node,
    Service,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)
from kverify.prove.claims import Claim, find_claim
from kverify.report.trace_text import outcome_line
from kverify.results import Outcome
from kverify.testing import Trace, assert_holds, assert_refuted, flow_to, load_cluster, trace
from kverify.verdicts import Counterexample, Proved, Refuted, Unknown

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = str(ROOT / "examples" / "article" / "cluster.yaml")


def _article(load_balancer: str = "no-health-check") -> Cluster:
    return load_cluster(ARTICLE, load_balancer=load_balancer)


def _two_nodes_one_pod(policy: TrafficPolicy) -> Cluster:
    """Built in code: a NodePort Service with its only pod on node-a."""
    return Cluster(
        nodes=[Node(name="node-a", addresses=["192.168.0.11"]), Node(name="node-b", addresses=["192.168.0.12"])],
        services=[
            Service(
                namespace="default",
                name="web",
                type=ServiceType.NODE_PORT,
                cluster_ips=["10.96.0.10"],
                ports=[ServicePort(name="http", port=80, node_port=30080, target_port=8080)],
                external_traffic_policy=policy,
                endpoints=[Endpoint(ip="10.244.1.5", node_name="node-a", pod="default/web-0")],
            )
        ],
    )


def _run_reproduce(command: str, cwd: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Run a `kverify trace ...` command line from a failure message, as a user would."""
    words = shlex.split(command)
    assert words[:2] == ["kverify", "trace"], command
    old = Path.cwd()
    os.chdir(cwd)
    try:
        assert main(words[1:]) == 0
    finally:
        os.chdir(old)
    return capsys.readouterr().out


def _message(call: Callable[[], object]) -> str:
    with pytest.raises(AssertionError) as info:
        call()
    return str(info.value)


# -- proofs (Z3) ----------------------------------------------------------------------------------

HOLDING = [
    ("etp-local-external-stays-local", "iptables"),
    ("etp-local-external-stays-local", None),  # iptables, kube-proxy's default mode
    ("etp-cluster-delivers", "cilium-dsr"),
    ("hairpin-preserves-client-ip", "cilium-snat"),
]


@pytest.mark.parametrize(("claim_id", "dataplane"), HOLDING)
def test_assert_holds_returns_the_proof_with_its_scope(claim_id: str, dataplane: str | None) -> None:
    verdict = assert_holds(claim_id, dataplane=dataplane)
    assert isinstance(verdict, Proved)
    assert verdict.claim == claim_id and "nodes" in verdict.scope


REFUTED = [
    ("etp-local-external-stays-local", "ipvs"),
    ("etp-local-always-delivers", "iptables"),
    ("etp-cluster-preserves-client-ip", "nftables"),
    ("hairpin-preserves-client-ip", "ipvs"),
]


@pytest.mark.parametrize(("claim_id", "dataplane"), REFUTED)
def test_assert_refuted_returns_the_minimal_counterexample(claim_id: str, dataplane: str) -> None:
    cx = assert_refuted(claim_id, dataplane=dataplane)
    assert isinstance(cx, Counterexample)
    plane = kverify.Dataplane.parse(dataplane)
    minimal = find_claim(claim_id).minimal
    if plane in minimal:
        assert (cx.nodes, cx.endpoints) == minimal[plane]


@pytest.mark.parametrize(("claim_id", "dataplane"), REFUTED)
def test_a_refuted_proof_fails_with_the_counterexample_and_its_hops(
    claim_id: str, dataplane: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import kverify.prove.run

    # The solver's choice among minimal counterexamples may depend on earlier queries in the process,
    # so take the counterexample this very call found.
    seen: list[Refuted] = []
    prove_claim = kverify.prove.run.prove_claim
    monkeypatch.setattr(kverify.prove.run, "prove_claim", lambda *a, **k: seen.append(prove_claim(*a, **k)) or seen[-1])
    message = _message(lambda: assert_holds(claim_id, dataplane=dataplane))
    cx = seen[0].counterexample
    assert message.startswith(f"claim {claim_id!r} does not hold on {dataplane}: counterexample {cx.id}")
    assert outcome_line(cx.outcome) in message
    assert cx.outcome.hops and all(str(hop) in message for hop in cx.outcome.hops)
    assert f"kverify prove {claim_id} --dataplane {dataplane}" in message
    assert f"save the manifest below as {cx.id}.yaml, then:" in message
    assert cx.manifest.splitlines()[0] in message
    # The reproduce command, run on the manifest the message shows, prints the same outcome.
    (tmp_path / f"{cx.id}.yaml").write_text(cx.manifest)
    command = next(line.strip() for line in message.splitlines() if line.strip().startswith("kverify trace"))
    out = _run_reproduce(command, tmp_path, capsys)
    assert outcome_line(cx.outcome) in out


@pytest.mark.parametrize(("claim_id", "dataplane"), HOLDING[:2])
def test_assert_refuted_fails_on_a_proof_and_states_its_scope(claim_id: str, dataplane: str | None) -> None:
    message = _message(lambda: assert_refuted(claim_id, dataplane=dataplane))
    assert f"expected claim {claim_id!r} to be refuted on iptables, but it holds" in message
    assert "proved for all clusters" in message and "assuming" in message


@pytest.mark.parametrize("assertion", [assert_holds, assert_refuted], ids=["holds", "refuted"])
def test_unknown_never_passes(assertion: Callable[..., object], monkeypatch: pytest.MonkeyPatch) -> None:
    import kverify.prove.run

    def unknown(claim, dataplane, **_bounds):  # type: ignore[no-untyped-def]
        return Unknown(claim=claim.id, dataplane=dataplane, reason="solver: timeout")

    monkeypatch.setattr(kverify.prove.run, "prove_claim", unknown)
    message = _message(lambda: assertion("etp-cluster-delivers"))
    assert "UNKNOWN (solver: timeout)" in message and "unknown never passes" in message


POD_TO_CLUSTER_IP = Claim(
    id="pod-to-cluster-ip-keeps-client-ip",
    statement="A pod calling a ClusterIP is seen with its own IP.",
    assume=lambda w: w.ops.and_(w.client_is(ClientKind.POD), w.destination_is(Destination.CLUSTER_IP)),
    require=lambda w: w.ops.implies(w.delivered(), w.client_ip_kept()),
    expected={},
    why="",
)
POD_TO_CLUSTER_IP_DELIVERS = attrs.evolve(
    POD_TO_CLUSTER_IP,
    id="pod-to-cluster-ip-delivers",
    statement="iTP Cluster: a pod calling a ClusterIP reaches an endpoint when one is usable.",
    assume=lambda w: w.ops.and_(
        w.client_is(ClientKind.POD),
        w.destination_is(Destination.CLUSTER_IP),
        w.ops.not_(w.itp_local()),
        w.any_usable_endpoint(),
    ),
    require=lambda w: w.delivered(),
)


def test_your_own_claim_is_proved() -> None:
    assert isinstance(assert_holds(POD_TO_CLUSTER_IP_DELIVERS, dataplane="nftables"), Proved)


def test_your_own_claim_is_refuted_with_a_manifest_to_save() -> None:
    cx = assert_refuted(POD_TO_CLUSTER_IP)
    assert cx.outcome.masqueraded  # a pod outside --cluster-cidr looks off-cluster to kube-proxy
    message = _message(lambda: assert_holds(POD_TO_CLUSTER_IP))
    assert "reproduce: save the manifest below as cx-" in message and "kverify prove" not in message
    assert " -> " in message.splitlines()[3]  # the hops follow the outcome line


# -- one cluster, one flow (the executable model) -------------------------------------------------


def delivered(outcome: Outcome) -> bool:
    return outcome.delivered


def keeps_client_ip(outcome: Outcome) -> bool:
    return outcome.delivered and not outcome.masqueraded


@attrs.frozen
class Row:
    id: str
    check: object  # a predicate or a claim id
    service: str
    to: str
    load_balancer: str = "no-health-check"
    dataplane: str | None = None
    client: str = "external"
    broken_at: tuple[str, ...] = ()  # the handling nodes of the outcomes that break it


ROWS = [
    Row("eTP Cluster delivers at every node", delivered, "shop/web-cluster", "load-balancer"),
    Row(
        "eTP Cluster masquerades external clients",
        keeps_client_ip,
        "shop/web-cluster",
        "load-balancer",
        broken_at=("node-a", "node-a", "node-b", "node-b", "node-c", "node-c"),
    ),
    Row(
        "eTP Local drops at the node without a pod", delivered, "shop/web-local", "load-balancer", broken_at=("node-c",)
    ),
    Row(
        "eTP Local behind a health-checked LB never meets node-c",
        delivered,
        "shop/web-local",
        "load-balancer",
        load_balancer="health-checked",
    ),
    Row("library claim holds on iptables", "etp-local-external-stays-local", "shop/web-local", "load-balancer"),
    Row(
        "library claim fails on ipvs at node-c",
        "etp-local-external-stays-local",
        "shop/web-local",
        "load-balancer",
        dataplane="ipvs",
        broken_at=("node-c", "node-c"),
    ),
    Row("pods reach the ClusterIP from every node", delivered, "shop/web-local", "cluster-ip", client="pod"),
]


def _flow(row: Row) -> kverify.Flow:
    return flow_to(row.service, row.to, client=row.client)


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_concrete_checks(row: Row, capsys: pytest.CaptureFixture[str]) -> None:
    cluster = _article(row.load_balancer)
    kwargs = {"cluster": cluster, "flow": _flow(row), "dataplane": row.dataplane}
    if not row.broken_at:
        result = assert_holds(row.check, **kwargs)  # type: ignore[call-overload]
        assert isinstance(result, Trace) and len(result) >= 1
        assert "not hold" not in _message(lambda: assert_refuted(row.check, **kwargs))  # type: ignore[call-overload]
        return
    broken = assert_refuted(row.check, **kwargs)  # type: ignore[call-overload]
    assert tuple(o.node for o in broken) == row.broken_at
    message = _message(lambda: assert_holds(row.check, **kwargs))  # type: ignore[call-overload]
    total = len(trace(cluster, _flow(row), dataplane=row.dataplane))
    assert f"fails for {len(broken)} of {total} outcome(s) of external client -> {row.service}" in message
    for outcome in broken[:4]:
        assert outcome_line(outcome) in message
        assert outcome.hops and all(f"      {hop}" in message for hop in outcome.hops)
    # Loaded from a file: the reproduce command names it, and prints the same outcomes.
    command = message.splitlines()[-1].strip()
    assert command.startswith(f"kverify trace {ARTICLE} --service {row.service}")
    out = _run_reproduce(command, ROOT, capsys)
    assert all(outcome_line(o) in out for o in broken)


def test_predicate_is_named_by_its_function_and_line() -> None:
    message = _message(
        lambda: assert_holds(keeps_client_ip, cluster=_article(), flow=flow_to("shop/web-cluster", "load-balancer"))
    )
    assert message.startswith("predicate keeps_client_ip (test_assertions.py:")


def test_cluster_built_in_code_fails_with_a_command_for_its_exported_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kverify.load.export import manifests

    cluster = _two_nodes_one_pod(TrafficPolicy.LOCAL)
    flow = flow_to("default/web", "node-port")
    message = _message(lambda: assert_holds(delivered, cluster=cluster, flow=flow))
    assert "at node-b: DROPPED (silently)" in message
    assert "save kverify.load.export.manifests(cluster) as cluster.yaml" in message
    (tmp_path / "cluster.yaml").write_text(manifests(cluster))
    out = _run_reproduce(message.splitlines()[-1].strip(), tmp_path, capsys)
    assert "at node-b: DROPPED (silently)" in out


def test_a_claim_that_meets_no_outcome_fails_as_vacuous() -> None:
    pod_flow = flow_to("shop/web-local", "cluster-ip", client="pod")
    message = _message(lambda: assert_holds("etp-local-external-stays-local", cluster=_article(), flow=pod_flow))
    assert "holds only vacuously" in message and "at node-a: delivered" in message


def test_assert_refuted_fails_when_every_outcome_holds() -> None:
    flow = flow_to("shop/web-cluster", "load-balancer")
    message = _message(lambda: assert_refuted(delivered, cluster=_article(), flow=flow))
    assert message.startswith("expected predicate delivered (test_assertions.py:")
    assert "but all hold" in message and message.count("delivered to") == 6


# -- trace ----------------------------------------------------------------------------------------


def test_trace_returns_outcomes_and_renders_them_as_the_cli_does(capsys: pytest.CaptureFixture[str]) -> None:
    result = trace(_article(), flow_to("shop/web-local", "load-balancer"))
    assert [o.node for o in result.delivered] == ["node-a", "node-b"]
    assert [o.node for o in result.dropped] == ["node-c"]
    assert result[0] is result.outcomes[0] and list(result) == list(result.outcomes)
    out = _run_reproduce(result.command, ROOT, capsys)
    assert out.rstrip("\n") == result.render() == str(result)
    assert "      client -> load-balancer" not in result.render(hops=False)


def test_trace_on_another_dataplane_and_load_balancer() -> None:
    result = trace(
        _article("health-checked"),
        flow_to("shop/web-local", "load-balancer"),
        dataplane="ipvs",
        load_balancer="no-health-check",
    )
    assert result.cluster.proxy.dataplane is kverify.Dataplane.IPVS
    assert any(o.crosses_nodes for o in result)  # ipvs' fallback at node-c


# -- usage errors ---------------------------------------------------------------------------------

FLOW = flow_to("shop/web-local", "load-balancer")
USAGE = [
    ("unknown claim", lambda: assert_holds("etp-locl"), ValueError, 'Not found: "etp-locl" (claims: etp-local-'),
    (
        "misspelt dataplane",
        lambda: assert_holds("etp-cluster-delivers", dataplane="iptable"),
        ValueError,
        "dataplane: Unsupported value: 'iptable'",
    ),
    ("predicate without a cluster", lambda: assert_holds(delivered), TypeError, "pass cluster= and flow="),
    (
        "cluster without a flow",
        lambda: assert_holds(delivered, cluster=_article()),
        TypeError,
        "pass both cluster= and flow=",
    ),
    (
        "load balancer for a proof",
        lambda: assert_refuted("etp-cluster-delivers", load_balancer="ip-target"),
        TypeError,
        "a claim fixes its own load balancer",
    ),
    (
        "spread claim on one cluster",
        lambda: assert_refuted("etp-local-even-spread", cluster=_article(), flow=FLOW),
        TypeError,
        "prove it (no cluster=)",
    ),
    (
        "manifest paths instead of a cluster",
        lambda: assert_holds(delivered, cluster=ARTICLE, flow=FLOW),
        TypeError,
        "see load_cluster()",
    ),
    (
        "unknown service",
        lambda: trace(_article(), flow_to("shop/web", "load-balancer")),
        InputError,
        'Not found: "shop/web" (services: shop/web-cluster, shop/web-local)',
    ),
    (
        "unknown destination word",
        lambda: flow_to("shop/web", "loadbalancer"),
        ValueError,
        "to: Unsupported value: 'loadbalancer'",
    ),
    (
        "bad manifest",
        lambda: load_cluster(ROOT / "tests/data/manifests/errors/bad-values.yaml"),
        InputError,
        "bad-values.yaml:",
    ),
]


@pytest.mark.parametrize(("call", "error", "text"), [u[1:] for u in USAGE], ids=[u[0] for u in USAGE])
def test_usage_errors_say_what_is_wrong_without_kverify_internals(
    call: Callable[[], object], error: type[Exception], text: str
) -> None:
    with pytest.raises(error) as info:
        call()
    assert text in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__ or info.value.__context__ is None


# -- in a real pytest run -------------------------------------------------------------------------


def test_a_failing_test_shows_the_counterexample_not_kverify_frames(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            f"""
            from kverify.testing import assert_holds, flow_to, load_cluster

            def test_local_stays_local_on_ipvs():
                assert_holds("etp-local-external-stays-local", dataplane="ipvs")

            def test_web_local_always_delivers():
                cluster = load_cluster({ARTICLE!r}, load_balancer="no-health-check")
                assert_holds(lambda o: o.delivered, cluster=cluster, flow=flow_to("shop/web-local", "load-balancer"))
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}  # not an xdist worker
    env["PYTHONPATH"] = str(ROOT)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert "2 failed" in out
    failures = [line for line in out.splitlines() if line.startswith("E ")]
    for expected in (
        "AssertionError: claim 'etp-local-external-stays-local' does not hold on ipvs",
        "reproduce: save the manifest below as cx-",
        "AssertionError: predicate <lambda> (test_user.py:9) fails for 1 of 3 outcome(s)",
        "  at node-c: DROPPED (silently)",
        "    node-c -> (end): src 203.0.113.10 dst 198.51.100.11:80 (DROP by the proxy on node-c)",
    ):
        assert any(expected in line for line in failures), (expected, out)
    hops = [line for line in failures if re.match(r"E\s+\S+ -> \S+: src \S+ dst \S+", line)]
    assert len(hops) >= 4, out  # the proof's counterexample and the drop at node-c, hop by hop
    assert "kverify/testing/assertions.py" not in out and "kverify/prove/run.py" not in out


def test_importing_the_api_loads_neither_z3_nor_the_engines() -> None:
    code = (
        "import sys, kverify, kverify.testing; "
        "kverify.testing.assert_holds; "
        "print('z3' in sys.modules, 'hypothesis' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_top_level_names() -> None:
    assert kverify.__all__ == sorted(kverify.__all__)
    for name in kverify.__all__:
        assert getattr(kverify, name) is not None
    assert kverify.assert_holds is assert_holds and kverify.testing.trace is trace  # type: ignore[attr-defined]
