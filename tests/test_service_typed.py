"""A Service of a JSON List decoded typed (``kverify.load.service_structs``) and read from its structs
(``kverify.load.service_typed``) gives what the plain and careful readers give for the dicts the json
module makes of it: the same Service, intent, problems, warnings and lines, on generated Services."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kverify.errors import InputError
from kverify.load import load_manifests, services, sources
from kverify.load.fields import validators_off
from kverify.load.plain_service import plain_service
from tests.test_plain_service import _ANNOTATIONS, _PLAIN_CASES, _SPECS, _STATUS, _careful, _service

pytest.importorskip("msgspec")
import msgspec

from kverify.load.service_structs import TypedService, decode_service
from kverify.load.service_typed import typed_service
from kverify.load.typed_fields import TypedFields

_NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a"}}


def _typed(service: dict[str, Any]) -> tuple[TypedService | None, dict[str, Any] | None]:
    """The Service decoded as the List reader decodes it (``None`` if it does not fit the structs), and
    what the typed reader reads of it (``None`` if it declines)."""
    try:
        decoded = decode_service(json.dumps(service).encode())
    except msgspec.DecodeError:
        return None, None
    assert type(decoded) is TypedService
    return decoded, typed_service(decoded, service["metadata"])


@settings(max_examples=1500, deadline=None)
@given(spec=_SPECS, annotations=_ANNOTATIONS, status=_STATUS, with_status=st.booleans())
def test_the_typed_reader_returns_what_the_careful_reader_returns_and_reads_what_the_plain_one_reads(
    spec: Any, annotations: Any, status: Any, with_status: bool
) -> None:
    """Whatever the typed reader reads, the careful reader reads into equal keyword arguments with no problem
    or warning; and every Service the plain reader reads fits the structs and is read by the typed one
    (the structs refuse nothing the plain reader takes)."""
    service = _service(spec, annotations, status, with_status)
    decoded, typed = _typed(service)
    with validators_off():
        plain = plain_service(service)
    if typed is not None:
        careful, problems, warnings = _careful(service)
        assert not problems and not warnings
        assert careful == typed
        assert {k: type(v) for k, v in careful.items()} == {k: type(v) for k, v in typed.items()}  # type: ignore[union-attr]
    if plain is not None:
        assert decoded is not None and typed == plain


def _outcome(path: Path) -> object:
    """What load_manifests gives for ``path``, as text: its Services (every field), intents, warnings,
    skipped objects and lines, or its problems."""
    try:
        loaded = load_manifests([path])
    except InputError as error:
        return [str(p) for p in error.problems]
    return (
        repr(loaded.services),
        repr(sorted(loaded.intents.items())),
        [str(w) for w in loaded.warnings],
        loaded.skipped,
        dict(loaded.source_lines),
    )


@settings(max_examples=300, deadline=None)
@given(
    specs=st.lists(_SPECS, min_size=1, max_size=3),
    annotations=_ANNOTATIONS,
    status=_STATUS,
    with_status=st.booleans(),
    indent=st.sampled_from([None, 1, 4]),
)
def test_loading_typed_services_gives_the_careful_readers_services_errors_and_lines(
    tmp_path_factory: pytest.TempPathFactory,
    specs: list[Any],
    annotations: Any,
    status: Any,
    with_status: bool,
    indent: int | None,
) -> None:
    """A List of generated Services loads alike read typed, and read by the json module with the plain
    reader, and with the careful reader alone: values, intents, warnings, errors and their lines."""
    items: list[Any] = [_NODE]
    for i, spec in enumerate(specs):
        service = _service(spec, annotations, status, with_status)
        service["metadata"]["name"] = f"web-{i}"
        items.append(service)
    path = tmp_path_factory.mktemp("typed") / "snapshot.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=indent))
    typed = _outcome(path)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(sources, "_read_list", None)  # the json module's dicts
        assert _outcome(path) == typed
        monkeypatch.setattr(services, "plain_service", lambda obj: None)  # the careful reader alone
        assert _outcome(path) == typed


def _kubectl_service(name: str, ip: str) -> dict[str, Any]:
    """A Service as ``kubectl get -o json`` prints it (managedFields aside)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "shop", "uid": "u-1", "resourceVersion": "7"},
        "spec": {
            "clusterIP": ip,
            "clusterIPs": [ip],
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
            "selector": {"app": name},
            "sessionAffinity": "None",
            "type": "ClusterIP",
        },
        "status": {"loadBalancer": {}},
    }


