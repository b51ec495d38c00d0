"""A symbolic cluster and flow: every field of a Situation as a Z3 variable, within explicit bounds.

The universe holds up to ``max_nodes`` nodes and ``max_endpoints`` endpoints (of the one service
port the flow addresses). ``well_formed()`` rules out what cannot exist (an endpoint on a missing
node, a NodePort flow to a ClusterIP Service, two endpoints that both are the client...). Each
free input stands for the classification rule named beside it (``ABSTRACTS``): the encoding
quantifies over every answer that rule could give, and ``decode`` builds concrete addresses that
make the concrete classifier give exactly that answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import z3

from kverify.model import ClientKind, Cni, Dataplane, Destination, LoadBalancerProfile, ServiceType
from kverify.model.cilium import (
    NEWEST_CILIUM,
    NO_BACKEND_RESPONSE_SINCE,
    OLDEST_CILIUM,
    SOCKET_LB_KEYS_SINCE,
    SOURCE_RANGE_ALL_TYPES_SINCE,
    CiliumSettings,
)
from kverify.model.metallb import NEWEST_METALLB, READY_ONLY, READY_OR_SERVING
from kverify.model.metallb import counts as metallb_counts
from kverify.model.versions import GATES, NEWEST, OLDEST
from kverify.semantics import lb_profiles, nftables_nodeports
from kverify.semantics.cni import snats_pod_to_node
from kverify.semantics.vocabulary import (
    LB_LABEL_NONE,
    LB_LABEL_OTHER,
    NO_NODE,
    NO_ZONE,
    EndpointView,
    NodeView,
    Situation,
)
from kverify.symbolic.smt_ops import SmtOps, lift

#: Classification rules (kind "classify") and the free inputs of the encoding that abstract them.
ABSTRACTS = {
    "nodeport-addresses": "address_captured, dst_is_localhost",
    "external-ips-every-node": "address_captured (true for externalIP flows on every node)",
    "detect-local-cluster-cidr": "src_in_cluster_cidr",
    "lb-source-ranges-match": "src_allowed_by_ranges",
    "hairpin-match": "EndpointView.is_client",
    "handling-node": "handling_node, client_node",
    "service-port-unmatched": "address_captured (a flow to an unexposed port is not intercepted)",
    "ip-family": "Situation.endpoints (only the destination's family: the encoding's endpoints are one family)",
    "topology-annotation": "hints_annotation",
    "load-balancer-ip-mode-gate": "dst_ip_mode_proxy (dst_status_ip_mode_proxy and the LoadBalancerIPMode gate)",
    "nftables-mode-available": "dataplane (nftables constrained to versions and gates that accept it)",
    "lb-aws-nlb-hairpin": "none: an in-cluster client of a load balancer known only by its hostname leaves the "
    "cluster; the encoding covers the packets the load balancer sends on, route() alone decides the rest",
    "cni-interface-addresses": "Decision.snat_interface (the encoding names the interface; route() gives its address)",
}


def select(items: Sequence[Any], index: Any) -> Any:
    """``items[index]`` for a symbolic index (an if-then-else chain)."""
    result = lift(items[-1])
    for i in range(len(items) - 2, -1, -1):
        result = z3.If(index == i, lift(items[i]), result)
    return result


class FlowInputs:
    """The Service's configuration, the proxy's, and the flow: Z3 variables shared by every universe."""

    def __init__(self) -> None:
        Int, Bool = z3.Int, z3.Bool
        # Configuration.
        self.dataplane = Int("dataplane")
        self.load_balancer = Int("load_balancer")
        self.service_type = Int("service_type")
        self.etp_local = Bool("etp_local")
        self.itp_local = Bool("itp_local")
        self.has_external_ips = Bool("has_external_ips")
        self.has_vip_ingress = Bool("has_vip_ingress")
        self.has_source_ranges = Bool("has_source_ranges")
        self.has_detector = Bool("has_detector")
        self.masquerade_all = Bool("masquerade_all")
        self.cni = Int("cni")
        # The flow.
        self.client = Int("client")
        self.destination = Int("destination")
        self.client_node = Int("client_node")
        self.handling_node = Int("handling_node")
        self.address_captured = Bool("address_captured")
        self.dst_ip_mode_proxy = Bool("dst_ip_mode_proxy")
        self.dst_is_localhost = Bool("dst_is_localhost")
        self.src_in_cluster_cidr = Bool("src_in_cluster_cidr")
        self.src_allowed_by_ranges = Bool("src_allowed_by_ranges")
        # The Kubernetes version and kube-proxy's feature gates (kverify.model.versions).
        self.k8s_minor = Int("k8s_minor")
        self.gates = {name: Bool(f"gate_{name}") for name in GATES}
        self.hints_annotation = Bool("hints_annotation")
        # The load balancer in front (kverify.semantics.lb_profiles).
        self.proxy_protocol = Bool("proxy_protocol")
        self.lb_preserves_client_ip = Bool("lb_preserves_client_ip")
        self.dst_status_ip_mode_proxy = Bool("dst_status_ip_mode_proxy")
        # Cilium's version and Helm options (kverify.model.cilium).
        self.cilium_minor = Int("cilium_minor")
        self.cilium_external_cluster_ip = Bool("cilium_external_cluster_ip")
        self.cilium_no_backend_reject = Bool("cilium_no_backend_reject")
        self.cilium_source_ranges_all_types = Bool("cilium_source_ranges_all_types")
        self.cilium_pod_socket_lb = Bool("cilium_pod_socket_lb")
        # Which endpoint conditions make MetalLB announce (kverify.model.metallb).
        self.metallb_counts = Int("metallb_counts")

    def situation_with(
        self, handling_node: Any, handling_zone: Any, endpoints: tuple[EndpointView, ...], nodes: tuple[NodeView, ...]
    ) -> Situation:
        return Situation(
            dataplane=self.dataplane,
            load_balancer=self.load_balancer,
            service_type=self.service_type,
            etp_local_spec=self.etp_local,
            itp_local_spec=self.itp_local,
            has_external_ips=self.has_external_ips,
            has_node_port=self.service_type != int(ServiceType.CLUSTER_IP),
            has_vip_ingress=self.has_vip_ingress,
            has_detector=self.has_detector,
            masquerade_all=self.masquerade_all,
            client=self.client,
            destination=self.destination,
            client_node=self.client_node,
            handling_node=handling_node,
            handling_zone=handling_zone,
            address_captured=self.address_captured,
            dst_ip_mode_proxy=self.dst_ip_mode_proxy,
            dst_is_localhost=self.dst_is_localhost,
            src_in_cluster_cidr=self.src_in_cluster_cidr,
            src_allowed_by_ranges=self.src_allowed_by_ranges,
            endpoints=endpoints,
            nodes=nodes,
            k8s_minor=self.k8s_minor,
            gate_terminating=self.gates["ProxyTerminatingEndpoints"],
            gate_zone_hints=z3.Or(self.gates["TopologyAwareHints"], self.gates["ServiceTrafficDistribution"]),
            gate_node_hints=self.gates["PreferSameTrafficDistribution"],
            gate_draining=self.gates["KubeProxyDrainingTerminatingNodes"],
            hints_annotation=self.hints_annotation,
            # The external load balancer sends exactly the external clients' packets to its address (a flow on
            # to a hostname-only LB's node ports is decided by the executable model only).
            via_load_balancer=z3.And(
                self.client == int(ClientKind.EXTERNAL), self.destination == int(Destination.LOAD_BALANCER)
            ),
            proxy_protocol=self.proxy_protocol,
            lb_preserves_client_ip=self.lb_preserves_client_ip,
            dst_status_ip_mode_proxy=self.dst_status_ip_mode_proxy,
            cni=self.cni,
            cilium_minor=self.cilium_minor,
            cilium_external_cluster_ip=self.cilium_external_cluster_ip,
            cilium_no_backend_reject=self.cilium_no_backend_reject,
            cilium_source_ranges_all_types=self.cilium_source_ranges_all_types,
            cilium_pod_socket_lb=self.cilium_pod_socket_lb,
            metallb_counts=self.metallb_counts,
        )

    def environment(
        self,
        minor: int,
        gates: dict[str, bool],
        cilium: CiliumSettings | None = None,
        metallb: tuple[int, int] = NEWEST_METALLB,
    ) -> list[Any]:
        """Pin the version, every gate, Cilium's settings and MetalLB's version (a proof is for one configuration)."""
        cilium = cilium or CiliumSettings()
        pins = [self.k8s_minor == minor] + [self.gates[name] == value for name, value in gates.items()]
        return [
            *pins,
            self.cilium_minor == cilium.version,
            self.cilium_external_cluster_ip == cilium.external_cluster_ip,
            self.cilium_no_backend_reject == (cilium.no_backend_response == "reject"),
            self.cilium_source_ranges_all_types == cilium.source_ranges_on_all_types,
            self.cilium_pod_socket_lb == cilium.pods_use_socket_lb,
            self.metallb_counts == metallb_counts(metallb),
        ]

    def situation(self) -> Situation:
        """The Situation at the handling node (each universe has its own endpoints and nodes)."""
        raise NotImplementedError

    def not_modelled(self) -> list[Any]:
        """Situations kverify does not answer (Unknown in the executable model), left out of every proof and
        listed among its assumptions: the node's own NodePort where rule nftables-no-endpoint-nodeports-output
        changed at a release not pinned (kverify.concrete.nodeport_split)."""
        return [z3.Not(lift(nftables_nodeports.split_not_modelled(SmtOps(), self.situation())))]

    def flow_constraints(self, node_exists: Any) -> list[Any]:
        """What every real Service, proxy and flow satisfy; ``node_exists(term)`` says a node index is real."""
        c: list[Any] = []
        dest, client, h = self.destination, self.client, self.handling_node
        c += [z3.And(self.dataplane >= 0, self.dataplane < len(Dataplane))]
        c += version_constraints(self.k8s_minor, self.gates, self.dataplane)
        # A Cilium version kverify models; serviceNoBackendResponse exists from v1.15 (before: the default).
        c += [z3.And(self.cilium_minor >= OLDEST_CILIUM, self.cilium_minor <= NEWEST_CILIUM)]
        c += [z3.Implies(self.cilium_minor < NO_BACKEND_RESPONSE_SINCE, self.cilium_no_backend_reject)]
        # Ranges on every frontend type: bpf.lbSourceRangeAllTypes exists from v1.17 (the v1.18.0-v1.18.5
        # regression is later still).
        c += [z3.Implies(self.cilium_minor < SOURCE_RANGE_ALL_TYPES_SINCE, z3.Not(self.cilium_source_ranges_all_types))]
        # socketLB.hostNamespaceOnly exists from v1.13; a pod's NodePort flow under it is not modelled (Unknown
        # concretely: kverify.concrete.route._pod_node_port_per_packet).
        c += [z3.Implies(self.cilium_minor < SOCKET_LB_KEYS_SINCE, self.cilium_pod_socket_lb)]
        per_packet_pod = z3.And(self.client == int(ClientKind.POD), z3.Not(self.cilium_pod_socket_lb))
        on_cilium = z3.Or(self.dataplane == int(Dataplane.CILIUM_SNAT), self.dataplane == int(Dataplane.CILIUM_DSR))
        c += [z3.Not(z3.And(on_cilium, per_packet_pod, self.destination == int(Destination.NODE_PORT)))]
        c += [z3.And(self.metallb_counts >= READY_ONLY, self.metallb_counts <= READY_OR_SERVING)]
        c += [z3.Implies(self.dst_ip_mode_proxy, self.gates["LoadBalancerIPMode"])]
        c += [z3.And(self.load_balancer >= 0, self.load_balancer < len(LoadBalancerProfile))]
        # A profile is modelled on some dataplanes only (lb_profiles.modelled_with; else Unknown concretely).
        c += [lift(lb_profiles.modelled_with(SmtOps(), self.dataplane, self.load_balancer))]
        # kube-proxy honours the status' ipMode Proxy only with the LoadBalancerIPMode gate.
        c += [self.dst_ip_mode_proxy == z3.And(self.dst_status_ip_mode_proxy, self.gates["LoadBalancerIPMode"])]
        c += [z3.Implies(self.dst_status_ip_mode_proxy, self.destination == int(Destination.LOAD_BALANCER))]
        # Client IP preservation is a setting of the AWS NLB profiles only; a generic ip-target LB rewrites.
        nlb = z3.Or(
            self.load_balancer == int(LoadBalancerProfile.AWS_NLB_INSTANCE),
            self.load_balancer == int(LoadBalancerProfile.AWS_NLB_IP),
        )
        # A generic ip-target LB and a Classic ELB (a TCP proxy) always rewrite; the others never do.
        rewrites = z3.Or(
            self.load_balancer == int(LoadBalancerProfile.IP_TARGET),
            self.load_balancer == int(LoadBalancerProfile.AWS_CLASSIC_ELB),
        )
        c += [
            z3.Implies(rewrites, z3.Not(self.lb_preserves_client_ip)),
            z3.Implies(z3.And(z3.Not(nlb), z3.Not(rewrites)), self.lb_preserves_client_ip),
        ]
        c += [z3.And(self.service_type >= 0, self.service_type < len(ServiceType))]
        c += [z3.And(client >= 0, client < len(ClientKind)), z3.And(dest >= 0, dest < len(Destination))]
        c += [node_exists(h)]
        external = client == int(ClientKind.EXTERNAL)
        # External clients run on no node; in-cluster clients on one.
        c += [z3.If(external, self.client_node == NO_NODE, node_exists(self.client_node))]
        # In-cluster clients are translated on their own node, except when they address another node's IP.
        node_addressed = z3.Or(dest == int(Destination.NODE_PORT), dest == int(Destination.HEALTH_CHECK_NODE_PORT))
        cilium = z3.Or(self.dataplane == int(Dataplane.CILIUM_SNAT), self.dataplane == int(Dataplane.CILIUM_DSR))
        socket_lb = z3.And(cilium, dest == int(Destination.NODE_PORT))  # Cilium translates at connect()
        c += [z3.Implies(z3.And(z3.Not(external), z3.Or(z3.Not(node_addressed), socket_lb)), h == self.client_node)]
        # The CNI profiles kverify models with each dataplane (kverify.concrete.cni_addresses.check_cni).
        c += [z3.And(self.cni >= 0, self.cni < len(Cni))]
        generic_or_cilium = z3.Or(self.cni == int(Cni.GENERIC), self.cni == int(Cni.CILIUM))
        c += [z3.Implies(cilium, generic_or_cilium), z3.Implies(self.cni == int(Cni.CILIUM), cilium)]
        # A pod's packet to another node's address, masqueraded by its CNI on its own node, arrives from that
        # node's address: not pod traffic (rule cni-pod-to-node-snat).
        c += [z3.Implies(self.pod_snat_by_cni(), z3.Not(self.src_in_cluster_cidr))]
        # A destination the Service has.
        lb = self.service_type == int(ServiceType.LOAD_BALANCER)
        c += [z3.Implies(dest == int(Destination.NODE_PORT), self.service_type != int(ServiceType.CLUSTER_IP))]
        c += [z3.Implies(dest == int(Destination.LOAD_BALANCER), lb)]
        c += [z3.Implies(dest == int(Destination.EXTERNAL_IP), self.has_external_ips)]
        c += [
            z3.Implies(self.has_vip_ingress, lb),
            z3.Implies(self.dst_ip_mode_proxy, dest == int(Destination.LOAD_BALANCER)),
        ]
        c += [
            z3.Implies(
                z3.And(dest == int(Destination.LOAD_BALANCER), z3.Not(self.dst_ip_mode_proxy)), self.has_vip_ingress
            )
        ]
        # The API server accepts eTP Local only on externally accessible Services.
        c += [
            z3.Implies(self.etp_local, z3.Or(self.service_type != int(ServiceType.CLUSTER_IP), self.has_external_ips))
        ]
        # Only NodePort addresses can be left uncaptured; 127.0.0.1 only from the node itself.
        c += [z3.Implies(dest != int(Destination.NODE_PORT), self.address_captured)]
        localhost_ok = z3.Or(
            self.dataplane == int(Dataplane.IPTABLES),
            self.dataplane == int(Dataplane.DNAT_ONLY),
            self.dataplane == int(Dataplane.CILIUM_SNAT),
            self.dataplane == int(Dataplane.CILIUM_DSR),
        )
        c += [
            z3.Implies(
                self.dst_is_localhost,
                z3.And(
                    dest == int(Destination.NODE_PORT),
                    client == int(ClientKind.NODE),
                    self.client_node == h,
                    z3.Implies(self.address_captured, localhost_ok),
                ),
            )
        ]
        # Node addresses lie outside the cluster CIDR (assumption, stated in every proof).
        c += [z3.Implies(client == int(ClientKind.NODE), z3.Not(self.src_in_cluster_cidr))]
        c += [
            z3.Implies(self.has_source_ranges, lb),
            z3.Implies(z3.Not(self.has_source_ranges), self.src_allowed_by_ranges),
        ]
        return c

    def pod_snat_by_cni(self) -> Any:
        """The CNI masquerades the pod's packet on its own node before it reaches the handling node."""
        return lift(
            snats_pod_to_node(SmtOps(), self.cni, self.client, self.destination, self.client_node, self.handling_node)
        )

    def client_endpoint_constraint(self, endpoint: EndpointView) -> Any:
        """The client is a pod with this endpoint's IP: it runs where the endpoint runs (an endpoint
        without a known node may still be the client). After the CNI's SNAT the source is a node's
        address, no endpoint's."""
        return z3.Implies(
            z3.And(endpoint.present, endpoint.is_client),
            z3.And(
                self.client == int(ClientKind.POD),
                z3.Or(endpoint.node == self.client_node, endpoint.node == NO_NODE),
                z3.Not(self.pod_snat_by_cni()),
            ),
        )


