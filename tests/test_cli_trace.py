"""`kverify trace`: the command-line view of the executable model.

Rows transcribed from Kubernetes' tests are replayed through the CLI (manifests written to files,
JSON output parsed); the article's three-node example shows its four pictures; bad input exits 2
with one line per problem and no traceback.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from kverify.cli import main
from kverify.load.export import manifests
from tests.kubernetes_cases import rows

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = str(ROOT / "examples" / "article" / "cluster.yaml")
ERRORS = ROOT / "tests" / "data" / "manifests" / "errors"

PICKED = [
    "nftables TestExternalTrafficPolicyLocal: external to LB IP hits only local endpoint, unmasqueraded",
    "nftables TestExternalTrafficPolicyCluster: external to LB IP hits both endpoints, masqueraded",
    "nftables TestInternalExternalMasquerade [base]: pod to LB with eTP:Local",
    "nftables TestInternalExternalMasquerade [no LocalTrafficDetector]: pod to LB with eTP:Local",
    "nftables TestInternalExternalMasquerade [masqueradeAll]: node to LB with eTP:Local",
    "nftables TestInternalTrafficPolicy [internalTrafficPolicy is local and there are no local endpoints]: "
    "no endpoints",
    "nftables TestNoEndpointsReject: pod to cluster IP with no endpoints",
    "nftables TestClusterIPGeneral: hairpin to cluster IP",
]


def _run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:  # type: ignore[type-arg]
    assert main(["trace", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def _picked_rows() -> list[dict]:  # type: ignore[type-arg]
    by_id = {r["id"]: r for r in rows.load_rows("flow")}
    return [by_id[i] for i in PICKED]


@pytest.mark.parametrize("case", _picked_rows(), ids=lambda c: c["id"])
def test_kubernetes_rows_through_the_cli(case, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    cluster = rows.cluster(case)
    path = tmp_path / "cluster.yaml"
    path.write_text(manifests(cluster))
    f = case["flow"]
    proxy = case.get("proxy") or {}
    args = [str(path), "--service", cluster.services[0].key, "--to", f["to"], "--from", f["from"]]
    args += ["--src-ip", f["src_ip"], "--node", f["node"], "--dst-ip", f["dst_ip"], "--port", str(f["port"])]
    args += ["--protocol", f["protocol"], "--dataplane", proxy.get("dataplane", "nftables")]
    args += ["--load-balancer", "no-health-check"]
    cidrs = proxy.get("cluster_cidrs", ["10.0.0.0/8"])
    args += [a for c in cidrs for a in ("--cluster-cidr", c)] or ["--no-local-detector"]
    if proxy.get("masquerade_all"):
        args.append("--masquerade-all")
    document = _run_json(capsys, *args)
    outcomes = document["outcomes"]
    expect = case["expect"]
    assert {o["endpoint_ip"] for o in outcomes if o["delivered"]} == set(expect.get("endpoints") or [])
    if expect.get("drop_kind"):
        assert {o["drop_kind"] for o in outcomes} == {expect["drop_kind"]}
    elif "masqueraded" in expect:
        assert {o["masqueraded"] for o in outcomes} == {expect["masqueraded"]}
    for o in outcomes:  # the documented JSON contract
        assert {
            "node",
            "delivered",
            "endpoint_ip",
            "endpoint_node",
            "source_ip_seen",
            "masqueraded",
            "crosses_nodes",
            "drop_kind",
            "reply_ok",
            "rules",
        } <= set(o)


def test_article_cluster_picture_crosses_nodes_with_snat(capsys) -> None:  # type: ignore[no-untyped-def]
    doc = _run_json(
        capsys, ARTICLE, *shlex.split("--service shop/web-cluster --to load-balancer --from external --node node-c")
    )
    assert doc["outcomes"] and all(o["crosses_nodes"] and o["masqueraded"] for o in doc["outcomes"])
    assert {o["source_ip_seen"] for o in doc["outcomes"]} == {"192.168.0.13"}  # node-c's address
    assert all(o["reply_ok"] for o in doc["outcomes"])


def test_article_local_picture_stays_and_keeps_client_ip(capsys) -> None:  # type: ignore[no-untyped-def]
    doc = _run_json(
        capsys,
        ARTICLE,
        *shlex.split("--service shop/web-local --to load-balancer --from external --src-ip 203.0.113.7 --node node-a"),
    )
    (outcome,) = doc["outcomes"]
    assert outcome["endpoint_node"] == "node-a" and not outcome["crosses_nodes"]
    assert outcome["source_ip_seen"] == "203.0.113.7" and not outcome["masqueraded"]


def test_article_local_picture_drops_on_a_node_without_endpoint(capsys) -> None:  # type: ignore[no-untyped-def]
    doc = _run_json(
        capsys,
        ARTICLE,
        *shlex.split("--service shop/web-local --to load-balancer --from external --load-balancer no-health-check"),
    )
    by_node = {o["node"]: o for o in doc["outcomes"]}
    assert set(by_node) == {"node-a", "node-b", "node-c"}
    assert not by_node["node-c"]["delivered"] and by_node["node-c"]["drop_kind"] == "drop"


def test_article_local_picture_behind_health_checks_skips_the_empty_node(capsys) -> None:  # type: ignore[no-untyped-def]
    doc = _run_json(capsys, ARTICLE, "--service", "shop/web-local", "--to", "load-balancer", "--from", "external")
    assert {o["node"] for o in doc["outcomes"]} == {"node-a", "node-b"}
    assert all(o["delivered"] for o in doc["outcomes"])


def test_article_dnat_only_thought_experiment_breaks_the_reply(capsys) -> None:  # type: ignore[no-untyped-def]
    doc = _run_json(
        capsys,
        ARTICLE,
        *shlex.split("--service shop/web-cluster --to node-port --from external --node node-c --dataplane dnat-only"),
    )
    assert doc["outcomes"]
    for o in doc["outcomes"]:
        assert o["crosses_nodes"] and not o["masqueraded"] and not o["reply_ok"]
        assert o["reply_path"] == "direct-from-endpoint-node"


def test_health_check_node_port_reports_per_node(capsys) -> None:  # type: ignore[no-untyped-def]
    statuses = {}
    for node in ("node-a", "node-b", "node-c"):
        doc = _run_json(
            capsys,
            ARTICLE,
            "--service",
            "shop/web-local",
            "--to",
            "health-check-node-port",
            "--from",
            "external",
            "--node",
            node,
        )
        (o,) = doc["outcomes"]
        statuses[node] = (o["health_check"]["status"], o["health_check"]["local_endpoints"])
    assert statuses == {"node-a": (200, 1), "node-b": (200, 1), "node-c": (503, 0)}


def test_text_format_is_one_line_per_outcome(capsys) -> None:  # type: ignore[no-untyped-def]
    assert (
        main(
            [
                "trace",
                ARTICLE,
                "--service",
                "shop/web-local",
                "--to",
                "load-balancer",
                "--from",
                "external",
                "--load-balancer",
                "no-health-check",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + 1 + 3 + 1  # header, the version answered for, one per node, summary
    assert lines[1] == "  answered for iptables, Kubernetes v1.34 (default feature gates)"
    assert "DROPPED" in lines[4] and "node-c" in lines[4]


BAD = [
    ("broken YAML", [str(ERRORS / "broken.yaml")], "broken.yaml:"),
    ("broken JSON", [str(ERRORS / "broken.json")], "broken.json:"),
    ("wrong type", [str(ERRORS / "wrong-types.yaml")], "wrong-types.yaml:"),
    ("invalid value", [str(ERRORS / "bad-values.yaml")], "bad-values.yaml:"),
    ("missing field", [str(ERRORS / "missing-fields.yaml")], "missing-fields.yaml:"),
    ("duplicate object", [str(ERRORS / "duplicate-a.yaml"), str(ERRORS / "duplicate-b.yaml")], "Duplicate value"),
    ("no such file", ["/nonexistent/cluster.yaml"], "/nonexistent/cluster.yaml"),
]


@pytest.mark.parametrize(("what", "files", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_manifests_exit_2_with_one_line_per_problem(what, files, expected) -> None:  # type: ignore[no-untyped-def]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kverify",
            "trace",
            *files,
            "--service",
            "shop/web",
            "--to",
            "cluster-ip",
            "--from",
            "pod",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert expected in result.stderr
    for line in result.stderr.strip().splitlines():
        assert line.count(": ") >= 1  # FILE:LINE: Kind ns/name: field: message


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--service", "shop/nope"], 'Not found: "shop/nope"'),
        (["--service", "shop/web-local", "--node", "node-z"], 'Not found: "node-z"'),
        (["--service", "shop/web-local", "--dst-ip", "not-an-ip"], "must be a valid IP address"),
        (["--service", "shop/web-local", "--port", "81"], None),
    ],
    ids=["unknown service", "unknown node", "bad IP", "unexposed port is an outcome, not an error"],
)
def test_bad_flags(args, expected, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["trace", ARTICLE, "--to", "cluster-ip", "--from", "pod", *args])
    err = capsys.readouterr().err
    if expected is None:
        assert code == 0
    else:
        assert code == 2 and expected in err


@pytest.mark.parametrize(
    ("flags", "expected_err"),
    [
        pytest.param(
            [],
            ["skipped 3 objects of 2 kinds not modelled; --verbose lists them"],
            id="objects kverify does not model are counted in one line, never silently",
        ),
        pytest.param(
            ["--verbose"],
            [
                "skipped: {extra}:1: ConfigMap shop/settings: kind not modelled, skipped",
                "skipped: {extra}:5: ConfigMap default/other: kind not modelled, skipped",
                "skipped: {extra}:9: no kind and no metadata: not a Kubernetes object, skipped",
            ],
            id="--verbose lists every skipped object with its file and line",
        ),
    ],
)
def test_objects_kverify_does_not_model_are_reported_never_silently(tmp_path, capsys, flags, expected_err) -> None:  # type: ignore[no-untyped-def]
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n---\n"
        "replicaCount: 3\n"
    )
    argv = ["trace", ARTICLE, str(extra), "--service", "shop/web-local", "--to", "cluster-ip", "--from", "pod"]
    assert main([*argv, "--node", "node-a", "--format", "json", *flags]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [line.format(extra=extra) for line in expected_err]
    assert len(json.loads(captured.out)["skipped"]) == 3  # the JSON document keeps the list
