"""Ask Z3 whether a claim can fail: the rule table over the bounded universe.

Deterministic: a fixed random seed, and an explicit timeout that ends in ``unknown`` with its reason.
"""

from __future__ import annotations

import contextlib
import functools
import math
import weakref
from collections.abc import Callable, Iterator
from typing import Any, Generic, Literal, TypeVar

import attrs
import z3

from kverify.model import Cni, Dataplane, Destination
from kverify.model.cilium import NEWEST_CILIUM, OLDEST_CILIUM, CiliumSettings
from kverify.model.metallb import NEWEST_METALLB, READY_ONLY, READY_OR_SERVING, SERVING
from kverify.model.versions import NEWEST, resolve_gates
from kverify.prove.claims import Claim
from kverify.semantics.decide import decide
from kverify.semantics.load_balancer import may_receive
from kverify.semantics.world import World
from kverify.symbolic.decode import Decoded, decode
from kverify.symbolic.kinds import HANDLING, KindUniverse, decode_kinds
from kverify.symbolic.smt_ops import SmtOps, lift
from kverify.symbolic.universe import Universe, select

DEFAULT_MAX_NODES = 5
DEFAULT_MAX_ENDPOINTS = 8
DEFAULT_TIMEOUT_MS = 20_000
SEED = 0
LOGIC = "QF_FD"


def timeout_ms_of(seconds: float) -> int:
    """A timeout in whole milliseconds, rounded up: Z3 reads 0 as *no* timeout, so 0.9 ms must not
    become 0 (issue 11: ``prove --timeout 0.0009`` ran without any timeout)."""
    if not seconds > 0 or math.isinf(seconds):
        raise ValueError(f"a timeout must be a positive number of seconds, not {seconds!r}")
    return max(1, math.ceil(seconds * 1000))


def checked_timeout(timeout_ms: int) -> int:
    if type(timeout_ms) is not int or timeout_ms < 1:
        raise ValueError(f"timeout_ms must be a whole number >= 1 (0 would mean no timeout), not {timeout_ms!r}")
    return timeout_ms


class Watched:
    """A cached solver, noting whether any check gave up (a timeout, or Z3 interrupted).

    An incremental Z3 solver interrupted mid-search is not safe to ask again: after one pass that
    timed out, later queries in the same process got models that decode to no ClientKind, or
    counterexamples the executable model refused (issue 11). Whoever holds a solver that gave up
    drops it from its cache, so the next query builds a fresh one.
    """

    __slots__ = ("gave_up", "solver")

    def __init__(self, solver: z3.Solver) -> None:
        self.solver = solver
        self.gave_up = False

    def check(self, *assumptions: Any) -> Any:
        result = self.solver.check(*assumptions)
        if result == z3.unknown:
            self.gave_up = True
        return result

    def __getattr__(self, name: str) -> Any:  # push, pop, add, model, num_scopes, reason_unknown, set
        return getattr(self.solver, name)


@contextlib.contextmanager
def query(solver: z3.Solver, timeout_ms: int, discard: Callable[[], None]) -> Iterator[Watched]:
    """One query on a cached solver: its own timeout and assertion scope; the solver is thrown away
    (``discard``) if any check gave up or the query failed, else left as it was found."""
    watched = Watched(solver)
    solver.set("timeout", checked_timeout(timeout_ms))
    solver.push()
    try:
        yield watched
    except BaseException:
        discard()
        raise
    if watched.gave_up:
        discard()
    else:
        solver.pop()


T = TypeVar("T", bound=tuple[Any, ...])


class SolverCache(Generic[T]):
    """Like ``functools.lru_cache``, for a function that builds an encoding: a tuple of terms (slow
    to build) with one solver from :func:`shared_solver`. :meth:`renew` replaces just the solver by
    a fresh one holding the same constraints: what a query does after its solver gave up, since an
    interrupted solver must not be asked again (:class:`Watched`)."""

    def __init__(self, build: Callable[..., T], maxsize: int) -> None:
        functools.update_wrapper(self, build)
        self._build = build
        self._maxsize = maxsize
        self._entries: dict[tuple[Any, ...], T] = {}

    def __call__(self, *key: Any) -> T:
        entry = self._entries.get(key)
        if entry is None:
            if len(self._entries) >= self._maxsize:
                del self._entries[next(iter(self._entries))]
            entry = self._entries[key] = self._build(*key)
        return entry

    def renew(self, *key: Any) -> None:
        """Replace the solver cached for ``key`` by a fresh one with the same shared constraints."""
        if (built := self._entries.get(key)) is None:
            return
        renewed = [shared_solver(*x.kverify_shared) if isinstance(x, z3.Solver) else x for x in built]
        self._entries[key] = type(built)(renewed)  # type: ignore[call-arg]

    def cache_clear(self) -> None:
        self._entries.clear()


