"""A spec file, read: what the user intends (claims) about what they run (manifests or a topology)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from kverify.check.findings import HOLDS, Location
from kverify.model import ClientKind, Cluster, Destination
from kverify.model.workload import NodePool, Workload

if TYPE_CHECKING:
    from kverify.check.specfile.address import AddressSpecClaim
    from kverify.check.specfile.during import During
    from kverify.placement.design import Design

API_VERSION = "kverify.io/v1alpha1"
KIND = "Spec"


@attrs.frozen(kw_only=True)
class SpecClaim:
    """One belief about one Service and the clients that reach it."""

    id: str
    service: str  # namespace/name
    client: ClientKind
    via: Destination
    node: str | None = None  # arrival node (external) or client node (pod, host); None: every node
    source_ip: str | None = None
    port: int | None = None
    prop: str  # the property: a kverify.check.exhaustive.PROPERTIES id, "at-most-hops" or "share-within"
    hops: int | None = None
    ratio: float | None = None
    expect: str = HOLDS
    #: An Unknown verdict (a case the model does not cover) is accepted, not a failure.
    allow_unknown: bool = False
    why: str = ""
    #: The change the claim must hold through (a rollout, a drain), if any: see :mod:`kverify.change`.
    during: During | None = None
    location: Location

    @property
    def statement(self) -> str:
        from kverify.check.exhaustive import PROPERTIES, at_most_hops  # the phrase lives with the property

        who = {ClientKind.EXTERNAL: "external clients", ClientKind.POD: "pods", ClientKind.NODE: "host-network clients"}
        where = f" on {self.node}" if self.node else ""
        if self.client is ClientKind.EXTERNAL and self.node:
            where = f" arriving at {self.node}"
        head = f"{who[self.client]}{where} via {self.via.spelling}: "
        if self.during is not None:
            head = f"{self.during.phrase()}, {head}"
        if self.prop == "share-within":
            return (
                head
                + f"every Ready pod gets a share of the connections, the largest at most {self.ratio:g} x the smallest"
            )
        phrase = at_most_hops(self.hops or 0).phrase if self.prop == "at-most-hops" else PROPERTIES[self.prop].phrase
        return head + phrase


@attrs.frozen(kw_only=True)
class ExpectedFinding:
    check: str
    service: str
    location: Location


@attrs.frozen(kw_only=True)
class Spec:
    """A spec file. ``cluster`` carries the environment (proxy, load balancer) already applied."""

    name: str
    file: str
    description: str = ""
    cluster: Cluster
    #: The manifest files the cluster was loaded from (None: an inline topology).
    manifests: tuple[str, ...] | None = None
    #: Service key -> (file, line) of its definition.
    service_lines: dict[str, Location] = attrs.field(factory=dict, hash=False)
    #: ``"Kind namespace/name"`` of each object of the manifests -> where it is defined (what a fix edits).
    object_lines: dict[str, Location] = attrs.field(factory=dict, hash=False, eq=False)
    #: Claims about a Service, and claims about packets to an address of no Service (``to``).
    claims: tuple[SpecClaim | AddressSpecClaim, ...] = ()
    builtin_checks: bool = False
    needs_client_ip: tuple[str, ...] = ()
    expected_findings: tuple[ExpectedFinding, ...] = ()
    ip_blocks: tuple = ()  # IPBlockRule values from the manifests
    intents: dict = attrs.field(factory=dict, hash=False)  # ServiceIntent values from the manifests
    #: Design-time inputs: the workloads of the manifests and the node pools of ``nodes:``.
    workloads: tuple[Workload, ...] = ()
    node_pools: tuple[NodePool, ...] = ()
    endpoints_given: frozenset[str] = frozenset()
    pod_sources: tuple[tuple[str, str, str], ...] = ()

    @property
    def design(self) -> Design:
        """The spec as a design review sees it (see :mod:`kverify.placement`)."""
        from kverify.placement.design import Design

        return Design(
            cluster=self.cluster,
            workloads=self.workloads,
            node_pools=self.node_pools,
            endpoints_given=self.endpoints_given,
            pod_sources=self.pod_sources,
        )

    #: Objects of the manifests kverify builds nothing from (one line each), and their kinds.
    skipped: tuple[str, ...] = ()
    skipped_kinds: tuple[str, ...] = ()
    #: Where manifest objects without a namespace land (the spec's ``namespace``, as ``kubectl apply -n``).
    namespace: str = "default"
