"""``Theory``: everything known about a system, validated once, read by every later step."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pint
import sympy

from tgds.exceptions import TheoryError, UnitError
from tgds.theory._build import _DIMENSIONLESS, _KIND_WORDS, Binding, Built, _tree_counts, symbol
from tgds.theory._compile import compile_sympy
from tgds.theory._constraints import (
    AbstractConstraint,
    Bounds,
    Equation,
    Invariance,
    Monotonic,
    Shape,
    vacuous_equation,
)
from tgds.theory._expression import SymbolicExpression
from tgds.theory._physics import PhysicsModel
from tgds.theory._relation import Relation
from tgds.theory._units import (
    UnitInfo,
    conversion_factor,
    dimension_text,
    offset_scale,
    parse_unit,
    ureg,
)
from tgds.theory._variables import Parameter, Variable

__all__ = ["Theory"]

_KIND_OF_ROLE = {"input": "input", "time": "input", "target": "field", "group": "other"}


@contextmanager
def _part(section: str, key: str | int | None) -> Iterator[None]:
    """Tag a :class:`TheoryError` raised inside with the part of the theory it is about.

    The tag, ``err.theory_part = (section, key)`` (``("relations", "density")``,
    ``("constraints", 0)`` for the first constraint, ``("physics_model", None)``), lets
    :func:`tgds.theory._toml.theory_from_toml` say where in a file that part is written;
    the message itself is left as it is. The innermost tag wins.
    """
    try:
        yield
    except TheoryError as err:
        if getattr(err, "theory_part", None) is None:
            err.theory_part = (section, key)
        raise


def _as_tuple(value: object, cls: type, what: str) -> tuple:
    if value is None:
        return ()
    if isinstance(value, cls):
        value = (value,)
    if not isinstance(value, list | tuple):
        raise TheoryError(
            f"theory {what} must be a list of {cls.__name__}; got {type(value).__name__}."
        )
    for item in value:
        if not isinstance(item, cls):
            raise TheoryError(
                f"theory {what} must contain {cls.__name__} objects; got {type(item).__name__} {item!r:.60}."
            )
    return tuple(value)


def _as_relations(value: object) -> tuple[Relation, ...]:
    if isinstance(value, Mapping):
        out = []
        for name, spec in value.items():
            if isinstance(spec, Relation):
                if spec.name != name:
                    raise TheoryError(f"relation listed as {name!r} is named {spec.name!r}.")
                out.append(spec)
            elif isinstance(spec, Mapping):
                out.append(Relation(name=name, **spec))
            else:
                out.append(Relation(name=name, expression=spec))
        return tuple(out)
    return _as_tuple(value, Relation, "relations")


@dataclass(frozen=True)
class Theory:
    """What a team knows about a system: variables, parameters, relations, constraints, a physics model.

    A theory is immutable and validated when built: unknown or duplicate names,
    bounds out of order, constraints on quantities that do not exist, contradictory
    constraints, and dimensional inconsistency in every relation, equation and
    physics-model expression are refused with a :class:`~tgds.exceptions.TheoryError`.

    Parameters
    ----------
    variables : list of Variable
        The data columns (inputs, targets, groups, time).
    parameters : list of Parameter
        Constants of the physics, known or to be calibrated.
    relations : dict name -> expression, or list of Relation
        Named derived quantities.
    constraints : list of constraints
        ``Bounds``, ``Monotonic``, ``Equation``, ``Invariance``, ``Interactions``, ``Shape``.
    physics_model : PhysicsModel, optional
        A theory-based model of the targets.
    name, description : str
        For reports.

    Examples
    --------
    >>> theory = Theory(
    ...     variables=[Variable("Depth", "m", bounds=(0, 25)), Variable("Date", role="group"),
    ...                Variable("T", "degC", bounds=(0, 35), role="target")],
    ...     relations={"density": Relation("density", "1000*(1 - (T + 288.9414)*(T - 3.9863)**2"
    ...                                    "/(508929.2*(T + 68.12963)))", unit="kg/m^3", empirical=True)},
    ...     constraints=[Monotonic("density", wrt="Depth", within="Date")],
    ... )
    >>> theory.targets
    ('T',)
    """

    variables: tuple[Variable, ...]
    parameters: tuple[Parameter, ...] = ()
    relations: tuple[Relation, ...] = ()
    constraints: tuple[AbstractConstraint, ...] = ()
    physics_model: PhysicsModel | None = None
    name: str = ""
    description: str = ""
    _bound: dict[str, Built] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "variables", _as_tuple(self.variables, Variable, "variables"))
        object.__setattr__(self, "parameters", _as_tuple(self.parameters, Parameter, "parameters"))
        object.__setattr__(self, "relations", _as_relations(self.relations))
        object.__setattr__(
            self, "constraints", _as_tuple(self.constraints, AbstractConstraint, "constraints")
        )
        if self.physics_model is not None and not isinstance(self.physics_model, PhysicsModel):
            raise TheoryError(
                f"theory physics_model must be a PhysicsModel; got {type(self.physics_model).__name__}."
            )
        for key in ("name", "description"):
            if not isinstance(getattr(self, key), str):
                raise TheoryError(
                    f"theory {key} must be a string; got {type(getattr(self, key)).__name__}."
                )
        if not self.variables:
            raise TheoryError("a theory needs at least one variable.")
        self._check_unique_names()
        self._check_constraint_labels()
        env = self._environment()
        self._bind_relations(env)
        for i, constraint in enumerate(self.constraints):
            with _part("constraints", i):
                self._check_constraint(constraint, env)
        self._check_contradictions()
        if self.physics_model is not None:
            with _part("physics_model", None):
                self._check_physics_model(env)

    # -- lookup ---------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """Every name the theory defines: variables, parameters, relations."""
        return (
            tuple(v.name for v in self.variables)
            + tuple(p.name for p in self.parameters)
            + tuple(r.name for r in self.relations)
        )

    def _with_role(self, *roles: str) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables if v.role in roles)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Input variables (role ``input`` or ``time``), in declaration order."""
        return self._with_role("input", "time")

    @property
    def targets(self) -> tuple[str, ...]:
        """Target variables, in declaration order."""
        return self._with_role("target")

    @property
    def groups(self) -> tuple[str, ...]:
        """Grouping variables."""
        return self._with_role("group")

    def variable(self, name: str) -> Variable:
        """The variable ``name``; a :class:`TheoryError` listing the variables if there is none."""
        for v in self.variables:
            if v.name == name:
                return v
        raise TheoryError(
            f"the theory has no variable {name!r}; its variables are {', '.join(v.name for v in self.variables)}."
        )

    def parameter(self, name: str) -> Parameter:
        """The parameter ``name``."""
        for p in self.parameters:
            if p.name == name:
                return p
        raise TheoryError(
            f"the theory has no parameter {name!r}; its parameters are {', '.join(p.name for p in self.parameters) or 'none'}."
        )

    def relation(self, name: str) -> Relation:
        """The relation ``name``."""
        for r in self.relations:
            if r.name == name:
                return r
        raise TheoryError(
            f"the theory has no relation {name!r}; its relations are {', '.join(r.name for r in self.relations) or 'none'}."
        )

    def unit_of(self, name: str) -> UnitInfo:
        """The unit of a variable, parameter or relation."""
        if name in self._bound:
            return self._bound[name].info
        for item in self.variables + self.parameters:
            if item.name == name:
                return item.unit_info
        raise TheoryError(
            f"the theory defines no quantity {name!r}; it knows {', '.join(self.names)}."
        )

    # -- compiled quantities --------------------------------------------------------------
    def expression_of(self, name: str) -> SymbolicExpression:
        """A relation as a compiled-ready expression of variables and parameters only.

        Relations it uses are inlined and unit conversions inserted; the result is in
        the relation's unit (:meth:`unit_of`).

        Examples
        --------
        >>> lake = Theory.from_toml("examples/lake.toml")  # doctest: +SKIP
        >>> lake.expression_of("density").evaluate({"Observed_temp": 4.0})  # doctest: +SKIP
        array(1000.)
        """
        self.relation(name)
        return SymbolicExpression(self._bound[name].expr, f"relation {name!r}")

    def residual_of(self, equation: Equation) -> tuple[SymbolicExpression, frozenset]:
        """The bound residual of an equation constraint and the derivatives it needs."""
        if equation not in self.constraints:
            raise TheoryError(f"{equation!r} is not one of this theory's constraints.")
        built = self._bound[_equation_key(equation)]
        return SymbolicExpression(built.expr, f"equation {equation.label!r}"), built.derivatives

    def physics_expression_of(self, target: str) -> SymbolicExpression:
        """The physics model's expression for ``target`` (an output or an ODE rate), bound."""
        key = f"physics:{target}"
        if key not in self._bound:
            raise TheoryError(f"the physics model has no expression for {target!r}.")
        return SymbolicExpression(self._bound[key].expr, f"physics model for {target!r}")

    def target_bounds(self, name: str) -> tuple[float, float]:
        """The limits of a variable: its own bounds intersected with every ``Bounds`` constraint
        on it that gives limits; ``(-inf, inf)`` when there are none.

        Examples
        --------
        >>> t = Theory([Variable("y", bounds=(0, 10), role="target")], constraints=[Bounds("y", upper=5)])
        >>> t.target_bounds("y")
        (0.0, 5.0)
        """
        lo, hi = self.variable(name).bounds or (-math.inf, math.inf)
        for c in self.constraints:
            if isinstance(c, Bounds) and c.quantity == name:
                lo = lo if c.lower is None else max(lo, c.lower)
                hi = hi if c.upper is None else min(hi, c.upper)
        return lo, hi

    def parameter_values(self) -> dict[str, float]:
        """The parameters that have a value, name -> value."""
        return {p.name: p.value for p in self.parameters if p.value is not None}

    # -- validation -------------------------------------------------------------------------
    def _check_unique_names(self) -> None:
        seen: dict[str, str] = {}
        for what, items in (
            ("variable", self.variables),
            ("parameter", self.parameters),
            ("relation", self.relations),
        ):
            for item in items:
                if item.name in seen:
                    with _part(f"{what}s", item.name):
                        raise TheoryError(
                            f"the name {item.name!r} is used twice: by a {seen[item.name]} and by a {what}."
                        )
                seen[item.name] = what

    def _check_constraint_labels(self) -> None:
        """Refuse two different constraints with one label: its name, or its statement when
        it has none. Models (``physics=[...]``, ``physics_weight={...}``), audits and
        reports pick constraints by label. A constraint repeated exactly is no ambiguity."""
        first: dict[str, int] = {}
        for i, c in enumerate(self.constraints):
            j = first.setdefault(c.label, i)
            if j == i or self.constraints[j] == c:
                continue
            earlier = self.constraints[j]
            if c.name is not None and earlier.name is not None:
                head = f"two constraints are named {c.label!r}"
            else:
                head = (
                    f"two constraints have the label {c.label!r} (a constraint without a "
                    "name is labelled by its statement)"
                )
            with _part("constraints", i):
                raise TheoryError(
                    f"{head}: {_statement(earlier, j)} and {_statement(c, i)}. Models "
                    "(physics=[...], physics_weight={...}) and audits pick constraints by "
                    "this label, so each must be unique; rename one of them."
                )

    def _environment(self) -> dict[str, Binding]:
        env = {
            v.name: Binding(symbol(v.name), v.unit_info, _KIND_OF_ROLE[v.role])
            for v in self.variables
        }
        env.update(
            {p.name: Binding(symbol(p.name), p.unit_info, "parameter") for p in self.parameters}
        )
        return env

    def _bind_relations(self, env: dict[str, Binding]) -> None:
        pending = {r.name: r for r in self.relations}
        while pending:
            ready = [r for r in pending.values() if not (r.expression.names & set(pending))]
            if not ready:
                on_cycle = _on_cycle(pending)
                with _part("relations", on_cycle[0]):
                    raise TheoryError(
                        f"relations {', '.join(sorted(on_cycle))} refer to each other in a cycle; "
                        "a relation cannot depend on itself."
                    )
            for rel in ready:
                with _part("relations", rel.name):
                    built = self._bind_relation(rel, env)
                self._bound[rel.name] = built
                env[rel.name] = Binding(built.expr, built.info, "relation")
                del pending[rel.name]

    def _bind_relation(self, rel: Relation, env: dict[str, Binding]) -> Built:
        owner = f"relation {rel.name!r}"
        if rel.empirical:
            plain = {n: Binding(b.expr, _DIMENSIONLESS, b.kind) for n, b in env.items()}
            built = rel.expression.bind(plain, owner)
            return Built(built.expr, parse_unit(rel.unit), built.derivatives)
        built = rel.expression.bind(env, owner)
        if rel.unit is None:
            return built
        return _convert(built, parse_unit(rel.unit), f"{owner} (declared unit {rel.unit!r})")

    def _check_constraint(self, c: AbstractConstraint, env: dict[str, Binding]) -> None:
        owner = f"constraint {c.label!r}"
        for name, role in c.referenced_names().items():
            if name not in env or env[name].kind == "parameter":
                known = ", ".join(n for n, b in env.items() if b.kind != "parameter")
                raise TheoryError(
                    f"{owner} refers to {name!r}, which is not a variable or relation of the theory; known: {known}."
                )
            kind = env[name].kind
            if role == "input" and kind != "input":
                raise TheoryError(
                    f"{owner}: {name!r} must be an input variable (role 'input' or 'time'); it is {_KIND_WORDS[kind]}."
                )
            if role == "group" and kind not in ("input", "other"):
                raise TheoryError(
                    f"{owner}: {name!r} must be a grouping or input variable; it is {_KIND_WORDS[kind]}."
                )
            if role == "quantity" and kind == "other":
                raise TheoryError(
                    f"{owner}: {name!r} is a grouping variable, not a quantity that can be constrained."
                )
        if isinstance(c, Monotonic | Shape) and c.quantity == c.wrt:
            raise TheoryError(
                f"{owner} constrains {c.quantity!r} along itself; 'quantity' must be a target or "
                "relation and 'wrt' another variable (an input)."
            )
        if isinstance(c, Monotonic | Shape):
            self._check_on_targets(c, owner)
        if isinstance(c, Equation):
            self._bound[_equation_key(c)] = self._bind_equation(c, env)
        elif isinstance(c, Bounds) and c.lower is None and c.upper is None:
            if (
                c.quantity not in {v.name for v in self.variables}
                or self.variable(c.quantity).bounds is None
            ):
                raise TheoryError(
                    f"{owner} gives no limits, so {c.quantity!r} must be a variable with bounds."
                )
        elif isinstance(c, Invariance):
            self._check_transform_units(c, owner)

    def _check_on_targets(self, c: Monotonic | Shape, owner: str) -> None:
        """Refuse a monotonic or shape constraint on a quantity that involves no target: it
        describes the data, which no model can change, so training and audits ignore it."""
        targets = set(self.targets)
        if c.quantity in targets:
            return
        if c.quantity in self._bound:  # a relation
            used = {s.name for s in self._bound[c.quantity].expr.free_symbols}
            if used & targets or any(n.startswith("D(") for n in used):
                return
            of = f"of {', '.join(sorted(used))} only" if used else "that is a constant"
            what = f"a relation {of}, which involves no target"
            params = sorted(used & {p.name for p in self.parameters})
        else:
            what = f"{_KIND_WORDS[_KIND_OF_ROLE[self.variable(c.quantity).role]]}, not a target"
            params = []
        hint = (
            f" To limit the parameter(s) {', '.join(params)}, give them 'bounds' or a 'prior'."
            if params
            else ""
        )
        raise TheoryError(
            f"{owner}: {c.quantity!r} is {what}, so {c.describe()!r} is a statement about "
            "the data, not about a model's predictions: no model can make it hold or fail, "
            f"so there is nothing to train or audit. The quantity of a {c.kind} constraint "
            f"must be a target or a relation that uses one; got {c.quantity!r}.{hint}"
        )

    def _bind_equation(self, c: Equation, env: dict[str, Binding]) -> Built:
        """The bound residual of ``c``; refused if it involves no variable or is zero for
        every value of its variables (``x - x``, ``sin(x)**2 + cos(x)**2 - 1``)."""
        # the error quotes the text after the owner: name an unnamed equation only where
        # its label is not that text (``x + y = 0`` for the residual ``x + y``)
        owner = "equation" if c.label == c.residual.text else f"equation {c.label!r}"
        built = c.residual.bind(env, owner)
        used = {s.name for s in built.expr.free_symbols}
        variables = {v.name for v in self.variables}
        if used & variables or any(n.startswith("D(") for n in used):
            if not _identically_zero(built.expr):
                return built
            used = set()
            expr = sympy.Integer(0)
        else:
            expr = built.expr
        written = c.residual.names & (variables | {r.name for r in self.relations})
        raise TheoryError(vacuous_equation(owner, c.residual.text, expr, written, used))

    def _check_transform_units(self, c: Invariance, owner: str) -> None:
        if c.transform.kind in ("rotation", "permutation"):
            units = {v: self.variable(v).unit_info for v in c.transform.variables}
            if len({(u.unit, u.offset) for u in units.values()}) != 1:
                shown = ", ".join(f"{v} [{self.variable(v).unit}]" for v in units)
                raise UnitError(
                    f"{owner}: a {c.transform.kind} mixes variables of different units: {shown}."
                )
        if c.transform.kind == "scaling" and any(
            self.variable(v).unit_info.offset for v in c.transform.variables
        ):
            raise UnitError(
                f"{owner}: scaling an offset temperature (degC) depends on the scale's zero; use kelvin."
            )

    def _check_contradictions(self) -> None:
        seen: dict[tuple, str] = {}
        for i, c in enumerate(self.constraints):
            if not isinstance(c, Monotonic | Shape):
                continue
            with _part("constraints", i):
                self._check_direction(c, seen)
        limits: dict[str, tuple[float, float, str]] = {}
        for v in self.variables:
            if v.bounds is not None:
                limits[v.name] = (*v.bounds, f"the bounds of variable {v.name!r}")
        for i, c in enumerate(self.constraints):
            if isinstance(c, Bounds) and not (c.lower is None and c.upper is None):
                with _part("constraints", i):
                    self._check_limits(c, limits)

    @staticmethod
    def _check_direction(c: Monotonic | Shape, seen: dict[tuple, str]) -> None:
        """Refuse ``c`` if an earlier constraint gives its quantity the opposite direction."""
        key = (type(c), c.quantity, c.wrt, None if c.within is None else frozenset(c.within))
        value = c.direction if isinstance(c, Monotonic) else c.curvature
        if seen.get(key, value) != value:
            raise TheoryError(
                f"contradictory constraints: {c.quantity!r} is declared both {seen[key]} and {value} in {c.wrt!r}."
            )
        seen[key] = value

    @staticmethod
    def _check_limits(c: Bounds, limits: dict[str, tuple[float, float, str]]) -> None:
        """Refuse bounds ``c`` that leave no range with the bounds already in ``limits``."""
        lo = -math.inf if c.lower is None else c.lower
        hi = math.inf if c.upper is None else c.upper
        if c.quantity in limits:
            plo, phi, source = limits[c.quantity]
            if max(lo, plo) >= min(hi, phi):
                meet = max(lo, plo) == min(hi, phi)
                raise TheoryError(
                    f"contradictory constraints: bounds [{lo:g}, {hi:g}] on {c.quantity!r} "
                    + (
                        f"meet {source} [{plo:g}, {phi:g}] only at {max(lo, plo):g}, which leaves no range"
                        if meet
                        else f"do not overlap {source} [{plo:g}, {phi:g}]"
                    )
                    + "."
                )
            lo, hi = max(lo, plo), min(hi, phi)
        limits[c.quantity] = (lo, hi, f"the bounds already declared on {c.quantity!r}")

    def _check_physics_model(self, env: dict[str, Binding]) -> None:
        pm = self.physics_model
        targets = set(self.targets)
        for name in pm.predicted:
            if name not in targets:
                raise TheoryError(
                    f"the physics model predicts {name!r}, which is not a target variable; targets: {sorted(targets)}."
                )
        if pm.time is not None and pm.time not in self.inputs:
            raise TheoryError(
                f"the physics model's time {pm.time!r} must be an input or time variable; inputs: {list(self.inputs)}."
            )
        for name, expr in pm.expressions.items():
            owner = f"physics model {pm.kind}[{name!r}]"
            built = expr.bind(env, owner)
            if built.derivatives:
                raise TheoryError(
                    f"{owner} contains D(...); write governing equations as Equation constraints."
                )
            if pm.time is None:  # outputs: computed from inputs and parameters, never from a label
                used = sorted({str(sym) for sym in built.expr.free_symbols} & targets)
                if used:
                    raise TheoryError(
                        f"{owner} uses the target(s) {used}; a physics model's outputs are "
                        "expressions of inputs and parameters (a target is what it predicts)."
                    )
            want = self.unit_of(name)
            if pm.time is not None:  # a rate: state unit per time unit
                want = UnitInfo(want.unit / self.unit_of(pm.time).unit)
            self._bound[f"physics:{name}"] = _convert(built, want, owner)

    # -- I/O and display (implemented in their own modules) ----------------------------------
    @classmethod
    def from_toml(cls, source: str | Path) -> Theory:
        """Read a theory from a TOML file path or TOML text. See :mod:`tgds.theory._toml`."""
        from tgds.theory._toml import theory_from_toml

        return theory_from_toml(source)

    def to_toml(self, path: str | Path | None = None) -> str:
        """The theory as TOML text; written atomically to ``path`` when given."""
        from tgds.theory._toml import theory_to_toml

        return theory_to_toml(self, path)

    def sample(
        self,
        n: int,
        *,
        variables: Any = None,
        bounds: Mapping[str, Any] | None = None,
        method: str = "halton",
        seed: int | None = None,
    ) -> Any:
        """``n`` points spread over the box of the inputs' bounds, as a pandas DataFrame.

        Collocation points for physics terms, which need no labels:
        ``model.fit(df, X_unlabeled=theory.sample(2000, seed=0))``. ``variables`` (default:
        the theory's inputs) must have finite bounds, declared or given in ``bounds``
        (name -> (low, high)). ``method="halton"``: a scrambled Halton sequence, which covers
        the box more evenly than ``"uniform"`` random points. ``seed`` makes either
        reproducible.

        Examples
        --------
        >>> t = Theory([Variable("x", "m", bounds=(0, 2)), Variable("t", "s", role="time"),
        ...             Variable("u", "m/s", role="target")])
        >>> pts = t.sample(100, bounds={"t": (0, 1)}, seed=0)
        >>> pts.shape, bool(pts["x"].between(0, 2).all() and pts["t"].between(0, 1).all())
        ((100, 2), True)
        """
        from tgds.theory._sample import sample_domain

        return sample_domain(self, n, variables=variables, bounds=bounds, method=method, seed=seed)

    def check_data(self, data: Any, *, strict: bool = False) -> Any:
        """Check a DataFrame against the theory; see :func:`tgds.theory.check_data`."""
        from tgds.theory._check import check_data

        return check_data(self, data, strict=strict)

    def __str__(self) -> str:
        from tgds.theory._display import theory_text

        return theory_text(self)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return (
            f"<Theory{label}: {len(self.variables)} variables, {len(self.parameters)} parameters, "
            f"{len(self.relations)} relations, {len(self.constraints)} constraints"
            f"{', a physics model' if self.physics_model else ''}>"
        )

    def _repr_html_(self) -> str:
        from tgds.theory._display import theory_html

        return theory_html(self)