def shared_solver(*constraints: Any) -> z3.Solver:
    """A solver holding the constraints every query of an encoding shares. They are kept with it
    (``solver.assertions()`` gives back the solver's own translation, not them), so that a solver
    that gave up can be replaced by a fresh one (:meth:`SolverCache.renew`)."""
    solver = _solver(DEFAULT_TIMEOUT_MS)
    solver.add(*constraints)
    solver.kverify_shared = constraints
    return solver


def solver_cache(maxsize: int) -> Callable[[Callable[..., T]], SolverCache[T]]:
    """Decorator form of :class:`SolverCache`."""
    return lambda build: SolverCache(build, maxsize)


class Names:
    """Fresh constants standing for terms, defined in an encoding's shared solver (``World.name``).

    A query's constraint, built from a World's terms, lives in a scope that is popped after the query;
    a solver turns whatever that scope holds into clauses again in every query. Naming the terms in the
    shared part instead makes that work once per encoding: a query then adds a few literals.
    Definitions wait in ``pending`` until :meth:`flush` adds them at the solver's base level.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.count = 0
        self.pending: list[Any] = []

    def __call__(self, term: Any) -> Any:
        if not z3.is_expr(term) or z3.is_const(term):
            return term
        name = z3.Const(f"{self.prefix}{self.count}", term.sort())
        self.count += 1
        self.pending.append(name == term)
        return name

    def flush(self, solver: z3.Solver) -> None:
        """Define the pending names in ``solver``'s shared constraints (call at its base level)."""
        if self.pending:
            solver.add(*self.pending)
            solver.kverify_shared = (*solver.kverify_shared, *self.pending)
            self.pending.clear()


@attrs.frozen(kw_only=True)
class Answer:
    status: Literal["unsat", "sat", "unknown"]
    decoded: Decoded | None = None
    reason: str = ""


def symbolic_world(u: Universe, ops: SmtOps, name: Names | None = None) -> tuple[World, list[Any]]:
    """The World of the universe's flow, and the constraints tying the outcome to the decision.
    ``name``, when given, names the World's terms (see :class:`Names`)."""
    s = u.situation()
    d = decide(ops, s)
    lb_pick = z3.Or(*[z3.And(u.handling_node == i, lift(may_receive(ops, s, i))) for i in range(u.max_nodes)])
    if u.max_endpoints:

        def pick(values: Any) -> Any:
            return select(list(values), u.endpoint_choice)

        chosen = [pick(d.chosen)]
    else:

        def pick(values: Any) -> Any:
            return z3.BoolVal(False)

        chosen = []
    world = World(ops=ops, situation=s, decision=d, pick=pick, lb_may_pick_node=lb_pick)
    if name is not None:
        world = attrs.evolve(world, name=name)
    outcome = [z3.Implies(lift(d.delivered), lift(chosen[0]))] if chosen else [z3.Not(lift(d.delivered))]
    return world, outcome


def environment_pins(
    u: Any,
    version: int,
    feature_gates: tuple[tuple[str, bool], ...],
    cni: Cni = Cni.GENERIC,
    cilium: CiliumSettings | None = None,
    metallb: tuple[int, int] = NEWEST_METALLB,
) -> list[Any]:
    """Pin the universe's Kubernetes version and feature gates (the defaults, then the overrides), the
    CNI profile (a proof is for one pod network), Cilium's version and Helm options, and MetalLB's release."""
    return [*u.environment(version, resolve_gates(version, feature_gates), cilium, metallb), u.cni == int(cni)]


def claim_violated(claim: Claim, world: World, shared: z3.Solver) -> list[Any]:
    """The constraints "the claim's assumption holds and its requirement does not", over ``world``'s
    named terms, whose definitions are added to ``shared`` first (at its base level: call this before
    opening a query's scope)."""
    violated = [lift(claim.assume(world)), z3.Not(lift(claim.require(world)))]
    if isinstance(world.name, Names):
        world.name.flush(shared)
    return violated


