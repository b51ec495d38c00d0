"""The ``kverify`` command line. Bad input ends with one line per problem and exit code 2."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from kverify.errors import PART_LIMIT, InputError, KverifyError, NotModelled, one_line

if TYPE_CHECKING:
    from pathlib import Path

    from kverify.model import Cluster, ProxyConfig
    from kverify.model.cilium import CiliumSettings
    from kverify.model.enums import _Spelled
    from kverify.model.workload import NodePool

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_UNKNOWN, EXIT_NOTHING_CHECKED = 0, 1, 2, 3, 4


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # usage errors exit 2, as argparse does, but say so plainly
        self.print_usage(sys.stderr)
        print(f"kverify: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_INPUT)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kverify")
    except PackageNotFoundError:  # running from a checkout without installing
        return "(not installed)"


class _VersionAction(argparse.Action):
    """``--version``, as argparse's own action prints it, but the version is looked up only when asked:
    ``importlib.metadata`` costs every other command a tenth of a second at start-up."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(
            option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, help="show the version and exit"
        )

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> NoReturn:
        print(f"{parser.prog} {_version()}")
        parser.exit()


def _cidr(text: str) -> str:
    """argparse type: a CIDR, as kube-proxy's --cluster-cidr and --nodeport-addresses take."""
    import ipaddress

    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise argparse.ArgumentTypeError(f"Invalid value: {text!r}: must be a CIDR such as 10.0.0.0/8") from None
    return text


def _port(text: str) -> int:
    """argparse type: a TCP/UDP/SCTP port number."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"Invalid value: {text!r}: must be a port number") from None
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"Invalid value: {number}: must be between 1 and 65535, inclusive")
    return number


def _megabytes(text: str) -> int:
    """argparse type: a size in MB (10^6 bytes), as ``--max-input-size`` takes; returned in bytes."""
    from kverify.load.prefetch import megabytes

    try:
        return megabytes(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _input_size_flag(parser: argparse.ArgumentParser) -> None:
    from kverify.load.prefetch import DEFAULT_MAX_INPUT_BYTES

    parser.add_argument(
        "--max-input-size",
        type=_megabytes,
        default=DEFAULT_MAX_INPUT_BYTES,
        metavar="MB",
        help=f"refuse input files larger than this (default: {DEFAULT_MAX_INPUT_BYTES // 10**6})",
    )


#: ``kverify trace`` lists each outcome up to this many; above, it prints groups of outcomes.
DEFAULT_MAX_OUTCOMES = 200


def _positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"Invalid value: {text!r}: must be a whole number of at least 1")
    return number


def _bool(text: str) -> bool:
    """argparse type: true/false, as kube-proxy's boolean flags take them (``--flag=false``)."""
    word = text.strip().lower()
    if word in ("true", "1", "t"):
        return True
    if word in ("false", "0", "f"):
        return False
    raise argparse.ArgumentTypeError(f"Invalid value: {text!r}: must be true or false")


def _cni_flag(parser: argparse.ArgumentParser) -> None:
    """``--cni``: the pod network profile (kverify.semantics.cni)."""
    from kverify.model import Cni

    parser.add_argument(
        "--cni",
        default="generic",
        choices=_choices(Cni),
        help="the pod network: the masquerade source address (node, bridge or tunnel IP), the CNI's own SNAT "
        "of pod traffic to nodes, the bridge's hairpin mode (default: generic, the node's IP everywhere)",
    )


def _service_cidr_flag(parser: argparse.ArgumentParser) -> None:
    """``--service-cidr``: the ServiceCIDR objects' ranges (rule nftables-unallocated-service-ip)."""
    parser.add_argument(
        "--service-cidr",
        action="append",
        type=_cidr,
        metavar="CIDR",
        help="repeatable: the service CIDRs (ServiceCIDR objects; kube-apiserver --service-cluster-ip-range); "
        "nftables kube-proxy drops traffic to their addresses that belong to no Service (default: the manifests' "
        "ServiceCIDR objects, else not known)",
    )


def _version_flags(parser: argparse.ArgumentParser) -> None:
    """``--kubernetes-version`` and ``--feature-gates``, as kube-proxy takes its gates."""
    from kverify.model.versions import NEWEST, OLDEST

    parser.add_argument(
        "--kubernetes-version",
        metavar="1.N",
        default=None,
        help=f"the Kubernetes version kube-proxy runs, 1.{OLDEST} to 1.{NEWEST} (default: 1.{NEWEST}, the newest)",
    )
    parser.add_argument(
        "--feature-gates",
        action="append",
        default=[],
        metavar="NAME=BOOL,...",
        help="kube-proxy feature gates that change routing, on top of the version's defaults (repeatable)",
    )


def _cilium_flags(parser: argparse.ArgumentParser) -> None:
    """``--cilium-version`` and ``--cilium-set`` (Helm options, as ``helm --set`` takes them)."""
    from kverify.model.cilium import NEWEST_CILIUM, OLDEST_CILIUM

    parser.add_argument(
        "--cilium-version",
        metavar="1.N",
        default=None,
        help=f"the Cilium version (dataplanes cilium-*), 1.{OLDEST_CILIUM} to 1.{NEWEST_CILIUM}, or a patch "
        f"release such as 1.18.2 (default: 1.{NEWEST_CILIUM}, the newest)",
    )
    parser.add_argument(
        "--cilium-set",
        action="append",
        default=[],
        metavar="KEY=VALUE,...",
        help="Cilium Helm options that change routing, as helm --set takes them (repeatable): "
        "bpf.lbExternalClusterIP, bpf.lbSourceRangeAllTypes, serviceNoBackendResponse, loadBalancer.mode",
    )


def _cilium_from(
    args: argparse.Namespace,
    problems: list,  # type: ignore[type-arg]
    dataplanes: list[str],
) -> tuple[CiliumSettings, str | None]:
    """Cilium's settings the flags name, and the dataplane ``loadBalancer.mode`` asks for (or ``None``).

    ``dataplanes`` are the ``--dataplane`` words given; Cilium flags with no Cilium dataplane among them
    are a usage error, as is a ``loadBalancer.mode`` that contradicts ``--dataplane``."""
    from kverify.errors import Problem
    from kverify.model.cilium import NEWEST_CILIUM, CiliumSettings, parse_cilium_release, parse_helm_sets

    version_text = getattr(args, "cilium_version", None)
    sets = ",".join(getattr(args, "cilium_set", []))
    if version_text is None and not sets:
        return CiliumSettings(), None
    if not any(d.startswith("cilium") for d in dataplanes):
        flag = "--cilium-version" if version_text is not None else "--cilium-set"
        problems.append(Problem("needs --dataplane cilium-snat or cilium-dsr", field=flag))
        return CiliumSettings(), None
    minor, patch = NEWEST_CILIUM, None
    if version_text is not None:
        try:
            minor, patch = parse_cilium_release(version_text)
        except ValueError as error:
            problems.append(Problem(str(error), field="--cilium-version"))
            return CiliumSettings(), None
    chosen = next((d.removeprefix("cilium-") for d in dataplanes if d.startswith("cilium")), "snat")
    try:
        settings, mode = parse_helm_sets(sets, minor, chosen, patch)
    except ValueError as error:
        problems.append(Problem(str(error), field="--cilium-set"))
        return CiliumSettings(version=minor), None
    if mode != chosen and "loadBalancer.mode" in sets and not settings.hybrid:
        if f"cilium-{chosen}" in dataplanes:
            problems.append(
                Problem(f"loadBalancer.mode={mode} contradicts --dataplane cilium-{chosen}", field="--cilium-set")
            )
        return settings, f"cilium-{mode}"
    return settings, None