def version_constraints(k8s_minor: Any, gates: dict[str, Any], dataplane: Any) -> list[Any]:
    """A version kverify models, with the gates that version has (and cannot turn off once locked), and
    nftables only where its gate lets kube-proxy run it (rule nftables-mode-available)."""
    c = [z3.And(k8s_minor >= OLDEST, k8s_minor <= NEWEST)]
    for name, gate in GATES.items():
        c += [z3.Implies(k8s_minor < gate.alpha, z3.Not(gates[name]))]
        if gate.locked is not None:
            c += [z3.Implies(k8s_minor >= gate.locked, gates[name])]
    c += [z3.Implies(dataplane == int(Dataplane.NFTABLES), gates["NFTablesProxyMode"])]
    return c


class Universe(FlowInputs):
    """Z3 variables for one flow in one cluster of bounded size."""

    def __init__(self, *, max_nodes: int, max_endpoints: int) -> None:
        if max_nodes < 1 or max_endpoints < 0:
            raise ValueError("a universe needs at least one node and a non-negative number of endpoints")
        super().__init__()
        self.max_nodes = max_nodes
        self.max_endpoints = max_endpoints
        self.zones = max_nodes  # at most one zone per node; index `zones` is a zone no node is in
        n, m = max_nodes, max_endpoints
        Int, Bool = z3.Int, z3.Bool
        self.n_nodes = Int("n_nodes")
        self.n_endpoints = Int("n_endpoints")
        # The outcome: which endpoint slot the packet reaches when delivered.
        self.endpoint_choice = Int("endpoint_choice")
        # Nodes.
        self.node_zone = [Int(f"node{i}_zone") for i in range(n)]
        self.node_draining = [Bool(f"node{i}_draining") for i in range(n)]
        # The exclude-from-external-load-balancers label, as LB_LABEL_* (rule lb-exclude-label).
        self.node_lb_label = [Int(f"node{i}_lb_label") for i in range(n)]
        # Endpoints.
        self.ep_node = [Int(f"ep{j}_node") for j in range(m)]
        self.ep_ready = [Bool(f"ep{j}_ready") for j in range(m)]
        self.ep_serving = [Bool(f"ep{j}_serving") for j in range(m)]
        self.ep_terminating = [Bool(f"ep{j}_terminating") for j in range(m)]
        self.ep_zone_hint = [[Bool(f"ep{j}_zone_hint{z}") for z in range(self.zones + 1)] for j in range(m)]
        self.ep_node_hint = [[Bool(f"ep{j}_node_hint{i}") for i in range(n + 1)] for j in range(m)]
        self.ep_is_client = [Bool(f"ep{j}_is_client") for j in range(m)]

    # -- views the rules read -------------------------------------------------------------------

    def node_present(self, i: int) -> Any:
        return self.n_nodes > i

    def endpoint_present(self, j: int) -> Any:
        return self.n_endpoints > j

    def endpoint_views(self) -> tuple[EndpointView, ...]:
        return tuple(
            EndpointView(
                node=self.ep_node[j],
                ready=self.ep_ready[j],
                serving=self.ep_serving[j],
                terminating=self.ep_terminating[j],
                zone_hints=tuple(self.ep_zone_hint[j]),
                has_zone_hints=z3.Or(*self.ep_zone_hint[j]),
                node_hints=tuple(self.ep_node_hint[j]),
                has_node_hints=z3.Or(*self.ep_node_hint[j]),
                is_client=self.ep_is_client[j],
                present=self.endpoint_present(j),
            )
            for j in range(self.max_endpoints)
        )

    def node_views(self) -> tuple[NodeView, ...]:
        return tuple(
            NodeView(
                zone=self.node_zone[i],
                draining=self.node_draining[i],
                present=self.node_present(i),
                lb_label=self.node_lb_label[i],
            )
            for i in range(self.max_nodes)
        )

    def situation(self) -> Situation:
        """The Situation at the (symbolic) handling node."""
        return self._situation(self.handling_node, select(self.node_zone, self.handling_node))

    def situation_at(self, node: int) -> Situation:
        """The same flow arriving at node slot ``node`` (for claims about every node the LB picks)."""
        return self._situation(z3.IntVal(node), self.node_zone[node])

    def _situation(self, handling_node: Any, handling_zone: Any) -> Situation:
        return self.situation_with(handling_node, handling_zone, self.endpoint_views(), self.node_views())

    # -- what can exist -------------------------------------------------------------------------

    def well_formed(self) -> list[Any]:
        """Constraints every real cluster and flow satisfy (with the reason for each)."""
        n, m = self.max_nodes, self.max_endpoints
        c: list[Any] = [self.n_nodes >= 1, self.n_nodes <= n, self.n_endpoints >= 0, self.n_endpoints <= m]
        c += self.flow_constraints(lambda node: z3.And(node >= 0, node < self.n_nodes))
        c += self.not_modelled()
        for i in range(n):
            present = self.node_present(i)
            c += [
                z3.If(
                    present,
                    z3.And(self.node_zone[i] >= NO_ZONE, self.node_zone[i] < self.zones),
                    self.node_zone[i] == NO_ZONE,
                )
            ]
            c += [z3.Implies(z3.Not(present), z3.Not(self.node_draining[i]))]
            c += [z3.Implies(z3.Not(present), self.node_lb_label[i] == LB_LABEL_NONE)]
        for j in range(m):
            present = self.endpoint_present(j)
            c += [
                z3.If(
                    present,
                    z3.And(self.ep_node[j] >= NO_NODE, self.ep_node[j] < self.n_nodes),
                    self.ep_node[j] == NO_NODE,
                )
            ]
            absent_fields = [self.ep_ready[j], self.ep_serving[j], self.ep_terminating[j], self.ep_is_client[j]]
            absent_fields += self.ep_zone_hint[j] + self.ep_node_hint[j]
            c += [z3.Implies(z3.Not(present), z3.Not(z3.Or(*absent_fields)))]
            # Node hints name existing nodes, or the one extra index that stands for "another node".
            for i in range(n):
                c += [z3.Implies(self.ep_node_hint[j][i], self.node_present(i))]
        for view in self.endpoint_views():
            c.append(self.client_endpoint_constraint(view))
        # Endpoint IPs are distinct, so at most one endpoint is the client.
        for j in range(m):
            for k in range(j + 1, m):
                c += [z3.Not(z3.And(self.ep_is_client[j], self.ep_is_client[k]))]
        c += [self.endpoint_choice >= 0, self.endpoint_choice < max(m, 1)]
        c += self.bounds()
        return c

    def bounds(self) -> list[Any]:
        """A constant range for every integer variable, so bit-blasting solvers can size them."""
        n = self.max_nodes

        def within(term: Any, low: int, high: int) -> Any:
            return z3.And(term >= low, term <= high)

        c = [within(self.client_node, NO_NODE, n - 1), within(self.handling_node, 0, n - 1)]
        c += [within(self.k8s_minor, OLDEST, NEWEST), within(self.cni, 0, len(Cni) - 1)]
        c += [within(self.cilium_minor, OLDEST_CILIUM, NEWEST_CILIUM)]
        c += [within(self.metallb_counts, READY_ONLY, READY_OR_SERVING)]
        c += [within(z, NO_ZONE, self.zones - 1) for z in self.node_zone]
        c += [within(label, LB_LABEL_NONE, LB_LABEL_OTHER) for label in self.node_lb_label]
        c += [within(e, NO_NODE, n - 1) for e in self.ep_node]
        return c
