"""Labels and taints that make a solver's abstract node real.

With no nodes described, a node slot's eligibility for each workload and its topology domains are
free choices of the solver. A counterexample a reviewer can apply needs Node objects whose labels
and taints give exactly those choices: a node the solver made ineligible for a workload gets a label
that fails its node selector, or (a workload that selects no labels) a taint it does not tolerate;
an eligible node gets labels its selector asks for. The result is checked against the scheduler's own
predicates (``Scheduling.node_allowed``) before anyone sees it.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from kverify.errors import InternalError
from kverify.model.workload import (
    HOSTNAME_LABEL,
    LabelRequirement,
    Taint,
    Workload,
    label_twins,
    well_known_labels,
)

#: The taint a control-plane node carries (kubeadm): the usual reason a workload does not run there.
CONTROL_PLANE = Taint(key="node-role.kubernetes.io/control-plane", effect="NoSchedule")


def _satisfy(requirement: LabelRequirement, labels: dict[str, str]) -> None:
    op, key = requirement.operator, requirement.key
    if op == "In":
        labels[key] = requirement.values[0]
    elif op == "NotIn":
        labels.pop(key, None)
    elif op == "Exists":
        labels.setdefault(key, "true")
    elif op == "DoesNotExist":
        labels.pop(key, None)
    elif op in ("Gt", "Lt") and requirement.values:
        bound = int(requirement.values[0])
        labels[key] = str(bound + 1 if op == "Gt" else bound - 1)


def _violate(requirement: LabelRequirement, labels: dict[str, str]) -> None:
    op, key = requirement.operator, requirement.key
    if op == "In":
        labels[key] = "not-" + "-".join(requirement.values)
    elif op == "NotIn":
        labels[key] = requirement.values[0]
    elif op == "Exists":
        labels.pop(key, None)
    elif op == "DoesNotExist":
        labels[key] = "true"
    elif op in ("Gt", "Lt") and requirement.values:
        bound = int(requirement.values[0])
        labels[key] = str(bound)  # the bound itself is neither greater nor less


def realise(
    node: str,
    eligible: Mapping[Workload, bool],
    domains: Mapping[str, str | None],
) -> tuple[dict[str, str], tuple[Taint, ...]]:
    """Labels (beyond hostname) and taints for ``node``: ``eligible`` says which workloads may run
    there, ``domains`` the value of each topology label (``None``: the node has no such label)."""
    labels = well_known_labels((), node_name=node, zone=None)
    del labels[HOSTNAME_LABEL]
    taints: list[Taint] = []
    for key, value in domains.items():
        if key != HOSTNAME_LABEL and value is not None:
            labels[key] = value
    for workload, ok in eligible.items():
        s = workload.scheduling
        requirements = list(s.node_selector.requirements)
        if s.node_affinity:
            requirements += list(s.node_affinity[0].requirements)
        if ok:
            for r in requirements:
                for key in label_twins(r.key):  # the OS and arch labels move with their beta twins
                    _satisfy(attrs.evolve(r, key=key), labels)
        elif requirements:
            for key in label_twins(requirements[0].key):
                _violate(attrs.evolve(requirements[0], key=key), labels)
        elif not any(t.tolerates(CONTROL_PLANE) for t in s.tolerations):
            taints.append(CONTROL_PLANE)
        else:
            taints.append(Taint(key=f"kverify.io/not-for-{workload.name}", effect="NoSchedule"))
    full = {**labels, HOSTNAME_LABEL: node}
    for workload, ok in eligible.items():
        if workload.scheduling.node_allowed(full, tuple(taints)) != ok:
            raise InternalError(
                f"node {node}: no labels and taints give the solver's choice for {workload.key} "
                f"({'eligible' if ok else 'not eligible'}) together with the other workloads' choices"
            )
    return labels, tuple(dict.fromkeys(taints))