def _environment_from(args: argparse.Namespace, problems: list) -> tuple[int, tuple[tuple[str, bool], ...]]:  # type: ignore[type-arg]
    """The Kubernetes minor version and feature-gate overrides the flags name (errors into ``problems``)."""
    from kverify.errors import Problem
    from kverify.model.versions import NEWEST, parse_feature_gates, resolve_gates

    minor = NEWEST
    version = getattr(args, "kubernetes_version", None)  # commands without the flags get the defaults
    if version is not None:
        try:
            minor = parse_version_flag(version)
        except ValueError as error:
            problems.append(Problem(str(error), field="--kubernetes-version"))
            return NEWEST, ()
    gates: list[tuple[str, bool]] = []
    for text in getattr(args, "feature_gates", []):
        try:
            gates.extend(parse_feature_gates(text))
        except ValueError as error:
            problems.append(Problem(str(error), field="--feature-gates"))
    try:
        resolve_gates(minor, tuple(gates))
    except ValueError as error:
        problems.append(Problem(str(error), field="--feature-gates"))
        return minor, ()
    return minor, tuple(gates)


def _metallb_flag(parser: argparse.ArgumentParser) -> None:
    """``--metallb-version``: the MetalLB release behind metallb-l2 and metallb-bgp (rule lb-metallb-announce)."""
    parser.add_argument(
        "--metallb-version",
        metavar="0.N.P",
        help="the MetalLB release (load balancers metallb-l2, metallb-bgp), 0.13.0 to 0.16.x: which endpoints make "
        "it announce (default: the newest)",
    )


def _metallb_from(args: argparse.Namespace, problems: list) -> tuple[int, int]:  # type: ignore[type-arg]
    """The MetalLB release ``--metallb-version`` names (the newest without it; errors into ``problems``)."""
    from kverify.model.metallb import NEWEST_METALLB

    text = getattr(args, "metallb_version", None)
    if text is None:
        return NEWEST_METALLB
    try:
        return _metallb_version(text)
    except InputError as error:
        problems.extend(error.problems)
        return NEWEST_METALLB


def _metallb_version(text: str) -> tuple[int, int]:
    """``--metallb-version``; a bad value is an input error naming the flag."""
    from kverify.errors import Problem
    from kverify.model.metallb import parse_metallb_version

    try:
        return parse_metallb_version(text)
    except ValueError as error:
        raise InputError(Problem(str(error), field="--metallb-version")) from None


def parse_version_flag(text: str) -> int:
    from kverify.model.versions import parse_version

    return parse_version(text)


