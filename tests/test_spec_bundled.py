"""The bundled specs (``specs/``, shipped as package data): a regression corpus of worked scenarios,
each claim with the verdict it must keep, several of them refuted on purpose."""

from __future__ import annotations

import filecmp
import re
from pathlib import Path

import pytest

from kverify.check import CHECKS
from kverify.check.session import bundled_specs, bundled_specs_dir
from kverify.check.specfile import evaluate, load_spec
from kverify.cli import main
from kverify.verdicts import Proved, Refuted

ROOT = Path(__file__).parent.parent
SPECS = sorted(bundled_specs_dir().glob("*.yaml"))

#: spec name -> {claim id: verdict}. A change here is a change in what kverify says about Kubernetes.
EXPECTED = {
    "article-cluster": {
        "lb-delivers": "proved",
        "lb-keeps-client-ip": "refuted",
        "lb-stays-on-node": "refuted",
        "lb-one-hop": "proved",
        "lb-even-spread": "proved",
        "nodeport-on-node-c-delivers": "proved",
    },
    "article-local": {
        "lb-delivers": "proved",
        "lb-keeps-client-ip": "proved",
        "lb-stays-on-node": "proved",
        "lb-no-hops": "proved",
        "lb-even-spread": "proved",
        "nodeport-on-node-c-delivers": "refuted",
    },
    "local-lb-without-health-checks": {
        "lb-delivers": "refuted",
        "lb-never-dropped": "refuted",
        "lb-keeps-client-ip": "proved",
        "lb-delivers-on-node-a": "proved",
        "etp-local-lb-without-health-checks": "refuted",
    },
    "in-cluster-client-local": {
        "pod-to-lb-ip-delivered": "proved",
        "pod-to-lb-ip-stays-on-node": "refuted",
        "host-to-nodeport-delivered": "proved",
        "pods-reach-cache": "refuted",
        "pods-on-node-a-reach-cache": "proved",
        "itp-local-clients-without-endpoint": "refuted",
    },
    "rollout-terminating": {
        "lb-delivers": "proved",
        "lb-reaches-ready-pods": "proved",
        "nodeport-on-node-a-reaches-ready-pods": "refuted",
        "last-lb-delivers": "refuted",
        "terminating-endpoints-behind-health-checked-lb": "refuted",
    },
    "ingress-needs-client-ip": {
        "office-keeps-client-ip": "refuted",
        "office-delivered": "proved",
        "local-variant-keeps-client-ip": "proved",
        "etp-cluster-hides-client-ip": "refuted",
    },
    # Issue 9, item 3: the load balancers people run, and PROXY protocol.
    "bridge-cni-hairpin": {
        "pod-reaches-itself": "refuted",  # kernel harness 'Hairpin': hairpin off + bridge-nf-call-iptables=1
        "another-pod-reaches-the-service": "proved",
    },
    "k3s-servicelb-local": {
        "lb-delivers": "proved",  # servicelb.go getStatus lists only node-a and node-b (Ready pods)
        "lb-keeps-client-ip": "proved",  # kube-proxy's eTP Local LB-IP rule handles the listed node IP first
        "lb-stays-on-node": "proved",
        "nodeport-on-node-c-delivers": "refuted",
    },
    "unallocated-service-ip": {
        "unallocated-dropped": "proved",  # nftables cluster-ips-check, every unallocated address (Z3)
        "nothing-answers-on-10-43-255-1": "proved",
    },
    "proxy-protocol-broken-header": {
        "external-gets-header": "proved",
        "pod-reaches-ingress": "proved",
        "pod-gets-header": "refuted",  # kubernetes/ingress-nginx#3996: short-circuited past the LB
        "pod-gets-header-with-ip-mode-proxy": "proved",  # KEP-1860 ipMode Proxy, honoured from v1.30
    },
    # Changes over time (kverify.change): every state of a rollout or a drain, with the health-check window.
    "rollout-etp-local": {
        "rollout-never-drops": "refuted",  # 24 s (GCP 8 s x 3) per node without a Ready or serving pod
        "rollout-keeps-client-ip": "proved",
        "steady-state-never-drops": "proved",
    },
    "rollout-surge-prestop": {
        "rollout-never-drops": "proved",  # the 30 s PreStop sleep outlasts the 24 s window
        "rollout-delivers": "proved",
        "aws-rollout-never-drops": "proved",  # AWS NLB, eTP Local: 10 s x 2 = 20 s < 30 s
    },
    "drain-anti-affinity": {
        "drain-keeps-client-ip": "proved",
        "drain-share-within-2": "proved",  # the replacement stays Pending: 1 pod on each remaining node
        "drain-never-drops": "refuted",  # 24 s to the drained node, whose pod is gone at once
    },
    "node-failure": {
        "local-failure-keeps-client-ip": "proved",
        "local-failure-share-within-2": "proved",  # the replacement stays Pending: 1 pod on each live node
        "local-failure-never-drops": "refuted",  # 25 s (GCP 8 s x 3 + 1 s timeout) to the dead node
        "cluster-failure-keeps-client-ip": "refuted",  # SNAT in every state
        "cluster-failure-share-within-2": "proved",
        "cluster-failure-never-drops": "refuted",  # 60 s: the dead pod stays ready until Ready=Unknown
    },
    # Design reviews: manifests as written (no Nodes, no EndpointSlices), decided over every placement.
    "design-web-local": {
        "lb-never-drops": "refuted",  # 3 replicas cannot cover 5 nodes; eTP Local drops on the others
        "lb-keeps-client-ip": "proved",
        "lb-stays-on-node": "proved",
        "etp-local-lb-without-health-checks": "refuted",
    },
    "design-web-daemonset": {
        "lb-never-drops": "proved",
        "lb-delivers": "proved",
        "lb-keeps-client-ip": "proved",
        "rollout-never-drops": "refuted",  # a DaemonSet without surge leaves each node podless while it restarts
    },
    "design-api-zones": {
        "spread-share-within-2": "proved",  # maxSkew 1: 1 or 2 replicas per zone, so at most 2 per node
        "unspread-share-within-2": "refuted",  # 4 replicas may share a node against 1 alone
        "spread-delivers": "proved",
    },
    "design-cache-anti-affinity": {
        "lb-never-drops": "proved",  # one replica on each of the 3 nodes
        "lb-keeps-client-ip": "proved",
        "lb-no-hops": "proved",
        "even-share": "proved",
    },
    "design-ingress-nginx-cloud": {
        "lb-delivers": "proved",
        "lb-keeps-client-ip": "proved",
        "lb-stays-on-node": "proved",
        "webhook-reachable": "proved",
    },
    "design-ingress-nginx-cloud-no-health-check": {
        "lb-never-drops": "refuted",  # 1 replica: every cluster of 2+ nodes has a node without it
        "lb-keeps-client-ip": "proved",
        "etp-local-lb-without-health-checks": "refuted",
    },
    "design-ingress-nginx-aws": {"lb-delivers": "proved", "lb-keeps-client-ip": "proved"},
    "design-ingress-nginx-baremetal": {"nodeport-delivers": "proved", "nodeport-keeps-client-ip": "refuted"},
    "design-microservices-demo": {
        "frontend-delivers": "proved",
        "frontend-keeps-client-ip": "refuted",  # eTP Cluster SNATs when the LB picks a node without a frontend
        "cart-from-pods": "proved",
        "checkout-from-pods": "proved",
    },
}


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_each_bundled_spec_keeps_its_verdicts(path: Path) -> None:
    spec = load_spec(str(path))
    run = evaluate(spec)
    assert {r.claim: r.verdict.verdict for r in run.results} == EXPECTED[spec.name]
    assert all(r.passed for r in run.results), [r for r in run.results if not r.passed]
    for r in run.results:
        if isinstance(r.verdict, Refuted):  # a counterexample a reviewer can replay
            cx = r.verdict.counterexample
            assert re.fullmatch(r"cx-[0-9a-f]{10}", cx.id) and cx.command.startswith("kverify trace ")
            assert cx.outcome.hops
        elif r.statement.startswith("during "):  # a change: every state of every timeline
            assert isinstance(r.verdict, Proved) and "every state of each" in r.verdict.scope
        elif spec.name.startswith("design-") or spec.node_pools:
            assert isinstance(r.verdict, Proved) and r.verdict.scope.startswith("every placement of ")
        else:
            assert isinstance(r.verdict, Proved) and r.verdict.scope.startswith("these manifests: 3 node(s)")


