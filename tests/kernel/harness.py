"""A small cluster made of Linux network namespaces, for checking kverify against the kernel.

The lab (all names carry a random prefix, so parallel test workers never collide)::

    client ns (203.0.113.2, .130) --- rtr ns: router and load balancer (192.168.0.1, 203.0.113.1)
                                          | br0: the nodes' network, 192.168.0.0/24
                   +----------------------+----------------------+
              node-a ns ("test-node")                       node-b ns (remote node)
              eth0 192.168.0.2 (+ .1.2, .99.11)             eth0 192.168.0.3
              cni0 bridge 10.0.0.1/24                       cni0 bridge 10.0.1.1/24
              kube-proxy's rules loaded here                pods of endpoints without nodeName
              pods: client 10.0.0.2, 10.180.0.5

- *Pods* are namespaces with one veth to their node's ``cni0`` bridge, a /32 address and a default
  route through the bridge's address, the way the bridge CNI plugin lays them out (the node routes
  each pod's /32 to the bridge). Each runs ``peer_server.py``, which answers with the address it saw.
- *Routes between nodes*: ``routed`` sends other nodes' pod addresses to the node over the underlay
  (host-gw, Calico without encapsulation); ``vxlan`` sends them through a VXLAN device carrying the
  pod subnet's network address (flannel's vxlan backend).
- The *load balancer* is the router: it routes each VIP and external IP to the nodes the profile
  sends them to, unchanged (a VIP-mode LB, the packet reaches the node with the VIP as destination).
- Traffic never leaves these namespaces: every address used lives in one of them, and the router
  has no default route.

Everything is torn down by :meth:`Lab.close` (a context manager, and an ``atexit`` hook as a last
resort); servers also exit when their standard input closes.
"""

from __future__ import annotations

import atexit
import ipaddress
import json
import os
import secrets
import select
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.kernel.peer_client import REPLY_TIMEOUT

HERE = Path(__file__).resolve().parent
RULES = HERE / "rules"
COMMAND_TIMEOUT = 20.0  # seconds for any one setup command
SERVER_START_TIMEOUT = 30.0  # seconds for a pod's server to bind (generous: CI machines may be loaded)
#: Seconds without an answer before a connection attempt counts as lost (the kernel dropped it). Longer
#: than TCP's first SYN retransmission (1 s, TCP_TIMEOUT_INIT) with room to spare, so that neither one
#: lost first SYN nor softirq work deferred to ksoftirqd on a loaded machine (a run flaked at load 15
#: with 0.5-1 s) passes for a drop. A real drop stays a drop however long one waits; only the runs of
#: dropped flows get longer.
DROP_WINDOW = 3.0
TOOLS = ("ip", "nft", "iptables", "iptables-restore", "nfacct", "bridge")


class LabError(RuntimeError):
    """A setup command failed; the message carries its output."""


def unavailable() -> str | None:
    """Why the kernel lab cannot run here (``None`` when it can)."""
    if sys.platform != "linux":
        return "the kernel harness needs Linux network namespaces"
    if os.geteuid() != 0:
        return "the kernel harness needs root (it creates network namespaces and loads netfilter rules)"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return (
            f"the kernel harness needs {', '.join(missing)}: "
            "apt-get install iproute2 nftables iptables nfacct (as .ci/run does)"
        )
    probe = f"kvprobe-{secrets.token_hex(4)}"
    try:
        _run(["ip", "netns", "add", probe])
    except LabError as error:
        return f"cannot create a network namespace here: {error}"
    try:
        _run(["ip", "netns", "exec", probe, "nft", "add", "table", "ip", "kvprobe"])
    except LabError as error:
        return f"cannot load nftables rules in a network namespace here: {error}"
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=COMMAND_TIMEOUT)
    return None