def _choices(enum_type: type[_Spelled]) -> list[str]:
    return [m.spelling for m in enum_type]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``kverify`` parser. ``command``: only that subcommand gets its arguments (the others are
    listed, with their help, but empty; ``""``: none does): adding every subcommand's hundred-odd
    arguments costs each run ~0.04 s at start-up, and a command line names one subcommand (see :func:`main`)."""
    parser = _Parser(
        prog="kverify",
        description="Prove how Kubernetes Services route traffic, or show the smallest counterexample.",
    )
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, add in _SUBCOMMANDS.items():
        add(commands, arguments=command is None or command == name)
    return parser


def _trace_parser(commands, *, arguments: bool = True) -> None:  # type: ignore[no-untyped-def]
    trace = commands.add_parser("trace", help="every possible outcome of one flow to a Service")
    trace.set_defaults(run=_run_trace)
    if not arguments:  # listed only: kverify.model is not needed
        return
    from kverify.model import ClientKind, Dataplane, Destination, LoadBalancerProfile, Protocol

    trace.add_argument(
        "manifests",
        nargs="+",
        metavar="MANIFEST",
        help="YAML/JSON files or directories (read recursively); - reads standard input",
    )
    _namespace_flag(trace)
    trace.add_argument("--verbose", "-v", action="store_true", help="list every object skipped as not modelled")
    trace.add_argument(
        "--service", metavar="NAMESPACE/NAME", help="the Service to send to (required unless --to-address)"
    )
    trace.add_argument(
        "--to",
        choices=_choices(Destination),
        dest="destination",
        help="the kind of address dialled (required with --service)",
    )
    trace.add_argument(
        "--to-address",
        metavar="IP",
        help="instead of --service/--to: an address that belongs to no Service, e.g. an unallocated one inside "
        "the service CIDR (nftables drops those: the manifests' ServiceCIDR objects or --service-cidr say the CIDRs)",
    )
    trace.add_argument("--dst-ip", metavar="IP", help="the address dialled (default: from the Service and the nodes)")
    trace.add_argument(
        "--port", type=_port, metavar="PORT", help="the port dialled: a Service port, or its nodePort for node-port"
    )
    trace.add_argument("--protocol", default="TCP", choices=_choices(Protocol), help="the flow's protocol")
    trace.add_argument(
        "--from",
        required=True,
        choices=[*_choices(ClientKind), "host"],
        dest="client",
        help="external, pod, or node (alias: host) for a host-network process",
    )
    trace.add_argument(
        "--src-ip",
        metavar="IP",
        help="the client's address (default: 203.0.113.10 outside; a free pod address, or the node's, inside)",
    )
    trace.add_argument(
        "--node",
        metavar="NODE",
        help="the node an external packet arrives at, or an in-cluster client runs on (default: every node)",
    )
    trace.add_argument(
        "--node-pool",
        action="append",
        default=[],
        metavar="NAME=COUNT[,zone=Z][,label=K=V][,taint=K=V:EFFECT]",
        help="design time: nodes to place the workloads on (repeatable); with none, every cluster",
    )
    trace.add_argument(
        "--dataplane",
        default="iptables",
        choices=_choices(Dataplane),
        help="kube-proxy's mode, or Cilium's replacement",
    )
    trace.add_argument("--load-balancer", choices=_choices(LoadBalancerProfile), help=_LB_HELP)
    _metallb_flag(trace)
    trace.add_argument(
        "--proxy-protocol",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the load balancer sends (or not) a PROXY protocol header (default: the Service's annotations, e.g. "
        "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol: '*')",
    )
    trace.add_argument(
        "--cluster-cidr", action="append", type=_cidr, metavar="CIDR", help="repeatable; default 10.0.0.0/8"
    )
    trace.add_argument("--no-local-detector", action="store_true", help="kube-proxy without a LocalTrafficDetector")
    trace.add_argument(
        "--masquerade-all", action="store_true", help="kube-proxy --masquerade-all: SNAT every proxied packet"
    )
    trace.add_argument(
        "--nodeport-address", action="append", type=_cidr, metavar="CIDR", help="kube-proxy --nodeport-addresses"
    )
    _service_cidr_flag(trace)
    _version_flags(trace)
    _cni_flag(trace)
    _cilium_flags(trace)
    trace.add_argument(
        "--iptables-localhost-nodeports",
        type=_bool,
        default=True,
        metavar="BOOL",
        help="kube-proxy --iptables-localhost-nodeports (default true): NodePorts on 127.0.0.1 (iptables mode)",
    )
    trace.add_argument("--format", default="text", choices=["text", "json"], help="text for people, json for tools")
    trace.add_argument("--hops", action="store_true", help="text format: print every hop with its addresses")
    trace.add_argument(
        "--max-outcomes",
        type=_positive_int,
        default=DEFAULT_MAX_OUTCOMES,
        metavar="N",
        help=f"list each outcome when there are at most N (default {DEFAULT_MAX_OUTCOMES}); above, one line "
        "(JSON: one entry in outcome_groups) per group of outcomes alike but for their endpoint, with the endpoints "
        "counted",
    )
    _input_size_flag(trace)


def _prove_parser(commands, *, arguments: bool = True) -> None:  # type: ignore[no-untyped-def]
    prove = commands.add_parser("prove", help="prove or refute the theorem library's claims with Z3")
    prove.set_defaults(run=_run_prove)
    if not arguments:  # listed only: kverify.model is not needed
        return
    from kverify.model import Dataplane

    prove.add_argument("claims", nargs="*", metavar="CLAIM", help="claim ids (default: all; see --list)")
    prove.add_argument("--dataplane", action="append", choices=_choices(Dataplane), help="repeatable")
    prove.add_argument(
        "--max-nodes",
        type=int,
        default=None,
        metavar="N",
        help="nodes bound of bounded proofs and counterexamples (1-12)",
    )
    prove.add_argument(
        "--max-endpoints", type=int, default=None, metavar="M", help="endpoints bound behind the Service port (1-12)"
    )
    prove.add_argument("--timeout", type=float, default=20.0, metavar="SECONDS", help="per solver call")
    prove.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        metavar="N",
        help="solver processes, each building the encodings once (default: 2, or 1 on one CPU)",
    )
    _version_flags(prove)
    _cni_flag(prove)
    _cilium_flags(prove)
    _metallb_flag(prove)
    prove.add_argument(
        "--all-versions",
        action="store_true",
        help="prove at every modelled Kubernetes version and print, per claim, the versions it holds for",
    )
    prove.add_argument(
        "--write-counterexamples",
        metavar="DIR",
        help="write each counterexample's manifest here (default: .kverify/counterexamples)",
    )
    prove.add_argument("--list", action="store_true", help="list the claims and exit")
    prove.add_argument("--format", default="text", choices=["text", "json"], help="text for people, json for tools")
    prove.add_argument(
        "--timings", action="store_true", help="json: add each result's solver time (the output then varies run to run)"
    )


def _check_parser(commands, *, arguments: bool = True) -> None:  # type: ignore[no-untyped-def]
    check = commands.add_parser(
        "check",
        help="check spec files' claims, and built-in checks on manifests (no argument: the bundled specs)",
        description="Spec files (kind: Spec) are evaluated; other files are manifests for the built-in checks. "
        "Exit codes: 0 every result as expected, 1 a claim fails, 2 bad input, "
        "3 a verdict is unknown (and the claim does not say allowUnknown), "
        "4 nothing was checked (no spec claim, no built-in check applied; see --allow-nothing-checked).",
    )
    check.set_defaults(run=_run_check)
    if not arguments:  # listed only: kverify.model is not needed
        return
    from kverify.model import Dataplane, LoadBalancerProfile

    check.add_argument(
        "paths", nargs="*", metavar="FILE", help="spec files, manifests, or directories of them; - reads stdin"
    )
    _namespace_flag(check)
    check.add_argument(
        "--format",
        default="text",
        choices=["text", "json", "markdown", "sarif"],
        help="text for a terminal, json for tools, markdown for a review or a job summary, sarif for code scanning",
    )
    check.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write the report here instead of stdout ('-': stdout); markdown writes each counterexample's "
        "picture (cx-ID.svg) beside it, or under the counterexamples folder when printing to stdout",
    )
    check.add_argument(
        "--no-pictures",
        action="store_true",
        help="markdown: write no counterexample pictures and link none (a job summary or a pull-request "
        "comment cannot show a file written beside it; the Mermaid diagrams stay)",
    )
    check.add_argument(
        "--dataplane", default="iptables", choices=_choices(Dataplane), help="for manifests (a spec names its own)"
    )
    check.add_argument("--load-balancer", choices=_choices(LoadBalancerProfile), help=_LB_HELP)
    check.add_argument(
        "--cluster-cidr", action="append", type=_cidr, metavar="CIDR", help="repeatable; default 10.0.0.0/8"
    )
    check.add_argument("--no-local-detector", action="store_true", help="kube-proxy without a LocalTrafficDetector")
    check.add_argument(
        "--masquerade-all", action="store_true", help="kube-proxy --masquerade-all: SNAT every proxied packet"
    )
    check.add_argument(
        "--nodeport-address", action="append", type=_cidr, metavar="CIDR", help="kube-proxy --nodeport-addresses"
    )
    _version_flags(check)
    _cni_flag(check)
    _cilium_flags(check)
    _metallb_flag(check)
    check.add_argument(
        "--iptables-localhost-nodeports",
        type=_bool,
        default=True,
        metavar="BOOL",
        help="kube-proxy --iptables-localhost-nodeports (default true)",
    )
    check.add_argument(
        "--needs-client-ip",
        action="append",
        default=[],
        metavar="NAMESPACE/NAME",
        help="a Service whose pods need the client IP (as the kverify.io/needs-client-ip annotation)",
    )
    check.add_argument(
        "--node-pool",
        action="append",
        default=[],
        metavar="NAME=COUNT[,zone=Z][,label=K=V][,taint=K=V:EFFECT]",
        help="design time: nodes to place workloads on (COUNT may be a range MIN-MAX; repeatable); "
        "with no Node objects and no pool, claims cover every cluster",
    )
    check.add_argument(
        "--write-counterexamples",
        metavar="DIR",
        help="write every counterexample's manifest here (default: only those the reproduce commands need, "
        "under .kverify/counterexamples); one found on your own files has a manifest only if the cluster is "
        "small (at most 50 nodes, 50 Services and 500 endpoints): its command names your files",
    )
    check.add_argument(
        "--color",
        default="auto",
        choices=["auto", "always", "never"],
        help="text format: colours (auto: on a terminal)",
    )
    check.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="list every object skipped as not modelled; text: show every counterexample's hops",
    )
    check.add_argument(
        "--allow-nothing-checked",
        action="store_true",
        help="exit 0 when no spec claim and no built-in check applied to anything (default: exit 4)",
    )
    check.add_argument("--list-checks", action="store_true", help="list the built-in checks and exit")
    check.add_argument(
        "--fixes",
        action="store_true",
        help="text, markdown and json: for each refuted spec claim and each built-in finding, the smallest "
        "changes that make it hold, each decided again, with its trade-off and a patch",
    )
    _input_size_flag(check)


_LB_HELP = (
    "the load balancer in front of LoadBalancer Services (default: what well-known annotations say, "
    "e.g. aws-load-balancer-nlb-target-type: ip -> ip-target; otherwise health-checked)"
)


def _diff_parser(commands, *, arguments: bool = True) -> None:  # type: ignore[no-untyped-def]
    diff = commands.add_parser(
        "diff",
        help="the behaviour that changes between two revisions (files, directories, REV:path, or --git)",
        description="For every Service, entry point and kind of client: the kinds of outcome before and after, "
        "where they differ, each with its trace; and the spec claims whose verdict changes. "
        "Exit codes: 0 no spec claim changes verdict, 1 one does, 2 bad input.",
    )
    diff.set_defaults(run=_run_diff)
    if not arguments:  # listed only: kverify.model is not needed
        return
    from kverify.model import Dataplane, LoadBalancerProfile

    diff.add_argument("old", metavar="OLD", help="a file, a directory, or REV:path (with --git: a revision)")
    diff.add_argument("new", metavar="NEW", help="a file, a directory, or REV:path (with --git: a revision)")
    diff.add_argument(
        "paths", nargs="*", metavar="PATH", help="with --git: the paths (relative to here) to compare at OLD and NEW"
    )
    diff.add_argument("--git", action="store_true", help="OLD and NEW are git revisions of PATH...")
    _namespace_flag(diff)
    diff.add_argument(
        "--format",
        default="text",
        choices=["text", "json", "markdown"],
        help="markdown: a pull-request comment with a Mermaid diagram per changed path",
    )
    diff.add_argument("--output", "-o", metavar="FILE", help="write the report here instead of stdout ('-': stdout)")
    diff.add_argument("--no-hops", action="store_true", help="text format: leave out each trace's hops")
    diff.add_argument("--verbose", "-v", action="store_true", help="list every object skipped as not modelled")
    diff.add_argument(
        "--dataplane", default="iptables", choices=_choices(Dataplane), help="for manifests (a spec names its own)"
    )
    diff.add_argument("--load-balancer", choices=_choices(LoadBalancerProfile), help=_LB_HELP + "; on both sides")
    diff.add_argument(
        "--cluster-cidr", action="append", type=_cidr, metavar="CIDR", help="repeatable; default 10.0.0.0/8"
    )
    diff.add_argument("--no-local-detector", action="store_true", help="kube-proxy without a LocalTrafficDetector")
    diff.add_argument("--masquerade-all", action="store_true", help="kube-proxy --masquerade-all")
    diff.add_argument(
        "--nodeport-address", action="append", type=_cidr, metavar="CIDR", help="kube-proxy --nodeport-addresses"
    )
    diff.add_argument(
        "--iptables-localhost-nodeports",
        type=_bool,
        default=True,
        metavar="BOOL",
        help="kube-proxy --iptables-localhost-nodeports (default true)",
    )
    diff.add_argument(
        "--node-pool",
        action="append",
        default=[],
        metavar="NAME=COUNT[,zone=Z][,label=K=V][,taint=K=V:EFFECT]",
        help="design time: nodes to place workloads on, on both sides (repeatable)",
    )
    # The environment flags of `kverify check`, the same on both sides (spec files name their own).
    _version_flags(diff)
    _cni_flag(diff)
    _cilium_flags(diff)
    _metallb_flag(diff)
    _input_size_flag(diff)


#: The subcommands, in the order ``kverify --help`` lists them.
_SUBCOMMANDS = {"trace": _trace_parser, "prove": _prove_parser, "check": _check_parser, "diff": _diff_parser}
#: A first word after which argparse ends before reading a subcommand (the action runs as it is read).
_TOP_LEVEL_ONLY = ("-h", "--help", "--version")


def _namespace_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--namespace",
        "-n",
        default="default",
        metavar="NS",
        help="the namespace of objects that name none, as kubectl apply -n (default: default)",
    )


def _report_skipped(skipped: Sequence[str], kinds: Sequence[str], *, verbose: bool) -> None:
    """What the model does not read, never silently: one summary line, or every object with --verbose."""
    from kverify.load.manifests import skipped_summary

    if verbose:
        for line in skipped:
            print(f"skipped: {one_line(line, PART_LIMIT)}", file=sys.stderr)
    elif (summary := skipped_summary(kinds)) is not None:
        print(one_line(summary, PART_LIMIT), file=sys.stderr)


def _proxy_from(args: argparse.Namespace, problems: list) -> ProxyConfig | None:  # type: ignore[type-arg]
    """The ProxyConfig the flags describe (shared by trace and check)."""
    from kverify.errors import Problem
    from kverify.model import Cni, Dataplane, ProxyConfig
    from kverify.model.cluster import cni_problem

    cidrs = args.cluster_cidr if args.cluster_cidr is not None else ["10.0.0.0/8"]
    minor, gates = _environment_from(args, problems)
    cni = Cni.parse(getattr(args, "cni", "generic"))
    if (problem := cni_problem(Dataplane.parse(args.dataplane), cni)) is not None:
        problems.append(Problem(problem, field="--cni"))
        return None
    cilium, mode = _cilium_from(args, problems, [args.dataplane])
    try:
        return ProxyConfig(
            dataplane=Dataplane.parse(mode or args.dataplane),
            cilium=cilium,
            cluster_cidrs=cidrs,
            local_traffic_detector=not args.no_local_detector,
            masquerade_all=args.masquerade_all,
            node_port_addresses=args.nodeport_address or (),
            localhost_node_ports=args.iptables_localhost_nodeports,
            service_cidrs=getattr(args, "service_cidr", None) or (),
            kubernetes_version=minor,
            feature_gates=gates,
            cni=cni,
        )
    except ValueError as error:
        problems.append(Problem(str(error), field="--cluster-cidr/--nodeport-address"))
        return None


def _run_check(args: argparse.Namespace) -> int:
    import gc

    from kverify.check import CHECKS
    from kverify.check.session import bundled_specs, run_check
    from kverify.report.progress import Progress

    if args.list_checks:
        for c in CHECKS:
            print(f"{c.id}: {c.statement}")
        return EXIT_OK
    problems: list = []  # type: ignore[type-arg]
    proxy = _proxy_from(args, problems)
    metallb = _metallb_from(args, problems)
    if problems:
        raise InputError(problems)
    bars: list[Progress] = []

    def progress(label: str) -> Progress:
        bars.append(Progress(label))
        return bars[-1]

    # As in the loader: the cyclic GC would rescan a loaded snapshot (millions of objects, no cycles)
    # again and again while the checks and reports allocate; it runs again when the command ends.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _check_and_report(args, run_check, bundled_specs, proxy, metallb, progress, bars)
    finally:
        _gc_back_on(gc_was_enabled)


def _node_pools(texts: Sequence[str]) -> list[NodePool]:
    """The node pools of ``--node-pool`` flags (none: the spec language is not imported)."""
    if not texts:
        return []
    from kverify.check.specfile.pools import parse_node_pool

    return [parse_node_pool(text) for text in texts]


def _check_and_report(  # type: ignore[no-untyped-def]
    args, run_check, bundled_specs, proxy, metallb, progress, bars
) -> int:
    from pathlib import Path

    from kverify.model import LoadBalancerProfile
    from kverify.report import check_json, check_text, markdown, reproduce, sarif

    try:
        run = run_check(
            args.paths or bundled_specs(),
            proxy=proxy,  # type: ignore[arg-type]
            load_balancer=LoadBalancerProfile.parse(args.load_balancer) if args.load_balancer else None,
            needs_client_ip=args.needs_client_ip,
            node_pools=_node_pools(args.node_pool),
            progress=progress,
            namespace=args.namespace,
            metallb_version=metallb,
            keep=_keep_until_exit,
        )
    finally:
        for bar in bars:
            bar.close()
    _report_skipped(run.skipped, run.skipped_kinds, verbose=args.verbose)
    for warning in run.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    run, written = reproduce.finish(
        run,
        folder=args.write_counterexamples or reproduce.DEFAULT_FOLDER,
        write_all=bool(args.write_counterexamples),
        program=reproduce.invoked_as(),
    )
    _report_written(written)
    out = sys.stdout if not args.output else None
    found = None
    if args.fixes and args.format in ("text", "markdown", "json"):
        from kverify.fixes.run import fixes_in_run

        bar = progress("fixes")  # a bar on a terminal: deciding every fix again takes a while on a big snapshot
        try:
            found = fixes_in_run(
                args.paths or bundled_specs(),
                run,
                proxy=proxy,
                load_balancer=LoadBalancerProfile.parse(args.load_balancer) if args.load_balancer else None,
                node_pools=_node_pools(args.node_pool),
                namespace=args.namespace,
                needs_client_ip=args.needs_client_ip,
                metallb_version=metallb,
                progress=bar,
            )
        finally:
            bar.close()
    if args.format == "json":
        text = check_json.render(run, fixes=found)
    elif args.format == "markdown":
        pictures = {} if args.no_pictures else _write_pictures(args, run)
        text = markdown.render(run, pictures=pictures).rstrip("\n")
    elif args.format == "sarif":
        text = sarif.render(run)
    else:
        colour = args.color == "always" or (args.color == "auto" and out is not None and out.isatty())
        text = check_text.render(run, colour=colour, verbose=args.verbose)
    if found is not None and args.format in ("text", "markdown"):
        from kverify.report import fixes_report

        text += (
            ("\n" + fixes_report.render_text(found)) if args.format == "text" else fixes_report.render_markdown(found)
        )
    if args.output:
        Path(args.output).write_text(text + "\n")
    else:
        print(text)
    _keep_until_exit(run, found)  # a finding's counterexample holds the whole cluster
    if run.unknown_not_allowed:
        return EXIT_UNKNOWN
    if run.failed:
        return EXIT_FAILED
    return EXIT_NOTHING_CHECKED if run.nothing_checked and not args.allow_nothing_checked else EXIT_OK


def _write_pictures(args: argparse.Namespace, run) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Each counterexample's picture, beside the Markdown report (``--output``), else beside the
    counterexamples' manifests; the links as the report names them."""
    from pathlib import Path

    from kverify.report import reproduce
    from kverify.report.picture import write_pictures

    folder = Path(args.output).parent if args.output else Path(args.write_counterexamples or reproduce.DEFAULT_FOLDER)
    written = write_pictures(run, folder)
    if written:
        print(f"wrote {len(written)} counterexample picture(s) to {folder} (the report shows them)", file=sys.stderr)
    base = Path(args.output).parent if args.output else Path(".")
    return {cx: Path(os.path.relpath(path, base)).as_posix() for cx, path in written.items()}


