"""Fixes for a refuted claim: the smallest changes that make it hold, each decided again, as patches.

Which changes fix "external clients via the load balancer are delivered" for a one-replica
Deployment behind eTP Local and a load balancer without health checks follows from Kubernetes: eTP
Cluster forwards from every node; a health-checked LB only sends to nodes with a Ready pod; a pod
on every node (DaemonSet, or one replica per node of a fixed pool) leaves no node without one.
Cilium DSR keeps the client IP but still drops at a node without a local endpoint under eTP Local.
Each patch is applied to copies of the files with ``git apply`` and the claim is decided again from
the patched files, so a patch that does not say what the model was told fails here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kverify.check.specfile import load_spec
from kverify.check.specfile.evaluate import decide_claim
from kverify.cli import main
from kverify.fixes import fixes_for
from kverify.fixes.edits import apply_command
from kverify.verdicts import Proved, Refuted

ROOT = Path(__file__).resolve().parent.parent
#: Load balancers that fix eTP Local's drops (kverify/fixes/lb_changes.py): the AWS LBC's instance targets probe
#: the healthCheckNodePort under eTP Local (buildTargetGroupHealthCheckConfig), its IP targets send to the pods,
#: and Cilium's BGP control plane advertises only from nodes with a local backend (populateLocalServices). Cilium
#: L2 announcements answer from the lease holder whatever the eTP, and need Cilium's dataplane: never a fix here.
SWITCHES_THAT_FIX = {
    ("load-balancer-aws-nlb-instance",),
    ("load-balancer-aws-nlb-ip",),
    ("load-balancer-cilium-bgp",),
}
# An unedited copy of Online Boutique's release manifests (origin and commit in the README beside it).
DEMO = ROOT / "kverify" / "data" / "specs" / "manifests" / "public" / "microservices-demo.yaml"
SPEC = """\
apiVersion: kverify.io/v1alpha1
kind: Spec
metadata:
  name: frontend
manifests: [../deploy/demo.yaml]
{nodes}environment:
  dataplane: iptables
  loadBalancer: no-health-check
claims:
  - id: shoppers-reach-the-shop
    service: default/frontend-external
    property: delivered
