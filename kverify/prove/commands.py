"""The ``kverify trace`` command that shows a counterexample: built where one is reported (``kverify
prove``, ``kverify check``, the pytest helpers). Apart from :mod:`kverify.prove.run` because that
module loads the Z3 engine, which a check that only reports findings on a snapshot does not need
(~0.1 s of start-up, issue 11)."""

from __future__ import annotations

import re
import shlex

from kverify.model import Cluster, Destination, Flow
from kverify.model.cilium import NEWEST_CILIUM
from kverify.model.enums import CILIUM_DSR, CILIUM_SNAT, CNI_GENERIC
from kverify.model.metallb import NEWEST_METALLB
from kverify.model.versions import NEWEST

#: Text made of words shlex leaves as they are (its safe characters), one space apart.
_PLAIN_WORDS = re.compile(r"[\w@%+=:,./-]+(?: [\w@%+=:,./-]+)*", re.ASCII)


def shell_join(words: list[str]) -> str:
    """``shlex.join(words)``: words that need no quoting (the usual command: names, addresses, flags) are
    joined as they are, checked by one C-level match of the whole text, not quoted one by one (a check of
    a snapshot prints hundreds of commands). A word holding a space would add one: the count tells."""
    text = " ".join(words)
    if text.count(" ") == len(words) - 1 and _PLAIN_WORDS.fullmatch(text):
        return text
    return shlex.join(words)


def trace_command(cluster: Cluster, flow: Flow, manifest_file: str, *, via_load_balancer: bool) -> str:
    proxy = cluster.proxy
    service = cluster.service(flow.service)
    words = ["kverify", "trace", manifest_file, "--service", flow.service, "--to", flow.destination.spelling]
    words += ["--from", flow.client.spelling]
    if flow.client_ip:
        words += ["--src-ip", flow.client_ip]
    if flow.node and not via_load_balancer:
        words += ["--node", flow.node]
    if flow.dst_ip:
        words += ["--dst-ip", flow.dst_ip]
    if flow.port:
        port = flow.port
        exposed = service.port(flow.port, flow.protocol) if service else None
        if flow.destination is Destination.NODE_PORT and exposed and exposed.node_port:
            port = exposed.node_port  # what a client really dials
        words += ["--port", str(port)]
    words += ["--dataplane", proxy.dataplane.spelling]
    if cluster.load_balancer_explicit:
        words += ["--load-balancer", cluster.load_balancer.spelling]
    elif service is not None and service.load_balancer_hint is not None:
        # Chosen by the Service's annotations, which an exported counterexample manifest does not carry.
        words += ["--load-balancer", service.load_balancer_hint.spelling]
    if cluster.proxy_protocol is not None:  # otherwise the manifests' annotations say it again
        words.append("--proxy-protocol" if cluster.proxy_protocol else "--no-proxy-protocol")
    if proxy.cluster_cidrs != ("10.0.0.0/8",):
        for cidr in proxy.cluster_cidrs:
            words += ["--cluster-cidr", cidr]
    if not proxy.local_traffic_detector or not proxy.cluster_cidrs:
        words.append("--no-local-detector")
    if proxy.masquerade_all:
        words.append("--masquerade-all")
    for cidr in proxy.node_port_addresses:
        words += ["--nodeport-address", cidr]
    if not proxy.localhost_node_ports:
        words.append("--iptables-localhost-nodeports=false")
    if proxy.kubernetes_version != NEWEST:
        words += ["--kubernetes-version", f"1.{proxy.kubernetes_version}"]
    if proxy.feature_gates:
        words += ["--feature-gates", ",".join(f"{n}={str(v).lower()}" for n, v in proxy.feature_gates)]
    if proxy.cni is not CNI_GENERIC:
        words += ["--cni", proxy.cni.spelling]
    if cluster.metallb_version != NEWEST_METALLB:  # it decides which nodes MetalLB announces from
        words += ["--metallb-version", "0.{}.{}".format(*cluster.metallb_version)]
    if proxy.dataplane in (CILIUM_SNAT, CILIUM_DSR):
        if proxy.cilium.release != f"1.{NEWEST_CILIUM}":
            words += ["--cilium-version", proxy.cilium.release]
        if helm := proxy.cilium.helm_values():
            words += ["--cilium-set", ",".join(helm)]
    return shell_join(words)