def _report_written(written: Sequence[Path]) -> None:
    """Say where the counterexamples' manifests went (the reproduce commands read them)."""
    if written:
        folders = ", ".join(sorted({str(path.parent) for path in written}))
        print(
            f"wrote {len(written)} counterexample manifest(s) to {folders} (the reproduce commands read them)",
            file=sys.stderr,
        )


def _run_prove(args: argparse.Namespace) -> int:
    from kverify.errors import Problem, quote
    from kverify.model import Cni, Dataplane
    from kverify.model.cilium import NEWEST_CILIUM
    from kverify.model.cluster import cni_problem
    from kverify.model.metallb import NEWEST_METALLB, spell_metallb
    from kverify.model.versions import NEWEST
    from kverify.prove.claims import ALL_CLAIMS, find_claim
    from kverify.prove.run import prove_all
    from kverify.report import reproduce
    from kverify.report.prove_text import render
    from kverify.symbolic import prove as bounds
    from kverify.verdicts import Refuted, Unknown

    if args.list:
        for c in ALL_CLAIMS:
            print(f"{c.id}: {c.statement}")
        return EXIT_OK
    problems = []
    claims = []
    for claim_id in args.claims:
        try:
            claims.append(find_claim(claim_id))
        except KeyError:
            known = ", ".join(c.id for c in ALL_CLAIMS)
            problems.append(Problem(f"Not found: {quote(claim_id)} (claims: {known})", field="CLAIM"))
    for flag, value in (("--max-nodes", args.max_nodes), ("--max-endpoints", args.max_endpoints)):
        if value is not None and not 1 <= value <= 12:
            problems.append(Problem(f"Invalid value: {value}: must be between 1 and 12, inclusive", field=flag))
    if not 0 < args.timeout < 10**6:  # also refuses nan and inf
        problems.append(Problem(f"Invalid value: {args.timeout}: must be positive", field="--timeout"))
    if not 1 <= args.jobs <= 64:
        problems.append(Problem(f"Invalid value: {args.jobs}: must be between 1 and 64, inclusive", field="--jobs"))
    minor, gates = _environment_from(args, problems)
    named = list(args.dataplane) if args.dataplane else [d.spelling for d in Dataplane]
    if any("loadBalancer.mode" in text for text in args.cilium_set):
        problems.append(
            Problem(
                "loadBalancer.mode: prove covers cilium-snat and cilium-dsr (choose with --dataplane); hybrid "
                "is DSR for TCP and SNAT otherwise, so a claim holds on hybrid when it holds on both",
                field="--cilium-set",
            )
        )
    cilium, _ = _cilium_from(args, problems, named)
    metallb = _metallb_from(args, problems)
    if problems:
        raise InputError(problems)
    wanted = {Dataplane.parse(d) for d in args.dataplane} if args.dataplane else None
    cni = Cni.parse(args.cni)
    pairs = [
        (claim, dataplane)
        for claim in claims or ALL_CLAIMS
        for dataplane in claim.expected
        if (wanted is None or dataplane in wanted)
        # A claim about one CNI keeps it; the others are proved on --cni where kverify models it.
        and cni_problem(dataplane, getattr(claim, "cni", None) or cni) is None
    ]
    settings = {
        "jobs": args.jobs,
        "max_nodes": args.max_nodes or bounds.DEFAULT_MAX_NODES,
        "max_endpoints": args.max_endpoints or bounds.DEFAULT_MAX_ENDPOINTS,
        "timeout_ms": bounds.timeout_ms_of(args.timeout),  # rounded up: 0 ms would mean no timeout
        "feature_gates": gates,
        "cni": cni,
        "cilium": cilium,
        "metallb": metallb,
    }
    if args.all_versions:
        return _prove_all_versions(pairs, settings, args.format)
    absent = sorted({dp.spelling for _, dp in pairs if not _dataplane_exists(dp, minor, gates)})
    if absent and wanted and all(not _dataplane_exists(dp, minor, gates) for dp in wanted):
        raise InputError(
            Problem(
                f"{', '.join(absent)} mode does not exist in kube-proxy v1.{minor} with these gates",
                field="--dataplane",
            )
        )
    pairs = [(c, dp) for c, dp in pairs if _dataplane_exists(dp, minor, gates)]
    verdicts = prove_all(pairs, version=minor, **settings)  # type: ignore[arg-type]
    # What the library's expected verdicts speak for: the newest versions, default gates, the generic CNI
    # and Cilium's chart defaults.
    stated = (
        minor == NEWEST
        and not gates
        and cni is Cni.GENERIC
        and not cilium.helm_values()
        and cilium.version == NEWEST_CILIUM
        and cilium.patch is None
        and metallb == NEWEST_METALLB
    )
    results = [
        (claim, verdict, claim.expected[dataplane]) for (claim, dataplane), verdict in zip(pairs, verdicts, strict=True)
    ]
    program = reproduce.invoked_as()
    written: list[Path] = []
    for i, (claim, verdict, expected) in enumerate(results):
        if isinstance(verdict, Refuted):
            folder = args.write_counterexamples or reproduce.DEFAULT_FOLDER
            done, paths = reproduce.finish_verdict(verdict, folder=folder, write_all=True, program=program)
            results[i], written = (claim, done, expected), written + paths
    _report_written(written)
    if args.format == "json":
        entries = []
        for claim, verdict, expected in results:
            entry = verdict.to_json()
            if not args.timings:  # wall-clock time differs run to run; the report does not, by default
                entry.pop("seconds", None)
            entry["statement"] = claim.statement
            entry["expected"] = expected
            entries.append(entry)
        document = {"version": 1, "kubernetes_version": f"v1.{minor}", "cilium_version": f"v{cilium.release}"}
        document["metallb_version"] = "v0.{}.{}".format(*metallb)
        if cilium.helm_values():
            document["cilium_helm"] = list(cilium.helm_values())
        print(json.dumps({**document, "results": entries}, indent=2))
    else:
        print(
            f"Kubernetes v1.{minor}, "
            + (", ".join(f"{n}={str(v).lower()}" for n, v in gates) or "default feature gates")
            + (  # Cilium only when not the newest with the chart's defaults (what the library states)
                f"; Cilium v{cilium.release}"
                + (f" ({', '.join(cilium.helm_values())})" if cilium.helm_values() else "")
                if cilium.release != f"1.{NEWEST_CILIUM}" or cilium.helm_values()
                else ""
            )
            + (f"; {spell_metallb(metallb)}" if metallb != NEWEST_METALLB else "")
        )
        print(render(results))
        if not stated:
            print(
                f"(the library's expectations are stated for v1.{NEWEST} with default feature gates, on the generic "
                "CNI unless a claim names its own, and for the newest Cilium with the chart's defaults and the "
                "newest MetalLB)"
            )
    if any(isinstance(v, Unknown) for _, v, _ in results):
        return EXIT_UNKNOWN
    if stated and any((v.verdict == "proved") != (e == "holds") for _, v, e in results):
        return EXIT_FAILED
    return EXIT_OK