def _statement(c: AbstractConstraint, index: int) -> str:
    """``constraint 2 (bounds '0 <= H <= 50')``, for messages about several constraints."""
    return f"constraint {index + 1} ({c.kind} {c.describe()!r})"


#: The largest residual (in tree nodes) whose vanishing at random points is confirmed by
#: ``sympy.simplify``; a larger one is accepted unconfirmed.
_ZERO_CHECK_TERMS = 300
_ZERO_CHECK_POINTS = 5


def _identically_zero(expr: sympy.Expr) -> bool:
    """Whether ``expr`` is 0 for every value of its symbols, though sympy did not fold it.

    ``x - x`` is folded to 0 when it is built; ``sin(x)**2 + cos(x)**2 - 1`` or
    ``(x + 1)**2 - x**2 - 2*x - 1`` are not. A cheap screen first: ``expr`` at a few
    random points, relative to the size of its terms; only a small residual that
    vanishes at every one of them is handed to ``sympy.simplify`` to confirm.
    """
    if expr == 0:
        return True
    if not expr.free_symbols or _tree_counts(expr, {})[0] > _ZERO_CHECK_TERMS:
        return False
    rng = np.random.default_rng(0)
    values = {
        s.name: rng.uniform(0.5, 2.0, _ZERO_CHECK_POINTS)
        for s in sorted(expr.free_symbols, key=str)
    }
    try:
        with np.errstate(all="ignore"):
            r = np.abs(np.asarray(compile_sympy(expr, np)(values), dtype=float))
            size = sum(
                np.abs(np.asarray(compile_sympy(t, np)(values), dtype=float))
                for t in sympy.Add.make_args(expr)
            )
    except (ArithmeticError, ValueError, TypeError):
        return False
    if not (np.all(np.isfinite(r)) and np.all(r <= 1e-9 * size)):
        return False
    try:
        return sympy.simplify(expr) == 0
    except (ArithmeticError, ValueError, TypeError, AttributeError, RecursionError):
        return False