def test_the_corpus_covers_the_scenarios_of_the_issue() -> None:
    assert set(EXPECTED) == {p.stem for p in SPECS}
    refuted = sum(v == "refuted" for claims in EXPECTED.values() for v in claims.values())
    assert refuted >= 10


def test_the_article_manifests_in_the_specs_are_the_examples() -> None:
    assert filecmp.cmp(
        bundled_specs_dir() / "manifests" / "article-cluster.yaml",
        ROOT / "examples" / "article" / "cluster.yaml",
        shallow=False,
    )


def test_the_repository_specs_directory_is_the_package_data() -> None:
    assert (ROOT / "specs").resolve() == (ROOT / "kverify" / "data" / "specs").resolve()


def test_kverify_check_without_arguments_checks_the_bundled_specs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["check"]) == 0
    out = capsys.readouterr().out.splitlines()
    total = sum(len(v) for v in EXPECTED.values())
    builtin_ids = {c.id for c in CHECKS}
    found = sum(claim in builtin_ids for claims in EXPECTED.values() for claim in claims)
    assert re.fullmatch(
        rf"{total} results: {total} as expected, 0 failed, 0 unknown; \d+ Services looked at; "
        rf"{total - found} spec claims decided; built-in checks: \d+ applied, {found} found something, "
        r"\d+ found nothing wrong.*",
        out[-1],
    )
    assert {line.split()[1] for line in out if line.startswith("spec ")} == set(EXPECTED)
    assert bundled_specs()[0].startswith("specs/")  # from a checkout: the repository's paths