def _prove_all_versions(pairs: list, settings: dict, output: str) -> int:  # type: ignore[type-arg]
    """Prove every (claim, dataplane) at every modelled version; print the versions each holds for."""
    from kverify.model.versions import VERSIONS, spell
    from kverify.prove.run import prove_all
    from kverify.verdicts import Unknown

    gates = settings["feature_gates"]
    work: list = []  # type: ignore[type-arg]
    minors: list[int] = []
    for minor in VERSIONS:
        # A proof about a dataplane that version cannot run would hold vacuously: leave it out.
        try:
            present = [(c, dp) for c, dp in pairs if _dataplane_exists(dp, minor, gates)]
        except ValueError:  # a gate the version does not have yet
            present = []
        work += present
        minors += [minor] * len(present)
    verdicts = prove_all(work, versions=minors, **settings)
    by_version: dict[int, dict] = {m: {} for m in VERSIONS}  # type: ignore[type-arg]
    for (c, dp), minor, verdict in zip(work, minors, verdicts, strict=True):
        by_version[minor][(c.id, dp)] = verdict
    rows = []
    for claim, dataplane in pairs:
        key = (claim.id, dataplane)
        found = [(m, by_version[m][key]) for m in VERSIONS if key in by_version[m]]
        versions = tuple(m for m, _ in found)
        holds = [m for m, v in found if v.verdict == "proved"]
        unknown = [m for m, v in found if isinstance(v, Unknown)]
        rows.append((claim, dataplane, holds, unknown, versions))
    if output == "json":
        document = [
            {
                "claim": c.id,
                "dataplane": dp.spelling,
                "holds_for": [spell(m) for m in holds],
                "unknown_for": [spell(m) for m in unknown],
            }
            for c, dp, holds, unknown, _ in rows
        ]
        print(json.dumps({"version": 1, "results": document}, indent=2))
    else:
        current = None
        for claim, dataplane, holds, unknown, versions in rows:
            if claim.id != current:
                current = claim.id
                print(f"{claim.id}: {claim.statement}")
            print(f"  {dataplane.spelling:12} {_version_ranges(holds, versions)}")
            if unknown:
                print(f"  {'':12} unknown for {', '.join(spell(m) for m in unknown)}")
    return EXIT_UNKNOWN if any(unknown for _, _, _, unknown, _ in rows) else EXIT_OK