def _equation_key(c: Equation) -> str:
    return f"equation:{c.residual.text}"


def _convert(built: Built, want: UnitInfo, owner: str) -> Built:
    """``built`` expressed in the unit ``want`` (same dimension required; an exact zero, e.g.
    the rate ``"0"`` of a constant state, is zero in any unit but an offset temperature's)."""
    if built.expr == 0 and not want.offset:
        return Built(sympy.Integer(0), want, built.derivatives)
    have = built.info
    if have.unit.dimensionality != want.unit.dimensionality:
        raise UnitError(
            f"{owner}: the expression has dimension {dimension_text(have.unit)} but "
            f"{dimension_text(want.unit)} is expected."
        )
    if have.offset != want.offset:
        raise _offset_mismatch(owner, have, want)
    if have.offset and have.unit != want.unit:
        raise UnitError(
            f"{owner}: converting between offset temperature units ({have.unit} to {want.unit}) is not supported; use one unit."
        )
    factor = conversion_factor(have.unit, want.unit)
    expr = built.expr if factor == 1.0 else built.expr * sympy.Float(factor)
    return Built(expr, want, built.derivatives)


def _offset_mismatch(owner: str, have: UnitInfo, want: UnitInfo) -> UnitError:
    """Why a value cannot be converted between an offset temperature and another unit.

    Units are converted by a factor only. An absolute temperature in degC converts to
    kelvin by a shift as well (adding 273.15), but tgds never shifts: a value in kelvin is
    carried like a temperature difference (``T_degC + dT_K`` is a degC temperature), so it
    cannot tell a kelvin temperature from a difference.
    """
    plain, offset = (want.unit, have.unit) if have.offset else (have.unit, want.unit)
    scale = offset_scale(offset)
    if str(plain).startswith("delta_"):  # a temperature difference, by its unit
        if have.offset:
            return UnitError(
                f"{owner}: the expression is an offset temperature ({scale}), but a "
                f"temperature difference ({plain}) is expected; subtract a reference "
                "temperature (T - T0) to make a difference."
            )
        return UnitError(
            f"{owner}: the expression is a temperature difference ({plain}), but an "
            f"offset temperature ({scale}) is expected; add the difference to an offset "
            "temperature (T0 + dT)."
        )
    s, p = _short(scale), _short(plain)
    rule = (
        f"converting a temperature between {s} and {p} needs a shift{_shift_text(scale, plain)} "
        f"as well as a factor, and tgds converts units by a factor only (it takes a value in "
        f"{p} beside an offset temperature for a temperature difference)"
    )
    formula = _shift_formula(scale, plain, to_plain=have.offset)
    if have.offset:
        return UnitError(
            f"{owner}: the expression is an offset temperature ({s}), but {p} is expected, "
            f"which is not an offset unit; {rule}. Declare the unit {s!r}, or convert in a "
            f"relation declared empirical{formula}."
        )
    return UnitError(
        f"{owner}: an offset temperature ({s}) is expected, but the expression is in {p}, "
        f"which is not an offset unit; {rule}. Declare the unit {p!r}, or convert in a "
        f"relation declared empirical{formula}."
    )