def test_a_kubectl_service_is_decoded_typed_and_read_from_its_structs(tmp_path: Path) -> None:
    """The Services of a snapshot take the typed path; a duplicate key reads as the json module reads it
    (the last one wins), and a Service that does not fit is decoded as dicts."""
    odd = _kubectl_service("odd", "10.96.0.12")
    odd["spec"]["type"] = "ExternalName"
    items = [_kubectl_service("web", "10.96.0.10"), _kubectl_service("api", "10.96.0.11"), odd]
    text = json.dumps({"apiVersion": "v1", "items": items, "kind": "List"}, indent=4)
    text = text.replace('"sessionAffinity": "None"', '"sessionAffinity": "ClientIP", "sessionAffinity": "None"', 1)
    path = tmp_path / "snapshot.json"
    path.write_text(text)
    (doc,) = sources.read_file(str(path), [], typed_slices=True)
    typed = [type(item["spec"]) is TypedFields for item in doc.data["items"]]
    assert typed == [True, True, False]
    assert doc.data["items"][0]["spec"].as_dict() == json.loads(text)["items"][0]
    loaded = load_manifests([path])
    assert [s.key for s in loaded.services] == ["shop/web", "shop/api"]  # ExternalName: skipped
    assert {s.session_affinity.spelling for s in loaded.services} == {"None"}
    assert loaded.services[0].ports[0].target_port == 8080
    assert loaded.intents["shop/web"].selector == (("app", "web"),)


_SCTP = {"type": "NodePort", "ports": [{"name": "sig", "port": 2905, "protocol": "SCTP", "nodePort": 32905}]}


@pytest.mark.parametrize("spec", [*_PLAIN_CASES.values(), _SCTP], ids=[*_PLAIN_CASES, "an SCTP NodePort Service"])
def test_the_typed_reader_reads_the_services_a_cluster_is_made_of(spec: dict[str, Any]) -> None:
    status = {"loadBalancer": {"ingress": [{"ip": "198.18.0.1", "ipMode": "VIP"}]}}
    service = _service(spec, {"example.com/owner": "team-a"}, status, spec.get("type") == "LoadBalancer")
    decoded, typed = _typed(service)
    assert decoded is not None and typed is not None
    assert typed == _careful(service)[0]


@pytest.mark.parametrize("kind", [None, "", "service", "Service "], ids=["absent", "empty", "lower case", "a space"])
def test_an_element_that_is_not_quite_a_service_is_left_to_the_careful_reader(tmp_path: Path, kind: str | None) -> None:
    """Only an element whose kind is ``Service`` is decoded typed: the careful reader reports any other,
    as without msgspec (regression: a Service without kind was read as a Service)."""
    service = _kubectl_service("web", "10.96.0.10")
    if kind is None:
        del service["kind"]
    else:
        service["kind"] = kind
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps({"apiVersion": "v1", "items": [_NODE, service], "kind": "List"}, indent=2))
    (doc,) = sources.read_file(str(path), [], typed_slices=True)
    assert type(doc.data["items"][1]["spec"]) is dict
    typed = _outcome(path)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(sources, "_read_list", None)
        assert _outcome(path) == typed


def test_services_of_one_shape_share_what_it_makes_of_them_and_keep_their_own_values() -> None:
    """Services alike but for their addresses, annotations and status are read from one worked-out shape
    (``service_typed._shape``) and still each get what the careful reader gives them, in either order."""
    lb = {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80, "nodePort": 30080}]}
    variants = [
        _service({**lb, "clusterIP": "10.96.0.10"}, None, None, False),
        _service({**lb, "clusterIP": "10.96.0.11", "loadBalancerIP": "198.18.0.7"}, None, None, False),
        _service({**lb, "clusterIP": "10.96.0.12"}, {"metallb.universe.tf/loadBalancerIPs": "198.18.0.8"}, None, False),
        _service({**lb, "clusterIP": "10.96.0.13"}, None, {"loadBalancer": {"ingress": [{"ip": "198.18.0.9"}]}}, True),
        _service({**lb, "clusterIP": "10.96.0.14"}, None, None, False),
    ]
    for order in (variants, variants[::-1]):
        read = [_typed(service)[1] for service in order]
        assert read == [_careful(service)[0] for service in order]
        assert read[0]["pending"] is read[-1]["pending"]  # type: ignore[index]