def _dataplane_exists(dataplane: object, minor: int, gates: tuple[tuple[str, bool], ...]) -> bool:
    """kube-proxy of that version runs this dataplane (nftables needs its feature gate)."""
    from kverify.model import Dataplane
    from kverify.model.versions import resolve_gates

    return dataplane is not Dataplane.NFTABLES or resolve_gates(minor, gates)["NFTablesProxyMode"]


def _version_ranges(holds: list[int], versions: tuple[int, ...]) -> str:
    """``holds from v1.26`` / ``holds v1.24-v1.25, refuted from v1.26`` / ``refuted for every version``."""
    from kverify.model.versions import spell

    if not versions:
        return "not run by any modelled version"
    if not holds:
        return f"refuted for every version ({spell(versions[0])}-{spell(versions[-1])})"
    if len(holds) == len(versions):
        return f"holds for every version ({spell(versions[0])}-{spell(versions[-1])})"
    spans: list[list[int]] = []
    for m in holds:
        if spans and spans[-1][-1] == m - 1:
            spans[-1].append(m)
        else:
            spans.append([m])
    parts = [spell(s[0]) if len(s) == 1 else f"{spell(s[0])}-{spell(s[-1])}" for s in spans]
    if len(spans) == 1 and spans[0][-1] == versions[-1]:
        return f"holds from {spell(spans[0][0])} (refuted before)"
    return "holds for " + ", ".join(parts) + " (refuted for the others)"


def _run_trace(args: argparse.Namespace) -> int:
    import gc

    # As in check: routing a loaded snapshot makes no cycles, and the cyclic GC would rescan its
    # objects (hundreds of thousands of endpoints) again and again; it runs again when the command ends.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _trace(args)
    finally:
        _gc_back_on(gc_was_enabled)


def _gc_back_on(was_enabled: bool) -> None:
    """Turn the cyclic GC back on after a command that turned it off, if it was on, unless
    :func:`console_main` ends the process next (with ``os._exit``): every object allocated while
    it was off is in its youngest generation, so the next allocation would collect them all (a
    snapshot's millions: ~0.1 s on the trace benchmark) only for the process to end."""
    import gc

    if was_enabled and _KEPT_UNTIL_EXIT is None:
        gc.enable()