def _short(unit: pint.Unit) -> str:
    """A unit as it is declared: ``K``, ``degC``, ``degR``."""
    return f"{unit:~}".replace("°", "deg")


def _on_scale(value: float, scale: pint.Unit, unit: pint.Unit) -> float | None:
    """``value`` on the offset ``scale`` in ``unit`` (0 degC is 273.15 K); None if pint cannot."""
    try:
        return float(ureg.Quantity(value, scale).to(unit).magnitude)
    except pint.errors.PintError:
        return None


def _shift_text(scale: pint.Unit, unit: pint.Unit) -> str:
    zero = _on_scale(0.0, scale, unit)
    return "" if zero is None else f" (0 {_short(scale)} is {zero:g} {_short(unit)})"


def _shift_formula(scale: pint.Unit, unit: pint.Unit, to_plain: bool) -> str:
    """``(expression = 'T + 273.15', unit = 'K', empirical = true)`` where the conversion
    is a shift alone (degC and K, degF and degR); empty otherwise."""
    zero, one = _on_scale(0.0, scale, unit), _on_scale(1.0, scale, unit)
    if zero is None or one is None or not math.isclose(one - zero, 1.0):
        return ""
    sign, declared = ("+", unit) if to_plain else ("-", scale)
    return f" (expression = 'T {sign} {zero:g}', unit = '{_short(declared)}', empirical = true)"


def _on_cycle(pending: dict[str, Relation]) -> list[str]:
    """The relations among ``pending`` that depend on themselves (directly or not)."""
    deps = {n: r.expression.names & set(pending) for n, r in pending.items()}

    def reaches(start: str, goal: str) -> bool:
        seen, stack = set(), list(deps[start])
        while stack:
            n = stack.pop()
            if n == goal:
                return True
            if n not in seen:
                seen.add(n)
                stack.extend(deps[n])
        return False

    return [n for n in pending if reaches(n, n)]
