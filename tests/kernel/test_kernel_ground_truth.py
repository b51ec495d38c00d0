"""kverify against the Linux kernel running kube-proxy's own rules (issue 13).

The privileged test builds the namespace labs (``harness.py``), loads the rules kube-proxy's unit
tests assert (``rules/``), sends every fixture flow, compares with ``route()``, and checks
``docs/research/kernel-ground-truth.md`` against what it saw. It is one test, so that parallel
workers never build the labs twice; its checks are reported by name. Without root or the tools it is
skipped with the reason; with ``KVERIFY_REQUIRE_KERNEL=1`` (set by ``.ci/run``) it fails instead,
so CI cannot pass without running it. The other tests here need no privileges.
"""

from __future__ import annotations

import os
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kverify.model import Cni
from tests.kernel import experiments, harness, peer_client
from tests.kernel.fixture import FIXTURES, OVERALL_NFT, TERMINATING_READY_IPT, Fixture
from tests.kernel.ground_truth import Observation, Row, compare, expect, load_rules, open_lab
from tests.kernel.harness import CLIENT, NODE_A, RULES, nft_transaction, unavailable
from tests.kernel.report import DOC, REGENERATE, Results, profile_disagreements, render, unexplained

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class _LabResults:
    rows: list[Row]
    hairpin: list[experiments.Hairpin] = field(default_factory=list)
    affinity: Observation | None = None


def _fixture_in_a_lab(fixture: Fixture) -> _LabResults:
    with open_lab(fixture) as lab:
        load_rules(lab, fixture)
        found = _LabResults(rows=compare(lab, fixture))
        if fixture is OVERALL_NFT:
            found.hairpin = experiments.hairpin(lab)
        if fixture is TERMINATING_READY_IPT:
            found.affinity = experiments.affinity(lab, fixture)
    return found


def _run_everything() -> Results:
    with ThreadPoolExecutor(max_workers=2) as pool:
        labs = [pool.submit(_fixture_in_a_lab, fixture) for fixture in FIXTURES]
        thought = pool.submit(experiments.thought_experiment)
        vxlan = pool.submit(experiments.vxlan_observations)
        found = [lab.result() for lab in labs]
        rows = [row for lab in found for row in lab.rows]
        routed = {row.flow.id: row.observed for row in rows if row.fixture is OVERALL_NFT}
        (affinity,) = [lab.affinity for lab in found if lab.affinity]
        return Results(
            rows=tuple(rows),
            thought=thought.result(),
            masquerade=tuple(experiments.masquerade_sources(routed, vxlan.result())),
            hairpin=tuple(h for lab in found for h in lab.hairpin),
            affinity=affinity,
        )


def test_the_kernel_against_kverify() -> None:
    """One test, so that parallel workers never build the labs twice; each check below is reported
    by name when it fails, and every check runs."""
    reason = unavailable()
    if reason:
        if os.environ.get("KVERIFY_REQUIRE_KERNEL") == "1":
            pytest.fail(f"KVERIFY_REQUIRE_KERNEL=1 but {reason}")
        pytest.skip(reason)
    results = _run_everything()
    failures = []
    for check in CHECKS:
        try:
            check(results)
        except AssertionError as error:
            failures.append(f"{check.__name__}: {error}")
    assert not failures, "\n\n".join(failures)


def kernel_agrees_with_kverify_or_the_gap_is_explained(results: Results) -> None:
    assert len(results.rows) >= 40, len(results.rows)
    problems = unexplained(results.rows)
    assert not problems, "kverify and the kernel disagree, unexplained:\n" + "\n".join(problems)
    rendered = render(results)
    doc = ROOT / DOC
    if os.environ.get("KVERIFY_WRITE_GROUND_TRUTH") == "1":
        doc.write_text(rendered)
    assert doc.read_text() == rendered, f"{DOC} is not what the kernel did this time; regenerate: {REGENERATE}"


def the_lab_s_own_cni_profile_agrees_on_every_flow(results: Results) -> None:
    """kverify with --cni flannel-host-gw (the lab's layout) and the kernel agree on every aspect of every flow:
    the generic profile's explained source-address gaps are the profile's answers."""
    problems = profile_disagreements(results.rows)
    assert not problems, "kverify --cni flannel-host-gw and the kernel disagree:\n" + "\n".join(problems)


def dnat_without_snat_fails_because_the_reply_comes_from_the_pod(results: Results) -> None:
    t = results.thought
    assert t.model.delivered and not t.model.reply_ok and t.model.source_ip_seen == CLIENT, t.model
    assert "delivered" not in t.without_snat.fates, t.without_snat
    assert "10.180.0.1" in t.without_snat.replies_from, t.without_snat
    assert "1.2.3.4" not in t.without_snat.replies_from, t.without_snat
    assert t.with_snat.fates == ("delivered",) and t.with_snat.seen == (("10.180.0.1", NODE_A),), t.with_snat


def masquerade_takes_the_address_of_the_interface_the_packet_leaves_by(results: Results) -> None:
    wrong = [found for found in results.masquerade if found.observed != found.interface_address]
    assert not wrong, wrong


