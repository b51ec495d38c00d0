"""The loader's Services, built slot by slot (``checked_service``), are those attrs' ``__init__`` builds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest

from kverify.load import load_manifests
from kverify.load.fields import validators_off
from kverify.load.manifests import checked_service
from kverify.model import Endpoint, Service
from kverify.model.cluster import LoadBalancerIngress, ServicePort
from kverify.model.endpoint_columns import EndpointColumns
from kverify.model.enums import LoadBalancerProfile, ServiceType, TrafficPolicy

ROOT = Path(__file__).resolve().parent.parent

_ENDPOINTS: list[Any] = [
    (),
    (Endpoint(ip="10.1.0.1", node_name="n1"),),
    [Endpoint(ip="10.1.0.2", node_name=None, ready=False)],  # a list is made a tuple, as the converter does
    EndpointColumns(
        ips=["10.1.0.3"], node_names=["n2"], ready=[True], serving=[True], terminating=[False], pods=[None], ports=[()]
    ),
]

_FIELDS: list[dict[str, Any]] = [
    {},
    {"cluster_ips": ["10.96.0.1"], "ports": [ServicePort(name="http", port=80)], "external_ips": []},
    {
        "type": ServiceType.LOAD_BALANCER,
        "cluster_ips": ("10.96.0.2", "fd00::2"),
        "ports": (ServicePort(port=443, node_port=30443),),
        "external_traffic_policy": TrafficPolicy.LOCAL,
        "load_balancer_ingress": [LoadBalancerIngress(ip="192.0.2.1")],
        "load_balancer_source_ranges": ["192.0.2.0/24"],
        "health_check_node_port": 31000,
        "selector": (("app", "web"),),
        "allocated": ["spec.clusterIP"],  # a list is made a frozenset, as the converter does
        "load_balancer_hint": LoadBalancerProfile.METALLB_L2,
        "load_balancer_hint_reason": "from annotation x",
        "proxy_protocol": True,
        "lb_preserve_client_ip": False,
    },
]


def _same(built: Service, expected: Service) -> None:
    assert built == expected
    for field in attrs.fields(Service):  # the same values, of the same types (a tuple stays a tuple)
        assert type(getattr(built, field.name)) is type(getattr(expected, field.name)), field.name
        assert getattr(built, field.name) == getattr(expected, field.name), field.name


@pytest.mark.parametrize("fields", _FIELDS)
@pytest.mark.parametrize("endpoints", _ENDPOINTS)
def test_a_checked_service_is_the_one_attrs_builds(fields: dict[str, Any], endpoints: Any) -> None:
    with validators_off():
        expected = Service(namespace="shop", name="web", endpoints=endpoints, **fields)
        built = checked_service("shop", "web", endpoints, fields)
    _same(built, expected)
    assert built.endpoints is expected.endpoints or type(endpoints) is list  # columns and tuples kept as given


def test_an_unknown_field_is_refused_as_attrs_refuses_it() -> None:
    with pytest.raises(TypeError), validators_off():
        Service(namespace="shop", name="web", colour="blue")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="colour"), validators_off():
        checked_service("shop", "web", (), {"colour": "blue"})


def test_the_loaded_services_are_those_attrs_builds_from_their_fields() -> None:
    loaded = load_manifests(sorted(str(p) for p in (ROOT / "tests" / "data" / "check").glob("*.yaml")))
    assert loaded.services
    for service in loaded.services:
        fields = {f.name: getattr(service, f.name) for f in attrs.fields(Service)}
        with validators_off():
            expected = Service(**fields)
        _same(service, expected)
