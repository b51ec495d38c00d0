"""Workloads instead of EndpointSlices: Deployments, StatefulSets, ReplicaSets, DaemonSets, bare Pods
and HPAs read into ``Workload`` values, with every bad field an error in the API server's words.

Rows are written from the Kubernetes API reference (``k8s.io/api/core/v1/types.go``) and the
validation in ``pkg/apis/core/validation/validation.go`` / ``pkg/apis/apps/validation``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kverify.errors import InputError
from kverify.load import load_manifests
from kverify.model.enums import Protocol
from kverify.model.workload import (
    HOSTNAME_LABEL,
    ContainerPort,
    LabelRequirement,
    LabelSelector,
    PodAffinityTerm,
    SpreadConstraint,
    Taint,
    Toleration,
    WorkloadKind,
)


def deployment(name: str = "web", pod: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    template_spec = {"containers": [{"name": "web", "ports": [{"name": "http", "containerPort": 8080}]}]}
    template_spec.update(pod or {})
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": template_spec},
            **spec,
        },
    }


def load(tmp_path: Path, *objects: dict[str, Any]):  # type: ignore[no-untyped-def]
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    return load_manifests([path])


def problems(tmp_path: Path, *objects: dict[str, Any]) -> list[str]:
    with pytest.raises(InputError) as info:
        load(tmp_path, *objects)
    return [f"{p.field}: {p.message}" for p in info.value.problems]


def the_workload(tmp_path: Path, *objects: dict[str, Any]):  # type: ignore[no-untyped-def]
    (workload,) = load(tmp_path, *objects).workloads
    return workload


# -- what is read ----------------------------------------------------------------------------------

SCHEDULING = [
    pytest.param(
        {"nodeSelector": {"disk": "ssd"}},
        "node_selector",
        LabelSelector.of({"disk": "ssd"}),
        id="nodeSelector is a selector over node labels",
    ),
    pytest.param(
        {
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]},
                            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-3"]}]},
                            {},
                        ]
                    }
                }
            }
        },
        "node_affinity",
        (
            LabelSelector(requirements=[LabelRequirement(key="zone", operator="In", values=("a", "b"))]),
            LabelSelector(requirements=[LabelRequirement(key=HOSTNAME_LABEL, operator="In", values=("node-3",))]),
            LabelSelector(matches_nothing=True),
        ),
        id="required node affinity: any term; matchFields metadata.name is the hostname; an empty term matches nothing",
    ),
    pytest.param(
        {
            "affinity": {
                "nodeAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 1, "preference": {"matchExpressions": [{"key": "x", "operator": "Exists"}]}}
                    ]
                },
                "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 5}]},
            }
        },
        "node_affinity",
        (),
        id="preferences never forbid a placement: left out",
    ),
    pytest.param(
        {
            "affinity": {
                "podAntiAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": HOSTNAME_LABEL}
                    ]
                }
            }
        },
        "anti_affinity",
        (PodAffinityTerm(selector=LabelSelector.of({"app": "web"}), topology_key=HOSTNAME_LABEL),),
        id="required pod anti-affinity on the hostname",
    ),
    pytest.param(
        {
            "affinity": {
                "podAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "zone", "namespaces": ["cache"]}]
                }
            }
        },
        "affinity",
        (PodAffinityTerm(selector=LabelSelector(matches_nothing=True), topology_key="zone", namespaces=("cache",)),),
        id="required pod affinity with no labelSelector selects no pod",
    ),
    pytest.param(
        {
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {"matchLabels": {"app": "web"}},
                    "matchLabelKeys": ["app", "not-on-the-pod"],
                    "minDomains": 3,
                },
                {"maxSkew": 2, "topologyKey": HOSTNAME_LABEL, "whenUnsatisfiable": "ScheduleAnyway"},
            ]
        },
        "spread",
        (
            SpreadConstraint(
                max_skew=1,
                topology_key="topology.kubernetes.io/zone",
                selector=LabelSelector(
                    requirements=[
                        LabelRequirement(key="app", operator="In", values=("web",)),
                        LabelRequirement(key="app", operator="In", values=("web",)),
                    ]
                ),
                min_domains=3,
            ),
            SpreadConstraint(
                max_skew=2,
                topology_key=HOSTNAME_LABEL,
                when_unsatisfiable="ScheduleAnyway",
                selector=LabelSelector(matches_nothing=True),
            ),
        ),
        id="spread constraints with API defaults; matchLabelKeys adds the pod's value, absent keys are ignored",
    ),
    pytest.param(
        {
            "tolerations": [
                {"key": "dedicated", "value": "web", "effect": "NoSchedule"},
                {"operator": "Exists"},
                {
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                },
            ]
        },
        "tolerations",
        (
            Toleration(key="dedicated", value="web", effect="NoSchedule"),
            Toleration(operator="Exists"),
            Toleration(key="node.kubernetes.io/not-ready", operator="Exists", effect="NoExecute"),
        ),
        id="tolerations, operator Equal by default",
    ),
    pytest.param({"nodeName": "node-7"}, "node_name", "node-7", id="nodeName bypasses the scheduler"),
]


@pytest.mark.parametrize(("pod", "field", "expected"), SCHEDULING)
def test_scheduling_terms_are_read(tmp_path, pod, field, expected) -> None:  # type: ignore[no-untyped-def]
    workload = the_workload(tmp_path, deployment(pod=pod))
    assert getattr(workload.scheduling, field) == expected


def test_a_deployment_gives_labels_ports_and_replicas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    obj = deployment(replicas=3, pod={"hostNetwork": True})
    obj["spec"]["template"]["spec"]["containers"].append(
        {"name": "dns", "ports": [{"containerPort": 53, "protocol": "UDP", "name": "dns"}]}
    )
    workload = the_workload(tmp_path, obj)
    assert (workload.kind, workload.key, workload.replicas, workload.replicas_source) == (
        WorkloadKind.DEPLOYMENT,
        "Deployment default/web",
        3,
        "spec.replicas",
    )
    assert workload.labels == (("app", "web"),)
    assert workload.ports == (
        ContainerPort(name="http", port=8080),
        ContainerPort(name="dns", port=53, protocol=Protocol.UDP),
    )
    assert workload.host_network
    assert workload.named_port("dns", Protocol.UDP) == 53 and workload.named_port("dns", Protocol.TCP) is None


@pytest.mark.parametrize(
    ("kind", "api_version", "replicas", "source"),
    [
        pytest.param("Deployment", "apps/v1", 1, "default 1", id="a Deployment without replicas has 1"),
        pytest.param("StatefulSet", "apps/v1", 1, "default 1", id="a StatefulSet without replicas has 1"),
        pytest.param("ReplicaSet", "apps/v1", 1, "default 1", id="a ReplicaSet without replicas has 1"),
        pytest.param("DaemonSet", "apps/v1", None, "one per eligible node", id="a DaemonSet has one pod per node"),
    ],
)
def test_replicas_default_as_the_api_server_defaults_them(tmp_path, kind, api_version, replicas, source) -> None:  # type: ignore[no-untyped-def]
    obj = deployment()
    obj["kind"], obj["apiVersion"] = kind, api_version
    workload = the_workload(tmp_path, obj)
    assert (workload.kind.spelling, workload.replicas, workload.replicas_source) == (kind, replicas, source)


@pytest.mark.parametrize(
    ("hpa_version", "hpa_spec", "replicas", "source"),
    [
        pytest.param(
            "autoscaling/v2",
            {"minReplicas": 4, "maxReplicas": 10},
            4,
            "minReplicas of HorizontalPodAutoscaler default/web",
            id="an HPA's minReplicas replaces spec.replicas",
        ),
        pytest.param(
            "autoscaling/v1",
            {"maxReplicas": 10},
            1,
            "minReplicas of HorizontalPodAutoscaler default/web",
            id="an autoscaling/v1 HPA without minReplicas means 1",
        ),
    ],
)
def test_an_hpa_sets_the_replicas_of_the_workload_it_scales(tmp_path, hpa_version, hpa_spec, replicas, source) -> None:  # type: ignore[no-untyped-def]
    hpa = {
        "apiVersion": hpa_version,
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, **hpa_spec},
    }
    workloads = {
        w.name: w for w in load(tmp_path, deployment(replicas=2), deployment("other", replicas=2), hpa).workloads
    }
    assert (workloads["web"].replicas, workloads["web"].replicas_source) == (replicas, source)
    assert workloads["other"].replicas == 2


def test_an_hpa_for_a_missing_workload_is_a_warning(tmp_path) -> None:  # type: ignore[no-untyped-def]
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "gone"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "gone"}, "maxReplicas": 3},
    }
    loaded = load(tmp_path, hpa)
    assert [(w.field, w.message) for w in loaded.warnings] == [
        ("spec.scaleTargetRef", "Deployment gone not found in the manifests; this HPA scales nothing")
    ]


def test_bare_pods_are_workloads_and_pods_a_controller_owns_are_not(tmp_path) -> None:  # type: ignore[no-untyped-def]
    container = {"name": "c", "ports": [{"containerPort": 80}]}
    bare = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug", "labels": {"app": "x"}}}
    bare["spec"] = {"containers": [container]}
    owned = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-1", "ownerReferences": [{"kind": "ReplicaSet"}]},
    }
    owned["spec"] = {"containers": [container]}
    (workload,) = load(tmp_path, bare, owned).workloads
    assert (workload.key, workload.replicas, workload.replicas_source, workload.labels) == (
        "Pod default/debug",
        1,
        "a bare Pod",
        (("app", "x"),),
    )


def test_namespace_selector_everything_means_every_namespace_of_the_manifests(tmp_path) -> None:  # type: ignore[no-untyped-def]
    term = {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "zone", "namespaceSelector": {}}
    web = deployment(pod={"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}})
    other = deployment("db")
    other["metadata"]["namespace"] = "data"
    workloads = {w.name: w for w in load(tmp_path, web, other).workloads}
    assert workloads["web"].scheduling.anti_affinity[0].namespaces == ("data", "default")


def test_service_selector_and_snapshot_endpoint_slices_are_recorded(tmp_path) -> None:  # type: ignore[no-untyped-def]
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}
    svc["spec"] = {"selector": {"app": "web", "tier": "front"}, "ports": [{"port": 80}]}
    other = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "other"}, "spec": {"ports": [{"port": 80}]}}
    empty_slice = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "web-abc", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": [],
    }
    loaded = load(tmp_path, svc, other, empty_slice)
    services = {s.key: s for s in loaded.services}
    assert services["default/web"].selector == (("app", "web"), ("tier", "front"))
    assert services["default/other"].selector is None
    assert loaded.endpoints_given == {"default/web"}


def test_node_labels_and_taints_are_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "n1", "labels": {"pool": "gpu", "topology.kubernetes.io/zone": "z1"}},
        "spec": {
            "taints": [
                {"key": "gpu", "value": "true", "effect": "NoSchedule"},
                {"key": "ToBeDeletedByClusterAutoscaler", "effect": "NoSchedule"},
            ]
        },
        "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]},
    }
    (loaded,) = load(tmp_path, node).nodes
    assert (loaded.labels, loaded.zone) == ((("pool", "gpu"),), "z1")
    assert loaded.taints == (Taint(key="gpu", value="true", effect="NoSchedule"),)
    assert loaded.draining


# -- bad input, in the API server's words ----------------------------------------------------------

T = "spec.template.spec"
ERRORS = [
    pytest.param(
        deployment(replicas=-1),
        ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"],
        id="negative replicas",
    ),
    pytest.param(
        deployment(replicas="3"), ['spec.replicas: Invalid value: "3": must be an integer'], id="replicas as a string"
    ),
    pytest.param(
        {**deployment(), "spec": {**deployment()["spec"], "selector": {"matchLabels": {"app": "other"}}}},
        ['spec.template.metadata.labels: Invalid value: {"app": "web"}: `selector` does not match template `labels`'],
        id="a selector that does not select the template",
    ),
    pytest.param(
        {**deployment(), "spec": {k: v for k, v in deployment()["spec"].items() if k != "selector"}},
        ["spec.selector: Required value"],
        id="apps/v1 needs a selector",
    ),
    pytest.param(
        deployment(pod={"containers": [{"name": "c", "ports": [{"containerPort": 0}]}]}),
        [f"{T}.containers[0].ports[0].containerPort: Invalid value: 0: must be between 1 and 65535, inclusive"],
        id="containerPort 0",
    ),
    pytest.param(
        deployment(pod={"containers": [{"name": "c", "ports": [{"containerPort": 80, "name": "Has_Caps"}]}]}),
        [
            f'{T}.containers[0].ports[0].name: Invalid value: "Has_Caps": '
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
        ],
        id="a port name that is no IANA service name",
    ),
    pytest.param(
        deployment(pod={"containers": []}), [f"{T}.containers: Required value"], id="a pod without containers"
    ),
    pytest.param(
        deployment(
            pod={
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]}
                            ]
                        }
                    }
                }
            }
        ),
        [
            f"{T}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
            '.matchExpressions[0].operator: Unsupported value: "Equals": supported values: '
            '"DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"'
        ],
        id="an unknown node selector operator",
    ),
    pytest.param(
        deployment(
            pod={
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "In"}]}]
                        }
                    }
                }
            }
        ),
        [
            f"{T}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
            ".matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"
        ],
        id="In without values",
    ),
    pytest.param(
        deployment(
            pod={
                "affinity": {
                    "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}
                }
            }
        ),
        [
            f"{T}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: "
            "Required value: must have at least one node selector term"
        ],
        id="required node affinity without terms",
    ),
    pytest.param(
        deployment(
            pod={
                "affinity": {
                    "podAntiAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": [
                            {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "Gt", "values": ["1"]}]}}
                        ]
                    }
                }
            }
        ),
        [
            f"{T}.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector"
            '.matchExpressions[0].operator: Invalid value: "Gt": is not a valid label selector operator',
            f"{T}.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: "
            "Required value: can not be empty",
        ],
        id="pod anti-affinity with a node-only operator and no topologyKey",
    ),
    pytest.param(
        deployment(
            pod={
                "topologySpreadConstraints": [
                    {"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
                ]
            }
        ),
        [f"{T}.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero"],
        id="maxSkew 0",
    ),
    pytest.param(
        deployment(
            pod={"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "Never"}]}
        ),
        [
            f'{T}.topologySpreadConstraints[0].whenUnsatisfiable: Unsupported value: "Never": '
            'supported values: "DoNotSchedule", "ScheduleAnyway"'
        ],
        id="an unknown whenUnsatisfiable",
    ),
    pytest.param(
        deployment(
            pod={
                "topologySpreadConstraints": [
                    {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway", "minDomains": 2}
                ]
            }
        ),
        [
            f"{T}.topologySpreadConstraints[0].minDomains: Invalid value: 2: can only use minDomains if "
            "whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway"
        ],
        id="minDomains with ScheduleAnyway",
    ),
    pytest.param(
        deployment(pod={"tolerations": [{"value": "x"}]}),
        [
            f'{T}.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, '
            'which means "match all values and all keys"'
        ],
        id="a toleration without key must be Exists",
    ),
    pytest.param(
        deployment(pod={"tolerations": [{"key": "a", "operator": "Exists", "value": "x"}]}),
        [f"{T}.tolerations[0].operator: Invalid value: \"x\": value must be empty when `operator` is 'Exists'"],
        id="Exists with a value",
    ),
    pytest.param(
        deployment(pod={"tolerations": [{"key": "a", "effect": "NoPlacement"}]}),
        [
            f'{T}.tolerations[0].effect: Unsupported value: "NoPlacement": supported values: '
            '"NoExecute", "NoSchedule", "PreferNoSchedule"'
        ],
        id="an unknown taint effect",
    ),
    pytest.param(
        deployment(pod={"nodeSelector": {"disk": True}}),
        [f"{T}.nodeSelector.disk: Invalid value: true: must be a string"],
        id="a nodeSelector value that YAML read as a boolean",
    ),
    pytest.param(
        {"apiVersion": "extensions/v1beta1", "kind": "Deployment", "metadata": {"name": "old"}, "spec": {}},
        ['apiVersion: Unsupported value: "extensions/v1beta1": supported values: "apps/v1"'],
        id="a Deployment of an API version removed in 1.16",
    ),
    pytest.param(
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 0},
        },
        [
            "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
            "spec.maxReplicas: Required value",
        ],
        id="an HPA with minReplicas 0 and no maxReplicas",
    ),
]


@pytest.mark.parametrize(("obj", "expected"), ERRORS)
def test_bad_workload_fields_are_errors_with_their_path(tmp_path, obj, expected) -> None:  # type: ignore[no-untyped-def]
    assert sorted(problems(tmp_path, obj)) == sorted(expected)  # the order (by line) is tested elsewhere


# -- fuzzing: a mutated workload is read or rejected, never a crash --------------------------------

FULL = deployment(
    replicas=2,
    pod={
        "hostNetwork": False,
        "nodeSelector": {"disk": "ssd"},
        "tolerations": [{"key": "a", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [{"key": "z", "operator": "In", "values": ["a"]}]}]
                }
            },
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": HOSTNAME_LABEL}
                ]
            },
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]},
            }
        ],
    },
)

_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(FULL)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations=st.lists(st.tuples(st.sampled_from(PATHS), _values, st.booleans()), min_size=1, max_size=4))
def test_mutated_workloads_never_raise_anything_but_input_errors(tmp_path, mutations) -> None:  # type: ignore[no-untyped-def]
    obj = copy.deepcopy(FULL)
    for path, value, delete in mutations:
        parent: Any = obj
        try:
            for part in path[:-1]:
                parent = parent[part]
            if delete and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps(obj))
    try:
        load_manifests([path])
    except InputError as error:
        assert all(str(p) for p in error.problems)
