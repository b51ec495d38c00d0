"""Generate ``docs/semantics.md`` from the rule table: ``python -m kverify.semantics.docs > docs/semantics.md``."""

from __future__ import annotations

from kverify.model.versions import GATES, spell
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
named), KEPs and vendor documentation; "since" is the first version the rule holds from, and "changed"
lists where its behaviour changed (the version, then the change cited): kverify models every version
from v1.24 to v1.34 (`--kubernetes-version`) and every Cilium release from v1.12 to v1.19
(`--cilium-version`, a patch release such as `1.18.2` where a patch changed routing, with the Helm options
that change routing: `--cilium-set bpf.lbExternalClusterIP=true`, `bpf.lbSourceRangeAllTypes=true`,
`serviceNoBackendResponse=drop`, `loadBalancer.mode=hybrid`, `socketLB.hostNamespaceOnly=true`, and
`socketLB.enabled=false`, which the kube-proxy replacement overrides; a spec's `environment.ciliumVersion`
and `environment.ciliumHelm`), and the rule as stated holds from its last change on. Helm options whose
effect is not modelled (`loadBalancer.serviceTopology`) are refused away from their chart default, never
answered as the default.
One rule, `nftables-unallocated-service-ip`, is about a packet to an address that belongs to no
Service (an unallocated address of a service CIDR): the per-Service encodings (one Service, its
endpoints and nodes) have no place for it, and forcing one in would quantify over a Service that
takes no part. It is asked in its own small solver query instead (`kverify.symbolic.address`), over
bit-vector addresses, the service CIDRs (the ServiceCIDR objects' `spec.cidrs`: `--service-cidr`, a
spec's `environment.serviceCIDR`, ServiceCIDR objects in manifests) and the Services' ClusterIPs, with
its own claim in the library (`unallocated-service-ip-dropped`) and its own differential test. A spec
states beliefs about such packets with `to:` (docs/spec-format.md): one address is decided by the
executable model, every unallocated address of the spec's service CIDRs by the same query with the
spec's proxy, CIDRs and Services' addresses pinned, its counterexample replayed through the executable
model.
The table of changes by version below is generated from the same entries. Where kverify departs from
a reference note, the research files in `docs/research/` record what was read and at which version.

| id | rule | source | since | changed | dataplanes | kind |
|---|---|---|---|---|---|---|
"""


FOOTER = """
## What the rule table does not model (yet)

Inputs in these areas are either outside the model or approximated as stated; kverify says so
rather than pretend (an `unknown` verdict where a claim depends on them).

- **NetworkPolicy** is not enforced: "delivered" is kube-proxy's answer (the packet reaches the pod's
  address), and the network plugin may still drop it. kverify reads a policy's ingress `ipBlock`s (for the
  client-IP check) and, where a policy restricts ingress (`policyTypes` lists `Ingress`, or is unset:
  kubernetes/api networking/v1 `NetworkPolicySpec.PolicyTypes`) to pods a Service may select, `kverify
  trace` prints a note and `kverify check` a warning saying so.
- **Session affinity** (`sessionAffinity: ClientIP`) changes which endpoint a *repeat* connection
  gets, not the set of possible outcomes; routes list every endpoint a first connection may reach.
- **ipvs** follows `CategorizeEndpoints` like iptables, with the Local fallbacks of PR #97081
  (`ipvs-etp-local-fallback`, `ipvs-itp-local-fallback`) and the empty virtual server's ICMP reject.
  Not modelled: the iptables `KUBE-IPVS-FILTER` REJECT of unexposed ports on service IPs, and its
  regression in v1.26-v1.29.
- **Versions**: v1.24-v1.34 of kube-proxy. Patch releases are not told apart (a fix backported to a
  patch release is modelled from that minor, and the rule says so). Cilium v1.12-v1.19 by minor release;
  a patch release is read only for the v1.18.0-v1.18.5 source-range regression (a minor given without a
  patch is its newest patch). MetalLB from v0.13.0 to v0.16.x (`--metallb-version` of trace, check and
  prove, a spec's `environment.metallbVersion`): only which endpoints make it announce changed (rule
  `lb-metallb-announce`); the endpoint conditions are read as the EndpointSlice controller writes them
  (serving always set), so v0.14.0-v0.14.4's "serving unset: use Ready" is not told apart from
  kube-proxy's "serving unset: true".