"""


def _project(folder: Path, *, pools: bool) -> Path:
    (folder / "deploy").mkdir(parents=True)
    (folder / "specs").mkdir()
    text = DEMO.read_text()
    assert text.count("  type: LoadBalancer\n") == 1  # frontend-external
    text = text.replace("  type: LoadBalancer\n", "  type: LoadBalancer\n  externalTrafficPolicy: Local\n")
    (folder / "deploy" / "demo.yaml").write_text(text)
    nodes = "nodes:\n  - {pool: workers, count: 3}\n" if pools else ""
    spec = folder / "specs" / "frontend.yaml"
    spec.write_text(SPEC.format(nodes=nodes))
    return spec


def _fixes(spec_file: Path):  # type: ignore[no-untyped-def]
    spec = load_spec(str(spec_file))
    claim = spec.claims[0]
    verdict = decide_claim(spec, claim)
    assert isinstance(verdict, Refuted)
    return fixes_for(spec, claim, verdict)


@pytest.mark.skipif(shutil.which("git") is None, reason="applies patches with git apply")
def test_fixes_on_three_nodes_are_the_four_kubernetes_implies_and_each_patch_proves_the_claim(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    spec_file = _project(project, pools=True)
    monkeypatch.chdir(project)  # patches name files relative to here, as a reviewer applies them
    found = _fixes(spec_file.relative_to(project))
    ids = {tuple(c.id for c in fix.changes) for fix in found.fixes}
    assert ids == {
        ("external-traffic-policy-cluster",),
        ("health-checked-load-balancer",),
        *SWITCHES_THAT_FIX,
        ("daemonset",),
        ("replicas-per-node",),
    }
    assert any("Cilium" in t for t in found.tried)  # tried, and not a fix
    assert any("cilium-l2" in t for t in found.tried)  # not modelled without Cilium's dataplane: Unknown, no fix
    for fix in found.fixes:
        assert isinstance(fix.verdict, Proved) and fix.patch and not fix.no_patch
        copy = tmp_path / f"applied-{fix.changes[0].id}"
        shutil.copytree(project, copy)
        assert apply_command(fix.patch) == "git apply"  # the files are under the working directory
        subprocess.run(["git", "apply", "-"], input=fix.patch.encode(), cwd=copy, check=True)
        patched = load_spec(str(copy / "specs" / "frontend.yaml"))
        assert isinstance(decide_claim(patched, patched.claims[0]), Proved), fix.changes[0].id


@pytest.mark.skipif(shutil.which("git") is None, reason="applies patches with git apply")
def test_a_patch_for_a_file_outside_the_working_directory_applies_with_the_command_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reviewers run kverify on /tmp/render.yaml or ../chart/out.yaml: git apply refuses such a path
    # unless it stands in for GNU patch (--unsafe-paths); the report must say which command works.
    spec_file = _project(tmp_path / "project", pools=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    found = _fixes(spec_file)
    fix = next(f for f in found.fixes if f.changes[0].id == "external-traffic-policy-cluster")
    assert apply_command(fix.patch) == "git apply --unsafe-paths"
    subprocess.run([*apply_command(fix.patch).split(), "-"], input=fix.patch.encode(), cwd=elsewhere, check=True)
    patched = load_spec(str(spec_file))
    assert isinstance(decide_claim(patched, patched.claims[0]), Proved)


def test_on_every_cluster_a_daemonset_is_no_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A node the DaemonSet does not run on (a taint it does not tolerate) still gets the LB's traffic.
    project = tmp_path / "project"
    spec_file = _project(project, pools=False)
    monkeypatch.chdir(project)
    found = _fixes(spec_file.relative_to(project))
    assert {tuple(c.id for c in fix.changes) for fix in found.fixes} == {
        ("external-traffic-policy-cluster",),
        ("health-checked-load-balancer",),
        *SWITCHES_THAT_FIX,
    }
    cluster_fix = next(f for f in found.fixes if f.changes[0].id == "external-traffic-policy-cluster")
    assert "-  externalTrafficPolicy: Local\n+  externalTrafficPolicy: Cluster" in cluster_fix.patch
    assert "SNAT" in cluster_fix.changes[0].trade_off


def test_inline_topology_fixes_say_where_to_change_without_a_patch(tmp_path: Path) -> None:
    bundled = ROOT / "kverify" / "data" / "specs" / "local-lb-without-health-checks.yaml"
    text = bundled.read_text()
    spec_file = tmp_path / "spec.yaml"
    # The same topology, with the belief the bundled spec documents as false: the LB always delivers.
    spec_file.write_text(
        text.split("claims:")[0] + "claims:\n  - {id: lb-delivers, service: shop/web, property: delivered}\n"
    )
    found = _fixes(spec_file)
    by_id = {fix.changes[0].id: fix for fix in found.fixes}
    assert set(by_id) == {
        "external-traffic-policy-cluster",
        "health-checked-load-balancer",
        "exclude-nodes-without-endpoints",
        *(ids[0] for ids in SWITCHES_THAT_FIX),
    }
    assert by_id["external-traffic-policy-cluster"].no_patch and not by_id["external-traffic-policy-cluster"].patch
    assert "+  loadBalancer: health-checked" in by_id["health-checked-load-balancer"].patch
    # node-c has no pod: the load balancer leaves it out once labelled (rule lb-exclude-label), said as a command.
    label = by_id["exclude-nodes-without-endpoints"]
    assert label.commands == (
        "kubectl label node node-c node.kubernetes.io/exclude-from-external-load-balancers=true --overwrite",
    )
    assert "rescheduled" in label.changes[0].trade_off
    # The switches change the spec's environment (the Service is inline: said, not patched).
    assert "+  loadBalancer: aws-nlb-instance" in by_id["load-balancer-aws-nlb-instance"].patch


def test_check_fixes_prints_them_after_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    _project(project, pools=False)
    monkeypatch.chdir(project)
    assert main(["check", os.path.join("specs", "frontend.yaml"), "--fixes"]) == 1
    out = capsys.readouterr().out
    report, _, fixes = out.partition("fixes for spec claim frontend/shoppers-reach-the-shop")
    assert "FAIL" in report and fixes
    assert "1. set externalTrafficPolicy: Cluster on Service default/frontend-external" in fixes
    assert "+++ b/deploy/demo.yaml" in fixes and "+++ b/specs/frontend.yaml" in fixes


# Built-in findings on manifests checked without a spec (issue 10): the finding is restated as the claim
# it stands for and decided again; a change that brings another finding onto the Service is no fix.
INGRESS = ROOT / "kverify" / "data" / "specs" / "manifests" / "public" / "ingress-nginx-cloud.yaml"
CONTROLLER = "ingress-nginx/ingress-nginx-controller"


def _builtin_fixes(files: list[str], *extra: str) -> list:  # type: ignore[type-arg]
    from kverify.check.session import run_check
    from kverify.check.specfile.pools import parse_node_pool
    from kverify.fixes.run import fixes_in_run
    from kverify.model import LoadBalancerProfile, ProxyConfig

    pools = [parse_node_pool(p) for p in extra if "=" in p]
    needs = [e for e in extra if "=" not in e]
    options = dict(proxy=ProxyConfig(), load_balancer=LoadBalancerProfile.NO_HEALTH_CHECK, node_pools=pools)
    run = run_check(files, needs_client_ip=needs, **options)  # type: ignore[arg-type]
    assert [r.claim for r in run.failed] == ["etp-local-lb-without-health-checks"]
    return fixes_in_run(files, run, needs_client_ip=needs, **options)  # type: ignore[arg-type]


@pytest.mark.skipif(shutil.which("git") is None, reason="applies patches with git apply")
def test_builtin_finding_on_a_public_manifest_gets_the_fixes_kubernetes_implies_and_patches_clear_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ingress-nginx's cloud deploy.yaml: one controller replica, eTP Local; behind an LB that does not
    # probe, on 3 nodes. The same four changes fix it as for the spec claim above; Cilium DSR does not
    # (eTP Local still drops where there is no local endpoint).
    shutil.copy(INGRESS, tmp_path / "deploy.yaml")
    monkeypatch.chdir(tmp_path)
    [found] = _builtin_fixes(["deploy.yaml"], "workers=3")
    assert (found.goal.kind, found.goal.id, found.goal.service) == (
        "built-in check",
        "etp-local-lb-without-health-checks",
        CONTROLLER,
    )
    by_id = {tuple(c.id for c in fix.changes): fix for fix in found.fixes}
    assert set(by_id) == {
        ("external-traffic-policy-cluster",),
        ("health-checked-load-balancer",),
        *SWITCHES_THAT_FIX,
        ("daemonset",),
        ("replicas-per-node",),
    }
    assert any("Cilium" in t for t in found.tried)
    # At design time which nodes lack a pod is not known: labelling nodes is not offered (nor verifiable yet).
    assert not any("exclude-from-external-load-balancers" in t for t in found.tried)
    # The spread selects the Service's pods by the Service's selector, not by the template's version label
    # (which would split old and new pods into two spreads during a rollout).
    spread = by_id[("replicas-per-node",)].patch.split("matchLabels:")[1]
    assert "+            app.kubernetes.io/name: ingress-nginx" in spread and "version" not in spread
    # The load balancer is the cluster's, not the manifests': no patch, the flag to check with instead.
    lb = by_id[("health-checked-load-balancer",)]
    assert not lb.patch and "--load-balancer health-checked" in lb.no_patch[0]
    quiet = ["--node-pool", "workers=3", "--allow-nothing-checked"]  # eTP Cluster has no eTP Local check
    assert main(["check", "deploy.yaml", "--load-balancer", "health-checked", *quiet]) == 0
    for ids, fix in by_id.items():
        if not fix.patch:
            continue
        copy = tmp_path / f"applied-{ids[0]}"
        copy.mkdir()
        shutil.copy(tmp_path / "deploy.yaml", copy / "deploy.yaml")
        subprocess.run(["git", "apply", "-"], input=fix.patch.encode(), cwd=copy, check=True)
        monkeypatch.chdir(copy)
        if ids[0].startswith("load-balancer-"):
            # The patch names the load balancer (annotations or loadBalancerClass): checked without the flag.
            from kverify.load import load_manifests

            service = next(s for s in load_manifests(["deploy.yaml"]).services if s.key == CONTROLLER)
            assert service.load_balancer_hint is not None
            assert f"load-balancer-{service.load_balancer_hint.spelling}" == ids[0]
            assert main(["check", "deploy.yaml", *quiet]) == 0, ids
        else:
            assert main(["check", "deploy.yaml", "--load-balancer", "no-health-check", *quiet]) == 0, (
                ids
            )  # the finding is gone from the patched manifest
        monkeypatch.chdir(tmp_path)


def test_a_change_that_brings_another_finding_is_no_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The Service needs the client IP: eTP Cluster would trade the drop for a lost client IP
    # (etp-cluster-hides-client-ip), so it is tried and not offered.
    shutil.copy(INGRESS, tmp_path / "deploy.yaml")
    monkeypatch.chdir(tmp_path)
    [found] = _builtin_fixes(["deploy.yaml"], "workers=3", CONTROLLER)
    ids = {tuple(c.id for c in fix.changes) for fix in found.fixes}
    assert ("external-traffic-policy-cluster",) not in ids
    # NLB IP targets keep the client IP only with preserve_client_ip.enabled=true, which that fix's patch sets.
    assert ids == {
        ("health-checked-load-balancer",),
        *SWITCHES_THAT_FIX,
        ("daemonset",),
        ("replicas-per-node",),
    }
    assert any("externalTrafficPolicy: Cluster" in t for t in found.tried)


def test_builtin_finding_on_a_snapshot_and_fixes_in_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # The article's snapshot with eTP Local (EndpointSlices given): no workload to change, so the fixes
    # are the Service's policy and the load balancer; the JSON report carries them, schema-valid.
    import json

    import jsonschema

    text = (ROOT / "examples" / "article" / "cluster.yaml").read_text()
    assert text.count("externalTrafficPolicy: Cluster") == 1  # web-cluster; web-local is Local already
    (tmp_path / "cluster.yaml").write_text(
        text.replace("externalTrafficPolicy: Cluster", "externalTrafficPolicy: Local")
    )
    argv = [
        "check",
        str(tmp_path / "cluster.yaml"),
        "--load-balancer",
        "no-health-check",
        "--fixes",
        "--format",
        "json",
    ]
    assert main(argv) == 1
    document = json.loads(capsys.readouterr().out)
    schema = json.loads((ROOT / "kverify" / "data" / "check-report.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    # Both Services are now eTP Local behind the LB that does not probe: one finding, and its fixes, each.
    assert sorted(e["service"] for e in document["fixes"]) == ["shop/web-cluster", "shop/web-local"]
    for entry in document["fixes"]:
        assert entry["kind"] == "built-in check" and entry["claim"] == "etp-local-lb-without-health-checks"
        assert {f["changes"][0]["id"] for f in entry["fixes"]} == {
            "external-traffic-policy-cluster",
            "health-checked-load-balancer",
            "exclude-nodes-without-endpoints",
            *(ids[0] for ids in SWITCHES_THAT_FIX),
        }
        [label] = [f for f in entry["fixes"] if f["changes"][0]["id"] == "exclude-nodes-without-endpoints"]
        assert label["commands"][0].startswith("kubectl label node ") and not label["patch"]
        assert all(f["verdict"]["verdict"] == "proved" for f in entry["fixes"])


def test_at_design_time_a_pool_no_pod_can_run_on_is_labelled_out_of_the_load_balancer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # ingress-nginx's controller as a DaemonSet, on pools system (tainted, not tolerated: no pod there) and
    # workers: the LB without health checks sends to the system node, which DROPs under eTP Local. Labelling the
    # system pool's nodes leaves them out (rule lb-exclude-label); every worker runs a pod.
    text = INGRESS.read_text()
    at = text.index("apiVersion: apps/v1\nkind: Deployment")
    (tmp_path / "deploy.yaml").write_text(text[:at] + text[at:].replace("kind: Deployment", "kind: DaemonSet", 1))
    monkeypatch.chdir(tmp_path)
    system = "system=1,taint=dedicated=system:NoSchedule"
    [found] = _builtin_fixes(["deploy.yaml"], system, "workers=2")
    by_id = {fix.changes[0].id: fix for fix in found.fixes if len(fix.changes) == 1}
    pools = by_id["exclude-pools-without-pods"]
    assert isinstance(pools.verdict, Proved) and "pool(s) system," in pools.changes[0].title
    assert "kubelet --node-labels" in pools.no_patch[0]
    capsys.readouterr()
    quiet = ["--load-balancer", "no-health-check", "--node-pool", "workers=2"]
    assert main(["check", "deploy.yaml", "--node-pool", system, *quiet]) == 1
    labelled = f"{system},label=node.kubernetes.io/exclude-from-external-load-balancers=true"
    assert main(["check", "deploy.yaml", "--node-pool", labelled, *quiet]) == 0, capsys.readouterr().out
