"""Field paths, API-server wording, and the problem collector shared by the kind converters.

Every check here is written so that the happy path costs a dict lookup and a ``type()`` test: a field
path is only built (and a line number only looked up) once something is wrong.
"""

from __future__ import annotations

import _socket  # socket's C module: inet_pton without socket.py's enum set-up
import contextlib
import functools
import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs

from kverify.errors import VALUE_LIMIT, Problem, quote
from kverify.model.enums import _Spelled

Path = tuple[str | int, ...]
E = TypeVar("E", bound=_Spelled)

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def render_path(path: Path) -> str:
    """``("spec", "ports", 0, "port")`` -> ``spec.ports[0].port``; map keys with dots get brackets."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENT.match(part):
            out.append(f".{part}" if out else part)
        else:
            out.append(f"[{part}]")
    return "".join(out)


_DEPTH_LIMIT = 32


class _Full(Exception):
    """The rendering reached its length limit."""


def fmt(value: object, limit: int = VALUE_LIMIT) -> str:
    """A bad value as apimachinery prints it: strings quoted, numbers and booleans bare, mappings and
    lists as JSON, cut at ``limit`` characters.

    The value is walked only until ``limit`` characters are written, so the cost is bounded whatever
    it holds: a YAML alias bomb (``&a [*b, *b, ...]``) expands to billions of elements if walked
    whole, and a value nested thousands deep would exhaust the stack.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value.bit_length() > 256:  # str() of a huge int is quadratic
        return f"(an integer of {value.bit_length()} bits)"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return "null"
    out: list[str] = []
    size = 0

    def emit(piece: str) -> None:
        nonlocal size
        out.append(piece)
        size += len(piece)
        if size > limit:
            raise _Full

    def walk(v: object, depth: int) -> None:
        if depth > _DEPTH_LIMIT:
            emit("...")
        elif isinstance(v, str):
            emit(quote(v, limit))
        elif isinstance(v, dict):
            emit("{")
            for i, (k, item) in enumerate(v.items()):
                emit(", " if i else "")
                emit(quote(str(k), limit) + ": ")
                walk(item, depth + 1)
            emit("}")
        elif isinstance(v, list | tuple):
            emit("[")
            for i, item in enumerate(v):
                emit(", " if i else "")
                walk(item, depth + 1)
            emit("]")
        elif isinstance(v, bool | int | float) or v is None:
            emit(fmt(v))
        else:
            emit(quote(str(v), limit))

    with contextlib.suppress(_Full):
        walk(value, 0)
    text = "".join(out)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def unsupported(value: object, supported: tuple[str, ...]) -> str:
    words = ", ".join(f'"{w}"' for w in sorted(supported))
    return f"Unsupported value: {fmt(value)}: supported values: {words}"


def invalid(value: object, detail: str) -> str:
    return f"Invalid value: {fmt(value)}: {detail}"


PORT_RANGE = "must be between 1 and 65535, inclusive"
MUST_BE_IP = "must be a valid IP address"
MUST_BE_CIDR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


#: Dotted-quad IPv4, as ``ipaddress.IPv4Address`` accepts it (no leading zeros). The addresses of a
#: snapshot are nearly all of this form: a regex match decides them at a tenth of ``ipaddress``'s cost.
#: ``[0-9]``, not ``\d``: ``\d`` also matches other scripts' digits ("\u0661.2.3.4"), which ``ipaddress``
#: refuses (its ``_DECIMAL_DIGITS`` are ASCII).
_OCTET_PATTERN = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4_PATTERN = rf"(?:{_OCTET_PATTERN}\.){{3}}{_OCTET_PATTERN}"
IPV4 = re.compile(IPV4_PATTERN + r"\Z")


