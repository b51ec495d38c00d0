"""What kverify reads beyond routing: NetworkPolicy ipBlocks and per-Service intent.

Neither changes where a packet goes; the built-in checks read them to know when the address a pod
sees matters (SNAT hides the client's address from an ipBlock rule).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs
from attrs import validators as v

from kverify.model.convert import to_tuple


@attrs.frozen(kw_only=True)
class IPBlockRule:
    """One ``ipBlock`` peer of a NetworkPolicy's ingress rule: sources in ``cidr`` (less ``excepts``)
    may reach the pods ``pod_selector`` selects in ``namespace``."""

    policy: str = attrs.field(validator=v.instance_of(str))  # namespace/name
    namespace: str = attrs.field(validator=v.instance_of(str))
    #: ``podSelector.matchLabels``; empty selects every pod of the namespace.
    pod_selector: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=to_tuple)
    #: False when the selector also has ``matchExpressions`` (kverify reads ``matchLabels`` only).
    selector_exact: bool = True
    cidr: str = attrs.field(validator=v.instance_of(str))
    excepts: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)

    def selects(self, namespace: str, selector: tuple[tuple[str, str], ...]) -> bool:
        """Whether the policy selects the pods of a Service with this ``spec.selector`` (pods carry at
        least the selector's labels; a policy asking for other labels may or may not select them)."""
        return namespace == self.namespace and set(self.pod_selector) <= set(selector)


@attrs.frozen(kw_only=True)
class ServiceIntent:
    """What a Service's manifest says beyond routing."""

    selector: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=to_tuple)
    #: The ``kverify.io/needs-client-ip: "true"`` annotation: the pods need the client's address.
    needs_client_ip: bool = False


@attrs.frozen(kw_only=True)
class IngressPolicy:
    """A NetworkPolicy that restricts ingress to the pods it selects (kverify does not enforce it: a flow it
    calls delivered is kube-proxy's answer, which the network plugin may still drop)."""

    policy: str = attrs.field(validator=v.instance_of(str))  # namespace/name
    namespace: str = attrs.field(validator=v.instance_of(str))
    #: ``podSelector.matchLabels``; empty selects every pod of the namespace.
    pod_selector: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=to_tuple)

    def may_select(self, namespace: str, selector: tuple[tuple[str, str], ...] | None) -> bool:
        """Whether the policy may select the pods of a Service with this ``spec.selector``: its pods carry at
        least those labels, so only a label the two give different values excludes them (kverify reads
        ``matchLabels`` only; ``matchExpressions`` may narrow it further)."""
        wanted = dict(selector or ())
        return namespace == self.namespace and all(wanted.get(k, val) == val for k, val in self.pod_selector)


#: A policy with its position in the input (the order messages name policies in).
Placed = tuple[int, IngressPolicy]


class PolicyIndex:
    """Ingress policies indexed by namespace and by the label keys they select on, so that the policies that
    may select each Service's pods are found without comparing every Service with every policy of its
    namespace (10,000 of each in one namespace were 10^8 :meth:`IngressPolicy.may_select` calls, ~150 s)."""

    def __init__(self, policies: Iterable[IngressPolicy]) -> None:
        self._groups: dict[str, dict[frozenset[str], list[Placed]]] = {}
        for position, policy in enumerate(policies):
            keys = frozenset(key for key, _ in policy.pod_selector)
            self._groups.setdefault(policy.namespace, {}).setdefault(keys, []).append((position, policy))
        self._projections: dict[tuple[str, frozenset[str], tuple[str, ...]], dict[tuple[str, ...], list[Placed]]] = {}

    def buckets(self, namespace: str, selector: tuple[tuple[str, str], ...] | None) -> list[list[Placed]]:
        """The policies that may select the pods of a Service with this ``spec.selector``, as shared lists
        (the same list object answers every Service it fits, so a caller can take each list once).

        As :meth:`IngressPolicy.may_select`: a policy may select them unless it gives one of the selector's
        labels another value; so among policies selecting on the same keys, those that fit are the ones
        whose values on the keys shared with the selector equal the selector's: one dictionary lookup.
        """
        wanted = dict(selector or ())
        found: list[list[Placed]] = []
        for keys, members in self._groups.get(namespace, {}).items():
            shared = tuple(sorted(keys.intersection(wanted)))
            projection = self._projections.get((namespace, keys, shared))
            if projection is None:  # built once per namespace, key set and shared keys
                projection = {}
                for placed in members:
                    labels = dict(placed[1].pod_selector)
                    projection.setdefault(tuple(labels[key] for key in shared), []).append(placed)
                self._projections[(namespace, keys, shared)] = projection
            if bucket := projection.get(tuple(wanted[key] for key in shared)):
                found.append(bucket)
        return found
