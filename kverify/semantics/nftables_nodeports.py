"""nftables: the node's own connection to one of its NodePorts, checked before DNAT (v1.29-v1.30).

kube-proxy's nftables proxier first kept the no-endpoint NodePort lookup in the chain that
``filter-output`` jumps to, which runs before ``nat-output``'s DNAT; a later release moved that lookup
to a chain only ``filter-input`` jumps to. The change was read at both ends but its pull request was
not found, so the release between them (v1.31) is not modelled: kverify says Unknown there
(:func:`split_not_modelled`), and the Z3 encoding leaves that situation out (``Universe.well_formed``).
"""

from __future__ import annotations

from kverify.model.enums import Dataplane, Destination
from kverify.semantics.endpoints import any_usable, local_endpoints
from kverify.semantics.ops import Ops, Term
from kverify.semantics.policy import external_policy_local, source_is_this_host
from kverify.semantics.registry import rule
from kverify.semantics.vocabulary import Situation

#: The last minor read with the NodePort lookup in filter-output's chain, and the first read without it.
LAST_CHECKED_IN_OUTPUT = 30
FIRST_CHECKED_IN_INPUT_ONLY = 32

RULE_ID = "nftables-no-endpoint-nodeports-output"
SOURCE = (
    "kubernetes/kubernetes pkg/proxy/nftables/proxier.go: setupNFTables (endpoints-check holds 'fib daddr type "
    "local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports', or 'ip daddr "
    "@nodeport-ips ...' with --nodeport-addresses), nftablesJumpChains (endpoints-check from filter-input, "
    "filter-forward and filter-output, ct state new), nftablesBaseChains (filter-output: output hook, priority "
    "DNATPriority-10, DNATPriority-1 before PR #122614; nat-output: DNATPriority), syncProxyRules (eTP Local, no "
    "local endpoint: no-endpoint-nodeports element 'proto . nodePort : drop'), read at tnqn/kubernetes@4f2dbb4e "
    "(before PR #122614) and openshift/kubernetes@84a2e12f (v1.30). Split into service-endpoints-check and "
    "nodeport-endpoints-check, jumped to from filter-input only ('{nodePortEndpointsCheckChain, filterInputChain, "
    '"ct state new"}\'), at npinaeva/kubernetes@04ef96cd and aroradaman/kubernetes@15ac54fe, whose '
    "conntrack.CleanStaleEntries call predates PR #127318 (v1.32), and GoogleCloudPlatform/kubernetes@3a65f31d. "
    "The pull request that split the chain was not found (no release note in CHANGELOG-1.31 or CHANGELOG-1.32)"
)


def own_node_port_without_local_endpoints(ops: Ops, s: Situation) -> Term:
    """nftables; the handling node's own process to a NodePort address kube-proxy accepts there; eTP Local;
    usable endpoints on other nodes only (with none at all every version rejects)."""
    return ops.and_(
        ops.eq(s.dataplane, Dataplane.NFTABLES),
        source_is_this_host(ops, s),
        ops.eq(s.destination, Destination.NODE_PORT),
        s.address_captured,
        external_policy_local(ops, s),
        any_usable(ops, s),
        ops.not_(ops.any_(local_endpoints(ops, s, s.handling_node))),
    )


@rule(
    RULE_ID,
    title="nftables v1.29-v1.30: the node's own connection to one of its NodePorts of an eTP Local Service with "
    "no local endpoint is dropped: filter-output runs the no-endpoint-nodeports lookup before nat-output's DNAT, "
    "so the host short-circuit never applies. From v1.32 the lookup runs from filter-input only and the node "
    "reaches a remote endpoint, masqueraded, as with iptables; v1.31 is not modelled (Unknown). Another node's "
    "NodePort is decided there (drop-no-local-endpoints); localhost NodePorts are never accepted by nftables.",
    source=SOURCE,
    since="v1.29 (nftables alpha); not from v1.32",
    dataplanes="nftables",
    history=(
        (
            "v1.31",
            "not modelled: the node's own NodePort of an eTP Local Service without local endpoints is Unknown "
            "(the no-endpoint NodePort check left filter-output between v1.30 and v1.32; the release was not "
            "pinned)",
            "openshift/kubernetes@84a2e12f; npinaeva/kubernetes@04ef96cd",
        ),
        (
            "v1.32",
            "the no-endpoint NodePort check runs from filter-input only: the node's own connection is "
            "short-circuited to the Cluster set and masqueraded",
            "npinaeva/kubernetes@04ef96cd, aroradaman/kubernetes@15ac54fe (nodeport-endpoints-check)",
        ),
    ),
)
def output_drop(ops: Ops, s: Situation) -> Term:
    # filter-output (priority -110, or -1 in v1.29) runs before nat-output (-100) on the output hook: the
    # packet still carries the node's own address and the NodePort, so the element matches before the
    # external chain's "short-circuit local traffic" could DNAT it.
    checked_in_output = ops.lt(s.k8s_minor, LAST_CHECKED_IN_OUTPUT + 1)
    return ops.and_(own_node_port_without_local_endpoints(ops, s), checked_in_output)


def split_not_modelled(ops: Ops, s: Situation) -> Term:
    """The situation rule ``nftables-no-endpoint-nodeports-output`` decides, at a minor after the last read
    with the lookup in filter-output's chain and before the first read without it: kverify does not answer."""
    between = ops.and_(
        ops.not_(ops.lt(s.k8s_minor, LAST_CHECKED_IN_OUTPUT + 1)), ops.lt(s.k8s_minor, FIRST_CHECKED_IN_INPUT_ONLY)
    )
    return ops.and_(own_node_port_without_local_endpoints(ops, s), between)


#: What kverify says where :func:`split_not_modelled` holds (trace, check, diff, prove's assumptions).
NOT_MODELLED = (
    "the node's own connection to its NodePort of an eTP Local Service without a local endpoint, on nftables "
    "v1.31: kube-proxy dropped it in filter-output before DNAT up to v1.30 and no longer from v1.32 (rule "
    f"{RULE_ID}); the release between was not pinned"
)