def _trace(args: argparse.Namespace) -> int:
    import ipaddress
    from itertools import chain

    import attrs

    from kverify.concrete import iter_outcome_groups, route
    from kverify.errors import Problem
    from kverify.load import load_manifests, to_cluster
    from kverify.load.manifests import routed_as_snapshot
    from kverify.load.policies import unenforced_note
    from kverify.model import ClientKind, Cni, Destination, Flow, LoadBalancerProfile, Protocol
    from kverify.model.metallb import spell_metallb
    from kverify.model.versions import describe, spell
    from kverify.report import trace_groups
    from kverify.report.trace_text import render, render_groups

    problems = []
    if args.to_address is not None:
        for flag, value in (("--service", args.service), ("--to", args.destination), ("--dst-ip", args.dst_ip)):
            if value is not None:
                problems.append(
                    Problem("Forbidden: --to-address names the address; no Service is involved", field=flag)
                )
    else:
        for flag, value in (("--service", args.service), ("--to", args.destination)):
            if value is None:
                problems.append(Problem("Required value: give --service and --to, or --to-address", field=flag))
    for flag, value in (("--dst-ip", args.dst_ip), ("--src-ip", args.src_ip), ("--to-address", args.to_address)):
        if value is not None:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                problems.append(Problem(f"Invalid value: {value!r}: must be a valid IP address", field=flag))
    proxy = _proxy_from(args, problems)
    if problems or proxy is None:
        raise InputError(problems)
    loaded = load_manifests(
        args.manifests, namespace=args.namespace, service_cidrs=proxy.service_cidrs, keep=_keep_until_exit
    )
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    _report_skipped(loaded.skipped, loaded.skipped_kinds, verbose=args.verbose)
    profile = LoadBalancerProfile.parse(args.load_balancer) if args.load_balancer else None
    cluster = to_cluster(loaded, proxy=proxy, load_balancer=profile)
    if args.proxy_protocol is not None:
        cluster = attrs.evolve(cluster, proxy_protocol=args.proxy_protocol)
    if args.metallb_version is not None:
        cluster = attrs.evolve(cluster, metallb_version=_metallb_version(args.metallb_version))
    if args.to_address is not None:
        return _trace_address(args, cluster)
    flow = Flow(
        service=args.service,
        client=ClientKind.parse("node" if args.client == "host" else args.client),
        destination=Destination.parse(args.destination),
        client_ip=args.src_ip,
        node=args.node,
        dst_ip=args.dst_ip,
        port=args.port,
        protocol=Protocol.parse(args.protocol),
    )
    service = cluster.service(flow.service)
    allocated = service.allocated_values() if service is not None else ()
    if service is not None and (note := unenforced_note(loaded.ingress_policies, service.namespace, service.selector)):
        print(f"note: {note}", file=sys.stderr)  # stdout stays the trace (JSON parses)
    pools: tuple[NodePool, ...] = ()
    if args.node_pool:  # kverify.check is not needed otherwise: its import costs every trace start-up time
        from kverify.check.specfile.pools import parse_node_pool

        pools = tuple(map(parse_node_pool, args.node_pool))
    if service is not None and not routed_as_snapshot(service, loaded.endpoints_given):
        # Here, not at the top: the placement and workload models are for design time only.
        from kverify.placement.design import Design, at_design_time

        design = Design(
            cluster=cluster,
            workloads=loaded.workloads,
            node_pools=pools,
            endpoints_given=loaded.endpoints_given,
            pod_sources=loaded.pod_sources,
        )
        if at_design_time(design, service):
            return _trace_design(args, design, flow, allocated)
    # MetalLB's release decides which nodes announce a LoadBalancer IP: say which one the answer is for.
    metallb = flow.destination is Destination.LOAD_BALANCER and cluster.load_balancer_for(service) in (
        LoadBalancerProfile.METALLB_L2,
        LoadBalancerProfile.METALLB_BGP,
    )
    # The groups are read once, as they are made, and not kept: from every node of a Service with
    # 100,000 endpoints and eTP Cluster, each node's group reaches all of them (issue 11: holding them
    # all took more than 16 GB). Only the first groups are held, until they pass --max-outcomes.
    groups = iter_outcome_groups(cluster, flow)
    first, counted = trace_groups.up_to(groups, args.max_outcomes)
    listed = counted <= args.max_outcomes
    outcomes = route(cluster, flow) if listed else ()
    if args.format == "json":
        document = {
            "service": flow.service,
            "flow": {
                "from": flow.client.spelling,
                "to": flow.destination.spelling,
                "src_ip": flow.client_ip,
                "dst_ip": flow.dst_ip,
                "port": flow.port,
                "protocol": flow.protocol.spelling,
                "node": flow.node,
            },
            "dataplane": proxy.dataplane.spelling,
            "kubernetes_version": spell(proxy.kubernetes_version),
            "feature_gates": cluster.proxy.gates,
            "cni": proxy.cni.spelling,
            **(
                {"cilium_version": f"v{proxy.cilium.release}", "cilium_helm": list(proxy.cilium.helm_values())}
                if proxy.dataplane.spelling.startswith("cilium")
                else {}
            ),
            "load_balancer": cluster.load_balancer_for(service).spelling,
            "load_balancer_reason": cluster.load_balancer_reason(service),
            **({"metallb_version": spell_metallb(cluster.metallb_version)} if metallb else {}),
            # Every outcome, when at most --max-outcomes; else null, and the groups say it all.
            "outcomes": [o.to_json() for o in outcomes] if listed else None,
            # Listed: every group is in ``first``; else a placeholder, the groups written as they come.
            "outcome_groups": [g.to_json() for g in first] if listed else trace_groups.PLACEHOLDER,
            # Values the manifests do not give: the API server or the cloud allocates them at apply time.
            "allocated": dict(allocated),
            "skipped": list(loaded.skipped),
            "warnings": [str(w) for w in loaded.warnings],
        }
        # Indented for people when the outcomes are listed; a summarised trace (thousands of endpoints
        # in its groups) is written compact, by a C encoder (indent makes the json module use Python's).
        if listed:
            print(json.dumps(document, indent=2))
        else:
            trace_groups.write_json(document, chain(first, groups), sys.stdout.write)
        _keep_until_exit(document)
    else:
        lb = None
        if flow.destination is Destination.LOAD_BALANCER and not cluster.load_balancer_explicit:
            lb = f"{cluster.load_balancer_for(service).spelling} ({cluster.load_balancer_reason(service)})"
        environment = describe(proxy.dataplane.spelling, proxy.kubernetes_version, proxy.feature_gates, proxy.cilium)
        if proxy.cni is not Cni.GENERIC:
            environment += f"; CNI {proxy.cni.spelling}"
        if metallb:
            environment += f"; {spell_metallb(cluster.metallb_version)}"
        if listed:
            text = render(
                flow, outcomes, hops=args.hops, allocated=allocated, load_balancer=lb, environment=environment
            )
        else:
            text = render_groups(
                flow,
                chain(first, groups),
                hops=args.hops,
                allocated=allocated,
                load_balancer=lb,
                environment=environment,
            )
        print(text)
    _keep_until_exit(loaded, cluster, outcomes)
    return EXIT_OK


def _trace_address(args: argparse.Namespace, cluster: Cluster) -> int:
    """``trace --to-address``: a packet to an address of no Service (rule nftables-unallocated-service-ip)."""
    from kverify.concrete import route_address
    from kverify.model import AddressFlow, ClientKind, Cni, Protocol
    from kverify.model.versions import describe, spell
    from kverify.report.trace_text import render_address

    proxy = cluster.proxy
    flow = AddressFlow(
        dst_ip=args.to_address,
        client=ClientKind.parse("node" if args.client == "host" else args.client),
        client_ip=args.src_ip,
        node=args.node,
        port=args.port,
        protocol=Protocol.parse(args.protocol),
    )
    outcomes = route_address(cluster, flow)
    if args.format == "json":
        document = {
            "address": flow.dst_ip,
            "flow": {
                "from": flow.client.spelling,
                "src_ip": flow.client_ip,
                "port": flow.port,
                "protocol": flow.protocol.spelling,
                "node": flow.node,
            },
            "dataplane": proxy.dataplane.spelling,
            "kubernetes_version": spell(proxy.kubernetes_version),
            "feature_gates": proxy.gates,
            "service_cidrs": list(proxy.service_cidrs),
            "cni": proxy.cni.spelling,
            "outcomes": [o.to_json() for o in outcomes],
        }
        print(json.dumps(document, indent=2))
        return EXIT_OK
    environment = describe(proxy.dataplane.spelling, proxy.kubernetes_version, proxy.feature_gates, proxy.cilium)
    if proxy.cni is not Cni.GENERIC:
        environment += f"; CNI {proxy.cni.spelling}"
    print(render_address(flow, outcomes, hops=args.hops, environment=environment, service_cidrs=proxy.service_cidrs))
    return EXIT_OK


