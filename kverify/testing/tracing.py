"""Clusters, flows and traces for tests: load manifests, name a flow, list its outcomes.

The assertions (:mod:`kverify.testing.assertions`) build on these; so can your own tests.
"""

from __future__ import annotations

import collections
import os
import shlex
from collections.abc import Iterator, Sequence
from typing import Any, overload

import attrs

from kverify.concrete.route import route
from kverify.errors import InputError
from kverify.load import load_manifests, to_cluster
from kverify.model import ClientKind, Cluster, Dataplane, Destination, Flow, LoadBalancerProfile, Protocol, ProxyConfig
from kverify.model.versions import describe
from kverify.report.trace_text import render as render_trace
from kverify.results import Outcome

__all__ = ["Trace", "flow_to", "load_cluster", "manifest_files", "trace"]

# The manifest files each loaded cluster came from, so a failure can name them in its `kverify trace`
# command. Keyed by (nodes, services), which `attrs.evolve` of the proxy or load balancer keeps.
_SOURCES: collections.OrderedDict[tuple[object, object], tuple[str, ...]] = collections.OrderedDict()
_SOURCES_KEPT = 64
_FILES = "KVERIFY-MANIFESTS.yaml"  # placeholder for the manifest paths in a command line


# -- clusters and flows ------------------------------------------------------------------


def load_cluster(
    *paths: str | os.PathLike[str],
    dataplane: Dataplane | str | None = None,
    load_balancer: LoadBalancerProfile | str | None = None,
    proxy: ProxyConfig | None = None,
) -> Cluster:
    """Load manifest files (or directories of them) into a :class:`~kverify.model.Cluster`.

    ``dataplane`` and ``load_balancer`` accept the CLI's words (``"nftables"``, ``"no-health-check"``);
    ``proxy`` sets the whole proxy configuration (its dataplane is overridden by ``dataplane``).
    Failure messages about this cluster name these files in their ``kverify trace`` command.
    """
    __tracebackhide__ = True
    if not paths:
        raise TypeError("load_cluster() needs at least one manifest file or directory")
    try:
        loaded = load_manifests(list(paths), service_cidrs=proxy.service_cidrs if proxy else ())
    except InputError as error:
        raise InputError(error.problems) from None
    cluster = to_cluster(loaded, proxy=proxy)
    cluster = _configure(cluster, dataplane, load_balancer)
    _SOURCES[(cluster.nodes, cluster.services)] = tuple(os.fspath(p) for p in paths)
    while len(_SOURCES) > _SOURCES_KEPT:
        _SOURCES.popitem(last=False)
    return cluster


def flow_to(
    service: str,
    to: Destination | str,
    *,
    client: ClientKind | str = ClientKind.EXTERNAL,
    node: str | None = None,
    src_ip: str | None = None,
    dst_ip: str | None = None,
    port: int | None = None,
    protocol: Protocol | str = Protocol.TCP,
) -> Flow:
    """A :class:`~kverify.model.Flow` in the words of ``kverify trace``.

    ``flow_to("shop/web", "load-balancer")`` is an external client to the Service's load balancer IP
    (every node the load balancer may pick is an outcome); ``flow_to("shop/web", "cluster-ip",
    client="pod", node="node-a")`` is a pod on node-a to its ClusterIP.
    """
    __tracebackhide__ = True
    return Flow(
        service=service,
        destination=_parse(Destination, to, "to"),
        client=_parse(ClientKind, client, "client"),
        node=node,
        client_ip=src_ip,
        dst_ip=dst_ip,
        port=port,
        protocol=_parse(Protocol, protocol, "protocol"),
    )


def manifest_files(cluster: Cluster) -> tuple[str, ...] | None:
    """The files :func:`load_cluster` read ``cluster`` from (``None`` for a cluster built in code)."""
    return _SOURCES.get((cluster.nodes, cluster.services))