- **nftables v1.31, the node's own NodePort**: up to v1.30 kube-proxy dropped the node's own connection to
  its NodePort of an eTP Local Service without a local endpoint in `filter-output`, before DNAT; from v1.32
  it checks NodePorts from `filter-input` only (rule `nftables-no-endpoint-nodeports-output`). The pull
  request between was not found, so at v1.31 that flow is Unknown (exit 3), left out of proofs, which say
  so among their assumptions.
- **nftables, host-network client blocked by source ranges with no endpoints**: the `filter-output`
  chain checks `no-endpoint-services` (REJECT) before `firewall-check`; kverify DROPs as for pods.
- **ipMode Proxy, external clients**: kube-proxy programs nothing for the LB IP (`lb-ip-mode-proxy`,
  shown as not intercepted); the load balancer then proxies to a NodePort with its own address as
  source, which `kverify trace --to node-port` follows. kverify does not chain the two.
- **Masquerade source address**: with `--cni generic` (the default) a masqueraded flow's
  `source_ip_seen` is the node's primary IP, as before CNI profiles. The kernel's MASQUERADE takes the
  address of the interface the packet leaves by (rule `masquerade-interface-address`); choose the
  CNI (`--cni`, a spec's `environment.cni`) to see the bridge's or the tunnel's address. Calico's
  tunnel addresses come from its IPAM, so kverify names the device (`tunl0 address of node-a`).
  Measured for the bridge and flannel-style VXLAN in `docs/research/kernel-ground-truth.md`; the
  routed-veth fallback (Calico, AWS) was measured by hand (`docs/research/cni-profiles.md`).
- **Bridge hairpin mode** is a property of the CNI profile (rule `cni-hairpin-off`, only the plain
  bridge plugin leaves it off). kubelet's own `--hairpin-mode` applied to kubenet, removed with
  dockershim in v1.24, and is not modelled; ipvs with hairpin off is inferred from the source (the
  translation happens after the packet was routed to the host), not measured.
- **CNI SNAT**: flannel's and Calico's own masquerade of pod traffic to node addresses is modelled
  for NodePort and health-check flows (`cni-pod-to-node-snat`); ip-masq-agent, the bridge plugin's
  `ipMasq: true`, Calico's `natOutgoing: false` or `NATOutgoingExclusions` and the AWS VPC CNI's
  `AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS` are not. Cilium beside kube-proxy (Cilium balances ClusterIPs
  itself) and Cilium's kube-proxy replacement with another CNI are refused, not guessed.
- **Addresses of no Service**: `kverify trace --to-address IP` asks about a packet to an address no
  Service owns (rule `nftables-unallocated-service-ip`). nftables needs the service CIDRs to answer
  (`--service-cidr`; kube-proxy reads them from the ServiceCIDR objects): without them the answer is
  Unknown. kverify does not read ServiceCIDR objects from manifests, nor Cilium's handling of such
  addresses (Unknown). The nftables REJECT of a Service's unexposed port covers ClusterIPs only; an
  externalIP or LoadBalancer IP that lies inside the service CIDR, dialled on a port its Service does not
  expose, is dropped by the same rule, which kverify does not show (it says not intercepted).
- **Cilium**: the per-service `annotation` forwarding mode; the `service.cilium.io/src-ranges-policy: deny`
  annotation (ranges as a deny-list, cilium/cilium#36120) and `service.cilium.io/type` (frontends not
  created); loadBalancerSourceRanges on the externalIP frontends of a LoadBalancer Service by default
  (cilium/cilium#44747, merged after v1.19.0, backports not verified: kverify checks externalIPs only with
  `bpf.lbSourceRangeAllTypes`); topology hints with `loadBalancer.serviceTopology=true` (refused: the
  legacy service cache and the v1.18 control plane read hints differently from kube-proxy, not yet
  transcribed); under `socketLB.hostNamespaceOnly=true`, a pod's packet to a NodePort (bpf_lxc's per-packet
  lookup of another node's address was not read; cilium/cilium#44710 changed it) and a pod reaching itself
  over IPv6 (no IPv6 service loopback before cilium/cilium#39594, #42460): both Unknown. Socket-LB's
  per-connection effects (session affinity by netns cookie) are not modelled. The refused options say so.
- **Load balancers**: MetalLB L2 elects exactly one leader among the candidate nodes; kverify lists
  every node that may be elected. `trace`, `check` and `prove` model a health-checked LB in steady state
  (probes agree with the endpoints); the window between an endpoint's change (or a node's failure) and the
  probe's failure is modelled by the change engine (a spec claim's `during:` rollout, drain or nodeFailure,
  with each cloud's probe timing). AWS NLB IP
  targets preserve the client IP for UDP by default and not for TCP: the `aws-nlb-ip` profile follows the
  protocol and the `preserve_client_ip.enabled` attribute (rule `lb-preserve-client-ip`); the generic
  `ip-target` profile shows the LB address.
  Of the LBs that proxy the connection, the AWS cloud provider's Classic ELB is modelled (`aws-classic-elb`:
  TCP listeners, so the pod sees the ELB's address; rule `lb-aws-classic-elb-probe`); HTTP listeners and
  other L7 proxies (ALB, HTTP(S) listeners of a Classic ELB) are not.
- **Nodes left out of load balancers** (rule `lb-exclude-label`): the label
  `node.kubernetes.io/exclude-from-external-load-balancers` (kubeadm puts it on control-plane nodes) takes a
  node out of the targets of the cloud service controller's load balancers (kubernetes/cloud-provider
  `controllers/service/controller.go` `nodeIncludedPredicate`: from v1.34, kubernetes/kubernetes 310b395a, a
  value Go's `strconv.ParseBool` reads as false keeps the node and any other value leaves it out; before, any
  value left it out), of the AWS Load Balancer Controller's instance targets (`pkg/backend/endpoint_utils.go`
  `defaultTrafficProxyNodeLabelSelector`: `DoesNotExist`) and of MetalLB's speakers
  (`internal/k8s/nodes/nodes.go` `IsNodeExcludedFromBalancers`: present, any value; not with
  `--ignore-exclude-lb`, which kverify does not read). Fail-open (rule `lb-fail-open`) is over the targets
  only: a load balancer that finds every registered target unhealthy sends to those targets, never to a node
  it does not know; when every node is left out, nothing receives the traffic. kube-vip's source does not read
  the label, nor does k3s ServiceLB's (k3s-io/k3s `pkg/cloudprovider/servicelb.go` `newDaemonSet`/`podIPs`
  select nodes by `svccontroller.k3s.cattle.io/enablelb` and `lbpool` only, and the svclb DaemonSet tolerates
  control-plane taints). Cilium does not read it either: its L2 announcements and BGP take part on the nodes
  its own policies select (`pkg/l2announcer/l2announcer.go` `upsertPolicy` matches a
  `CiliumL2AnnouncementPolicy`'s `nodeSelector` against the node's labels; BGP runs on the nodes a
  `CiliumBGPPeeringPolicy` or `CiliumBGPClusterConfig` `nodeSelector` selects). kverify does not read those
  policies, and a common one selects exactly the nodes without this label, so a flow through a Cilium load
  balancer on a cluster with labelled nodes is Unknown (`kverify/concrete/lb_exclusion.py`). At design time
  the placement encoding reads the label of each Node object and node pool (`kverify/placement/flow.py`); a
  proof over every cluster (no nodes described) assumes no node carries it, and its scope says so.
