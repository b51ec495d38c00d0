"""Rule nftables-no-endpoint-services-pre-dnat against the kernel (issue 9).

kube-proxy's v1.30 nftables rules for an eTP Local LoadBalancer Service whose only endpoint is on
another node (``rules/nftables_v1_30_etp_local.nft``, from TestOverallNFTablesRules) are loaded into
a namespace acting as the node, with a pod behind one veth and the endpoint behind another. One TCP
connection from each client: the kernel's answer is compared with ``route()`` on the same cluster at
v1.32 (the last minor kverify models with the old chain priorities), and with the rules' filter
chains moved to priority 0 (PR #132456) the node's own connection must go through. The lab is small
and separate from ``harness.py``'s two-node labs: it needs only one node's rules and an off-node route.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kverify.concrete import route
from tests.kernel.harness import nft_transaction, unavailable
from tests.kubernetes_cases import rows

RULES = Path(__file__).parent / "rules" / "nftables_v1_30_etp_local.nft"
LB_IP, ENDPOINT, POD_IP = "1.2.3.4", "10.180.0.2", "10.0.0.2"
TIMEOUT = 10

# The endpoint answers with the source address it saw; the client prints that, or the error.
SERVER = """
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.180.0.2", 80)); s.listen(8)
while True:
    c, a = s.accept(); c.sendall(a[0].encode()); c.close()
"""
CLIENT = """
import socket, sys
s = socket.socket(); s.settimeout(3)
try:
    s.connect((sys.argv[1], int(sys.argv[2]))); print(s.recv(64).decode())
except OSError as e:
    print("failed: " + type(e).__name__)
"""
# The node's own address and the Service's NodePort (TestOverallNFTablesRules ns2/svc2: nodePort 3001).
NODE_IP, NODE_PORT = "192.168.0.2", 3001


def _run(*argv: str, stdin: str | None = None) -> str:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=TIMEOUT, check=True)
    return done.stdout.strip()


@contextmanager
def _lab(rules: str) -> Iterator[dict[str, str]]:
    """Namespaces node, pod and remote; yields their names. Everything is deleted on exit."""
    prefix = f"kvpd{secrets.token_hex(3)}"
    ns = {role: f"{prefix}{role}" for role in ("node", "pod", "remote")}
    server = None
    try:
        for name in ns.values():
            _run("ip", "netns", "add", name)
            _run("ip", "-n", name, "link", "set", "lo", "up")
        node = ns["node"]
        for role, side, node_address, address in (
            ("pod", f"{prefix}p", "10.0.0.1/24", f"{POD_IP}/24"),
            ("remote", f"{prefix}r", "10.180.0.254/24", f"{ENDPOINT}/24"),
        ):
            _run("ip", "link", "add", side, "netns", node, "type", "veth", "peer", "name", "eth0", "netns", ns[role])
            _run("ip", "-n", node, "addr", "add", node_address, "dev", side)
            _run("ip", "-n", node, "link", "set", side, "up")
            _run("ip", "-n", ns[role], "addr", "add", address, "dev", "eth0")
            _run("ip", "-n", ns[role], "link", "set", "eth0", "up")
            _run("ip", "-n", ns[role], "route", "add", "default", "via", node_address.split("/")[0])
        _run("ip", "-n", node, "addr", "add", "192.168.0.2/32", "dev", "lo")
        # The LB IP is not the node's: the node routes it off-node (towards the endpoint's network).
        _run("ip", "-n", node, "route", "add", f"{LB_IP}/32", "via", ENDPOINT)
        _run("ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        _run("ip", "netns", "exec", node, "nft", "-f", "-", stdin=nft_transaction(rules))
        server = subprocess.Popen(["ip", "netns", "exec", ns["remote"], "python3", "-c", SERVER])
        _run("ip", "netns", "exec", ns["remote"], "python3", "-c", "import time; time.sleep(0.5)")
        yield ns
    finally:
        if server is not None:
            server.kill()
            server.wait()
        for name in ns.values():
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=TIMEOUT)


def _connect(namespace: str, address: str = LB_IP, port: int = 80) -> str:
    return _run("ip", "netns", "exec", namespace, "python3", "-c", CLIENT, address, str(port))


def _kverify(row_id: str) -> str:
    """route() on the versions.yaml row's cluster: delivered, or dropped and how."""
    (case,) = [r for r in rows.load_rows("flow") if r["id"].startswith(row_id)]
    outcomes = route(rows.cluster(case), rows.flow(case))
    assert len(outcomes) == 1, outcomes
    (outcome,) = outcomes
    return "delivered" if outcome.delivered else f"dropped ({outcome.drop_kind.spelling})"


