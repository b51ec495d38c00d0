"""Spec files: what they may say, and one clear line (file, line, spec, field) for each mistake."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from kverify.check.specfile import load_spec
from kverify.check.specfile.model import SpecClaim
from kverify.cli import main
from kverify.errors import InputError

ROOT = Path(__file__).parent.parent
SCHEMA = json.loads((ROOT / "kverify" / "data" / "spec.schema.json").read_text())

GOOD = """\
apiVersion: kverify.io/v1alpha1
kind: Spec
metadata: {name: demo}
topology:
  nodes:
    - {name: node-a}
    - {name: node-b}
  services:
    - name: shop/web
      type: LoadBalancer
      externalTrafficPolicy: Local
      endpoints:
        - {ip: 10.244.1.5, node: node-a}
environment: {dataplane: iptables, loadBalancer: no-health-check}
claims:
  - id: delivered
    service: shop/web
    property: delivered
    expect: refuted
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_an_inline_topology_gets_the_api_servers_allocations(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, GOOD))
    (service,) = spec.cluster.services
    assert service.cluster_ips and service.load_balancer_ingress[0].ip and service.health_check_node_port
    assert service.ports[0].node_port is not None
    assert spec.cluster.load_balancer.spelling == "no-health-check"
    (claim,) = spec.claims
    assert isinstance(claim, SpecClaim) and claim.location.line == 16 and claim.expect == "refuted"
    assert claim.allow_unknown is False
    jsonschema.validate(yaml.safe_load(GOOD), SCHEMA)


def test_allow_unknown_is_read_and_in_the_schema(tmp_path: Path) -> None:
    text = GOOD + "    allowUnknown: true\n"
    (claim,) = load_spec(write(tmp_path, text)).claims
    assert claim.allow_unknown is True
    jsonschema.validate(yaml.safe_load(text), SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(text.replace("allowUnknown: true", "allowUnknown: 1")), SCHEMA)


BROKEN = [
    pytest.param(
        GOOD.replace("property: delivered", "property: delivered\n    colour: blue"),
        '19: Spec demo: claims[0].colour: unknown field "colour": supported fields: id, service, from',
        id="an unknown field is an error with its line",
    ),
    pytest.param(
        GOOD.replace("property: delivered", "property: fast"),
        '18: Spec demo: claims[0].property: Unsupported value: "fast": supported values: ',
        id="an unknown property lists the supported ones",
    ),
    pytest.param(
        GOOD.replace("loadBalancer: no-health-check", "loadBalancer: 7"),
        "14: Spec demo: environment.loadBalancer: Unsupported value: 7",
        id="a wrong type is an error with its line",
    ),
    pytest.param(
        GOOD.replace("service: shop/web\n    property", "service: shop/api\n    property"),
        '17: Spec demo: claims[0].service: Not found: "shop/api" (services: shop/web)',
        id="a claim about a Service the cluster lacks names the known ones",
    ),
    pytest.param(
        GOOD.replace("property: delivered", "property: at-most-hops"),
        "16: Spec demo: claims[0].hops: Required value: a whole number >= 0",
        id="at-most-hops needs hops",
    ),
    pytest.param(
        GOOD.replace("property: delivered", "property: share-within\n    ratio: 0.5"),
        "19: Spec demo: claims[0].ratio: Invalid value: 0.5: must be a number >= 1",
        id="a share ratio below 1 is invalid",
    ),
    pytest.param(
        GOOD.replace("{name: node-a}\n", "{name: node-a, address: 1.2.3}\n"),
        '6: Spec demo: topology.nodes[0].address: Invalid value: "1.2.3": must be a valid IP address',
        id="a bad node address in the topology",
    ),
    pytest.param(
        GOOD.replace("node: node-a}", "node: node-z}"),
        '13: Spec demo: topology.services[0].endpoints[0].node: Not found: "node-z" (nodes: node-a, node-b)',
        id="an endpoint on an unknown node",
    ),
    pytest.param(
        GOOD.replace("expect: refuted", "expect: maybe"),
        '19: Spec demo: claims[0].expect: Unsupported value: "maybe": supported values: "holds", "refuted"',
        id="expect is holds or refuted",
    ),
    pytest.param(
        GOOD.replace("expect: refuted", "expect: refuted\n    allowUnknown: yes please"),
        '20: Spec demo: claims[0].allowUnknown: Invalid value: "yes please": must be a boolean',
        id="allowUnknown is a boolean",
    ),
    pytest.param(
        GOOD.replace("kind: Spec", "kind: Spek"),
        '2: Spec demo: kind: Unsupported value: "Spek": supported values: "Spec"',
        id="the kind must be Spec",
    ),
    pytest.param(
        GOOD.replace("via", "via").replace(
            "    property: delivered", "    via: node-port\n    from: pod\n    node: node-q\n    property: delivered"
        ),
        '20: Spec demo: claims[0].node: Not found: "node-q" (nodes: node-a, node-b)',
        id="a claim naming an unknown node",
    ),
    pytest.param(
        GOOD.replace("claims:", "claims: 3\nx:"),
        'Spec demo: x: unknown field "x"',
        id="several problems are all reported",
    ),
    pytest.param(
        GOOD + "  - id: delivered\n    service: shop/web\n    property: never-dropped\n",
        '20: Spec demo: claims[1].id: Duplicate value: "delivered"',
        id="claim ids are unique",
    ),
    pytest.param(
        "apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: demo}\nclaims: []\n",
        "1: Spec demo: Required value: exactly one of `manifests` (files, relative to the spec) or `topology`",
        id="a spec names manifests or a topology",
    ),
    pytest.param(
        "apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: demo}\nmanifests: [nope.yaml]\n",
        '4: Spec demo: manifests[0]: Invalid value: "nope.yaml": no such file or directory',
        id="a missing manifest file",
    ),
    pytest.param(
        "apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: demo\n",
        "invalid YAML",
        id="invalid YAML says where",
    ),
]


@pytest.mark.parametrize(("text", "message"), BROKEN)
def test_broken_specs_give_one_clear_line_per_problem_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_spec(path)
    lines = [str(p) for p in info.value.problems]
    assert any(message in line for line in lines), lines
    assert all(line.startswith(path) for line in lines)
    assert main(["check", path]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert captured.err.strip().splitlines() == lines


#: The mistakes JSON Schema can see (addresses, cross references and uniqueness are beyond it).
SCHEMA_SEES = {
    "an unknown field is an error with its line",
    "an unknown property lists the supported ones",
    "a wrong type is an error with its line",
    "at-most-hops needs hops",
    "a share ratio below 1 is invalid",
    "expect is holds or refuted",
    "the kind must be Spec",
    "several problems are all reported",
    "a spec names manifests or a topology",
}


@pytest.mark.parametrize(
    "text",
    [p.values[0] for p in BROKEN if p.id in SCHEMA_SEES],
    ids=sorted(SCHEMA_SEES, key=[p.id for p in BROKEN].index),
)
def test_the_published_schema_rejects_what_the_loader_rejects(text: str) -> None:
    assert list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(yaml.safe_load(text)))


def test_a_manifest_problem_under_a_spec_keeps_its_own_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
        "spec:\n  clusterIP: 10.96.0.1\n  ports: [{port: 99999}]\n"
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text("apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: demo}\nmanifests: [m.yaml]\n")
    assert main(["check", str(spec)]) == 2
    err = capsys.readouterr().err.strip()
    message = "spec.ports[0].port: Invalid value: 99999: must be between 1 and 65535, inclusive"
    assert err == f"{tmp_path}/m.yaml:6: Service default/web: {message}"