- **Address families**: IPv4 and IPv6 are both read; a flow meets only the endpoints of its
  destination's family (rule `ip-family`). The proofs reason about one family at a time.
- **Node failure** (`during: {nodeFailure: {nodes: k}}`, `kverify/change/failure.py`): a node that dies
  runs no kubelet and no kube-proxy and nothing reaches its pods. The rule table is unchanged (kube-proxy
  on the live nodes programs what it always does); the change engine applies one more rule to the
  executable model's outcomes, `change-node-failed`: a packet that must reach a dead node (the load
  balancer sends it there, or kube-proxy elsewhere DNATs it to a pod there) is lost, silently. **The Z3
  encoding has no dead nodes**: `kverify prove` and the differential tests do not cover this rule; every
  change (rollout, drain, failure) is decided by the executable model alone, over every timeline.
  Timing, worst case, with sources: the node is set Ready=Unknown and its pods NotReady
  (`controllerutil.MarkPodsNotReady`, so the EndpointSlice controller publishes `ready: false,
  serving: false`; `ready: true` under publishNotReadyAddresses, below)
  `--node-monitor-grace-period + 2 x --node-monitor-period` after it fails
  (kubernetes/kubernetes `pkg/controller/nodelifecycle/node_lifecycle_controller.go` `monitorNodeHealth`,
  `tryUpdateNodeHealth`: `probeTimestamp` is the controller's clock when it sees a renewed Lease, and
  Unknown once `now.After(probeTimestamp + gracePeriod)`): 40 + 10 = 50 s up to v1.31, 50 + 10 = 60 s
  from v1.32 (PR #126287, CHANGELOG-1.32 "The default value for node-monitor-grace-period has been
  increased to 50s"). The `node.kubernetes.io/unreachable:NoExecute` taint goes through a per-zone
  token bucket (`doNoExecuteTaintingPass`; `--node-eviction-rate` 0.1/s, burst 1), slowed or stopped by
  zone disruption (`ComputeZoneState`: more than 2 and at least 55 % of a zone's nodes not Ready;
  `ReducedQPSFunc`: 0 below 50 nodes; no taint when every zone is fully disrupted); kverify tries every
  order within a zone. Pods are deleted 300 s after the taint (`plugin/pkg/admission/defaulttolerationseconds`
  `--default-unreachable-toleration-seconds`); a DaemonSet's pods are never evicted (the DaemonSet
  controller adds the toleration without `tolerationSeconds`, `pkg/controller/daemon/util/daemonset_util.go`
  `AddOrUpdateDaemonPodTolerations`); a pod template that tolerates the taint itself is Unknown (its
  `tolerationSeconds` is not read). The load balancer leaves the node after `interval x
  unhealthyThreshold + timeout`: whatever it probes (healthCheckNodePort under eTP Local; kube-proxy's
  `/healthz` on 10256 under eTP Cluster on GCE, the traffic port on AWS), a dead node does not answer.
  Not modelled (Unknown): MetalLB (memberlist for L2, the BGP hold time for BGP); a load balancer without
  health checks before v1.27, when the service controller still removed NotReady nodes from it (KEP-3458,
  `StableLoadBalancerNodeSet` beta in v1.27, PR #115204; from then on it keeps sending to the dead node);
  a node that comes back; the EndpointSlice controller's and kube-proxy's sync delays (left out, as for
  every change); connections already established to the node (only new connections are modelled).
- **publishNotReadyAddresses** (`spec.publishNotReadyAddresses: true`): the EndpointSlice controller
  writes `ready: true` for every pod it lists, `serving` as the pod's readiness (kubernetes/kubernetes
  `staging/src/k8s.io/endpointslice/utils.go` `podToEndpoint`: `ready := service.Spec.PublishNotReadyAddresses
  || (serving && !terminating)`, read at 115584ee), and lists every pod with an IP, terminating ones
  included (`reconciler.go`: `ShouldPodBeInEndpoints(pod, true)`). A snapshot's EndpointSlices already
  carry it and are read as they are. Where kverify derives the conditions from pods (a change: rollout,
  drain, node failure; `kverify/change/timeline.py`) it applies the same rule: a pod is Ready for
  kube-proxy from when it is scheduled (the earliest moment it can have an IP; kverify does not time the
  sandbox) until it is gone, so a rollout sends connections to pods whose readiness probe has not passed,
  and a failed node's pods stay Ready (NotReady does not unlist them; evicted, they stay terminating, and
  Ready, until something confirms them gone). Over a change, `reaches-ready-pod` reads the pod's own
  readiness (`serving`, not terminating), which the Ready condition no longer shows. In a design's steady
  state every replica is Ready: nothing changes there.

