"""NetworkPolicy (``networking.k8s.io/v1``) -> its ingress ``ipBlock`` peers and whether it restricts
ingress at all, and a Service's intent.

kverify does not model NetworkPolicy enforcement; it reads just enough to know that a policy admits
external clients by address, which SNAT defeats (built-in check ``etp-cluster-hides-client-ip``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kverify.load.fields import Ctx, invalid
from kverify.model.policy import IngressPolicy, IPBlockRule, ServiceIntent

NEEDS_CLIENT_IP_ANNOTATION = "kverify.io/needs-client-ip"


def ip_blocks_from(ctx: Ctx, obj: dict[str, Any], namespace: str, name: str) -> list[IPBlockRule]:
    """Every ``spec.ingress[*].from[*].ipBlock`` of one NetworkPolicy."""
    spec = ctx.mapping(obj, "spec", ())
    selector = ctx.mapping(spec, "podSelector", ("spec",))
    labels = ctx.mapping(selector, "matchLabels", ("spec", "podSelector"))
    pairs = tuple(sorted((str(k), str(val)) for k, val in labels.items()))
    exact = not selector.get("matchExpressions")
    rules: list[IPBlockRule] = []
    for i, rule in enumerate(ctx.list_of(spec, "ingress", ("spec",))):
        if type(rule) is not dict:
            ctx.error(("spec", "ingress", i), invalid(rule, "must be a mapping"))
            continue
        for j, peer in enumerate(ctx.list_of(rule, "from", ("spec", "ingress", i))):
            path = ("spec", "ingress", i, "from", j)
            if type(peer) is not dict:
                ctx.error(path, invalid(peer, "must be a mapping"))
                continue
            block = ctx.mapping(peer, "ipBlock", path)
            if not block:
                continue
            cidr = ctx.string(block, "cidr", (*path, "ipBlock"), required=True)
            if cidr is None or ctx.cidr(cidr, (*path, "ipBlock", "cidr")) is None:
                continue
            excepts = [
                c
                for k, text in enumerate(ctx.strings(block, "except", (*path, "ipBlock")))
                if (c := ctx.cidr(text, (*path, "ipBlock", "except", k))) is not None
            ]
            rules.append(
                IPBlockRule(
                    policy=f"{namespace}/{name}",
                    namespace=namespace,
                    pod_selector=pairs,
                    selector_exact=exact,
                    cidr=cidr.strip(),
                    excepts=excepts,
                )
            )
    return rules


def ingress_policy_from(obj: dict[str, Any], namespace: str, name: str) -> IngressPolicy | None:
    """The policy, if it restricts ingress: ``policyTypes`` lists ``Ingress``, or is unset, when every policy
    affects ingress (kubernetes/api networking/v1 types.go ``NetworkPolicySpec.PolicyTypes``: "all policies
    (whether or not they contain an ingress section) are assumed to affect ingress"). Fields are checked by
    :func:`ip_blocks_from`; a malformed selector reads as empty (it may select every pod)."""
    spec = obj.get("spec")
    if type(spec) is not dict:
        return None
    types = spec.get("policyTypes")
    if type(types) is list and "Ingress" not in types:
        return None
    selector = spec.get("podSelector")
    labels = selector.get("matchLabels") if type(selector) is dict else None
    pairs = tuple(sorted((str(k), str(val)) for k, val in labels.items())) if type(labels) is dict else ()
    return IngressPolicy(policy=f"{namespace}/{name}", namespace=namespace, pod_selector=pairs)


def intent_from(ctx: Ctx, obj: dict[str, Any]) -> ServiceIntent | None:
    """The Service's selector and ``kverify.io/needs-client-ip`` annotation (``None`` when neither is set)."""
    spec = obj.get("spec")
    return service_intent(ctx, spec.get("selector") if type(spec) is dict else None, obj["metadata"].get("annotations"))


def service_intent(ctx: Ctx, selector: object, annotations: object) -> ServiceIntent | None:
    """:func:`intent_from` given the Service's ``spec.selector`` and ``metadata.annotations``."""
    needs = _needs_client_ip(ctx, annotations) if type(annotations) is dict else None
    if not selector and needs is None:
        return None
    if type(selector) is not dict:
        pairs: tuple[tuple[str, str], ...] = ()
    else:
        pairs = tuple(sorted((str(k), str(val)) for k, val in selector.items()))
    return ServiceIntent(selector=pairs, needs_client_ip=bool(needs))


def typed_service_intent(
    ctx: Ctx, selector: tuple[tuple[str, str], ...] | None, annotations: object
) -> ServiceIntent | None:
    """:func:`service_intent` of a Service decoded typed, given its selector as the Service holds it: its
    (key, value) pairs, strings, in the manifest's order (``None`` when empty). A selector of one label (most
    are) is in order already: the intent shares the Service's tuple."""
    needs = _needs_client_ip(ctx, annotations) if type(annotations) is dict else None
    if not selector and needs is None:
        return None
    pairs = () if selector is None else selector if len(selector) == 1 else tuple(sorted(selector))
    return ServiceIntent(selector=pairs, needs_client_ip=bool(needs))


def _needs_client_ip(ctx: Ctx, annotations: dict[Any, Any]) -> bool | None:
    """The ``kverify.io/needs-client-ip`` annotation's value (``None`` when absent)."""
    if NEEDS_CLIENT_IP_ANNOTATION not in annotations:
        return None
    value = annotations[NEEDS_CLIENT_IP_ANNOTATION]
    if value not in ("true", "false"):
        ctx.error(("metadata", "annotations", NEEDS_CLIENT_IP_ANNOTATION), invalid(value, 'must be "true" or "false"'))
    return bool(value == "true")


def unenforced_note(
    policies: Iterable[IngressPolicy], namespace: str, selector: tuple[tuple[str, str], ...] | None
) -> str:
    """One line naming the NetworkPolicies that may restrict ingress to a Service's pods ("" if none): kverify
    routes as kube-proxy does and does not enforce them, so a "delivered" outcome may still be dropped."""
    names = [p.policy for p in policies if p.may_select(namespace, selector)]
    if not names:
        return ""
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return (
        f"NetworkPolicy {shown} may restrict ingress to these pods; kverify does not model NetworkPolicy, so "
        "'delivered' is kube-proxy's answer and the network plugin may still drop the connection"
    )