def find_violation_any_size(
    claim: Claim,
    dataplane: Dataplane,
    *,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    version: int = NEWEST,
    feature_gates: tuple[tuple[str, bool], ...] = (),
    cni: Cni = Cni.GENERIC,
    cilium: CiliumSettings | None = None,
    metallb: tuple[int, int] = NEWEST_METALLB,
) -> Answer:
    """``unsat``: no cluster of any size breaks the claim (endpoint-kind abstraction, kinds.py).
    ``sat``: one that does, with one endpoint per kind present (not minimised: see find_violation)."""
    u, world, shared = kinds_encoding()
    violated = claim_violated(claim, world, shared)
    # One incremental solver holds the (large) shared part; each query is a scope.
    with query(shared, timeout_ms, kinds_encoding.renew) as solver:
        solver.add(u.dataplane == int(dataplane), u.load_balancer == int(claim.load_balancer))
        solver.add(*environment_pins(u, version, feature_gates, cni, cilium, metallb))
        solver.add(*violated)
        result = solver.check()
        if result == z3.unsat:
            return Answer(status="unsat")
        if result == z3.unknown:
            return Answer(status="unknown", reason=f"solver: {solver.reason_unknown()}")
        return Answer(status="sat", decoded=decode_kinds(u, solver.model()))


@solver_cache(maxsize=1)
def kinds_encoding() -> tuple[KindUniverse, World, z3.Solver]:
    """The kind universe, its World, and a solver holding the constraints every query shares."""
    u = KindUniverse()
    ops = SmtOps()
    s = u.situation()
    d = decide(ops, s)
    world = World(
        ops=ops,
        situation=s,
        decision=d,
        pick=u.pick,
        lb_may_pick_node=lift(may_receive(ops, s, HANDLING)),
        name=Names("kinds_world_"),
    )
    solver = shared_solver(*u.well_formed(), z3.Implies(lift(d.delivered), lift(u.pick(d.chosen))))
    return u, world, solver


def _solver(timeout_ms: int) -> z3.Solver:
    # QF_FD bit-blasts the bounded integers into SAT: about 50x faster here than QF_LIA.
    solver = z3.SolverFor(LOGIC)
    solver.set("random_seed", SEED)
    solver.set("timeout", timeout_ms)
    return solver


def find_violation(
    claim: Claim,
    dataplane: Dataplane,
    *,
    max_nodes: int = DEFAULT_MAX_NODES,
    max_endpoints: int = DEFAULT_MAX_ENDPOINTS,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    version: int = NEWEST,
    feature_gates: tuple[tuple[str, bool], ...] = (),
    cni: Cni = Cni.GENERIC,
    cilium: CiliumSettings | None = None,
    metallb: tuple[int, int] = NEWEST_METALLB,
) -> Answer:
    """``unsat``: no cluster within the bounds breaks the claim. ``sat``: the smallest one that does
    (fewest nodes, then fewest endpoints), decoded. Sizes are tried smallest first."""
    u, world, shared = encoding(max_nodes, max_endpoints)
    violated = claim_violated(claim, world, shared)
    with query(shared, timeout_ms, lambda: encoding.renew(max_nodes, max_endpoints)) as solver:
        solver.add(u.dataplane == int(dataplane), u.load_balancer == int(claim.load_balancer))
        solver.add(*environment_pins(u, version, feature_gates, cni, cilium, metallb))
        solver.add(*violated)
        return minimal_violation(solver, u, max_nodes, max_endpoints)


_PREFERENCES: weakref.WeakKeyDictionary[Universe, list[Any]] = weakref.WeakKeyDictionary()


def readability_preferences(u: Universe) -> list[Any]:
    """What a reviewer expects unless the violation needs otherwise, most important first (built once
    per universe: the encodings are cached, and so are these terms)."""
    prefs = _PREFERENCES.get(u)
    if prefs is None:
        prefs = _PREFERENCES[u] = _preferences(u)
    return prefs


def _preferences(u: Universe) -> list[Any]:
    prefs: list[Any] = [z3.And(*[z3.Implies(u.endpoint_present(j), u.ep_node[j] >= 0) for j in range(u.max_endpoints)])]
    prefs += [u.has_detector, z3.Not(u.masquerade_all), z3.Not(u.has_source_ranges), z3.Not(u.has_external_ips)]
    prefs += [z3.Not(u.dst_ip_mode_proxy), u.address_captured, z3.Not(u.dst_is_localhost)]
    prefs += [z3.Not(d) for d in u.node_draining]
    prefs += [label == 0 for label in u.node_lb_label]  # unlabelled nodes (rule lb-exclude-label)
    prefs += [z3.Not(z3.Or(*bits)) for bits in u.ep_zone_hint + u.ep_node_hint]
    prefs += [z3.Or(r, z3.Not(u.endpoint_present(j))) for j, r in enumerate(u.ep_ready)]
    prefs += [z3.Or(sv, z3.Not(u.endpoint_present(j))) for j, sv in enumerate(u.ep_serving)]
    prefs += [z3.Not(t) for t in u.ep_terminating]
    prefs += [zone == -1 for zone in u.node_zone]
    return prefs