## Manifests as written: what the API server and the cloud fill in

Manifests from Git have no ClusterIP, node ports or load-balancer address. kverify fills in what the
API server allocates or defaults at apply time (`kverify/load/allocate.py`), records each field path
in `Service.allocated`, and shows the values as *allocated at apply time* in traces, reports and
exported counterexamples (annotation `kverify.io/allocated`):

- ClusterIPs from the service CIDRs the input declares (ServiceCIDR objects, `--service-cidr`, a spec's
  `environment.serviceCIDR`), as the API server's allocator takes them
  (`pkg/registry/core/service/ipallocator`: `cidrallocator.go` `MetaAllocator.AllocateNextService`, any
  CIDR of the family with a free address, another only when one is full, kverify taking them in the
  order given, the default ServiceCIDR `kubernetes` first among objects; `ipallocator.go`
  `NewIPAllocator`, never the network address nor the IPv4 broadcast address, no allocator for an IPv6
  CIDR shorter than /64). The cluster's families are the declared CIDRs' (the first one's primary): a
  family the cluster lacks is refused in `initIPFamilyFields`' words (`not configured on this cluster`,
  `this cluster is not configured for dual-stack services`), and `PreferDualStack` gets one family on a
  single-stack cluster. A given ClusterIP outside every declared CIDR is refused as the API server
  refuses it (`getAllocator` with `pkg/api/servicecidr` `PrefixContainsIP`, then `alloc.go` `allocIPs`:
  `spec.clusterIPs: Invalid value: [...]: failed to allocate IP <ip>: the provided network does not
  match the current range`; the wording of the ServiceCIDR allocator, the default from v1.33), a full
  range with `failed to allocate a serviceIP: range is full`. With no CIDR declared: `10.96.0.0/12`
  (kubeadm's default `serviceSubnet`) and `fd00:10:96::/112` (kind's IPv6 default), a dual-stack-capable
  cluster with IPv4 first, and no given ClusterIP refused. One address per family the Service asks
  for; family defaulting as `pkg/registry/core/service/storage/alloc.go` `initIPFamilyFields` (no
  policy with two families or two ClusterIPs: `RequireDualStack`; otherwise `SingleStack`). Dynamic
  values avoid the static band at the bottom of each range (KEP-3070 for ClusterIPs:
  `min(max(16, size/16), 256)` addresses, none in a range of 16 or fewer, used only once the rest is
  full; KEP-3668 for node ports) and every value a manifest gives. A spec's `topology` takes the 10th
  address of the first declared CIDR onwards (10.96.0.10 without one), one per Service.