# -- trace ----------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Trace(Sequence[Outcome]):
    """Every possible outcome of one flow, as :func:`trace` returns it; a sequence of outcomes."""

    cluster: Cluster
    flow: Flow
    outcomes: tuple[Outcome, ...]

    @overload
    def __getitem__(self, index: int) -> Outcome: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Outcome]: ...
    def __getitem__(self, index: int | slice) -> Outcome | Sequence[Outcome]:
        return self.outcomes[index]

    def __len__(self) -> int:
        return len(self.outcomes)

    def __iter__(self) -> Iterator[Outcome]:
        return iter(self.outcomes)

    @property
    def delivered(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.delivered)

    @property
    def dropped(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if not o.delivered)

    @property
    def command(self) -> str:
        """The ``kverify trace`` command that prints this trace (see :func:`load_cluster`)."""
        return _command(self.cluster, self.flow)

    def render(self, *, hops: bool = True) -> str:
        """The text ``kverify trace`` prints (with ``--hops`` unless ``hops=False``)."""
        proxy = self.cluster.proxy
        environment = describe(proxy.dataplane.spelling, proxy.kubernetes_version, proxy.feature_gates, proxy.cilium)
        return render_trace(self.flow, self.outcomes, hops=hops, environment=environment)

    def __str__(self) -> str:
        return self.render()


def trace(
    cluster: Cluster,
    flow: Flow,
    *,
    dataplane: Dataplane | str | None = None,
    load_balancer: LoadBalancerProfile | str | None = None,
) -> Trace:
    """Every possible outcome of ``flow`` in ``cluster`` (on ``dataplane``, if given), with hops."""
    __tracebackhide__ = True
    cluster = _configure(cluster, dataplane, load_balancer)
    return Trace(cluster=cluster, flow=flow, outcomes=_route(cluster, flow))


def _parse(kind: type, value: object, name: str) -> Any:  # a member of `kind`
    __tracebackhide__ = True
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        try:
            return kind.parse(value)  # type: ignore[attr-defined]
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
    raise TypeError(f"{name}: expected a {kind.__name__} or its spelling, not {type(value).__name__}")


def _configure(
    cluster: Cluster, dataplane: Dataplane | str | None, load_balancer: LoadBalancerProfile | str | None
) -> Cluster:
    __tracebackhide__ = True
    if dataplane is not None:
        plane = _parse(Dataplane, dataplane, "dataplane")
        cluster = attrs.evolve(cluster, proxy=attrs.evolve(cluster.proxy, dataplane=plane))
    if load_balancer is not None:
        profile = _parse(LoadBalancerProfile, load_balancer, "load_balancer")
        cluster = attrs.evolve(cluster, load_balancer=profile, load_balancer_explicit=True)
    return cluster


def _route(cluster: Cluster, flow: Flow) -> tuple[Outcome, ...]:
    __tracebackhide__ = True
    try:
        return route(cluster, flow)
    except InputError as error:  # bad flow or cluster: say what, not where inside kverify
        raise InputError(error.problems) from None


def _command(cluster: Cluster, flow: Flow) -> str:
    from kverify.prove.commands import trace_command

    files = manifest_files(cluster) or ("cluster.yaml",)
    words = shlex.split(trace_command(cluster, flow, _FILES, via_load_balancer=False))
    at = words.index(_FILES)
    words[at : at + 1] = list(files)
    proxy = cluster.proxy
    if proxy.cluster_cidrs != ProxyConfig().cluster_cidrs:
        if proxy.cluster_cidrs:
            for cidr in proxy.cluster_cidrs:
                words += ["--cluster-cidr", cidr]
        elif "--no-local-detector" not in words:
            words.append("--no-local-detector")  # no cluster CIDR: no LocalTrafficDetector
    if flow.protocol is not Protocol.TCP:
        words += ["--protocol", flow.protocol.spelling]
    return shlex.join([*words, "--hops"])