def minimal_violation(solver: z3.Solver | Watched, u: Universe, max_nodes: int, max_endpoints: int) -> Answer:
    """The smallest violation (fewest nodes, then fewest endpoints) among those whose endpoints all run
    on nodes of the cluster, if any, else among all; then the most ordinary-looking one of that size:
    readability preferences are added greedily, each kept only if a violation remains."""
    on_known_nodes = readability_preferences(u)[0]
    solver.push()
    solver.add(on_known_nodes)
    natural = _minimal(solver, u, max_nodes, max_endpoints)
    solver.pop()
    if natural.status != "unsat":  # sat, or unknown: a solver that gave up is asked nothing more
        return natural
    return _minimal(solver, u, max_nodes, max_endpoints)


class _Witness:
    """The last model found in the current scope, used to skip checks whose answer it already shows.

    A model that satisfies ``scope + [c]`` proves ``scope + [c]`` satisfiable, which is all a
    ``check()`` would have said; so a value the model already takes (a readability preference it meets,
    the least value of a variable) is adopted without asking the solver. Every decision still depends
    only on what is satisfiable, never on which model the solver happened to return, so the result
    (and a counterexample's id) is exactly what checking every candidate gives, with far fewer checks.
    """

    __slots__ = ("model",)

    def __init__(self, model: z3.ModelRef | None) -> None:
        self.model = model

    def value(self, var: Any) -> int | bool | None:
        """The model's value of an integer or Boolean variable."""
        if self.model is None:
            return None
        value = self.model.eval(var, model_completion=True)
        return z3.is_true(value) if z3.is_bool(value) else value.as_long()

    def shows(self, constraint: Any) -> bool:
        return self.model is not None and z3.is_true(self.model.eval(constraint, model_completion=True))

    def try_add(self, solver: z3.Solver | Watched, constraint: Any) -> bool:
        """Add ``constraint`` if satisfiable with the current scope, else leave no trace. (Callers pop
        back to the scope they started from, so a constraint the model shows needs no scope of its own:
        a push is not free either.)"""
        if self.shows(constraint):
            solver.add(constraint)
            return True
        solver.push()
        solver.add(constraint)
        result = solver.check()
        if result == z3.sat:
            self.model = solver.model()
            return True
        solver.pop()
        if result == z3.unknown:
            # An interrupted solver must not be asked again (Watched): its next "sat" may come with a
            # model of nothing. The minimisation ends here, in Unknown.
            raise _GaveUp(f"while minimising: {solver.reason_unknown()}")
        return False


class _GaveUp(Exception):
    """A check of the minimisation gave up (timeout): the answer is Unknown, never a model."""


def _minimal(solver: z3.Solver | Watched, u: Universe, max_nodes: int, max_endpoints: int) -> Answer:
    found = _least(solver, [], u.n_nodes, range(1, max_nodes + 1))
    if found is None:
        return Answer(status="unsat")
    if isinstance(found, str):
        return Answer(status="unknown", reason=found)
    nodes, _ = found
    found = _least(solver, [u.n_nodes == nodes], u.n_endpoints, range(0, max_endpoints + 1))
    if found is None or isinstance(found, str):
        return Answer(status="unknown", reason=str(found or "no violation found when minimising (this is a bug)"))
    endpoints, model = found
    witness = _Witness(model)
    scopes = solver.num_scopes()
    solver.push()
    solver.add(u.n_nodes == nodes, u.n_endpoints == endpoints)
    try:
        for preference in readability_preferences(u):
            witness.try_add(solver, preference)
        _canonicalise(solver, u, nodes, endpoints, witness)
    except _GaveUp as gave_up:
        while solver.num_scopes() > scopes:
            solver.pop()
        return Answer(status="unknown", reason=str(gave_up))
    result = solver.check()
    model = solver.model() if result == z3.sat else None
    while solver.num_scopes() > scopes:
        solver.pop()
    if model is None:
        return Answer(status="unknown", reason=f"while minimising: {solver.reason_unknown()}")
    return Answer(status="sat", decoded=decode(u, model))