def hairpin_needs_hairpin_mode_only_when_bridge_netfilter_is_on(results: Results) -> None:
    reached = {(h.hairpin_mode, h.bridge_netfilter): dict(h.observed.seen).get("10.180.0.5") for h in results.hairpin}
    assert reached == {
        (True, True): "10.0.0.1",
        (True, False): "10.0.0.1",
        (False, False): "10.0.0.1",
        (False, True): None,
    }, reached
    (off,) = [h for h in results.hairpin if not h.hairpin_mode and h.bridge_netfilter]
    assert "dropped" in off.observed.fates and "10.180.0.4" in dict(off.observed.seen), off
    # kverify's bridge profile (hairpin off, rule cni-hairpin-off) says the same: the other endpoint only.
    (flow,) = [f for f in OVERALL_NFT.flows if f.id == "endpoint pod to its own ClusterIP"]
    bridge = expect(OVERALL_NFT, flow, Cni.BRIDGE)
    assert bridge.endpoints == ("10.180.0.4",) and "drop" in bridge.fate.split("+"), bridge


def affinity_sends_a_client_back_to_its_first_endpoint(results: Results) -> None:
    assert results.affinity.fates == ("delivered",) and len(results.affinity.endpoints) == 1, results.affinity
    (first_connections,) = [
        r for r in results.rows if r.fixture is TERMINATING_READY_IPT and r.flow.id == "pod to ClusterIP"
    ]
    assert len(first_connections.observed.endpoints) > 1, first_connections.observed


CHECKS = (
    kernel_agrees_with_kverify_or_the_gap_is_explained,
    the_lab_s_own_cni_profile_agrees_on_every_flow,
    dnat_without_snat_fails_because_the_reply_comes_from_the_pod,
    masquerade_takes_the_address_of_the_interface_the_packet_leaves_by,
    hairpin_needs_hairpin_mode_only_when_bridge_netfilter_is_on,
    affinity_sends_a_client_back_to_its_first_endpoint,
)


# -- no privileges needed ----------------------------------------------------------------------


def test_the_nft_transaction_creates_every_object_before_a_rule_uses_it() -> None:
    lines = nft_transaction((RULES / "nftables_overall.nft").read_text()).splitlines()
    first_rule = next(i for i, line in enumerate(lines) if line.startswith(("add rule", "add element")))
    assert all(line.startswith(("add table", "add set", "add map", "add chain")) for line in lines[:first_rule])
    assert not any(line.startswith(("add table", "add set", "add map", "add chain")) for line in lines[first_rule:])
    assert len(lines) == len(
        [x for x in (RULES / "nftables_overall.nft").read_text().splitlines() if x.strip() and not x.startswith("#")]
    )


PATTERNS = {
    ".nft": (r"dnat to ([\d.]+):80", r"service-ips \{ ([\d.]+) \. tcp \. 80"),
    ".rules": (r"--to-destination ([\d.]+):80", r"-d ([\d.]+) --dport 80 -j KUBE-(?:SVC|EXT|FW)"),
}


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.name)
def test_the_kverify_fixture_is_the_cluster_the_rules_were_written_for(fixture: Fixture) -> None:
    """The Services and endpoints built in fixture.py are those the transcribed rules serve."""
    (path,) = fixture.rules
    text = (RULES / path).read_text()
    dnat, service_ip = PATTERNS[Path(path).suffix]
    services = fixture.cluster.services
    assert set(re.findall(dnat, text)) <= {e.ip for s in services for e in s.endpoints}
    addresses = {ip for s in services if s.endpoints for ip in (*s.cluster_ips, *s.external_ips)} | {
        i.ip for s in services if s.endpoints for i in s.load_balancer_ingress if i.ip
    }
    assert set(re.findall(service_ip, text)) == addresses
    node_ports = {p.node_port for s in services for p in s.ports if p.node_port}
    assert {int(n) for n in re.findall(r"(?:tcp \. |--dport )(300\d)\b", text)} == node_ports


def test_enough_flows_for_both_dataplanes() -> None:
    assert sum(len(f.flows) for f in FIXTURES) >= 40
    assert all(len({flow.id for flow in f.flows}) == len(f.flows) for f in FIXTURES)


def test_without_root_the_harness_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness.os, "geteuid", lambda: 1000)
    assert "needs root" in (harness.unavailable() or "")


def test_without_the_tools_the_harness_names_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness.os, "geteuid", lambda: 0)
    monkeypatch.setattr(harness.shutil, "which", lambda tool: None if tool in ("nft", "nfacct") else "/bin/true")
    reason = harness.unavailable() or ""
    assert "nft, nfacct" in reason and "apt-get install" in reason


def test_a_connected_attempt_whose_server_stays_silent_is_no_reply_not_a_lost_packet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A handshake the kernel completed is not a drop, however long the server takes to answer (a loaded
    machine): only an attempt that never connected is reported as a timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # the kernel completes the handshake; nobody accepts or answers
    quiet = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # stands in for the sniffer, which needs root
    quiet.bind(("127.0.0.1", 0))
    monkeypatch.setattr(peer_client, "_sniffer", lambda: quiet)
    monkeypatch.setattr(peer_client, "REPLY_TIMEOUT", 0.2)
    try:
        result = peer_client.attempt("127.0.0.1", listener.getsockname()[1], None, "tcp", harness.DROP_WINDOW)
    finally:
        listener.close()
    assert result["outcome"] == "no-reply", result
