"""Manifests as they are written: what the API server allocates or defaults is filled in, and said so.

Each value kverify fills in is recorded in ``Service.allocated`` and must come from the documented
ranges (``kverify.load.allocate``), never collide with a value the manifests give, and be the same
every time the same manifests are read.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kverify.check.session import allocated_of
from kverify.errors import InputError
from kverify.load import load_manifests
from kverify.load.export import manifests
from kverify.model import Cluster, Service, ServicePort

#: KEP-3070 / KEP-3668: dynamic allocation stays out of the static band at the bottom of the range.
SERVICE_CIDR_DYNAMIC_V4 = (ipaddress.ip_address("10.96.1.0"), ipaddress.ip_address("10.111.255.254"))
NODE_PORT_DYNAMIC = range(30086, 32768)


def service(name: str = "web", namespace: str | None = None, **spec: object) -> dict[str, object]:
    meta: dict[str, object] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    spec.setdefault("ports", [{"port": 80}])
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def load(tmp_path: Path, *objects: dict[str, object], name: str = "m.yaml") -> dict[str, Service]:
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(objects))
    return {s.key: s for s in load_manifests([path]).services}


def in_dynamic_v4(ip: str) -> bool:
    low, high = SERVICE_CIDR_DYNAMIC_V4
    return low <= ipaddress.ip_address(ip) <= high


# -- what is filled in, and where it is recorded -------------------------------------------------

CASES = [
    pytest.param(
        service(),
        lambda s: len(s.cluster_ips) == 1 and in_dynamic_v4(s.cluster_ips[0]),
        {"spec.clusterIP", "spec.clusterIPs[0]", "spec.type", "spec.ipFamilies", "spec.ipFamilyPolicy"},
        id="a ClusterIP Service without clusterIP gets one from 10.96.0.0/12, above the static band",
    ),
    pytest.param(
        service(type="NodePort", ports=[{"name": "a", "port": 80}, {"name": "b", "port": 81, "nodePort": 30081}]),
        lambda s: s.ports[0].node_port in NODE_PORT_DYNAMIC and s.ports[1].node_port == 30081,
        {"spec.ports[0].nodePort", "spec.externalTrafficPolicy"},
        id="a NodePort Service gets node ports for the ports that have none, and keeps the given ones",
    ),
    pytest.param(
        service(type="LoadBalancer", externalTrafficPolicy="Local"),
        lambda s: (
            s.health_check_node_port in NODE_PORT_DYNAMIC
            and s.health_check_node_port != s.ports[0].node_port
            and [i.ip for i in s.load_balancer_ingress] == [s.load_balancer_ingress[0].ip]
            and ipaddress.ip_address(s.load_balancer_ingress[0].ip) in ipaddress.ip_network("192.0.2.0/24")
        ),
        {
            "spec.healthCheckNodePort",
            "spec.ports[0].nodePort",
            "status.loadBalancer.ingress[0].ip",
            "spec.allocateLoadBalancerNodePorts",
        },
        id="a LoadBalancer Service with eTP Local gets a healthCheckNodePort and an address from 192.0.2.0/24",
    ),
    pytest.param(
        service(type="LoadBalancer"),
        lambda s: s.health_check_node_port is None,
        {"status.loadBalancer.ingress[0].ip"},
        id="a LoadBalancer Service with eTP Cluster gets no healthCheckNodePort",
    ),
    pytest.param(
        service(type="LoadBalancer", allocateLoadBalancerNodePorts=False),
        lambda s: s.ports[0].node_port is None,
        {"status.loadBalancer.ingress[0].ip"},
        id="allocateLoadBalancerNodePorts false: no node ports",
    ),
    pytest.param(
        service(type="LoadBalancer", loadBalancerIP="198.51.100.77"),
        lambda s: [i.ip for i in s.load_balancer_ingress] == ["198.51.100.77"],
        {"status.loadBalancer.ingress[0].ip"},
        id="spec.loadBalancerIP is the address the load balancer is asked for",
    ),
    pytest.param(
        {**service(type="LoadBalancer"), "status": {"loadBalancer": {}}},
        lambda s: s.load_balancer_ingress == (),
        set(),
        id="a snapshot's empty status.loadBalancer is a load balancer still provisioning: no address",
    ),
    pytest.param(
        service(ipFamilyPolicy="PreferDualStack"),
        lambda s: (
            [ipaddress.ip_address(ip).version for ip in s.cluster_ips] == [4, 6]
            and ipaddress.ip_address(s.cluster_ips[1]) in ipaddress.ip_network("fd00:10:96::/112")
        ),
        {"spec.clusterIPs[1]", "spec.ipFamilies"},
        id="PreferDualStack gets an address of each family, IPv4 first",
    ),
    pytest.param(
        service(ipFamilies=["IPv6", "IPv4"]),
        lambda s: [ipaddress.ip_address(ip).version for ip in s.cluster_ips] == [6, 4],
        {"spec.ipFamilyPolicy"},
        id="two ipFamilies without a policy mean RequireDualStack, in the order given",
    ),
    pytest.param(
        service(ipFamilies=["IPv6"]),
        lambda s: len(s.cluster_ips) == 1 and ipaddress.ip_address(s.cluster_ips[0]).version == 6,
        {"spec.clusterIP"},
        id="ipFamilies IPv6 alone gets one IPv6 address",
    ),
    pytest.param(
        service(clusterIP="10.96.0.10", ipFamilyPolicy="PreferDualStack"),
        lambda s: s.cluster_ips == ("10.96.0.10",),
        set(),
        id="PreferDualStack with a given address is a snapshot of a single-stack cluster: nothing added",
    ),
    pytest.param(
        service(clusterIP="None"),
        lambda s: s.headless,
        set(),
        id="a headless Service gets no address",
    ),
    pytest.param(
        service(ports=[{"port": 53}]),
        lambda s: s.ports[0].target_port == 53,
        {"spec.ports[0].targetPort", "spec.ports[0].protocol", "spec.sessionAffinity", "spec.internalTrafficPolicy"},
        id="targetPort defaults to port and protocol to TCP, and both are recorded",
    ),
]


@pytest.mark.parametrize(("obj", "holds", "paths"), CASES)
def test_what_the_api_server_fills_in_is_filled_in_and_recorded(tmp_path, obj, holds, paths) -> None:  # type: ignore[no-untyped-def]
    (loaded,) = load(tmp_path, obj).values()
    assert holds(loaded)
    assert paths <= loaded.allocated


def test_a_snapshot_with_every_field_given_has_nothing_allocated(tmp_path) -> None:  # type: ignore[no-untyped-def]
    obj = service(
        type="LoadBalancer",
        clusterIP="10.96.0.10",
        clusterIPs=["10.96.0.10"],
        ipFamilies=["IPv4"],
        ipFamilyPolicy="SingleStack",
        externalTrafficPolicy="Local",
        internalTrafficPolicy="Cluster",
        healthCheckNodePort=32000,
        allocateLoadBalancerNodePorts=True,
        sessionAffinity="None",
        ports=[{"port": 80, "targetPort": 8080, "protocol": "TCP", "nodePort": 30080}],
    )
    obj["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}
    (loaded,) = load(tmp_path, obj).values()
    assert loaded.allocated == frozenset()
    assert loaded.allocated_values() == ()


def test_allocated_values_name_the_addresses_and_ports_not_the_defaults(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (loaded,) = load(tmp_path, service(type="LoadBalancer", externalTrafficPolicy="Local")).values()
    paths = [path for path, _ in loaded.allocated_values()]
    assert paths == [
        "spec.clusterIP",
        "spec.healthCheckNodePort",
        "spec.ports[0].nodePort",
        "status.loadBalancer.ingress[0].ip",
    ]
    values = dict(loaded.allocated_values())
    assert values["spec.clusterIP"] == loaded.cluster_ips[0]
    assert values["spec.ports[0].nodePort"] == str(loaded.ports[0].node_port)
    assert loaded.allocated_addresses() == {loaded.cluster_ips[0], loaded.load_balancer_ingress[0].ip}


# -- deterministic, stable, and never colliding with given values -------------------------------


def test_the_same_manifests_give_the_same_values(tmp_path) -> None:  # type: ignore[no-untyped-def]
    objects = [service(f"s{i}", type="LoadBalancer", externalTrafficPolicy="Local") for i in range(30)]
    first = load(tmp_path, *objects, name="a.yaml")
    second = load(tmp_path, *reversed(objects), name="b.yaml")
    assert first == second


def test_adding_an_unrelated_service_changes_no_allocated_value(tmp_path) -> None:  # type: ignore[no-untyped-def]
    before = load(tmp_path, service("web", type="NodePort"), name="a.yaml")
    after = load(tmp_path, service("web", type="NodePort"), service("other", type="NodePort"), name="b.yaml")
    assert after["default/web"] == before["default/web"]


def test_allocated_values_never_collide_with_given_ones(tmp_path) -> None:  # type: ignore[no-untyped-def]
    alone = load(tmp_path, service("web", type="LoadBalancer", externalTrafficPolicy="Local"), name="a.yaml")
    web = alone["default/web"]
    # Another Service takes exactly the values web would have been given.
    taken = service(
        "taken",
        type="LoadBalancer",
        clusterIP=web.cluster_ips[0],
        externalTrafficPolicy="Local",
        healthCheckNodePort=web.ports[0].node_port,
        ports=[{"port": 80, "nodePort": web.health_check_node_port}],
    )
    taken["status"] = {"loadBalancer": {"ingress": [{"ip": web.load_balancer_ingress[0].ip}]}}
    both = load(tmp_path, service("web", type="LoadBalancer", externalTrafficPolicy="Local"), taken, name="b.yaml")
    moved = both["default/web"]
    assert moved.cluster_ips[0] != web.cluster_ips[0]
    assert moved.load_balancer_ingress[0].ip != web.load_balancer_ingress[0].ip
    given_ports = {web.ports[0].node_port, web.health_check_node_port}
    assert moved.ports[0].node_port not in given_ports
    assert moved.health_check_node_port not in given_ports


def test_many_services_get_distinct_addresses_and_ports(tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = load(tmp_path, *(service(f"s{i}", type="NodePort") for i in range(500))).values()
    ips = [s.cluster_ips[0] for s in services]
    ports = [s.ports[0].node_port for s in services]
    assert len(set(ips)) == len(ips) == 500
    assert len(set(ports)) == len(ports) == 500
    assert all(in_dynamic_v4(ip) for ip in ips) and all(p in NODE_PORT_DYNAMIC for p in ports)


# -- given values are still validated ------------------------------------------------------------

ERRORS = [
    pytest.param(
        service(ipFamilies=["IPv5"]),
        'spec.ipFamilies[0]: Unsupported value: "IPv5": supported values: "IPv4", "IPv6"',
        id="an unknown IP family",
    ),
    pytest.param(
        service(ipFamilies=["IPv4", "IPv6"], ipFamilyPolicy="SingleStack"),
        "spec.ipFamilyPolicy: Invalid value: \"SingleStack\": must be 'RequireDualStack' or 'PreferDualStack' "
        "when multiple `ipFamilies` are specified",
        id="SingleStack with two families",
    ),
    pytest.param(
        service(ipFamilyPolicy="DualStack"),
        'spec.ipFamilyPolicy: Unsupported value: "DualStack": supported values: "PreferDualStack", '
        '"RequireDualStack", "SingleStack"',
        id="an unknown IP family policy",
    ),
    pytest.param(
        service(clusterIP="10.96.0.10", ipFamilies=["IPv6"]),
        'spec.clusterIPs[0]: Invalid value: "10.96.0.10": expected an IPv6 value as indicated by `ipFamilies[0]`',
        id="a given address of the other family than ipFamilies says",
    ),
    pytest.param(
        service(type="NodePort", clusterIP="None"),
        "spec.clusterIP: Invalid value: \"None\": may only be set to 'None' for ClusterIP services",
        id="headless is for ClusterIP Services only",
    ),
    pytest.param(
        service(type="LoadBalancer", loadBalancerIP="not-an-ip"),
        'spec.loadBalancerIP: Invalid value: "not-an-ip": must be a valid IP address',
        id="a loadBalancerIP that is no address",
    ),
]


@pytest.mark.parametrize(("obj", "message"), ERRORS)
def test_given_values_are_validated_in_the_api_servers_words(tmp_path, obj, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as info:
        load(tmp_path, obj)
    assert [p.message if p.field is None else f"{p.field}: {p.message}" for p in info.value.problems] == [message]


# -- a value known only after apply never decides a verdict silently ------------------------------


def test_source_ranges_that_would_contain_the_allocated_lb_address_are_warned_about(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(service(type="LoadBalancer", loadBalancerSourceRanges=["192.0.2.0/24"])))
    loaded = load_manifests([path])
    assert [w.field for w in loaded.warnings] == ["spec.loadBalancerSourceRanges"]
    assert "allocated at apply time" in loaded.warnings[0].message


def test_exported_manifests_say_which_values_were_allocated_and_load_back_the_same(tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = load(tmp_path, service("web", type="LoadBalancer", externalTrafficPolicy="Local"))
    text = manifests(Cluster(services=tuple(services.values())))
    document = next(d for d in yaml.safe_load_all(text) if d["kind"] == "Service")
    annotation = document["metadata"]["annotations"]["kverify.io/allocated"]
    assert "spec.clusterIP" in annotation.split(",") and "status.loadBalancer.ingress[0].ip" in annotation
    (tmp_path / "export.yaml").write_text(text)
    (again,) = load_manifests([tmp_path / "export.yaml"]).services
    assert again.allocated == services["default/web"].allocated
    assert again.cluster_ips == services["default/web"].cluster_ips


# -- fuzzing: a mutated Service is read (and filled in) or rejected, never a crash -------------------


FULL_SERVICE = service(
    "web",
    namespace="shop",
    type="LoadBalancer",
    externalTrafficPolicy="Local",
    ipFamilyPolicy="PreferDualStack",
    ipFamilies=["IPv4", "IPv6"],
    loadBalancerIP="198.51.100.7",
    loadBalancerSourceRanges=["203.0.113.0/24"],
    selector={"app": "web"},
    ports=[{"name": "http", "port": 80, "targetPort": "http"}, {"name": "dns", "port": 53, "protocol": "UDP"}],
)
FULL_SERVICE["metadata"]["annotations"] = {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**33), max_value=2**33),
    st.text(max_size=8),
    st.sampled_from(["None", "IPv6", "SingleStack", "10.96.0.1", "fd00::1", "Local", "LoadBalancer", "NodePort"]),
    st.lists(st.text(max_size=4), max_size=3),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)


def _paths(obj: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations=st.lists(st.tuples(st.sampled_from(_paths(FULL_SERVICE)), _VALUES, st.booleans()), max_size=4))
def test_mutated_services_never_raise_anything_but_input_errors(tmp_path, mutations) -> None:  # type: ignore[no-untyped-def]
    import copy
    import json

    obj = copy.deepcopy(FULL_SERVICE)
    for path, value, delete in mutations:
        parent: object = obj
        try:
            for part in path[:-1]:
                parent = parent[part]  # type: ignore[index]
            if delete and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = value  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    (tmp_path / "fuzz.json").write_text(json.dumps(obj))
    try:
        services = load_manifests([tmp_path / "fuzz.json"]).services
    except InputError:
        return
    for loaded in services:  # every filled-in value is a real address or port
        for path, value in loaded.allocated_values():
            assert value.isdigit() if path.endswith("odePort") else ipaddress.ip_address(value)


_PATHS = (
    "spec.type",
    "spec.ipFamilies",
    "spec.ipFamilyPolicy",
    "spec.allocateLoadBalancerNodePorts",
    "spec.sessionAffinity",
    "spec.ports[0].protocol",
    "spec.clusterIP",
    "spec.clusterIPs[0]",
    "spec.clusterIPs[1]",
    "spec.healthCheckNodePort",
    "spec.ports[0].nodePort",
    "spec.ports[1].nodePort",
    "status.loadBalancer.ingress[0].ip",
)


@given(
    paths=st.frozensets(st.sampled_from(_PATHS)),
    ips=st.sampled_from([(), ("10.96.0.10",), ("10.96.0.10", "fd00::10")]),
    node_ports=st.lists(st.sampled_from([None, 30080]), max_size=2),
    health=st.sampled_from([None, 32000]),
    ingress=st.booleans(),
)
def test_allocated_values_skip_only_sets_that_name_no_value(paths, ips, node_ports, health, ingress) -> None:  # type: ignore[no-untyped-def]
    # allocated_values answers () at once for a set of merely defaulted paths (a snapshot's): the same
    # answer as asking each path, whatever the Service holds.
    from kverify.model.cluster import LoadBalancerIngress, ServicePort, _field_order

    svc = Service(
        namespace="default",
        name="web",
        cluster_ips=ips,
        ports=[ServicePort(name=f"p{i}", port=80 + i, node_port=n) for i, n in enumerate(node_ports)],
        health_check_node_port=health,
        load_balancer_ingress=[LoadBalancerIngress(ip="203.0.113.7")] if ingress else [],
        allocated=paths,
    )
    asked = [
        (p, value)
        for p in paths
        if (value := svc._allocated_value(p)) is not None
        and not (p == "spec.clusterIPs[0]" and "spec.clusterIP" in paths)
    ]
    assert svc.allocated_values() == tuple(sorted(asked, key=lambda item: _field_order(item[0])))


_PATHS = st.sampled_from(
    [
        frozenset(),
        frozenset({"spec.ipFamilies", "spec.ipFamilyPolicy"}),  # defaulted: names no value
        frozenset({"spec.clusterIP", "spec.clusterIPs[0]"}),
        frozenset({"spec.ports[0].nodePort", "spec.type"}),
        frozenset({"status.loadBalancer.ingress[0].ip"}),
    ]
)


@given(st.lists(st.tuples(_PATHS, st.booleans()), max_size=8))
def test_allocated_of_is_each_services_values_asked_one_by_one(
    rows: list[tuple[frozenset, bool]],
) -> None:
    # allocated_of asks only the Services whose set of paths may name a value: the same answer, in order.
    services = [
        Service(
            namespace="shop",
            name=f"svc-{i}",
            cluster_ips=(f"10.96.0.{i + 1}",) if with_ip else (),
            ports=(ServicePort(port=80, node_port=30000 + i),),
            allocated=paths,
        )
        for i, (paths, with_ip) in enumerate(rows)
    ]
    expected = tuple((s.key, s.allocated_values()) for s in services if s.allocated and s.allocated_values())
    assert allocated_of(Cluster(services=services)) == expected