@pytest.fixture(scope="module")
def _kernel() -> None:
    reason = unavailable()
    if reason:
        if os.environ.get("KVERIFY_REQUIRE_KERNEL") == "1":
            pytest.fail(f"KVERIFY_REQUIRE_KERNEL=1 but {reason}")
        pytest.skip(reason)


def test_v1_30_rules_deliver_the_pod_and_drop_the_node(_kernel: None) -> None:
    with _lab(RULES.read_text()) as ns:
        from_pod, from_node = _connect(ns["pod"]), _connect(ns["node"])
    assert from_pod == POD_IP, "the pod is short-circuited to the remote endpoint, unmasqueraded"
    assert from_node == "failed: TimeoutError", "the node's own connection is dropped silently"
    assert _kverify("nftables v1.32: pod to an eTP Local LB IP") == "delivered"
    assert _kverify("nftables v1.32: the node itself to the LB IP") == "dropped (drop)"


def test_with_pr_132456s_priorities_the_node_gets_through(_kernel: None) -> None:
    after_dnat = RULES.read_text().replace("priority -110", "priority 0")
    with _lab(after_dnat) as ns:
        from_pod, from_node = _connect(ns["pod"]), _connect(ns["node"])
    assert from_pod == POD_IP
    assert from_node == "10.180.0.254", "masqueraded to the node's address on the endpoint's network"
    assert _kverify("nftables v1.34: the node itself to the LB IP") == "delivered"


# Rule nftables-no-endpoint-nodeports-output: the same v1.30 rules hold the NodePort element
# "no-endpoint-nodeports { tcp . 3001 : drop }", looked up from endpoints-check, which filter-output jumps to.
_SPLIT = (
    # Later releases split endpoints-check (nftablesJumpChains at aroradaman/kubernetes@15ac54fe and
    # npinaeva/kubernetes@04ef96cd): NodePorts are looked up only from filter-input, without the fib test
    # (setupNFTables: "ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports").
    (
        "add chain ip kube-proxy endpoints-check",
        "add chain ip kube-proxy service-endpoints-check\nadd chain ip kube-proxy nodeport-endpoints-check",
    ),
    ("add rule ip kube-proxy endpoints-check ip daddr", "add rule ip kube-proxy service-endpoints-check ip daddr"),
    (
        "add rule ip kube-proxy endpoints-check fib daddr type local ip daddr",
        "add rule ip kube-proxy nodeport-endpoints-check ip daddr",
    ),
    (
        "filter-input ct state new jump endpoints-check",
        "filter-input ct state new jump nodeport-endpoints-check\n"
        "add rule ip kube-proxy filter-input ct state new jump service-endpoints-check",
    ),
    ("filter-forward ct state new jump endpoints-check", "filter-forward ct state new jump service-endpoints-check"),
    ("filter-output ct state new jump endpoints-check", "filter-output ct state new jump service-endpoints-check"),
)


def _split_checks(rules: str) -> str:
    """The v1.30 rules with the no-endpoint checks split as later releases write them, priorities unchanged."""
    for old, new in _SPLIT:
        assert rules.count(old) == 1, old
        rules = rules.replace(old, new)
    return rules


def test_v1_30_rules_drop_the_node_at_its_own_node_port(_kernel: None) -> None:
    with _lab(RULES.read_text()) as ns:
        from_node = _connect(ns["node"], NODE_IP, NODE_PORT)
        from_pod = _connect(ns["pod"], NODE_IP, NODE_PORT)
        localhost = _connect(ns["node"], "127.0.0.1", NODE_PORT)
    assert from_node == "failed: TimeoutError", "filter-output drops it before nat-output could DNAT it"
    assert from_pod == POD_IP, "a pod is DNATed in prerouting: filter-input/forward see the endpoint"
    assert localhost == "failed: ConnectionRefusedError", "nftables never accepts a localhost NodePort"
    assert _kverify("nftables v1.30: the node itself to its own NodePort") == "dropped (drop)"
    assert _kverify("nftables v1.30: the node to 127.0.0.1:NodePort") == "dropped (not-intercepted)"


def test_with_the_checks_split_the_node_reaches_its_own_node_port(_kernel: None) -> None:
    with _lab(_split_checks(RULES.read_text())) as ns:
        from_node = _connect(ns["node"], NODE_IP, NODE_PORT)
        from_pod = _connect(ns["pod"], NODE_IP, NODE_PORT)
    assert from_node == "10.180.0.254", "short-circuited and masqueraded to the node's address on that network"
    assert from_pod == POD_IP
    assert _kverify("nftables v1.32: the node itself to its own NodePort") == "delivered"