- Node ports from 30000-32767 for NodePort Services and LoadBalancer Services unless
  `allocateLoadBalancerNodePorts: false`; a `healthCheckNodePort` for LoadBalancer Services with
  eTP Local (`pkg/api/v1/service/util.go` `NeedsHealthCheck`).
- The load balancer's address from `spec.loadBalancerIP` or MetalLB's `metallb.io/loadBalancerIPs`
  when asked for, else from `192.0.2.0/24` / `2001:db8:1b::/112` (documentation ranges, RFC 5737 and
  RFC 3849). A snapshot's empty `status.loadBalancer` (still provisioning) gets none.
- Defaults: `type: ClusterIP`, traffic policies `Cluster` (eTP only for NodePort and LoadBalancer),
  `protocol: TCP`, `targetPort` = `port`, `sessionAffinity: None`, `allocateLoadBalancerNodePorts: true`
  (`pkg/apis/core/v1/defaults.go` `SetDefaults_Service`).

Verdicts do not depend on the allocated values except through `loadBalancerSourceRanges` that
contain the allocated load-balancer address (rule `lb-source-ranges-match` admits the LB's own
address as a source); kverify warns when that happens.

**A load balancer known only by a hostname** (AWS ELB/NLB): kube-proxy writes no rule for an ingress
entry without an IP (`pkg/proxy/serviceport.go` `newBaseServiceInfo` reads `ingress.IP`). An external
client's flow is decided as the node-port flow the load balancer sends on, to the nodes its profile
may pick: instance targets are registered on the Service's node port
(kubernetes-sigs/aws-load-balancer-controller `pkg/service/model_build_target_group.go`
`buildTargetGroupBindingSpec`). Unknown, with the reason: in-cluster clients of such a load balancer
(they leave the cluster), and whether the pod sees the client's address when the load balancer is
not known to be an NLB (a classic ELB proxies TCP). One in-cluster case is decided: an AWS NLB with
instance targets and client IP preservation on (the default) that may send the connection only back to
the client's own node times out (rule `lb-aws-nlb-hairpin`, AWS's "NAT loopback" limitation); when it
may pick another node, or preservation is off, or the targets are IP targets, the answer stays Unknown.