def _pton_agrees() -> bool:
    """Whether this platform's ``inet_pton(AF_INET, ...)`` accepts exactly what ``IPV4`` (and
    ``ipaddress``) accepts on addresses where C libraries are known to differ (leading zeros, short
    forms, hex, signs, spaces, non-ASCII digits). glibc, musl and the BSDs refuse them all."""
    probes = (
        "1.2.3.4", "0.0.0.0", "255.255.255.255", "10.0.0.10", "01.2.3.4", "1.2.3.04", "00.0.0.0", "256.1.1.1",
        "1.2.3.1000", "1.2.3", "1", "1.2.3.4.5", "1.2.3.4.", ".1.2.3.4", "1..2.3", "0x1.2.3.4", "+1.2.3.4",
        " 1.2.3.4", "1.2.3.4 ", "1.2.3.4\n", "1.2.3.4\x00", "\u0661.2.3.4", "\uff11.2.3.4", "1.2.3.4/8", "",
    )  # fmt: skip
    for probe in probes:
        try:
            accepted = bool(_socket.inet_pton(_socket.AF_INET, probe))
        except (OSError, ValueError):
            accepted = False
        if accepted != bool(IPV4.match(probe)):
            return False
    return True


#: Whether inet_pton may stand for the IPV4 regex here (see _pton_agrees).
PTON_AGREES = hasattr(_socket, "inet_pton") and _pton_agrees()
_AF_INET = _socket.AF_INET
#: The prefix lengths of an IPv4 CIDR is_cidr decides without ``ipaddress``: 0 to 32, no leading zero.
_IPV4_PREFIX_LENGTHS = frozenset(str(length) for length in range(33))


def is_ipv4(value: str) -> bool:
    """Whether ``value`` is a dotted-quad IPv4 address, as ``IPV4`` matches it: the C library's
    ``inet_pton`` where it is known to agree with the regex (a fifth of the regex's cost), else the regex.
    Every Node's address and every Service's ClusterIP of a snapshot is asked about."""
    if not PTON_AGREES:
        return IPV4.match(value) is not None
    try:
        _socket.inet_pton(_AF_INET, value)
    except (OSError, ValueError):  # refused, a NUL or lone surrogate
        return False
    return True


def is_ip(value: str) -> bool:
    if is_ipv4(value):
        return True
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def ip_version(value: str) -> int:
    """4 or 6 for a valid IP address (``ipaddress`` raises ``ValueError`` on any other)."""
    return 4 if is_ipv4(value) else ipaddress.ip_address(value).version


def is_cidr(value: str) -> bool:
    address, slash, length = value.partition("/")
    if slash and length in _IPV4_PREFIX_LENGTHS and is_ipv4(address):  # most CIDRs: IPv4, no ipaddress
        return True
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


class validators_off:  # a lower-case name: it is used as a function, ``with validators_off():``
    """The model's attrs validators off while building values from fields the loader has just checked.

    They would only repeat those checks (an ``ipaddress`` parse per address and CIDR). The previous
    state is restored, unlike ``attrs.validators.disabled()``, which always switches them back on. A
    class, not ``contextlib.contextmanager``: entered once per Node and Service, whose generator
    machinery cost a fifth of building a Node."""

    __slots__ = ("_was_off",)

    def __enter__(self) -> None:
        self._was_off = attrs.validators.get_disabled()
        attrs.validators.set_disabled(True)

    def __exit__(self, *_exc: object) -> None:
        attrs.validators.set_disabled(self._was_off)


@functools.cache
def _by_spelling(cls: type[E]) -> dict[str, E]:
    """An enum's members by spelling: one lookup per enum field (iterating an Enum class is slow)."""
    return {member.spelling: member for member in cls}


