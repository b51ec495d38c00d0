"""Generate ``docs/semantics.md`` from the rule table: ``python -m kverify.semantics.docs > docs/semantics.md``."""

from __future__ import annotations

from kverify.semantics import load_rules
from kverify.semantics.registry import RULES

HEADER = """# Routing semantics: the rule table

Generated from `kverify/semantics/` by `python -m kverify.semantics.docs`; a test fails when this file
is stale. Each rule is written once, against the `Ops` algebra, and interpreted twice: by the
executable model (`kverify.concrete`, Python values) and by the Z3 encoding (`kverify.symbolic`,
terms). *Classification* rules read concrete addresses (CIDRs, which IP belongs to whom); the
executable model applies them, and the encoding abstracts each as a free input, named in the last
column, that it quantifies over.

Sources are the upstream code and tests (`kubernetes/kubernetes` unless another repository is
named), KEPs and vendor documentation; "since" is the first version the rule holds from. Where
kverify departs from a reference note, the research files in `docs/research/` record what was read
and at which version.

| id | rule | source | since | dataplanes | kind |
|---|---|---|---|---|---|
"""


FOOTER = """
## What the rule table does not model (yet)

Inputs in these areas are either outside the model or approximated as stated; kverify says so
rather than pretend (an `unknown` verdict where a claim depends on them).

- **Session affinity** (`sessionAffinity: ClientIP`) changes which endpoint a *repeat* connection
  gets, not the set of possible outcomes; routes list every endpoint a first connection may reach.
- **ipvs** follows `CategorizeEndpoints` like iptables, with the eTP Local fallback of PR #97081
  (`ipvs-etp-local-fallback`). Not modelled: iTP Local on an externally accessible Service falling
  back to all endpoints (read in `pkg/proxy/ipvs/proxier.go`, untested upstream); the iptables
  `KUBE-IPVS-FILTER` REJECT of unexposed ports on service IPs.
- **ipMode Proxy, external clients**: kube-proxy programs nothing for the LB IP (`lb-ip-mode-proxy`,
  shown as not intercepted); the load balancer then proxies to a NodePort with its own address as
  source, which `kverify trace --to node-port` follows. kverify does not chain the two.
- **Masquerade source address**: a masqueraded flow's `source_ip_seen` is the node's primary IP.
  The kernel's MASQUERADE takes the address the route towards the endpoint prefers on the interface
  the packet leaves by (`torvalds/linux` `net/netfilter/nf_nat_masquerade.c`
  `nf_nat_masquerade_ipv4`: `inet_select_addr(out, nh, RT_SCOPE_UNIVERSE)`): the node IP over an
  underlay route, the bridge's address (flannel's `cni0`, the bridge plugin's gateway) for a pod on
  the same node, the tunnel device's address over VXLAN. Measured with kube-proxy's own rules in
  `docs/research/kernel-ground-truth.md`.
- **Bridge hairpin mode**: a pod reaching itself through its Service is delivered (masqueraded).
  With `bridge-nf-call-iptables=1` the DNAT back to the pod is bridged out of the port it came in by
  (`torvalds/linux` `net/bridge/br_netfilter_hooks.c` `br_nf_pre_routing_finish`, `bridged_dnat`),
  which needs the port's hairpin mode (kubelet `--hairpin-mode`); without it those connections time
  out. Measured in `docs/research/kernel-ground-truth.md`.
- **CNI masquerade** of pod traffic to node IPs (flannel, ip-masq-agent) is not modelled: it would turn
  a pod reaching another node's NodePort into an off-cluster source there.
- **nftables** drops packets to unallocated addresses in the service CIDR; kverify has no
  service-CIDR input, so such flows cannot be asked.
- **Cilium**: `hybrid` (DSR for TCP, SNAT for UDP) and per-service `annotation` modes; `lbExternalClusterIP=true`;
  `service-no-backend-response=drop`; `loadBalancerSourceRanges` on NodePort/ClusterIP
  (`bpf.lbSourceRangeAllTypes`); topology hints with `loadBalancer.serviceTopology=true`; hairpin through the
  per-packet load balancer (source `169.254.42.1`) when socket-LB is off.
- **Load balancers**: MetalLB L2 elects exactly one leader among the candidate nodes; kverify lists
  every node that may be elected. A health-checked LB is modelled in steady state (probes agree with
  the endpoints); the window between an endpoint's change and the probe's failure is not. AWS NLB IP
  targets preserve the client IP for UDP by default; kverify models the TCP default (LB address seen).
  LBs that proxy (non-passthrough) are not modelled.
- **Address families**: IPv4 and IPv6 are both read; a flow meets only the endpoints of its
  destination's family (rule `ip-family`). The proofs reason about one family at a time.
"""


def render() -> str:
    load_rules()
    from kverify.symbolic.universe import ABSTRACTS

    rows = []
    for rule in sorted(RULES.values(), key=lambda r: (r.kind != "decide", r.id)):
        kind = "decide" if rule.kind == "decide" else f"classify (encoding: `{ABSTRACTS.get(rule.id, '?')}`)"
        cells = [f"`{rule.id}`", rule.title, rule.source, rule.since, rule.dataplanes, kind]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return HEADER + "\n".join(rows) + "\n" + FOOTER


if __name__ == "__main__":
    print(render(), end="")
