"""The theorem library: each claim reaches the verdict Kubernetes' behaviour implies, on each dataplane.

The expected verdicts and minimal sizes are stated in ``kverify/prove/claims.py`` with the Kubernetes
source that implies them; these tests fail when the solver disagrees.
"""

from __future__ import annotations

import json
import shlex

import pytest

from kverify.cli import main
from kverify.prove.claims import ALL_CLAIMS, HOLDS
from kverify.prove.run import prove_claim
from kverify.verdicts import Proved, Refuted

CASES = [(c, dp) for c in ALL_CLAIMS for dp in c.expected]


@pytest.mark.parametrize(("claim", "dataplane"), CASES, ids=[f"{c.id}-{dp.spelling}" for c, dp in CASES])
def test_claim_verdict(claim, dataplane) -> None:  # type: ignore[no-untyped-def]
    verdict = prove_claim(claim, dataplane)
    if claim.expected[dataplane] == HOLDS:
        assert isinstance(verdict, Proved), verdict
        assert "any number of nodes and endpoints" in verdict.scope
    else:
        assert isinstance(verdict, Refuted), verdict
        cx = verdict.counterexample
        if dataplane in claim.minimal:
            assert (cx.nodes, cx.endpoints) == claim.minimal[dataplane]


REPLAYED = [
    ("etp-local-always-delivers", "iptables"),
    ("etp-cluster-preserves-client-ip", "nftables"),
    ("etp-local-in-cluster-stays-local", "iptables"),
    ("hairpin-preserves-client-ip", "ipvs"),
    ("external-reply-ok", "dnat-only"),
    ("etp-local-external-stays-local", "ipvs"),
    ("unallocated-service-ip-dropped", "iptables"),  # an address claim: trace --to-address replays it
]


@pytest.mark.parametrize(("claim_id", "dataplane"), REPLAYED)
def test_counterexample_replays_through_kverify_trace(claim_id, dataplane, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from kverify.model import Dataplane
    from kverify.prove.claims import find_claim

    claim = find_claim(claim_id)
    verdict = prove_claim(claim, Dataplane.parse(dataplane))
    assert isinstance(verdict, Refuted)
    cx = verdict.counterexample
    (tmp_path / f"{cx.id}.yaml").write_text(cx.manifest)
    words = shlex.split(cx.command)
    assert words[:2] == ["kverify", "trace"]
    args = [str(tmp_path / w) if w.endswith(".yaml") else w for w in words[1:]]
    assert main([*args, "--format", "json"]) == 0
    outcomes = json.loads(capsys.readouterr().out)["outcomes"]
    shown = cx.outcome.to_json()
    assert any(
        o["node"] == shown["node"]
        and o["endpoint_ip"] == shown["endpoint_ip"]
        and o["delivered"] == shown["delivered"]
        and o["source_ip_seen"] == shown["source_ip_seen"]
        and o["reply_ok"] == shown["reply_ok"]
        for o in outcomes
    ), (shown, outcomes)


def test_prove_json_lists_every_claim_and_dataplane(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["prove", "--format", "json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert {(r["claim"], r["dataplane"]) for r in results} == {(c.id, d.spelling) for c, d in CASES}
    for r in results:
        assert r["verdict"] in ("proved", "refuted")
        if r["verdict"] == "refuted":
            cx = r["counterexample"]
            assert (
                cx["nodes"] >= 1 and cx["endpoints"] >= 0 and cx["trace"] and cx["command"].startswith("kverify trace")
            )
        else:
            assert "nodes" in r["scope"]


def test_lb_without_health_checks_counterexample_is_two_nodes_one_endpoint() -> None:
    from kverify.model import Dataplane
    from kverify.prove.claims import find_claim

    verdict = prove_claim(find_claim("etp-local-always-delivers"), Dataplane.IPTABLES)
    assert isinstance(verdict, Refuted)
    cx = verdict.counterexample
    assert (cx.nodes, cx.endpoints) == (2, 1)
    assert not cx.outcome.delivered and cx.outcome.drop_kind.spelling == "drop"
    endpoint = cx.cluster.services[0].endpoints[0]
    assert endpoint.node_name != cx.outcome.node  # the LB sent it to the node without the pod


def test_a_solver_timeout_is_unknown_and_never_passes(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The query answers within a millisecond now, so a real 1 ms timeout no longer reliably fires: the
    # solver gives up as a timeout makes it, deterministically.
    import z3

    monkeypatch.setattr(z3.Solver, "check", lambda self, *assumptions: z3.unknown)
    monkeypatch.setattr(z3.Solver, "reason_unknown", lambda self: "timeout")
    code = main(["prove", "etp-cluster-delivers", "--dataplane", "iptables", "--timeout", "0.001"])
    out = capsys.readouterr().out
    assert code == 3
    assert "UNKNOWN" in out and "timeout" in out


def test_unknown_claim_is_a_usage_error(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["prove", "no-such-claim"]) == 2
    assert 'Not found: "no-such-claim"' in capsys.readouterr().err


def test_the_solver_is_deterministic() -> None:
    from kverify.model import Dataplane
    from kverify.prove.claims import find_claim

    first = prove_claim(find_claim("etp-local-always-delivers"), Dataplane.NFTABLES)
    second = prove_claim(find_claim("etp-local-always-delivers"), Dataplane.NFTABLES)
    assert isinstance(first, Refuted) and isinstance(second, Refuted)
    assert first.counterexample.id == second.counterexample.id
    assert first.counterexample.manifest == second.counterexample.manifest