class Ctx:
    """Collects problems and warnings about one object, with its file, line lookup and label."""

    __slots__ = ("file", "locate", "obj", "problems", "warnings")

    def __init__(
        self,
        file: str,
        locate: Callable[[Path], int],
        obj: str | None,
        problems: list[Problem],
        warnings: list[Problem],
    ) -> None:
        self.file = file
        self.locate = locate
        self.obj = obj
        self.problems = problems
        self.warnings = warnings

    def _problem(self, path: Path, message: str) -> Problem:
        return Problem(message, self.file, self.locate(path), self.obj, render_path(path) or None)

    def error(self, path: Path, message: str) -> None:
        self.problems.append(self._problem(path, message))

    def warn(self, path: Path, message: str) -> None:
        self.warnings.append(self._problem(path, message))

    # -- typed getters: each returns the value, or the default after recording a problem --------

    def mapping(self, m: Mapping[str, Any], key: str, path: Path) -> dict[str, Any]:
        """An optional mapping field (absent or null -> ``{}``)."""
        v = m.get(key)
        if type(v) is dict:
            return v
        if v is not None:
            self.error((*path, key), invalid(v, "must be a mapping"))
        return {}

    def list_of(self, m: Mapping[str, Any], key: str, path: Path) -> list[Any]:
        """An optional list field (absent or null -> ``[]``)."""
        v = m.get(key)
        if type(v) is list:
            return v
        if v is not None:
            self.error((*path, key), invalid(v, "must be a list"))
        return []

    def string(self, m: Mapping[str, Any], key: str, path: Path, *, required: bool = False) -> str | None:
        """An optional string field; an empty string counts as absent, as in Go."""
        v = m.get(key)
        if type(v) is str and v:
            return v
        if v is None or v == "":
            if required:
                self.error((*path, key), "Required value")
            return None
        self.error((*path, key), invalid(v, "must be a string"))
        return None

    def strings(self, m: Mapping[str, Any], key: str, path: Path) -> list[str]:
        """An optional list of strings."""
        out: list[str] = []
        for i, v in enumerate(self.list_of(m, key, path)):
            if type(v) is str:
                out.append(v)
            else:
                self.error((*path, key, i), invalid(v, "must be a string"))
        return out

    def boolean(self, m: Mapping[str, Any], key: str, path: Path) -> bool | None:
        v = m.get(key)
        if v is None or type(v) is bool:
            return v
        self.error((*path, key), invalid(v, "must be a boolean"))
        return None

    def port(
        self, m: Mapping[str, Any], key: str, path: Path, *, required: bool = False, zero_unset: bool = True
    ) -> int | None:
        """A port number. 0 means unset (Go's zero value) for optional non-pointer fields."""
        v = m.get(key)
        if type(v) is int and 1 <= v <= 65535:
            return v
        if v is None or (v == 0 and type(v) is int and zero_unset and not required):
            if required:
                self.error((*path, key), "Required value")
            return None
        if type(v) is int:
            self.error((*path, key), invalid(v, PORT_RANGE))
        else:
            self.error((*path, key), invalid(v, "must be an integer"))
        return None

    def enum(
        self,
        m: Mapping[str, Any],
        key: str,
        path: Path,
        cls: type[E],
        default: E,
        *,
        also: tuple[str, ...] = (),
    ) -> E:
        """A Kubernetes enum field spelled as in the API; ``also`` lists words accepted elsewhere."""
        v = m.get(key)
        if v is None or v == "":
            return default
        if type(v) is str and (member := _by_spelling(cls).get(v)) is not None:
            return member
        self.error((*path, key), unsupported(v, tuple(x.spelling for x in cls) + also))
        return default

    def ip(self, value: object, path: Path) -> str | None:
        if type(value) is str and is_ip(value):
            return value
        self.error(path, invalid(value, MUST_BE_IP))
        return None

    def cidr(self, value: object, path: Path) -> str | None:
        if type(value) is str and is_cidr(value.strip()):
            return value.strip()
        self.error(path, invalid(value, MUST_BE_CIDR))
        return None

    def model_error(self, exc: Exception) -> None:
        """A model validator fired on a value the loader did not pre-check: report it as it is."""
        self.error((), str(exc))