def _run(argv: Sequence[str], *, stdin: str | None = None, timeout: float = COMMAND_TIMEOUT) -> str:
    done = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise LabError(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


@dataclass(frozen=True)
class Pod:
    name: str
    node: str  # "node-a" or "node-b"
    ip: str
    ports: tuple[int, ...] = (80,)


@dataclass(frozen=True)
class Attempt:
    """One connection attempt, as ``peer_client.py`` reported it."""

    outcome: str  # connected | refused | timeout | unreachable | blocked | no-reply | error
    pod: str | None  # the pod that answered
    peer_seen: str | None  # the source address that pod saw
    replies: frozenset[str]  # every packet back to the client's port: "SRC tcp SA", "SRC icmp 3/1"...

    @property
    def replies_from(self) -> frozenset[str]:
        return frozenset(reply.split()[0] for reply in self.replies)

    @classmethod
    def parse(cls, raw: dict[str, object]) -> Attempt:
        reply = raw.get("reply")
        packets = raw.get("replies")
        replies = (
            frozenset(_describe(p) for p in packets if isinstance(p, dict))
            if isinstance(packets, list)
            else frozenset()
        )
        return cls(
            outcome=str(raw["outcome"]),
            pod=str(reply["pod"]) if isinstance(reply, dict) else None,
            peer_seen=str(reply["peer"]) if isinstance(reply, dict) else None,
            replies=replies,
        )


def _describe(packet: dict[str, object]) -> str:
    if packet.get("proto") == "icmp":
        return f"{packet['src']} icmp {packet['type']}/{packet['code']}"
    return f"{packet['src']} {packet['proto']} {packet.get('flags', '')}".rstrip()


# The addresses of the lab. Node "node-a" is kube-proxy's "test-node" in the upstream fixtures.
NODE_A = "192.168.0.2"
NODE_A_EXTRA = ("192.168.1.2", "192.168.99.11")
NODE_B = "192.168.0.3"
ROUTER = "192.168.0.1"
CLIENT = "203.0.113.2"
CLIENT_BLOCKED = "203.0.113.130"
# Each node's pod bridge address (a /24, the node's pod subnet) unless a lab is given others;
# with VXLAN the tunnel device carries the subnet's network address, as flannel does.
BRIDGE = {"node-a": "10.0.0.1", "node-b": "10.0.1.1"}


def tunnel_address(bridge: str) -> str:
    return str(ipaddress.ip_interface(f"{bridge}/24").network.network_address)


def bridge_subnet(bridge: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(f"{bridge}/24", strict=False)


UNDERLAY = {"node-a": NODE_A, "node-b": NODE_B}
POD_CLIENT = Pod(name="pod-client", node="node-a", ip="10.0.0.2", ports=())


@dataclass
class Lab:
    """The namespaces, links and servers of one harness run."""

    pods: tuple[Pod, ...]
    cni: str = "routed"  # routed | vxlan
    hairpin: bool = True  # the bridge ports' hairpin mode (kubelet's hairpin-veth)
    bridge_netfilter: bool = True  # net.bridge.bridge-nf-call-iptables, as kubeadm requires
    vips: tuple[str, ...] = ()  # addresses the load balancer routes to node-a
    bridges: dict[str, str] = field(default_factory=lambda: dict(BRIDGE))  # node -> cni0 address
    prefix: str = field(default_factory=lambda: f"kv{secrets.token_hex(3)}")
    namespaces: list[str] = field(default_factory=list)
    servers: list[subprocess.Popen[str]] = field(default_factory=list)
    clients: dict[str, subprocess.Popen[str]] = field(default_factory=dict)  # role -> peer_client --serve

    # -- names --------------------------------------------------------------------------------
    def ns(self, role: str) -> str:
        return f"{self.prefix}-{role}"

    def pod_ns(self, pod: Pod) -> str:
        return self.ns(f"pod-{pod.name}")

    # -- life cycle ---------------------------------------------------------------------------
    def __enter__(self) -> Lab:
        atexit.register(self.close)
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        for server in (*self.clients.values(), *self.servers):
            if server.stdin:
                server.stdin.close()
            try:
                server.wait(timeout=3)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=3)
            for pipe in (server.stdout, server.stderr):
                if pipe:
                    pipe.close()
        self.servers.clear()
        self.clients.clear()
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=COMMAND_TIMEOUT)
        self.namespaces.clear()
        atexit.unregister(self.close)

    # -- commands -----------------------------------------------------------------------------
    def run(self, role_ns: str, *argv: str, stdin: str | None = None) -> str:
        return _run(["ip", "netns", "exec", role_ns, *argv], stdin=stdin)

    def _add_ns(self, role: str) -> str:
        name = self.ns(role)
        _run(["ip", "netns", "add", name])
        self.namespaces.append(name)
        self.run(name, "ip", "link", "set", "lo", "up")
        return name

    def _sysctl(self, ns: str, key: str, value: int) -> None:
        self.run(ns, "sysctl", "-qw", f"{key}={value}")

    def _veth(self, ns_a: str, name_a: str, ns_b: str, name_b: str) -> None:
        _run(["ip", "link", "add", name_a, "netns", ns_a, "type", "veth", "peer", "name", name_b, "netns", ns_b])

    # -- topology -----------------------------------------------------------------------------
    def _build(self) -> None:
        rtr, client = self._add_ns("rtr"), self._add_ns("client")
        self._sysctl(rtr, "net.ipv4.ip_forward", 1)
        self.run(rtr, "ip", "link", "add", "br0", "type", "bridge")
        self.run(rtr, "ip", "addr", "add", f"{ROUTER}/24", "dev", "br0")
        self.run(rtr, "ip", "link", "set", "br0", "up")
        # The external client, on its own link to the router.
        self._veth(client, "eth0", rtr, "ext")
        self.run(rtr, "ip", "addr", "add", "203.0.113.1/24", "dev", "ext")
        self.run(rtr, "ip", "link", "set", "ext", "up")
        for address in (CLIENT, CLIENT_BLOCKED):
            self.run(client, "ip", "addr", "add", f"{address}/24", "dev", "eth0")
        self.run(client, "ip", "link", "set", "eth0", "up")
        self.run(client, "ip", "route", "add", "default", "via", "203.0.113.1")
        for node in ("node-a", "node-b"):
            self._node(node)
        # The load balancer/router: node-a's other addresses, the external IPs and the VIPs.
        for address in (*NODE_A_EXTRA, "192.168.99.0/24", *self.vips):
            self.run(rtr, "ip", "route", "replace", address, "via", NODE_A)
        for pod in (POD_CLIENT, *self.pods):
            self._pod(pod)
        self._routes_between_nodes()

    def _node(self, node: str) -> None:
        ns, rtr = self._add_ns(node), self.ns("rtr")
        self._sysctl(ns, "net.ipv4.ip_forward", 1)
        self._veth(ns, "eth0", rtr, node)
        self.run(rtr, "ip", "link", "set", node, "master", "br0", "up")
        addresses = (UNDERLAY[node], *(NODE_A_EXTRA if node == "node-a" else ()))
        for address in addresses:
            self.run(ns, "ip", "addr", "add", f"{address}/24", "dev", "eth0")
        self.run(ns, "ip", "link", "set", "eth0", "up")
        self.run(ns, "ip", "route", "add", "default", "via", ROUTER, "src", UNDERLAY[node])
        self.run(ns, "ip", "link", "add", "cni0", "type", "bridge")
        self.run(ns, "ip", "addr", "add", f"{self.bridges[node]}/24", "dev", "cni0")
        self.run(ns, "ip", "link", "set", "cni0", "up")
        self._sysctl(ns, "net.bridge.bridge-nf-call-iptables", int(self.bridge_netfilter))

    def _pod(self, pod: Pod) -> None:
        ns, node_ns = self._add_ns(f"pod-{pod.name}"), self.ns(pod.node)
        port = bridge_port(pod.ip)
        self._veth(ns, "eth0", node_ns, port)
        self.run(node_ns, "ip", "link", "set", port, "master", "cni0", "up")
        self.run(node_ns, "bridge", "link", "set", "dev", port, "hairpin", "on" if self.hairpin else "off")
        self.run(node_ns, "ip", "route", "replace", f"{pod.ip}/32", "dev", "cni0")
        gateway = self.bridges[pod.node]
        self.run(ns, "ip", "addr", "add", f"{pod.ip}/32", "dev", "eth0")
        self.run(ns, "ip", "link", "set", "eth0", "up")
        self.run(ns, "ip", "route", "add", gateway, "dev", "eth0", "scope", "link")
        self.run(ns, "ip", "route", "add", "default", "via", gateway, "dev", "eth0")
        if pod.ports:
            self._serve(ns, pod)

    def _pods_on(self, node: str) -> list[str]:
        subnet = str(bridge_subnet(self.bridges[node]))
        return [subnet, *(f"{p.ip}/32" for p in (POD_CLIENT, *self.pods) if p.node == node)]

    def _routes_between_nodes(self) -> None:
        for node, other in (("node-a", "node-b"), ("node-b", "node-a")):
            ns = self.ns(node)
            if self.cni == "vxlan":
                self.run(
                    ns,
                    "ip",
                    "link",
                    "add",
                    "vx0",
                    "type",
                    "vxlan",
                    "id",
                    "42",
                    "local",
                    UNDERLAY[node],
                    "dev",
                    "eth0",
                    "dstport",
                    "4789",
                )
                self.run(ns, "bridge", "fdb", "append", "00:00:00:00:00:00", "dev", "vx0", "dst", UNDERLAY[other])
                self.run(ns, "ip", "addr", "add", f"{tunnel_address(self.bridges[node])}/32", "dev", "vx0")
                self.run(ns, "ip", "link", "set", "vx0", "up")
                via = ["via", tunnel_address(self.bridges[other]), "dev", "vx0", "onlink"]
            else:
                via = ["via", UNDERLAY[other]]
            for destination in self._pods_on(other):
                if not ipaddress.ip_network(destination).subnet_of(bridge_subnet(self.bridges[node])):
                    self.run(ns, "ip", "route", "replace", destination, *via)

    def _serve(self, ns: str, pod: Pod) -> None:
        argv = ["ip", "netns", "exec", ns, sys.executable, str(HERE / "peer_server.py"), pod.name]
        server = subprocess.Popen(
            [*argv, *map(str, pod.ports)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.servers.append(server)
        assert server.stdout is not None
        if (
            not select.select([server.stdout], [], [], SERVER_START_TIMEOUT)[0]
            or server.stdout.readline().strip() != "ready"
        ):
            raise LabError(
                f"the server in pod {pod.name} did not start: {server.stderr.read() if server.stderr else ''}"
            )

    # -- dataplane rules ----------------------------------------------------------------------
    def load_nftables(self, path: Path, node: str = "node-a") -> None:
        """``nft -f`` the transcribed transaction, objects before the rules that use them."""
        self.run(self.ns(node), "nft", "-f", "-", stdin=nft_transaction(path.read_text()))

    def load_iptables(self, restore: Path, jumps: Path, node: str = "node-a") -> None:
        """``iptables-restore`` the transcribed input and add kube-proxy's jump rules, as kube-proxy
        does on start-up (it also creates its nfacct counters and sets route_localnet)."""
        ns = self.ns(node)
        for counter in ("ct_state_invalid_dropped_pkts", "localhost_nps_accepted_pkts"):
            self.run(ns, "nfacct", "add", counter)
        self._sysctl(ns, "net.ipv4.conf.all.route_localnet", 1)
        self.run(ns, "iptables-restore", "--noflush", stdin=_strip_comments(restore.read_text()))
        for line in _strip_comments(jumps.read_text()).splitlines():
            table, chain, *args = _split(line)
            self.run(ns, "iptables", "-t", table, "-I", chain, *args)

    def forget_affinity(self, node: str = "node-a") -> None:
        """Empty every ``recent`` list (kube-proxy's ClientIP affinity in iptables mode) on ``node``."""
        self.run(
            self.ns(node), "sh", "-c", 'for f in /proc/net/xt_recent/*; do [ -e "$f" ] && echo / > "$f"; done; true'
        )

    def load_nft_text(self, text: str, node: str = "node-a") -> None:
        self.run(self.ns(node), "nft", "-f", "-", stdin=text)

    # -- traffic ------------------------------------------------------------------------------
    def attempt(
        self,
        client: str,
        dst: str,
        port: int,
        *,
        src: str | None = None,
        proto: str = "tcp",
        timeout: float = DROP_WINDOW,
    ) -> Attempt:
        """One connection from the namespace of ``client`` (a role such as "client" or "node-a",
        or "pod-NAME") to ``dst:port``, made by that namespace's ``peer_client.py --serve``."""
        agent = self._client(client)
        assert agent.stdin is not None and agent.stdout is not None
        request = {"dst": dst, "port": port, "src": src, "proto": proto, "timeout": timeout}
        agent.stdin.write(json.dumps(request) + "\n")
        agent.stdin.flush()
        # The attempt is bounded by its own timeouts; this bounds a client that hangs or died.
        if not select.select([agent.stdout], [], [], timeout + REPLY_TIMEOUT + COMMAND_TIMEOUT)[0]:
            raise LabError(f"the client in {client} did not answer {request}")
        line = agent.stdout.readline()
        if not line:
            raise LabError(f"the client in {client} exited: {agent.stderr.read() if agent.stderr else ''}")
        return Attempt.parse(json.loads(line))

    def _client(self, role: str) -> subprocess.Popen[str]:
        if role not in self.clients:
            argv = ["ip", "netns", "exec", self.ns(role), sys.executable, str(HERE / "peer_client.py"), "--serve"]
            self.clients[role] = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        return self.clients[role]


def bridge_port(pod_ip: str) -> str:
    """The name of the node-side veth of the pod with this address (15 characters at most)."""
    return "v" + pod_ip.replace(".", "-")[-10:]


def nft_transaction(text: str) -> str:
    """The lines of an nft dump, ordered so that every object exists before a rule refers to it:
    tables, then sets and maps, then chains, then rules and elements, each group in file order."""
    order = ("add table", "add set", "add map", "add chain")
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]

    def rank(line: str) -> int:
        return next((i for i, prefix in enumerate(order) if line.startswith(prefix)), len(order))

    return "\n".join(sorted(lines, key=rank)) + "\n"


def _strip_comments(text: str) -> str:
    return "".join(line + "\n" for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _split(line: str) -> list[str]:
    return shlex.split(line)
