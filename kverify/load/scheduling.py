"""Scheduling terms of a pod template -> :class:`~kverify.model.workload.Scheduling`, and Node taints.

Only what can forbid a placement is read: ``nodeSelector``, required node affinity, required pod
(anti-)affinity, ``topologySpreadConstraints`` and tolerations (preferences never forbid, so they are
left out silently). Bad values are errors in the API server's words
(``pkg/apis/core/validation/validation.go``: ``ValidateNodeSelectorRequirement``,
``validatePodAffinityTerm``, ``validateTopologySpreadConstraints``, ``ValidateTolerations``,
``validateNodeTaints``; ``apimachinery/pkg/apis/meta/v1/validation`` ``ValidateLabelSelector``).
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from kverify.load.fields import Ctx, Path, invalid, unsupported
from kverify.model.workload import (
    HOSTNAME_LABEL,
    LabelRequirement,
    LabelSelector,
    PodAffinityTerm,
    Scheduling,
    SpreadConstraint,
    Taint,
    Toleration,
)

#: Stands for "every namespace" in a term's namespaces until the loader knows them all
#: (``namespaceSelector: {}``); replaced by :func:`kverify.load.workloads.every_namespace`.
ALL_NAMESPACES = "*"

_LABEL_OPERATORS = ("DoesNotExist", "Exists", "In", "NotIn")
_NODE_OPERATORS = ("DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn")
_EFFECTS = ("NoExecute", "NoSchedule", "PreferNoSchedule")
_REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"


def string_map(ctx: Ctx, m: dict[str, Any], key: str, path: Path) -> dict[str, str]:
    """A map of strings (labels, nodeSelector); a YAML ``true`` or ``1`` is not a string."""
    out: dict[str, str] = {}
    for k, value in ctx.mapping(m, key, path).items():
        if type(value) is str:
            out[str(k)] = value
        else:
            ctx.error((*path, key, str(k)), invalid(value, "must be a string"))
    return out


# -- selectors -------------------------------------------------------------------------------------


def label_selector(ctx: Ctx, m: dict[str, Any], key: str, path: Path) -> LabelSelector | None:
    """A ``metav1.LabelSelector``; absent (nil) selects nothing. ``None`` when it is invalid."""
    raw = m.get(key)
    if raw is None:
        return LabelSelector(matches_nothing=True)
    if type(raw) is not dict:
        ctx.error((*path, key), invalid(raw, "must be a mapping"))
        return None
    spath: Path = (*path, key)
    before = len(ctx.problems)
    requirements = [
        LabelRequirement(key=k, operator="In", values=(v,))
        for k, v in string_map(ctx, raw, "matchLabels", spath).items()
    ]
    requirements += _expressions(ctx, raw, "matchExpressions", spath, _LABEL_OPERATORS)
    return LabelSelector(requirements=requirements) if len(ctx.problems) == before else None


def _expressions(
    ctx: Ctx, m: dict[str, Any], key: str, path: Path, operators: tuple[str, ...]
) -> list[LabelRequirement]:
    out: list[LabelRequirement] = []
    for i, raw in enumerate(ctx.list_of(m, key, path)):
        epath: Path = (*path, key, i)
        if type(raw) is not dict:
            ctx.error(epath, invalid(raw, "must be a mapping"))
            continue
        name = ctx.string(raw, "key", epath, required=True)
        operator = raw.get("operator")
        values = ctx.strings(raw, "values", epath)
        if operator not in operators:
            if operator is None or operator == "":
                ctx.error((*epath, "operator"), "Required value")
            elif operators is _LABEL_OPERATORS:
                ctx.error((*epath, "operator"), invalid(operator, "is not a valid label selector operator"))
            else:
                ctx.error((*epath, "operator"), unsupported(operator, operators))
            continue
        if operator in ("In", "NotIn") and not values:
            ctx.error((*epath, "values"), "Required value: must be specified when `operator` is 'In' or 'NotIn'")
        elif operator in ("Exists", "DoesNotExist") and values:
            ctx.error(
                (*epath, "values"), "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
            )
        elif operator in ("Gt", "Lt"):
            if len(values) != 1:
                ctx.error(
                    (*epath, "values"), "Required value: must be specified single value when `operator` is 'Lt' or 'Gt'"
                )
            elif not re.fullmatch(r"-?\d+", values[0]):
                ctx.error((*epath, "values", 0), invalid(values[0], "must be an integer"))
        if name is not None:
            out.append(LabelRequirement(key=name, operator=operator, values=tuple(values)))
    return out


# -- scheduling ------------------------------------------------------------------------------------


def scheduling_from(ctx: Ctx, pod: dict[str, Any], path: Path, labels: dict[str, str]) -> Scheduling:
    node_selector = LabelSelector.of(string_map(ctx, pod, "nodeSelector", path))
    affinity = ctx.mapping(pod, "affinity", path)
    apath: Path = (*path, "affinity")
    node_terms = _node_affinity(ctx, ctx.mapping(affinity, "nodeAffinity", apath), (*apath, "nodeAffinity"))
    anti = _pod_terms(ctx, affinity, "podAntiAffinity", apath, labels)
    pod_affinity = _pod_terms(ctx, affinity, "podAffinity", apath, labels)
    node_name = ctx.string(pod, "nodeName", path)
    return Scheduling(
        node_selector=node_selector,
        node_affinity=node_terms,
        anti_affinity=anti,
        affinity=pod_affinity,
        spread=_spread(ctx, pod, path, labels),
        tolerations=_tolerations(ctx, pod, path),
        node_name=node_name,
    )


def _node_affinity(ctx: Ctx, node_affinity: dict[str, Any], path: Path) -> tuple[LabelSelector, ...]:
    """Required node affinity: any one term must match. An empty term matches no node."""
    if node_affinity.get(_REQUIRED) is None:
        return ()
    required = ctx.mapping(node_affinity, _REQUIRED, path)
    rpath: Path = (*path, _REQUIRED)
    terms = ctx.list_of(required, "nodeSelectorTerms", rpath)
    if not terms and required.get("nodeSelectorTerms") in (None, []):
        ctx.error((*rpath, "nodeSelectorTerms"), "Required value: must have at least one node selector term")
    out: list[LabelSelector] = []
    for i, term in enumerate(terms):
        tpath: Path = (*rpath, "nodeSelectorTerms", i)
        if type(term) is not dict:
            ctx.error(tpath, invalid(term, "must be a mapping"))
            continue
        requirements = _expressions(ctx, term, "matchExpressions", tpath, _NODE_OPERATORS)
        for req in _expressions(ctx, term, "matchFields", tpath, ("In", "NotIn")):
            # matchFields supports metadata.name only: the kubelet's hostname label holds the node's name.
            j = len(requirements)
            if req.key != "metadata.name":
                ctx.error((*tpath, "matchFields", j, "key"), unsupported(req.key, ("metadata.name",)))
            elif req.operator in ("In", "NotIn") and len(req.values) != 1:
                ctx.error((*tpath, "matchFields", j, "values"), "Required value: must be only one value")
            requirements.append(attrs.evolve(req, key=HOSTNAME_LABEL))
        out.append(LabelSelector(requirements=requirements, matches_nothing=not requirements))
    return tuple(out)


def _pod_terms(
    ctx: Ctx, affinity: dict[str, Any], key: str, path: Path, labels: dict[str, str]
) -> tuple[PodAffinityTerm, ...]:
    section = ctx.mapping(affinity, key, path)
    spath: Path = (*path, key)
    out: list[PodAffinityTerm] = []
    for i, term in enumerate(ctx.list_of(section, _REQUIRED, spath)):
        tpath: Path = (*spath, _REQUIRED, i)
        if type(term) is not dict:
            ctx.error(tpath, invalid(term, "must be a mapping"))
            continue
        selector = label_selector(ctx, term, "labelSelector", tpath)
        topology = ctx.string(term, "topologyKey", tpath)
        if topology is None and term.get("topologyKey") in (None, ""):
            ctx.error((*tpath, "topologyKey"), "Required value: can not be empty")
        namespaces = tuple(ctx.strings(term, "namespaces", tpath))
        ns_selector = term.get("namespaceSelector")
        if ns_selector is not None:
            if type(ns_selector) is not dict:
                ctx.error((*tpath, "namespaceSelector"), invalid(ns_selector, "must be a mapping"))
            elif ns_selector:
                ctx.warn(
                    (*tpath, "namespaceSelector"),
                    "namespace labels are not modelled: the term counts the pods of every namespace",
                )
            namespaces = (ALL_NAMESPACES,)  # `{}` selects every namespace
        if selector is None or topology is None:
            continue
        selector = _with_label_keys(ctx, term, tpath, selector, labels)
        out.append(PodAffinityTerm(selector=selector, topology_key=topology, namespaces=namespaces))
    return tuple(out)


def _with_label_keys(
    ctx: Ctx, term: dict[str, Any], path: Path, selector: LabelSelector, labels: dict[str, str]
) -> LabelSelector:
    """``matchLabelKeys`` adds ``key In (the pod's value)``, ``mismatchLabelKeys`` ``key NotIn (...)``;
    keys the pod does not carry are ignored (KEP-3633, KEP-3243)."""
    extra: list[LabelRequirement] = []
    for field, operator in (("matchLabelKeys", "In"), ("mismatchLabelKeys", "NotIn")):
        for key in ctx.strings(term, field, path):
            if key in labels:
                extra.append(LabelRequirement(key=key, operator=operator, values=(labels[key],)))
    if not extra or selector.matches_nothing:
        return selector
    return attrs.evolve(selector, requirements=(*selector.requirements, *extra))


def _spread(ctx: Ctx, pod: dict[str, Any], path: Path, labels: dict[str, str]) -> tuple[SpreadConstraint, ...]:
    out: list[SpreadConstraint] = []
    seen: set[tuple[str, str]] = set()
    for i, raw in enumerate(ctx.list_of(pod, "topologySpreadConstraints", path)):
        cpath: Path = (*path, "topologySpreadConstraints", i)
        if type(raw) is not dict:
            ctx.error(cpath, invalid(raw, "must be a mapping"))
            continue
        before = len(ctx.problems)
        skew = raw.get("maxSkew")
        if skew is None:
            ctx.error((*cpath, "maxSkew"), "Required value")
        elif type(skew) is not int:
            ctx.error((*cpath, "maxSkew"), invalid(skew, "must be an integer"))
        elif skew <= 0:
            ctx.error((*cpath, "maxSkew"), invalid(skew, "must be greater than zero"))
        topology = ctx.string(raw, "topologyKey", cpath)
        if topology is None and raw.get("topologyKey") in (None, ""):
            ctx.error((*cpath, "topologyKey"), "Required value: can not be empty")
        when = raw.get("whenUnsatisfiable")
        if when is None or when == "":
            ctx.error((*cpath, "whenUnsatisfiable"), "Required value")
        elif when not in ("DoNotSchedule", "ScheduleAnyway"):
            ctx.error((*cpath, "whenUnsatisfiable"), unsupported(when, ("DoNotSchedule", "ScheduleAnyway")))
        elif topology is not None:
            if (topology, when) in seen:
                ctx.error((*cpath, "{topologyKey, whenUnsatisfiable}"), f'Duplicate value: "{topology}, {when}"')
            seen.add((topology, when))
        min_domains = raw.get("minDomains")
        if min_domains is not None:
            if type(min_domains) is not int or min_domains <= 0:
                ctx.error((*cpath, "minDomains"), invalid(min_domains, "must be greater than zero"))
            elif when != "DoNotSchedule":
                ctx.error(
                    (*cpath, "minDomains"),
                    invalid(
                        min_domains, "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not " + str(when)
                    ),
                )
        policies = {}
        for key, default in (("nodeAffinityPolicy", "Honor"), ("nodeTaintsPolicy", "Ignore")):
            value = raw.get(key)
            if value is not None and value not in ("Honor", "Ignore"):
                ctx.error((*cpath, key), unsupported(value, ("Honor", "Ignore")))
            policies[key] = value or default
        # A nil labelSelector counts no pods (metav1.LabelSelectorAsSelector(nil) is labels.Nothing()).
        selector = label_selector(ctx, raw, "labelSelector", cpath)
        if len(ctx.problems) != before or selector is None or topology is None or type(skew) is not int:
            continue
        selector = _with_label_keys(ctx, raw, cpath, selector, labels)
        out.append(
            SpreadConstraint(
                max_skew=skew,
                topology_key=topology,
                when_unsatisfiable=str(when),
                selector=selector,
                min_domains=min_domains,
                node_affinity_policy=policies["nodeAffinityPolicy"],
                node_taints_policy=policies["nodeTaintsPolicy"],
            )
        )
    return tuple(out)


def _tolerations(ctx: Ctx, pod: dict[str, Any], path: Path) -> tuple[Toleration, ...]:
    out: list[Toleration] = []
    for i, raw in enumerate(ctx.list_of(pod, "tolerations", path)):
        tpath: Path = (*path, "tolerations", i)
        if type(raw) is not dict:
            ctx.error(tpath, invalid(raw, "must be a mapping"))
            continue
        before = len(ctx.problems)
        key = ctx.string(raw, "key", tpath) or ""
        value = ctx.string(raw, "value", tpath) or ""
        operator = raw.get("operator") or "Equal"
        effect = raw.get("effect") or ""
        if operator not in ("Equal", "Exists"):
            ctx.error((*tpath, "operator"), unsupported(operator, ("Equal", "Exists")))
        elif not key and operator != "Exists":
            ctx.error(
                (*tpath, "operator"),
                invalid(
                    operator, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'
                ),
            )
        elif operator == "Exists" and value:
            ctx.error((*tpath, "operator"), invalid(value, "value must be empty when `operator` is 'Exists'"))
        if effect and effect not in _EFFECTS:
            ctx.error((*tpath, "effect"), unsupported(effect, _EFFECTS))
        seconds = raw.get("tolerationSeconds")
        if seconds is not None and effect != "NoExecute":
            ctx.error(
                (*tpath, "effect"),
                invalid(effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"),
            )
        if len(ctx.problems) == before:
            out.append(Toleration(key=key, operator=operator, value=value, effect=effect))
    return tuple(out)


def taints_from(ctx: Ctx, spec: dict[str, Any]) -> tuple[Taint, ...]:
    """A Node's ``spec.taints`` (``validateNodeTaints``)."""
    out: list[Taint] = []
    for i, raw in enumerate(ctx.list_of(spec, "taints", ("spec",))):
        tpath: Path = ("spec", "taints", i)
        if type(raw) is not dict:
            ctx.error(tpath, invalid(raw, "must be a mapping"))
            continue
        key = ctx.string(raw, "key", tpath, required=True)
        value = ctx.string(raw, "value", tpath) or ""
        effect = raw.get("effect")
        if effect is None or effect == "":
            ctx.error((*tpath, "effect"), "Required value")
        elif effect not in _EFFECTS:
            ctx.error((*tpath, "effect"), unsupported(effect, _EFFECTS))
        elif key is not None:
            out.append(Taint(key=key, value=value, effect=effect))
    return tuple(out)
