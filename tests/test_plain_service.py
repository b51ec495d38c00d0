"""The plain Service reader (kverify.load.plain_service) returns what the careful one returns, or declines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kverify.errors import InputError, Problem
from kverify.load import load_manifests
from kverify.load.fields import Ctx, validators_off
from kverify.load.plain_service import plain_service
from kverify.load.services import _service_from

_ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1, 70000),
    st.sampled_from(["", "x", "None", "1.2.3.4"]),
    st.just([]),
    st.just({}),
)


def _field(plain: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a plain value (so that whole Services are often plain), sometimes anything."""
    return st.integers(0, 15).flatmap(lambda roll: _ODD if roll == 0 else plain)


_PORT = st.fixed_dictionaries(
    {"port": _field(st.sampled_from([80, 443, 8080]))},
    optional={
        "name": _field(st.sampled_from(["http", "https", "", "metrics"])),
        "protocol": _field(st.sampled_from(["TCP", "UDP", "SCTP", "tcp"])),
        "targetPort": _field(st.sampled_from([8080, "http", 0, "", 65536])),
        "nodePort": _field(st.sampled_from([30080, 30443, 0, 20])),
        "appProtocol": st.just("http"),
    },
)
_INGRESS = st.fixed_dictionaries(
    {},
    optional={
        "ip": _field(st.sampled_from(["198.18.0.1", "2001:db8::1", "", "300.1.1.1"])),
        "hostname": _field(st.sampled_from(["lb.example.com", ""])),
        "ipMode": _field(st.sampled_from(["VIP", "Proxy", "", "vip"])),
    },
)
_STATUS = _field(
    st.fixed_dictionaries(
        {},
        optional={
            "loadBalancer": _field(
                st.fixed_dictionaries({}, optional={"ingress": _field(st.lists(_INGRESS, max_size=2))})
            )
        },
    )
)
_ANNOTATIONS = _field(
    st.dictionaries(
        st.sampled_from(
            [
                "kverify.io/needs-client-ip",
                "kverify.io/allocated",
                "service.beta.kubernetes.io/load-balancer-source-ranges",
                "service.kubernetes.io/topology-mode",
                "service.kubernetes.io/topology-aware-hints",
                "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol",
                "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes",
                "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type",
                "metallb.universe.tf/loadBalancerIPs",
                "metallb.io/loadBalancerIPs",
                "example.com/other",
            ]
        ),
        _field(st.sampled_from(["*", "true", "Auto", "preserve_client_ip.enabled=false", "192.0.2.9", "10.0.0.0/8"])),
        max_size=3,
    )
)
_SPEC = st.fixed_dictionaries(
    {},
    optional={
        "type": _field(st.sampled_from(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"])),
        "clusterIP": _field(st.sampled_from(["10.96.0.10", "None", "fd00:10:96::a", "10.96.0.11"])),
        "clusterIPs": _field(
            st.sampled_from([["10.96.0.10"], ["None"], ["10.96.0.10", "fd00:10:96::a"], ["10.96.0.10", "10.96.0.11"]])
        ),
        "ipFamilies": _field(
            st.sampled_from([["IPv4"], ["IPv6"], ["IPv4", "IPv6"], ["IPv6", "IPv4"], ["IPv4", "IPv4"]])
        ),
        "ipFamilyPolicy": _field(st.sampled_from(["SingleStack", "PreferDualStack", "RequireDualStack"])),
        "ports": _field(st.lists(_field(_PORT), max_size=3)),
        "selector": _field(st.dictionaries(st.sampled_from(["app", "tier"]), _field(st.just("web")), max_size=2)),
        "sessionAffinity": _field(st.sampled_from(["None", "ClientIP"])),
        "sessionAffinityConfig": st.just({"clientIP": {"timeoutSeconds": 10800}}),
        "externalTrafficPolicy": _field(st.sampled_from(["Cluster", "Local"])),
        "internalTrafficPolicy": _field(st.sampled_from(["Cluster", "Local"])),
        "healthCheckNodePort": _field(st.sampled_from([32000, 0])),
        "allocateLoadBalancerNodePorts": _field(st.booleans()),
        "externalIPs": _field(st.sampled_from([["203.0.113.1"], [], [], []])),
        "loadBalancerSourceRanges": _field(st.sampled_from([["10.0.0.0/8"], [], [], []])),
        "loadBalancerIP": _field(st.sampled_from(["198.18.0.5", "x"])),
        "loadBalancerClass": _field(st.sampled_from(["example.com/lb"])),
        "trafficDistribution": _field(st.sampled_from(["PreferClose"])),
        "publishNotReadyAddresses": _field(st.booleans()),
    },
)


def _service(spec: Any, annotations: Any, status: Any, with_status: bool) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "web", "namespace": "shop"}
    if annotations is not None:
        metadata["annotations"] = annotations
    service = {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}
    if with_status:
        service["status"] = status
    return service


def _careful(service: dict[str, Any]) -> tuple[object, list[Problem], list[Problem]]:
    problems: list[Problem] = []
    warnings: list[Problem] = []
    with validators_off():
        result = _service_from(Ctx("svc.yaml", lambda path: 1, "Service shop/web", problems, warnings), service)
    return result, problems, warnings


@st.composite
def _coherent_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A spec as a cluster holds it (its fields agree with each other), often plain throughout."""
    type_ = draw(st.sampled_from([None, "ClusterIP", "NodePort", "LoadBalancer"]))
    spec: dict[str, Any] = {} if type_ is None else {"type": type_}
    ips = draw(st.sampled_from([[], ["10.96.0.10"], ["fd00:10:96::a"], ["10.96.0.10", "fd00:10:96::a"], ["None"]]))
    if ips and type_ not in (None, "ClusterIP") and ips == ["None"]:
        ips = []
    if ips:
        if draw(st.booleans()):
            spec["clusterIP"] = ips[0]
        if draw(st.booleans()):
            spec["clusterIPs"] = ips
        if ips != ["None"] and draw(st.booleans()):
            spec["ipFamilies"] = ["IPv6" if ":" in ip else "IPv4" for ip in ips]
    if draw(st.booleans()):
        spec["ipFamilyPolicy"] = "RequireDualStack" if len(ips) == 2 else draw(st.sampled_from(list(_FAMILY_POLICIES)))
    count = draw(st.integers(0 if ips == ["None"] else 1, 3))
    names = ["http", "https", "dns"][:count] if count > 1 else [draw(st.sampled_from(["", "http"]))] * count
    ports = []
    for name in names:
        port: dict[str, Any] = {"port": draw(st.sampled_from([80, 443, 53]))}
        if name or draw(st.booleans()):
            port["name"] = name
        for key, values in (("protocol", ["TCP", "UDP"]), ("targetPort", [8080, "http", 0, ""])):
            if draw(st.booleans()):
                port[key] = draw(st.sampled_from(values))
        if type_ in ("NodePort", "LoadBalancer") and draw(st.booleans()):
            port["nodePort"] = draw(st.sampled_from([30080, 30443, 0]))
        ports.append(port)
    if ports or draw(st.booleans()):
        spec["ports"] = ports
    external = type_ in ("NodePort", "LoadBalancer")
    if external and draw(st.booleans()):
        spec["externalTrafficPolicy"] = draw(st.sampled_from(["Cluster", "Local"]))
    if type_ == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local" and draw(st.booleans()):
        spec["healthCheckNodePort"] = 32000
    if type_ == "LoadBalancer" and draw(st.booleans()):
        spec["allocateLoadBalancerNodePorts"] = draw(st.booleans())
    for key, values in _OPTIONAL_PLAIN.items():
        if draw(st.booleans()):
            spec[key] = draw(st.sampled_from(values))
    return spec


_FAMILY_POLICIES = ("SingleStack", "PreferDualStack", "RequireDualStack")
_OPTIONAL_PLAIN: dict[str, list[Any]] = {
    "selector": [{"app": "web"}, {}, {"app": "web", "tier": "front"}],
    "sessionAffinity": ["None", "ClientIP"],
    "internalTrafficPolicy": ["Cluster", "Local"],
    "publishNotReadyAddresses": [True, False],
    "trafficDistribution": ["PreferClose"],
    "loadBalancerIP": ["198.18.0.5"],
    "loadBalancerClass": ["example.com/lb"],
    "externalIPs": [[]],
    "loadBalancerSourceRanges": [[]],
}


@st.composite
def _odd_variants(draw: st.DrawFn) -> dict[str, Any]:
    """A coherent spec with one field of it, or of its first port, replaced by a drawn (often bad) value."""
    spec = draw(_coherent_specs())
    changed = draw(_SPEC.filter(bool))
    key = draw(st.sampled_from(sorted(changed)))
    if key == "ports" and spec.get("ports") and draw(st.booleans()):
        port_key = draw(st.sampled_from(["port", "name", "protocol", "targetPort", "nodePort"]))
        spec["ports"] = [{**spec["ports"][0], port_key: draw(_ODD)}, *spec["ports"][1:]]
    else:
        spec[key] = changed[key]
    return spec


_SPECS = st.one_of(_coherent_specs(), _odd_variants(), _field(_SPEC))


@settings(max_examples=1500, deadline=None)
@given(spec=_SPECS, annotations=_ANNOTATIONS, status=_STATUS, with_status=st.booleans())
def test_the_plain_reader_returns_what_the_careful_reader_returns_or_declines(
    spec: Any, annotations: Any, status: Any, with_status: bool
) -> None:
    """Whenever the plain reader reads a Service, the careful one reads it too, with no problem or warning,
    into equal keyword arguments (the allocator's Pending included); a declined one is the careful reader's."""
    service = _service(spec, annotations, status, with_status)
    with validators_off():
        plain = plain_service(service)
    if plain is not None:
        careful, problems, warnings = _careful(service)
        assert not problems and not warnings
        assert careful == plain
        assert {k: type(v) for k, v in careful.items()} == {k: type(v) for k, v in plain.items()}  # type: ignore[union-attr]


_PLAIN_CASES = {
    "a snapshot's ClusterIP Service": {
        "type": "ClusterIP",
        "clusterIP": "10.96.0.10",
        "clusterIPs": ["10.96.0.10"],
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
        "internalTrafficPolicy": "Cluster",
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
        "selector": {"app": "web"},
        "sessionAffinity": "None",
    },
    "a manifest's Service, everything defaulted": {"ports": [{"port": 80}], "selector": {"app": "web"}},
    "a headless Service": {"clusterIP": "None", "selector": {"app": "db"}},
    "a dual-stack NodePort Service": {
        "type": "NodePort",
        "clusterIPs": ["10.96.0.10", "fd00:10:96::a"],
        "ipFamilyPolicy": "PreferDualStack",
        "externalTrafficPolicy": "Local",
        "ports": [{"name": "http", "port": 80, "nodePort": 30080}, {"name": "dns", "port": 53, "protocol": "UDP"}],
    },
    "a LoadBalancer Service with ETP Local and a health-check node port": {
        "type": "LoadBalancer",
        "externalTrafficPolicy": "Local",
        "healthCheckNodePort": 32000,
        "ports": [{"port": 443, "nodePort": 30443, "targetPort": "https"}],
    },
}


@pytest.mark.parametrize("spec", list(_PLAIN_CASES.values()), ids=list(_PLAIN_CASES))
def test_the_plain_reader_reads_the_services_a_cluster_is_made_of(spec: dict[str, Any]) -> None:
    status = {"loadBalancer": {"ingress": [{"ip": "198.18.0.1", "ipMode": "VIP"}]}}
    service = _service(spec, {"example.com/owner": "team-a"}, status, spec.get("type") == "LoadBalancer")
    with validators_off():
        plain = plain_service(service)
    assert plain is not None
    assert plain == _careful(service)[0]


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "ClusterIP", "externalTrafficPolicy": "Local", "ports": [{"port": 80}]},  # refused by the API server
        {"ports": [{"port": 80}, {"port": 81}]},  # two ports need names
        {"ports": [{"port": 80, "nodePort": 30080}]},  # a nodePort on a ClusterIP Service
        {"ports": []},
        {"type": "ExternalName", "externalName": "example.com"},
    ],
)
def test_the_plain_reader_leaves_what_the_careful_reader_reports_or_skips_to_it(spec: dict[str, Any]) -> None:
    with validators_off():
        assert plain_service(_service(spec, None, None, False)) is None


def _corpus() -> list[Path]:
    root = Path(__file__).resolve().parent.parent
    folders = ["tests/data", "specs/manifests", "examples", "kverify/data/specs/manifests"]
    return sorted(f for folder in folders for f in (root / folder).rglob("*") if f.suffix in (".yaml", ".yml", ".json"))


def test_every_manifest_loads_the_same_without_the_plain_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Services, warnings, errors (with their lines): the same with the plain reader as with the careful one alone."""
    import kverify.load.services as services

    def outcome(path: Path) -> object:
        try:
            return load_manifests([path])
        except InputError as error:
            return [str(p) for p in error.problems]

    paths = _corpus()
    with_plain = [outcome(path) for path in paths]
    monkeypatch.setattr(services, "plain_service", lambda obj: None)
    assert [outcome(path) for path in paths] == with_plain
    assert sum(1 for o in with_plain if not isinstance(o, list) and o.services) > 20  # type: ignore[attr-defined]