**Which load balancer** (`kverify/load/lb_hints.py`): unless `--load-balancer` or a spec's
`environment.loadBalancer` chooses one, well-known annotations do, per Service, and every report says
which profile applied and why:

- `service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: ip` or `aws-load-balancer-type:
  nlb-ip` -> `ip-target` (aws-load-balancer-controller `model_build_target_group.go` `buildTargetType`).
- `aws-load-balancer-nlb-target-type: instance`, `aws-load-balancer-type: nlb` or `external`,
  `spec.loadBalancerClass: service.k8s.aws/nlb`, any other `service.beta.kubernetes.io/aws-load-balancer-*`
  -> `health-checked` (`buildTargetGroupHealthCheckConfig`: instance targets under eTP Local are
  probed on the healthCheckNodePort; kubernetes/cloud-provider-aws likewise for the in-tree NLB and
  classic ELB, via `GetServiceHealthCheckPathPort`).
- `metallb.universe.tf/*`, `metallb.io/*` -> `metallb-l2`, or `metallb-bgp` when the manifests hold a
  `BGPAdvertisement` or `BGPPeer` of `metallb.io` (https://metallb.universe.tf/usage/).
- `cloud.google.com/*`, `networking.gke.io/*` -> `health-checked` (kubernetes/cloud-provider-gcp
  `gce_loadbalancer_external.go`, `GetServiceHealthCheckPathPort`).
- `service.beta.kubernetes.io/azure-*` -> `health-checked` (kubernetes-sigs/cloud-provider-azure
  `azure_loadbalancer.go`: `NeedsHealthCheck` -> `GetServiceHealthCheckPathPort`).
"""


def render() -> str:
    load_rules()
    from kverify.symbolic.universe import ABSTRACTS

    rows = []
    for rule in sorted(RULES.values(), key=lambda r: (r.kind != "decide", r.id)):
        kind = "decide" if rule.kind == "decide" else f"classify (encoding: `{ABSTRACTS.get(rule.id, '?')}`)"
        if rule.flow == "address":
            kind += " (an address of no Service: its own solver query, `kverify.symbolic.address`)"
        changed = "; ".join(f"{version}: {what}" for version, what, _ in rule.history) or "-"
        cells = [f"`{rule.id}`", rule.title, rule.source, rule.since, changed, rule.dataplanes, kind]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return HEADER + "\n".join(rows) + "\n" + _changes() + _gates() + _cnis() + _upstream_tables() + FOOTER


#: The versions of kube-proxy's test files whose packet-flow tables tests/test_kube_proxy_tables.py runs
#: (tests/kubernetes_cases/by_version/): (file, where read, release range, tables, rows). That test checks
#: these figures against the transcribed rows.
UPSTREAM_TABLES = (
    ("nftables proxier_test.go", "tnqn/kubernetes@e2526fc0", "v1.29 (a branch of PR #122296; LB rows left out)", 7, 36),
    ("nftables proxier_test.go", "openshift/kubernetes@84a2e12f", "v1.30-v1.33", 8, 50),
    ("nftables proxier_test.go", "kubernetes@81810de6", "v1.34+", 8, 50),
    ("iptables proxier_test.go", "uccps-samples/kubernetes@041f707c", "v1.24 (rows read off the rules dumps)", 12, 48),
    ("iptables proxier_test.go", "openshift/kubernetes@06d263eb", "v1.26-v1.27 (gate per case)", 21, 50),
    ("iptables proxier_test.go", "kubernetes@531be812", "v1.34", 16, 26),
    ("ipvs proxier_test.go", "aroradaman/kubernetes@4bbeeafb", "v1.29-v1.30 (virtual servers)", 20, 43),
)
#: What the transcribed tables found wrong in the rule table, and where it was fixed.
UPSTREAM_FIXES = (
    "`nodeport-addresses`: nftables with an explicit `--nodeport-addresses` accepted NodePorts only on the "
    "node's primary IPs; kube-proxy takes every node address inside the CIDRs (TestNodePorts 'ipv4, multiple "
    "nodeport-addresses', 'external to nodePort on secondary IP'); the primary IPs are only the default.",
    "`iptables-nodeport-reject-every-address`: iptables with an explicit `--nodeport-addresses` REJECTs a NodePort "
    "without endpoints on every local address (`-m addrtype --dst-type LOCAL`), not only on the NodePort "
    "addresses; kverify said not intercepted (v1.24 TestHealthCheckNodePort, nodePortAddresses 127.0.0.0/8).",
    "`iptables-nodeport-drop-every-address`: the same filter rule DROPs (from v1.25, PR #110290) when only the "
    "external endpoints are missing (eTP Local, none on this node), on every local address: kverify said not "
    "intercepted outside `--nodeport-addresses` (read in proxier.go at ~v1.34 and the dumps of "
    "TestOverallIPTablesRulesWithMultipleServices at ~v1.28; at v1.24 the drop was a nat KUBE-MARK-DROP).",
    "`iptables-mark-drop-forwarded`: at v1.24 an external client's packet to an LB IP outside the source ranges, "
    "or to an eTP Local LB IP without local endpoints, is only marked (KUBE-MARK-DROP) and forwarded un-DNATed, "
    "as a pod's is (kubelet drops the mark on INPUT and OUTPUT only); kverify said DROP for the external client "
    "and not intercepted for the pod.",
    "`nftables-source-ranges-after-dnat`: while looking for a v1.29 nftables file: v1.29's firewall-check ran after "
    "DNAT, so loadBalancerSourceRanges did not filter external or pod clients until PR #122614 (v1.30); kverify "
    "dropped them. v1.29's own TestLoadBalancer expected DROP only because its tracer ignored hooks.",
)


def _upstream_tables() -> str:
    """How the rules are checked against kube-proxy's own tests, version by version."""
    lines = [
        "",
        "## Checked against kube-proxy's own tests, per version",
        "",
        "`tests/test_kube_proxy_tables.py` runs the packet-flow tables of kube-proxy's `proxier_test.go`, transcribed",
        "from the versions of the file below (`tests/kubernetes_cases/by_version/`: the Service and EndpointSlice",
        "each Go test builds, and its rows' `output` and `masq` as the test writes them), through the executable",
        "model at every Kubernetes minor of the version's range and through the Z3 encoding, which must admit",
        "exactly the same outcomes. Each row cites the commit, the Go test and the row's name; every row agrees.",
        "The v1.24 iptables file has no packet-flow tests yet (PR #107471 added them for v1.25): its rows are flows",
        "read off the iptables-save dump each test expects, each with its path through the chains (`via`).",
        "KUBE-MARK-DROP is read as DROP on a local destination, as the later tests' tracer reads it (kubelet's",
        "KUBE-FIREWALL drops the mark on INPUT and OUTPUT); a packet entering the node marked on a LoadBalancer IP",
        "(not local in iptables mode) is forwarded un-DNATed (rule `iptables-mark-drop-forwarded`, for external",
        "clients and pods alike). The ipvs tests assert virtual servers, not packets: a row is a",
        "flow to a virtual server's VIP:port, which reaches exactly the real servers the test expects (none:",
        "not delivered); masquerading is not asserted.",
        "",
        "| test file | read at | release range | tables | rows |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {f} | {src} | {rng} | {tables} | {n} |" for f, src, rng, tables, n in UPSTREAM_TABLES]
    lines += ["", "Found and fixed through them:", ""] + [f"- {fix}" for fix in UPSTREAM_FIXES]
    return "\n".join(lines) + "\n"


def _minor(version: str) -> tuple[str, tuple[int, ...]]:
    """Sort key: Kubernetes versions (``v1.30``) first, then each other product's (``Cilium v1.13``,
    ``MetalLB v0.14.5``) by product and number."""
    product, _, number = version.rpartition(" v") if not version.startswith("v") else ("", "", version[1:])
    if not number or not number[0].isdigit():
        product, number = version, ""
    return product, tuple(int(p) for p in number.split(".") if p.isdigit())


def _changes() -> str:
    """Every rule's history, by version: what changed in routing, and where it is cited."""
    entries = sorted(
        ((version, rule.id, what, source) for rule in RULES.values() for version, what, source in rule.history),
        key=lambda e: (_minor(e[0]), e[1]),
    )
    lines = ["", "## Changes in routing by version", "", "| version | rule | change | cited |", "|---|---|---|---|"]
    lines += [f"| {v} | `{rid}` | {what} | {src} |".replace("\n", " ") for v, rid, what, src in entries]
    return "\n".join(lines) + "\n"


def _gates() -> str:
    """The kube-proxy feature gates kverify models, with the version each appeared, became default, locked."""
    lines = [
        "",
        "## Feature gates that change routing",
        "",
        "Settable with `--feature-gates Name=true|false` on top of the version's defaults.",
        "",
        "| gate | alpha (off) | on by default | GA (locked) | effect | source |",
        "|---|---|---|---|---|---|",
    ]
    for gate in GATES.values():
        locked = spell(gate.locked) if gate.locked else "-"
        cells = [f"`{gate.name}`", spell(gate.alpha), spell(gate.default_on), locked, gate.effect, gate.source]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cnis() -> str:
    """The CNI profiles, each row computed by the rules themselves (kverify.semantics.cni)."""
    from types import SimpleNamespace

    from kverify.model.enums import ClientKind, Cni, Dataplane, Destination, Interface
    from kverify.semantics import cni
    from kverify.semantics.ops import CONCRETE as C

    lines = [
        "",
        "## CNI profiles (`--cni`)",
        "",
        "Computed from the rules `cni-bridge-gateway`, `cni-overlay-tunnel`, `cni-routed-veth`,",
        "`cni-pod-to-node-snat`, `flannel-masquerade-to-remote-pods` and `cni-hairpin-off` (kube-proxy in",
        "iptables mode). The address is the one a masqueraded packet carries when it leaves by that interface.",
        "",
        "| profile | to a pod on the same node | to a pod on another node | pod -> another node's IP SNATed | "
        "off-cluster source -> remote pod SNATed by the CNI | pod reaches itself via its Service |",
        "|---|---|---|---|---|---|",
    ]
    words = {Interface.NODE: "node IP", Interface.BRIDGE: "bridge (cni0) IP", Interface.TUNNEL: "tunnel IP"}
    for profile in Cni:
        dataplane = Dataplane.CILIUM_SNAT if profile is Cni.CILIUM else Dataplane.IPTABLES
        s = SimpleNamespace(
            cni=profile, dataplane=dataplane, client=ClientKind.POD, handling_node=0, src_in_cluster_cidr=False
        )
        me = SimpleNamespace(is_client=True, present=True, node=1)
        same = words[Interface(cni.same_node_interface(C, s))]  # type: ignore[arg-type]
        remote = words[Interface(cni.remote_node_interface(C, s))]  # type: ignore[arg-type]
        if profile is Cni.CILIUM:
            same = remote = "node IP (BPF SNAT)"
        pod_snat = cni.snats_pod_to_node(C, profile, ClientKind.POD, Destination.NODE_PORT, 0, 1)
        flannel = cni.flannel_masquerades(C, s, me)  # type: ignore[arg-type]
        lost = cni.hairpin_lost(C, s, me)  # type: ignore[arg-type]
        cells = [f"`{profile.spelling}`", same, remote, "yes" if pod_snat else "no", "yes" if flannel else "no"]
        cells.append("times out (hairpin off)" if lost else "delivered")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
