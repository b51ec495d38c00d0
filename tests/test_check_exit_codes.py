"""``kverify check`` exit codes: 0 every result as expected, 1 a claim fails, 2 bad input or usage,
3 a verdict is unknown (3 wins over 1, as for ``kverify prove``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kverify.cli import main

ROOT = Path(__file__).parent.parent
SPEC = """\
apiVersion: kverify.io/v1alpha1
kind: Spec
metadata: {name: demo}
topology:
  nodes: [{name: node-a}, {name: node-b}]
  services:
    - name: shop/web
      type: LoadBalancer
      externalTrafficPolicy: Local
      endpoints: [{ip: 10.244.1.5, node: node-a}]
environment: {loadBalancer: no-health-check}
claims:
  - {id: delivered, service: shop/web, property: delivered, expect: EXPECT}
"""
HOSTNAME_ONLY = """\
apiVersion: v1
kind: Service
metadata: {name: elb, namespace: shop}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.30
  ports: [{port: 80, nodePort: 30030}]
status: {loadBalancer: {ingress: [{hostname: abc.elb.amazonaws.com}]}}
---
apiVersion: v1
kind: Node
metadata: {name: node-a}
status: {addresses: [{type: InternalIP, address: 192.168.0.11}]}
"""


def run(tmp_path: Path, text: str, *extra: str) -> int:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return main(["check", str(path), *extra])


def test_external_clients_of_a_load_balancer_known_only_by_hostname_are_decided(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No endpoints behind an ELB: the node port rejects what the load balancer sends (not Unknown)."""
    (tmp_path / "elb.yaml").write_text(HOSTNAME_ONLY)
    spec = (
        "apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: elb}\nmanifests: [elb.yaml]\n"
        "claims:\n  - {id: delivered, service: shop/elb, property: delivered, expect: refuted}\n"
    )
    assert run(tmp_path, spec, "--verbose") == 0
    out = capsys.readouterr().out
    assert "REJECTED" in out and "known only as abc.elb.amazonaws.com) sends to node-a's node port" in out


@pytest.mark.parametrize(
    ("expect", "code"),
    [
        pytest.param("refuted", 0, id="a claim refuted as the spec expects exits 0"),
        pytest.param("holds", 1, id="a claim the spec expects to hold but is refuted exits 1"),
    ],
)
def test_expectations_decide_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], expect: str, code: int
) -> None:
    assert run(tmp_path, SPEC.replace("EXPECT", expect)) == code
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("1 result: ") and ("1 failed" in last) == (code == 1)


def test_a_verdict_the_model_cannot_reach_is_unknown_and_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "elb.yaml").write_text(HOSTNAME_ONLY)
    spec = (
        "apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: elb}\nmanifests: [elb.yaml]\n"
        "claims:\n  - {id: delivered, service: shop/elb, from: pod, via: load-balancer, property: delivered}\n"
    )
    assert run(tmp_path, spec) == 3
    out = capsys.readouterr().out
    assert "UNKNOWN" in out and "known only by a hostname: in-cluster clients leave the cluster" in out
    last = "1 result: 0 as expected, 0 failed, 1 unknown; 1 Service looked at; 1 spec claim decided."
    assert out.splitlines()[-1] == last


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["check", "no/such/file.yaml"], id="a missing file"),
        pytest.param(["check", "--format", "xml"], id="an unknown format"),
        pytest.param(["check", "--cluster-cidr", "10.0.0.0/99", "examples/article/cluster.yaml"], id="a bad CIDR flag"),
    ],
)
def test_bad_input_or_usage_exits_2_without_a_traceback(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse usage errors
        code = int(exit_.code or 0)
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip()


def test_manifests_no_built_in_check_applies_to_exit_4_unless_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    cluster_ip_only = tmp_path / "cluster-ip.yaml"
    cluster_ip_only.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: shop}\n"
        "spec: {clusterIP: 10.96.0.30, ports: [{port: 80}]}\n"
    )
    assert main(["check", str(cluster_ip_only)]) == 4
    assert main(["check", str(cluster_ip_only), "--allow-nothing-checked"]) == 0
    # The article's web-local (eTP Local) has Ready pods on two targets of the health-checked LB: the check
    # etp-local-lb-without-healthy-target applies and holds (it said "nothing checked" before that check).
    assert main(["check", "examples/article/cluster.yaml"]) == 0
    assert main(["check", "examples/article/cluster.yaml", "--load-balancer", "no-health-check"]) == 1
    out = capsys.readouterr().out
    assert "etp-local-lb-without-health-checks" in out and "shop/web-local" in out


def test_an_unknown_verdict_the_spec_allows_is_reported_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "elb.yaml").write_text(HOSTNAME_ONLY)
    spec = (
        "apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: elb}\nmanifests: [elb.yaml]\n"
        "claims:\n  - {id: delivered, service: shop/elb, from: pod, via: load-balancer, property: delivered,"
        " allowUnknown: true}\n"
    )
    assert run(tmp_path, spec) == 0
    out = capsys.readouterr().out
    assert "UNKNOWN delivered: " in out and "[unknown, allowed by the spec: the load balancer is known only by" in out
    assert out.splitlines()[-1].startswith("1 result: 0 as expected, 0 failed, 1 unknown;")
