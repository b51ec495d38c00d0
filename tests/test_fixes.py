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
from kverify.verdicts import Proved, Refuted

ROOT = Path(__file__).resolve().parent.parent
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
        ("daemonset",),
        ("replicas-per-node",),
    }
    assert any("Cilium" in t for t in found.tried)  # tried, and not a fix
    for fix in found.fixes:
        assert isinstance(fix.verdict, Proved) and fix.patch and not fix.no_patch
        copy = tmp_path / f"applied-{fix.changes[0].id}"
        shutil.copytree(project, copy)
        subprocess.run(["git", "apply", "-"], input=fix.patch.encode(), cwd=copy, check=True)
        patched = load_spec(str(copy / "specs" / "frontend.yaml"))
        assert isinstance(decide_claim(patched, patched.claims[0]), Proved), fix.changes[0].id


def test_on_every_cluster_a_daemonset_is_no_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A node the DaemonSet does not run on (a taint it does not tolerate) still gets the LB's traffic.
    project = tmp_path / "project"
    spec_file = _project(project, pools=False)
    monkeypatch.chdir(project)
    found = _fixes(spec_file.relative_to(project))
    assert {tuple(c.id for c in fix.changes) for fix in found.fixes} == {
        ("external-traffic-policy-cluster",),
        ("health-checked-load-balancer",),
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
    assert set(by_id) == {"external-traffic-policy-cluster", "health-checked-load-balancer"}
    assert by_id["external-traffic-policy-cluster"].no_patch and not by_id["external-traffic-policy-cluster"].patch
    assert "+  loadBalancer: health-checked" in by_id["health-checked-load-balancer"].patch


def test_check_fixes_prints_them_after_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    _project(project, pools=False)
    monkeypatch.chdir(project)
    assert main(["check", os.path.join("specs", "frontend.yaml"), "--fixes"]) == 1
    out = capsys.readouterr().out
    report, _, fixes = out.partition("fixes for frontend/shoppers-reach-the-shop")
    assert "FAIL" in report and fixes
    assert "1. set externalTrafficPolicy: Cluster on Service default/frontend-external" in fixes
    assert "+++ b/deploy/demo.yaml" in fixes and "+++ b/specs/frontend.yaml" in fixes
