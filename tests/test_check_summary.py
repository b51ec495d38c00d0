"""The summary says what a run did: Services looked at, checks that applied, findings, and why the other
Services had nothing to check; a run that checked nothing is not a pass (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kverify.cli import main

NODE = """\
apiVersion: v1
kind: Node
metadata: {name: node-a}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.11}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
spec: {podCIDR: 10.244.2.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.12}]}
"""

CLUSTER_IP = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.0.10
  ports: [{name: http, port: 80, targetPort: 8080}]
  selector: {app: web}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
  - {addresses: [10.244.1.5], nodeName: node-a, conditions: {ready: true}}
"""

# No selector and no EndpointSlice: nothing will ever back it.
NO_BACKING = """\
apiVersion: v1
kind: Service
metadata: {name: legacy, namespace: shop}
spec:
  clusterIP: 10.96.0.11
  ports: [{port: 80}]
"""

# A NodePort with eTP Local: the check applies; it holds when both nodes have an endpoint.
NODE_PORT = """\
apiVersion: v1
kind: Service
metadata: {name: edge, namespace: shop}
spec:
  type: NodePort
  clusterIP: 10.96.0.12
  externalTrafficPolicy: Local
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080}]
  selector: {app: edge}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: edge-1, namespace: shop, labels: {kubernetes.io/service-name: edge}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
  - {addresses: [10.244.1.7], nodeName: node-a, conditions: {ready: true}}
ENDPOINT_B
"""
ON_B = "  - {addresses: [10.244.2.7], nodeName: node-b, conditions: {ready: true}}"


def _check(tmp_path: Path, capsys: pytest.CaptureFixture[str], docs: list[str], *flags: str) -> tuple[int, str]:
    files = []
    for i, text in enumerate(docs):
        (tmp_path / f"m{i}.yaml").write_text(text)
        files.append(str(tmp_path / f"m{i}.yaml"))
    code = main(["check", *files, *flags])
    return code, capsys.readouterr().out


def test_a_run_that_checked_nothing_says_so_and_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _check(tmp_path, capsys, [CLUSTER_IP, NO_BACKING])
    assert code == 4
    last = out.splitlines()[-1]
    assert last.startswith("NOTHING CHECKED: ")
    assert "2 Services looked at" in last
    assert "2 Services had nothing to check (1 ClusterIP only, 1 no endpoints and no workload)" in last


def test_allow_nothing_checked_accepts_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _check(tmp_path, capsys, [NODE, CLUSTER_IP], "--allow-nothing-checked")
    assert code == 0
    assert out.splitlines()[-1].startswith("NOTHING CHECKED: ")


@pytest.mark.parametrize(
    ("endpoint_b", "code", "found", "passed"),
    [
        pytest.param(ON_B, 0, 0, 1, id="a check that applied and held is a pass"),
        pytest.param("", 1, 1, 0, id="a check that applied and found something fails"),
    ],
)
def test_passed_and_failed_runs_read_differently(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], endpoint_b: str, code: int, found: int, passed: int
) -> None:
    docs = [NODE, CLUSTER_IP, NODE_PORT.replace("ENDPOINT_B", endpoint_b)]
    got, out = _check(tmp_path, capsys, docs)
    assert got == code
    last = out.splitlines()[-1]
    assert not last.startswith("NOTHING CHECKED")
    assert f"built-in checks: 1 applied, {found} found something, {passed} found nothing wrong" in last
    assert "1 Service had nothing to check (1 ClusterIP only)" in last


def test_json_and_markdown_carry_the_same_words_and_the_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = [CLUSTER_IP, NO_BACKING]
    _, text = _check(tmp_path, capsys, docs)
    line = text.splitlines()[-1]
    _, markdown = _check(tmp_path, capsys, docs, "--format", "markdown")
    assert line in markdown.splitlines()
    _, out = _check(tmp_path, capsys, docs, "--format", "json")
    summary = json.loads(out)["summary"]
    assert summary["text"] == line
    assert summary["nothing_checked"] is True
    assert summary["services_checked"] == 2 and summary["builtin_applied"] == 0 and summary["claims"] == 0
    assert summary["nothing_to_check"] == 2
    assert summary["nothing_to_check_by_reason"] == {"ClusterIP only": 1, "no endpoints and no workload": 1}


def test_a_built_in_check_that_could_not_decide_found_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    # Without Node objects there is no node to arrive at: two checks that apply are Unknown. The summary
    # counted them as having found something.
    path = Path(__file__).parent / "data" / "check" / "services.yaml"
    assert main(["check", str(path)]) == 3
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("2 results: 0 as expected, 0 failed, 2 unknown;")
    assert "built-in checks: 5 applied, 0 found something, 2 could not be decided, 3 found nothing wrong" in last
