"""The version axis: ``--kubernetes-version``, ``--feature-gates``, spec ``environment``, and proofs per version.

Routing per version is tested by the rows of ``tests/kubernetes_cases/versions.yaml`` and
``topology_v1_26.yaml``; the twin check draws versions and gates too (``tests/test_differential.py``).
"""

from __future__ import annotations

import json

import pytest

from kverify.cli import main
from kverify.load.export import manifests
from kverify.model import Dataplane, ProxyConfig
from kverify.model.versions import NEWEST, gate_defaults, parse_feature_gates, parse_version, resolve_gates
from kverify.prove.claims import find_claim
from kverify.prove.run import prove_claim
from kverify.verdicts import Proved, Refuted
from tests.kubernetes_cases import rows


def _manifest(tmp_path) -> str:  # type: ignore[no-untyped-def]
    case = next(r for r in rows.load_rows("flow") if r["id"].startswith("nftables v1.34: the same pod"))
    path = tmp_path / "cluster.yaml"
    path.write_text(manifests(rows.cluster(case)))
    return str(path)


def _trace(tmp_path, *extra: str) -> list[str]:  # type: ignore[no-untyped-def]
    words = ["trace", _manifest(tmp_path), "--service", "ns1/svc1", "--to", "load-balancer", "--from", "pod"]
    return [*words, "--node", "test-node", "--dst-ip", "1.2.3.4", "--port", "80", *extra]


@pytest.mark.parametrize(
    ("flags", "field", "words"),
    [
        (["--kubernetes-version", "1.99"], "--kubernetes-version", "1.24 through 1.34"),
        (["--kubernetes-version", "banana"], "--kubernetes-version", "Unsupported value"),
        (["--feature-gates", "NoSuchGate=true"], "--feature-gates", "unrecognized feature gate: NoSuchGate"),
        (["--feature-gates", "TopologyAwareHints"], "--feature-gates", "must be Name=true or Name=false"),
        (
            ["--kubernetes-version", "1.30", "--feature-gates", "ProxyTerminatingEndpoints=false"],
            "--feature-gates",
            "locked to true",
        ),
        (["--kubernetes-version", "1.25", "--feature-gates", "LoadBalancerIPMode=true"], "--feature-gates", "v1.29"),
        (["--dataplane", "nftables", "--kubernetes-version", "1.28"], "--dataplane", "NFTablesProxyMode"),
    ],
)
def test_bad_version_or_gates_is_one_line_naming_the_flag(tmp_path, capsys, flags, field, words) -> None:  # type: ignore[no-untyped-def]
    assert main(_trace(tmp_path, *flags)) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert field in err and words in err, err


def test_trace_says_the_version_it_answered_for(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    host = [w if w != "pod" else "node" for w in _trace(tmp_path, "--dataplane", "nftables")]
    assert main([*host, "--kubernetes-version", "1.32"]) == 0
    text = capsys.readouterr().out
    assert "answered for nftables, Kubernetes v1.32 (default feature gates)" in text
    assert "DROPPED" in text and "nftables-no-endpoint-services-pre-dnat" in text
    # A pod on that node is short-circuited in nat-prerouting before filter-forward looks (v1.32 too).
    assert main(_trace(tmp_path, "--dataplane", "nftables", "--kubernetes-version", "1.32")) == 0
    text = capsys.readouterr().out
    assert "1 delivered" in text and "nftables-no-endpoint-services-pre-dnat" not in text
    assert main(_trace(tmp_path, "--dataplane", "nftables", "--format", "json")) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["kubernetes_version"] == f"v1.{NEWEST}"
    assert document["feature_gates"]["NFTablesProxyMode"] is True
    assert [o["endpoint_ip"] for o in document["outcomes"]] == ["10.180.2.1"]


def test_nftables_before_its_gate_is_on_by_default_needs_the_gate(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    flags = ["--dataplane", "nftables", "--kubernetes-version", "1.30", "--feature-gates", "NFTablesProxyMode=true"]
    assert main(_trace(tmp_path, *flags)) == 0
    assert "NFTablesProxyMode=true" in capsys.readouterr().out


def test_version_parsing_and_gate_defaults() -> None:
    assert parse_version("v1.31.4") == parse_version("1.31") == 31
    assert parse_feature_gates("A=true, B=false") == (("A", True), ("B", False))
    # KEP-1669: beta and on by default in v1.26, GA and locked in v1.28.
    assert [gate_defaults(m)["ProxyTerminatingEndpoints"] for m in (25, 26)] == [False, True]
    assert resolve_gates(27, (("ProxyTerminatingEndpoints", False),))["ProxyTerminatingEndpoints"] is False
    with pytest.raises(ValueError, match="locked"):
        resolve_gates(28, (("ProxyTerminatingEndpoints", False),))
    with pytest.raises(ValueError, match="kubernetes_version"):
        ProxyConfig(kubernetes_version=23)


def test_spec_environment_takes_the_version(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: v}\n"
        "environment: {kubernetesVersion: '1.99', featureGates: {NoSuchGate: true}}\n"
        "topology: {nodes: 1, services: []}\n"
    )
    assert main(["check", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "environment.kubernetesVersion" in err and "1.24 through 1.34" in err


def test_a_claim_can_hold_at_one_version_and_not_at_another() -> None:
    """Before ProxyTerminatingEndpoints was on by default (v1.26), a node answering 503 had no usable
    local endpoint, so it delivered nothing; from v1.26 it forwards to its terminating pods."""
    claim = find_claim("health-check-503-means-no-delivery")
    assert isinstance(prove_claim(claim, Dataplane.IPTABLES, version=25), Proved)
    assert isinstance(prove_claim(claim, Dataplane.IPTABLES, version=26), Refuted)
    assert isinstance(
        prove_claim(claim, Dataplane.IPTABLES, version=25, feature_gates=(("ProxyTerminatingEndpoints", True),)),
        Refuted,
    )


def test_prove_all_versions_prints_the_versions_a_claim_holds_for(capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["prove", "health-check-503-means-no-delivery", "--dataplane", "iptables", "--all-versions", "--jobs", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "iptables     holds for v1.24-v1.25 (refuted for the others)" in out


def test_prove_all_versions_leaves_out_versions_without_the_dataplane(capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["prove", "pod-cluster-ip-keeps-pod-ip", "--dataplane", "nftables", "--all-versions", "--jobs", "1"]
    assert main([*args, "--format", "json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    # nftables mode exists from v1.29 but is on by default only from v1.31 (NFTablesProxyMode beta).
    assert result["holds_for"] == [f"v1.{m}" for m in range(31, NEWEST + 1)]