def _trace_design(args: argparse.Namespace, design, flow, allocated) -> int:  # type: ignore[no-untyped-def]
    """A Service with no EndpointSlices: every kind of outcome over every placement of its workloads,
    each shown on the smallest placement that gives it."""
    from kverify.placement.materialise import describe
    from kverify.placement.solve import outcomes_over_placements
    from kverify.report.trace_text import render

    found, scope, reason = outcomes_over_placements(design, flow)
    if args.format == "json":
        document = {
            "service": flow.service,
            "design_time": True,
            "scope": scope,
            "unknown": reason,
            "dataplane": design.cluster.proxy.dataplane.spelling,
            "load_balancer": design.cluster.load_balancer.spelling,
            "placements": [
                {
                    "placement": {node: list(pods) for node, pods in f.placement.as_pairs()},
                    "outcomes": [o.to_json() for o in f.outcomes],
                }
                for f in found
            ],
            "allocated": dict(allocated),
        }
        print(json.dumps(document, indent=2))
    else:
        print(f"design time: {len(found)} kind(s) of outcome over {scope}")
        for f in found:
            print(f"\nplacement: {describe(f.placement)}")
            print(render(flow, f.outcomes, hops=args.hops, allocated=allocated))
        if reason:
            print(f"UNKNOWN: {reason}")
    return EXIT_UNKNOWN if reason else EXIT_OK


def _run_diff(args: argparse.Namespace) -> int:
    from contextlib import ExitStack
    from pathlib import Path

    from kverify.check.specfile.pools import parse_node_pool
    from kverify.diff import Environment, diff, read_revision
    from kverify.diff.sources import sides
    from kverify.errors import Problem
    from kverify.model import LoadBalancerProfile
    from kverify.report import diff_report

    if args.paths and not args.git:
        raise InputError(Problem("Forbidden: PATH arguments need --git (else OLD and NEW are the paths)", field="PATH"))
    problems: list = []  # type: ignore[type-arg]
    proxy = _proxy_from(args, problems)
    metallb = _metallb_from(args, problems)
    if problems or proxy is None:
        raise InputError(problems)
    env = Environment(
        proxy=proxy,
        load_balancer=LoadBalancerProfile.parse(args.load_balancer) if args.load_balancer else None,
        node_pools=tuple(parse_node_pool(text) for text in args.node_pool),
        namespace=args.namespace,
        metallb_version=metallb,
    )
    with ExitStack() as stack:
        old_side, new_side = sides(args.old, args.new, args.paths if args.git else None, stack)
        for warning in (*old_side.warnings, *new_side.warnings):
            print(f"warning: {warning}", file=sys.stderr)
        old = read_revision(old_side.label, old_side.paths, env, root=old_side.root)
        new = read_revision(new_side.label, new_side.paths, env, root=new_side.root)
        for side in (old, new):
            for warning in side.warnings:
                print(f"warning: {one_line(warning, PART_LIMIT)}", file=sys.stderr)
        # The new side's objects are what the pull request ships: its skipped objects are the ones to list.
        _report_skipped(new.skipped, new.skipped_kinds, verbose=args.verbose)
        found = diff(old, new)
    if args.format == "json":
        text = diff_report.render_json(found)
    elif args.format == "markdown":
        text = diff_report.render_markdown(found).rstrip("\n")
    else:
        text = diff_report.render_text(found, hops=not args.no_hops)
    if args.output:
        Path(args.output).write_text(text + "\n")
    else:
        print(text)
    return EXIT_FAILED if found.verdicts_changed else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kverify`` console script."""
    words = sys.argv[1:] if argv is None else list(argv)
    # A command line names its subcommand first (the only options before it are --help and --version):
    # then only that subcommand's arguments are built. `kverify`, `kverify --help` and `kverify --version`
    # stop before any subcommand is parsed: none needs its arguments (nor the loader their defaults import).
    # Anything else gets the whole parser.
    command = words[0] if words and words[0] in _SUBCOMMANDS else None
    if not words or words[0] in _TOP_LEVEL_ONLY:
        command = ""
    args = build_parser(command).parse_args(words)
    if getattr(args, "output", None) == "-":  # as for inputs, "-" is standard output, not a file named "-"
        args.output = None
    if hasattr(args, "max_input_size"):
        from kverify.load.sources import max_input_bytes

        max_input_bytes.set(args.max_input_size)
        _prefetch_first_input(args)
    try:
        return _run_command(args)
    finally:
        if hasattr(args, "max_input_size"):
            from kverify.load.prefetch import drop_prefetched

            drop_prefetched()


def _run_command(args: argparse.Namespace) -> int:
    """Run the parsed command; its errors become their messages and exit codes."""
    try:
        return int(args.run(args))
    except NotModelled as error:  # a valid question kverify cannot answer: Unknown, not bad input
        for problem in error.problems:
            print(str(problem), file=sys.stderr)
        return EXIT_UNKNOWN
    except InputError as error:
        for problem in error.problems:
            print(str(problem), file=sys.stderr)
        return EXIT_INPUT
    except KverifyError as error:
        print(f"error: {one_line(str(error), PART_LIMIT)}", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:  # `kverify ... | head`
        return EXIT_OK
    except OSError as error:  # an output path we cannot write: the user's input, not a bug
        where = error.filename if error.filename else "output"
        print(f"{where}: {error.strerror or error}", file=sys.stderr)
        return EXIT_INPUT


def _prefetch_first_input(args: argparse.Namespace) -> None:
    """Begin reading the first input file named on the command line (``check`` and ``trace``), so that
    the read of a big snapshot overlaps the imports before it (:mod:`kverify.load.prefetch`); nothing if
    :func:`kverify.launch.main` began it already, from the words of the command line."""
    from kverify.load.prefetch import prefetch

    for path in getattr(args, "paths", None) or getattr(args, "manifests", None) or ():
        if path != "-" and os.path.isfile(path):  # "-" is standard input
            prefetch(path, args.max_input_size)
            return


#: What commands built, held until ``os._exit`` when :func:`console_main` runs them (``None``: main()
#: runs in a process that goes on, and frees as usual).
_KEPT_UNTIL_EXIT: list[object] | None = None


def _keep_until_exit(*values: object) -> None:
    """Hold ``values`` until the process ends, when :func:`console_main` ends it with ``os._exit``:
    a command's loaded snapshot, cluster and report are otherwise freed object by object as it returns
    (a tenth of a second or more for a big snapshot), work the exit skips. Elsewhere, nothing."""
    if _KEPT_UNTIL_EXIT is not None:
        _KEPT_UNTIL_EXIT.append(values)


def console_main() -> NoReturn:
    """What the ``kverify`` console script and ``python -m kverify`` run (:func:`kverify.launch.main`,
    once it has begun reading a big input): :func:`main`, then
    exit without tearing the interpreter down (freeing every object of a big snapshot costs ~0.3 s;
    mypy's ``util.hard_exit`` does the same). Only here: :func:`main` called in a process that goes
    on (tests, the pytest plugin, library use) returns as usual. Files main() writes (``--output``,
    reports) are closed when it returns (``Path.write_text``, ``with`` blocks); stdout and stderr
    are flushed here, and what the command built is not freed before (:func:`_keep_until_exit`)."""
    global _KEPT_UNTIL_EXIT
    _KEPT_UNTIL_EXIT = []
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # e.g. a closed pipe: let the interpreter's usual exit deal with it
        raise SystemExit(code) from None
    os._exit(code)


if __name__ == "__main__":
    console_main()