PREFERRED_DESTINATIONS = (
    Destination.LOAD_BALANCER,
    Destination.NODE_PORT,
    Destination.EXTERNAL_IP,
    Destination.CLUSTER_IP,
    Destination.HEALTH_CHECK_NODE_PORT,
)


def _canonicalise(solver: z3.Solver | Watched, u: Universe, nodes: int, endpoints: int, witness: _Witness) -> None:
    """Fix every variable the decoder reads to its least value that still leaves a violation.

    The result depends only on what is satisfiable, never on the solver's history, so a claim's
    counterexample (and its id) is the same in every run and whatever was asked before. ``witness``
    (a model of the current scope) saves the checks whose answer it shows.
    """
    choices: list[tuple[Any, list[Any]]] = []

    def boolean(var: Any) -> None:
        choices.append((var, [False, True]))

    def integer(var: Any, low: int, high: int) -> None:
        choices.append((var, list(range(low, high + 1))))

    integer(u.client, 0, 2)
    integer(u.cilium_minor, OLDEST_CILIUM, NEWEST_CILIUM)
    boolean(u.cilium_external_cluster_ip)
    boolean(u.cilium_source_ranges_all_types)
    choices.append((u.cilium_pod_socket_lb, [True, False]))
    choices.append((u.cilium_no_backend_reject, [True, False]))
    choices.append((u.metallb_counts, [READY_OR_SERVING, SERVING, READY_ONLY]))  # the newest MetalLB first
    # Prefer the entry point people meet first: the load balancer, then NodePorts, externalIPs, ClusterIP;
    # then the simplest Service type that offers it.
    choices.append((u.destination, [int(d) for d in PREFERRED_DESTINATIONS]))
    integer(u.service_type, 0, 2)
    integer(u.handling_node, 0, nodes - 1)
    integer(u.client_node, -1, nodes - 1)
    for var in (
        u.etp_local,
        u.itp_local,
        u.has_external_ips,
        u.has_vip_ingress,
        u.has_source_ranges,
        u.has_detector,
        u.masquerade_all,
        u.address_captured,
        u.dst_ip_mode_proxy,
        u.dst_status_ip_mode_proxy,
        u.proxy_protocol,
        u.lb_preserves_client_ip,
        u.dst_is_localhost,
        u.src_in_cluster_cidr,
        u.src_allowed_by_ranges,
    ):
        boolean(var)
    for i in range(nodes):
        integer(u.node_zone[i], -1, u.zones - 1)
        boolean(u.node_draining[i])
        integer(u.node_lb_label[i], 0, 2)  # unlabelled first
    for j in range(endpoints):
        integer(u.ep_node[j], -1, nodes - 1)
        for var in (
            u.ep_ready[j],
            u.ep_serving[j],
            u.ep_terminating[j],
            u.ep_is_client[j],
            *u.ep_zone_hint[j],
            *u.ep_node_hint[j],
        ):
            boolean(var)
    integer(u.endpoint_choice, 0, max(endpoints - 1, 0))
    for var, values in choices:
        taken = witness.value(var)
        for value in values:
            if value == taken:  # the model shows it: no check
                solver.add(var == value)
                break
            if witness.try_add(solver, var == value):
                break


def _least(
    solver: z3.Solver | Watched, extra: list[Any], size: Any, candidates: range
) -> tuple[int, z3.ModelRef] | str | None:
    """The least candidate value of ``size`` with a violation, and a model of it (``None``: none; a
    string: unknown)."""
    for value in candidates:
        solver.push()
        solver.add(*extra, size == value)
        result = solver.check()
        model = solver.model() if result == z3.sat else None
        solver.pop()
        if model is not None:
            return value, model
        if result == z3.unknown:
            return f"while minimising: {solver.reason_unknown()}"
    return None


@solver_cache(maxsize=8)
def encoding(max_nodes: int, max_endpoints: int) -> tuple[Universe, World, z3.Solver]:
    """The universe, its World, and a solver holding the constraints every query shares."""
    u = Universe(max_nodes=max_nodes, max_endpoints=max_endpoints)
    world, outcome = symbolic_world(u, SmtOps(), Names(f"world_{max_nodes}_{max_endpoints}_"))
    return u, world, shared_solver(*u.well_formed(), *outcome)
