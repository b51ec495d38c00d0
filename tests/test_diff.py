"""`kverify diff`: what changes in behaviour between two revisions.

The expected changes follow from Kubernetes, not from kverify's output: flipping
externalTrafficPolicy from Cluster to Local keeps the client IP (no SNAT), and a load balancer that
does not probe the healthCheckNodePort still sends to nodes without a local endpoint, which drop
(kube-proxy ``KUBE-EXT`` chains; the Kubernetes docs "Preserving the client source IP").
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kverify.cli import main
from kverify.report.diff_report import MARKER

ROOT = Path(__file__).resolve().parent.parent
# An unedited copy of Online Boutique's release manifests (origin and commit in the README beside it).
DEMO = ROOT / "kverify" / "data" / "specs" / "manifests" / "public" / "microservices-demo.yaml"
ARTICLE = ROOT / "kverify" / "data" / "specs" / "manifests" / "article-cluster.yaml"
SPECS = ROOT / "kverify" / "data" / "specs"


def _flip_to_local(text: str, after: str) -> str:
    """``externalTrafficPolicy: Local`` added after the line ``after`` (exactly one, as written)."""
    assert text.count(after + "\n") == 1
    indent = after[: len(after) - len(after.lstrip())]
    return text.replace(after + "\n", f"{after}\n{indent}externalTrafficPolicy: Local\n")


DIFF_SCHEMA = json.loads((ROOT / "kverify" / "data" / "diff-report.schema.json").read_text())


def _diff_json(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> dict:  # type: ignore[type-arg]
    """The JSON report of ``kverify diff ARGS``, checked against its published schema."""
    import jsonschema

    assert main(["diff", *args, "--format", "json"]) == code
    document = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator(DIFF_SCHEMA).validate(document)
    return document


def _change(document: dict, service: str, entry: str, client: str) -> dict:  # type: ignore[type-arg]
    found = [
        c
        for c in document["changes"]
        if (c["service"], c["entry_point"], c["client"]) == (service, entry, client) and c["port"] == 80
    ]
    assert len(found) == 1, [(c["service"], c["entry_point"], c["client"]) for c in document["changes"]]
    return found[0]


def _delivered(kinds: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    return [k for k in kinds if k["delivered"]]


@pytest.fixture(scope="module")
def demo_flip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("demo")
    old, new = folder / "old.yaml", folder / "new.yaml"
    shutil.copy(DEMO, old)
    text = DEMO.read_text()
    # frontend-external is the one LoadBalancer Service of the demo: `type: LoadBalancer` is its line.
    new.write_text(_flip_to_local(text, "  type: LoadBalancer"))
    return old, new


def test_public_manifest_etp_cluster_to_local_keeps_client_ip_and_drops_behind_an_lb_without_health_checks(
    demo_flip: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = demo_flip
    doc = _diff_json(capsys, str(old), str(new), "--load-balancer", "no-health-check")
    assert {c["service"] for c in doc["changes"]} == {"default/frontend-external"}
    assert doc["summary"]["services_unchanged"] == doc["summary"]["services_compared"] - 1
    lb = _change(doc, "default/frontend-external", "load-balancer", "external")
    assert lb["before"]["design_time"] and lb["after"]["design_time"]
    before, after = lb["before"]["kinds"], lb["after"]["kinds"]
    assert before and all(not k["client_ip_kept"] for k in _delivered(before))
    assert all(k["delivered"] for k in before)  # eTP Cluster: every node forwards
    assert _delivered(after) and all(k["client_ip_kept"] for k in _delivered(after))
    assert all(not k["crosses_nodes"] for k in _delivered(after))
    assert any(k["drop"] == "drop" for k in after)
    drop = next(w for w in lb["witnesses"] if w["change"] == "appears" and w["kind"]["drop"] == "drop")
    arrival = drop["outcome"]["node"]
    assert arrival and drop["placement"] and f"without a pod of the Service ({arrival})" in drop["placement"]
    assert "client IP: replaced -> kept" in lb["headlines"]
    assert "now DROPPED (silently) at a node without a pod of the Service" in lb["headlines"]


def test_the_same_flip_behind_a_health_checked_lb_drops_nothing(
    demo_flip: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = demo_flip
    doc = _diff_json(capsys, str(old), str(new), "--load-balancer", "health-checked")
    lb = _change(doc, "default/frontend-external", "load-balancer", "external")
    assert all(k["delivered"] for k in lb["after"]["kinds"])
    assert all(k["client_ip_kept"] for k in lb["after"]["kinds"])


def test_markdown_comment_has_a_mermaid_diagram_per_changed_path(
    demo_flip: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = demo_flip
    assert main(["diff", str(old), str(new), "--load-balancer", "no-health-check", "--format", "markdown"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(MARKER)
    sections = text.split("\n### ")[1:]
    # LB and NodePort, from external clients and from pods; and the health-check node port that eTP Local
    # brings (allocated by the API server for LoadBalancer Services with eTP Local only).
    assert len(sections) == 5
    paths = [s for s in sections if not s.startswith("`default/frontend-external` health-check-node-port")]
    assert len(paths) == 4
    for section in paths:
        assert "```mermaid\nsequenceDiagram" in section
    [health] = [s for s in sections if s not in paths]
    assert "new entry point" in health and "health check answers 503" in health and "```mermaid" not in health
    lb = next(s for s in sections if s.startswith("`default/frontend-external` load-balancer 80/TCP from external"))
    assert "**Now: DROPPED (silently)**" in lb and "Note over" in lb


def test_snapshot_flip_names_the_node_without_an_endpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = ARTICLE.read_text()
    new = tmp_path / "new.yaml"
    assert text.count("externalTrafficPolicy: Cluster") == 1
    new.write_text(text.replace("externalTrafficPolicy: Cluster", "externalTrafficPolicy: Local"))
    doc = _diff_json(capsys, str(ARTICLE), str(new), "--load-balancer", "no-health-check")
    lb = _change(doc, "shop/web-cluster", "load-balancer", "external")
    assert not lb["after"]["design_time"]
    drop = next(w for w in lb["witnesses"] if w["kind"]["drop"] == "drop")
    # The article's endpoints run on node-a and node-b: node-c has none.
    assert drop["nodes"] == ["node-c"] and drop["node_count"] == 1
    assert lb["before"]["dropped_share"] == "0" and lb["after"]["dropped_share"] == "1/3"
    kept = [w for w in lb["witnesses"] if w["change"] == "appears" and w["kind"]["delivered"]]
    assert sorted(n for w in kept for n in w["nodes"]) == ["node-a", "node-b"]


def test_no_change_and_a_renamed_node_show_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _diff_json(capsys, str(ARTICLE), str(ARTICLE))
    assert doc["changes"] == [] and doc["summary"]["services_unchanged"] == doc["summary"]["services_compared"] == 2
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(ARTICLE.read_text().replace("node-c", "node-z"))
    doc = _diff_json(capsys, str(ARTICLE), str(renamed))
    assert doc["summary"]["services_unchanged"] == 0  # the nodes differ: both Services were decided again
    assert doc["changes"] == []


def test_a_spec_claim_that_changes_verdict_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = SPECS / "local-lb-without-health-checks.yaml"
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir(), new.mkdir()
    shutil.copy(spec, old / spec.name)
    text = spec.read_text()
    assert text.count("loadBalancer: no-health-check") == 1
    (new / spec.name).write_text(text.replace("loadBalancer: no-health-check", "loadBalancer: health-checked"))
    doc = _diff_json(capsys, str(old), str(new), code=1)
    changed = {c["claim"]: c for c in doc["claims"] if c["verdict_changed"]}
    # A health-checked LB stops sending to node-c (no local endpoint): the drop claims now hold.
    assert changed["lb-delivers"]["before"] == "refuted" and changed["lb-delivers"]["after"] == "proved"
    assert changed["lb-never-dropped"]["after"] == "proved"
    assert "lb-keeps-client-ip" not in changed  # proved on both sides
    assert main(["diff", str(old), str(old)]) == 0


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": os.devnull}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def _article_repo(tmp_path: Path, policy: str, message: str) -> Path:
    """A git repository whose deploy/cluster.yaml is the article's cluster, then a commit that sets
    web-cluster's ``externalTrafficPolicy`` line to ``policy``."""
    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    target = repo / "deploy" / "cluster.yaml"
    target.write_text(ARTICLE.read_text())
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "old")
    target.write_text(ARTICLE.read_text().replace("externalTrafficPolicy: Cluster", policy))
    _git(repo, "commit", "-qam", message)
    return repo


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_two_git_revisions_of_a_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _article_repo(tmp_path, "externalTrafficPolicy: Local", "new")
    monkeypatch.chdir(repo)
    by_git = _diff_json(capsys, "--git", "HEAD~1", "HEAD", "deploy/", "--load-balancer", "no-health-check")
    by_rev_path = _diff_json(capsys, "HEAD~1:deploy/", "deploy", "--load-balancer", "no-health-check")
    for doc in (by_git, by_rev_path):
        assert {c["service"] for c in doc["changes"]} == {"shop/web-cluster"}
        lb = _change(doc, "shop/web-cluster", "load-balancer", "external")
        assert lb["service_location"].startswith("deploy/cluster.yaml:")
    assert by_git["old"] == "HEAD~1" and by_rev_path["old"] == "HEAD~1:deploy/"
    assert [c["headlines"] for c in by_git["changes"]] == [c["headlines"] for c in by_rev_path["changes"]]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["nope.yaml", str(ARTICLE)], "OLD: Not found: 'nope.yaml'"),
        ([str(ARTICLE), str(ARTICLE), "extra"], "PATH: Forbidden"),
        (["--git", "no-such-revision-xyz", "HEAD", "deploy"], "Not found: revision 'no-such-revision-xyz'"),
        (["--git", "HEAD", "HEAD"], "PATH: Required value"),
    ],
    ids=["missing file", "paths without --git", "unknown revision", "--git without paths"],
)
def test_bad_input_exits_2_with_one_line(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["diff", *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_broken_manifest_on_one_side_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(ARTICLE.read_text().replace("externalTrafficPolicy: Cluster", "externalTrafficPolicy: Locl"))
    assert main(["diff", str(ARTICLE), str(broken)]) == 2
    err = capsys.readouterr().err
    assert "broken.yaml:" in err and "externalTrafficPolicy" in err and "Traceback" not in err


def test_the_github_actions_example_runs_a_command_kverify_accepts() -> None:
    import shlex

    import yaml

    from kverify.cli import build_parser

    path = ROOT / "examples" / "github-actions" / "kverify-diff.yml"
    workflow = yaml.safe_load(path.read_text())
    steps = workflow["jobs"]["diff"]["steps"]
    assert workflow["permissions"]["pull-requests"] == "write"
    script = next(s["run"] for s in steps if s.get("id") == "diff")
    command = next(line for line in script.splitlines() if line.strip().startswith("kverify diff"))
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert args.git and args.format == "markdown" and args.paths == ["deploy/", "specs/"]
    posting = next(s for s in steps if "gh pr comment" in s.get("run", ""))
    assert "kverify-diff.md" in posting["run"] and args.output == "kverify-diff.md"
    # The how-to shows the same workflow.
    howto = (ROOT / "docs" / "how-to" / "review-a-pull-request.md").read_text()
    body = path.read_text().split("name: kverify diff", 1)[1]
    assert "name: kverify diff" + body in howto


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_bad_input_at_a_revision_names_the_revision_and_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _article_repo(tmp_path, "externalTrafficPolicy: Locl", "typo")
    monkeypatch.chdir(repo)
    assert main(["diff", "--git", "HEAD~1", "HEAD", "deploy"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("HEAD:deploy/cluster.yaml:") and '"Locl"' in err and len(err.splitlines()) == 1


def test_markdown_stays_within_a_comment_by_leaving_whole_paths_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kverify.report import diff_report

    new = tmp_path / "new.yaml"
    new.write_text(ARTICLE.read_text().replace("externalTrafficPolicy: Cluster", "externalTrafficPolicy: Local"))
    assert main(["diff", str(ARTICLE), str(new), "--format", "markdown"]) == 0
    full = capsys.readouterr().out
    limit = len(full) // 2
    monkeypatch.setattr(diff_report, "COMMENT_LIMIT", limit)
    assert main(["diff", str(ARTICLE), str(new), "--format", "markdown"]) == 0
    cut = capsys.readouterr().out
    assert len(cut) <= limit and "more path(s) left out to fit a comment" in cut
    assert cut.count("```mermaid") == cut.count("```\n") > 0  # every diagram shown is closed


def test_internal_traffic_policy_local_drops_for_clients_on_nodes_without_a_pod_and_new_entry_points_show(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # iTP Local: in-cluster clients reach only endpoints on their own node (KEP-2086), none there: drop.
    text = DEMO.read_text()
    head = "kind: Service\nmetadata:\n  name: cartservice\n"
    at = text.index("\nspec:\n", text.index(head))
    new = tmp_path / "new.yaml"
    new.write_text(
        text[:at] + "\nspec:\n  internalTrafficPolicy: Local\n  externalIPs: [198.51.100.7]" + text[at + 6 :]
    )
    doc = _diff_json(capsys, str(DEMO), str(new))
    assert {c["service"] for c in doc["changes"]} == {"default/cartservice"}
    for client in ("pod", "host"):
        path = next(c for c in doc["changes"] if (c["entry_point"], c["client"]) == ("cluster-ip", client))
        assert any(k["drop"] == "drop" for k in path["after"]["kinds"])
        assert not any(k["drop"] for k in path["before"]["kinds"])
    added = [c for c in doc["changes"] if c["entry_point"] == "external-ip"]
    assert {c["client"] for c in added} == {"external", "pod", "host"}
    assert all(c["before"] is None and c["headlines"] == ["new entry point"] for c in added)


def test_etp_local_brings_a_health_check_whose_503_nodes_are_named_and_allocated_addresses_are_marked(
    demo_flip: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # Manifests as in Git: the LB address is allocated at apply time, and the trace lines say so, as
    # `kverify trace` does. The health-check node port exists only with eTP Local (API server
    # allocates healthCheckNodePort for LoadBalancer + Local), and answers 503 on a node without a
    # Ready pod of the Service (kube-proxy's healthcheck server: localEndpoints=0).
    old, new = demo_flip
    assert main(["diff", str(old), str(new), "--load-balancer", "no-health-check"]) == 0
    out = capsys.readouterr().out
    section = re.split(r"\n  (?! )", out.split("  health-check-node-port from external")[1])[0]
    assert "new entry point" in section
    assert "health check answers 503 (no Ready local endpoint" in section
    assert "health check answers 200" in section
    lb = out.split("  load-balancer 80/TCP from external")[1]
    assert "(allocated at apply time)" in re.split(r"\n  (?! )", lb)[0]
    doc = _diff_json(capsys, str(old), str(new), "--load-balancer", "no-health-check")
    [health] = [c for c in doc["changes"] if c["entry_point"] == "health-check-node-port"]
    assert health["before"] is None and {k["health"] for k in health["after"]["kinds"]} == {200, 503}
    witnesses = _change(doc, "default/frontend-external", "load-balancer", "external")["witnesses"]
    assert all(w["allocated"] for w in witnesses)


def test_a_load_balancer_known_by_hostname_only_is_compared_for_external_clients(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An AWS-style status (ingress: hostname, no ip): external clients reach it and are sent on to a
    # node port; flipping eTP shows the change on that path too. In-cluster clients cannot address it
    # as a Service IP, so no in-cluster probe exists for it.
    text = ARTICLE.read_text()
    assert text.count("ingress: [{ip: 198.51.100.10}]") == 1
    old_text = text.replace("ingress: [{ip: 198.51.100.10}]", "ingress: [{hostname: web.elb.example.com}]")
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(old_text)
    new.write_text(old_text.replace("externalTrafficPolicy: Cluster", "externalTrafficPolicy: Local"))
    doc = _diff_json(capsys, str(old), str(new), "--load-balancer", "no-health-check")
    lb = [c for c in doc["changes"] if c["service"] == "shop/web-cluster" and c["entry_point"] == "load-balancer"]
    assert [c["client"] for c in lb] == ["external"]
    after = {(k["delivered"], k["client_ip_kept"]) for k in lb[0]["after"]["kinds"]}
    assert after == {(False, None), (True, True)}  # node-c has no endpoint: DROP; elsewhere the client IP is kept


SHARE_DESIGN = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"""


def test_design_time_share_is_compared_as_the_worst_over_placements(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # eTP Local behind a health-checked LB on two nodes: the LB splits evenly between the nodes with a
    # Ready pod, and each node splits among its own pods. Two replicas: 1:1 whether together or apart.
    # Three: some placement puts two on one node, each getting 1/4 against the other node's 1/2 (ratio 2).
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(SHARE_DESIGN.replace("REPLICAS", "2"))
    new.write_text(SHARE_DESIGN.replace("REPLICAS", "3"))
    doc = _diff_json(capsys, str(old), str(new), "--load-balancer", "health-checked", "--node-pool", "workers=2")
    lb = _change(doc, "shop/web", "load-balancer", "external")
    assert lb["before"]["kinds"] == lb["after"]["kinds"]  # the same kinds of outcome: only the share changed
    assert (lb["before"]["share_ratio"], lb["after"]["share_ratio"]) == ("1", "2")
    assert lb["headlines"][0].startswith("worst largest/smallest pod share over placements: 1.00 -> 2.00")
    # A change that keeps the worst ratio (1 -> 2 replicas: 1 either way) is no change on that path.
    one = tmp_path / "one.yaml"
    one.write_text(SHARE_DESIGN.replace("REPLICAS", "1"))
    doc = _diff_json(capsys, str(one), str(old), "--load-balancer", "health-checked", "--node-pool", "workers=2")
    assert [c for c in doc["changes"] if c["entry_point"] == "load-balancer"] == []


def _options(command: str) -> set[str]:
    from kverify.cli import build_parser

    (commands,) = (a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {option for action in commands.choices[command]._actions for option in action.option_strings}


# What `kverify check` takes that `diff` need not: its report's form and its built-in checks (which diff does not run).
CHECK_ONLY = {
    "--allow-nothing-checked",
    "--color",
    "--fixes",
    "--list-checks",
    "--needs-client-ip",
    "--no-pictures",
    "--write-counterexamples",
}


def test_diff_takes_every_environment_flag_check_takes() -> None:
    assert _options("check") - _options("diff") == CHECK_ONLY


ENDPOINT_SLICE_SERVICE = """\
apiVersion: v1
kind: Node
metadata: {name: node-a}
status: {addresses: [{type: InternalIP, address: 192.168.0.10}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  clusterIP: 10.96.0.10
  ports: [{port: 80, nodePort: 30080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{port: 80}]
endpoints:
  - addresses: [10.244.1.5]
    nodeName: node-a
    conditions: %s
"""

# A rollout leaves the only pod terminating (still serving). KEP-1669: kube-proxy falls back to serving terminating
# endpoints from v1.26 (ProxyTerminatingEndpoints beta, on by default); v1.25 has the gate off, so no endpoint is usable
# and the iptables proxier REJECTs the NodePort (pkg/proxy/iptables/proxier.go syncProxyRules: the "has no endpoints"
# rule of KUBE-EXTERNAL-SERVICES).
VERSION_ROWS = [
    pytest.param(["--kubernetes-version", "1.25"], [False], id="v1.25: the terminating pod is not used, REJECT"),
    pytest.param(
        ["--kubernetes-version", "1.25", "--feature-gates", "ProxyTerminatingEndpoints=true"],
        [True],
        id="v1.25 with the gate on: the terminating pod is used",
    ),
    pytest.param(["--kubernetes-version", "1.26"], [True], id="v1.26: the terminating pod is used"),
]


@pytest.mark.parametrize(("flags", "after"), VERSION_ROWS)
def test_diff_takes_the_kubernetes_version_and_gates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], after: list[bool]
) -> None:
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(ENDPOINT_SLICE_SERVICE % "{ready: true, serving: true, terminating: false}")
    new.write_text(ENDPOINT_SLICE_SERVICE % "{ready: false, serving: true, terminating: true}")
    doc = _diff_json(capsys, str(old), str(new), *flags)
    node_port = _change(doc, "default/web", "node-port", "external")
    assert [k["delivered"] for k in node_port["before"]["kinds"]] == [True]
    assert [k["delivered"] for k in node_port["after"]["kinds"]] == after
    if after == [False]:
        assert [k["drop"] for k in node_port["after"]["kinds"]] == ["reject"]


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--kubernetes-version", "1.2"], "--kubernetes-version: Unsupported value"),
        (["--feature-gates", "NoSuchGate=true"], "--feature-gates:"),
        (["--cilium-version", "1.16"], "--cilium-version: needs --dataplane cilium-snat or cilium-dsr"),
        (["--dataplane", "cilium-snat", "--cilium-set", "loadBalancer.mode=bogus"], "--cilium-set:"),
    ],
    ids=["version", "gate", "cilium without cilium", "helm option"],
)
def test_diff_refuses_a_bad_environment_in_one_line(
    flags: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", str(ARTICLE), str(ARTICLE), *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(needle), err


def test_a_probe_undecided_on_both_sides_is_shown_not_counted_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Under Cilium's socketLB.hostNamespaceOnly a pod's NodePort flow is Unknown (rule
    # cilium-socket-lb-host-namespace-only). The Service's inputs change (eTP Local), so it is decided
    # again: that probe is Unknown before and after, which is not "unchanged".
    new = tmp_path / "new.yaml"
    new.write_text(ARTICLE.read_text().replace("externalTrafficPolicy: Cluster", "externalTrafficPolicy: Local"))
    flags = ("--dataplane", "cilium-snat", "--cilium-set", "socketLB.hostNamespaceOnly=true")
    doc = _diff_json(capsys, str(ARTICLE), str(new), *flags)
    undecided = _change(doc, "shop/web-cluster", "node-port", "pod")
    assert "socketLB.hostNamespaceOnly" in undecided["before"]["unknown"]
    assert undecided["after"]["unknown"] == undecided["before"]["unknown"]
    assert main(["diff", str(ARTICLE), str(new), *flags]) == 0
    assert "unknown before and now: a pod's packet to a NodePort under Cilium" in capsys.readouterr().out


def test_a_service_without_a_ready_pod_has_no_share_to_compare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # web-cluster's two endpoints not Ready before, Ready after: before, no pod gets a share because
    # there is none to get one (not because a Ready pod gets nothing).
    text = ARTICLE.read_text()
    slice_start = text.index("name: web-cluster-abc12")
    slice_end = text.index("---", slice_start)
    not_ready = text[slice_start:slice_end].replace("ready: true, serving: true", "ready: false, serving: false")
    old = tmp_path / "old.yaml"
    old.write_text(text[:slice_start] + not_ready + text[slice_end:])
    assert main(["diff", str(old), str(ARTICLE)]) == 0
    out = capsys.readouterr().out
    assert "largest/smallest pod share: n/a (no Ready pod) -> 1.00" in out
    assert "a Ready pod gets nothing" not in out
