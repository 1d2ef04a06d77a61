"""Constraints: what the theory says predictions must satisfy.

Every constraint is a frozen dataclass, validated when it is built; the theory checks
that the names it refers to exist. The same object is read by training (as a
differentiable penalty) and by auditing (as a violation check), so it holds only what
the physics says, never how it is enforced.
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from tgds.exceptions import TheoryError
from tgds.theory._expression import Expression, as_expression
from tgds.theory._variables import check_choice, check_name, check_number, format_number

__all__ = [
    "AbstractConstraint",
    "Bounds",
    "Monotonic",
    "Equation",
    "Invariance",
    "Interactions",
    "Shape",
    "AbstractTransform",
    "Reflection",
    "Translation",
    "Scaling",
    "Rotation",
    "Permutation",
    "CONSTRAINTS",
    "TRANSFORMS",
    "vacuous_equation",
]


def _names(value: object, what: str, minimum: int = 1) -> tuple[str, ...]:
    """A tuple of names from a name or a sequence of names."""
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or len(items) < minimum:
        raise TheoryError(
            f"{what} must be a name or a list of at least {minimum} names; got {value!r:.60}."
        )
    out = tuple(check_name(v, what) for v in items)
    if len(set(out)) != len(out):
        raise TheoryError(f"{what} lists a name twice: {list(out)}.")
    return out


def _optional_name(value: object, what: str) -> str | None:
    return None if value is None else check_name(value, what)


def _check_within(kind: str, quantity: str, wrt: str, within: tuple[str, ...] | None) -> None:
    """Refuse groups that leave a monotonic or shape constraint nothing to compare."""
    if within is not None and wrt in within:
        raise TheoryError(
            f"{kind} constraint on {quantity!r}: 'within' lists {wrt!r}, the variable of 'wrt'; "
            f"each group would hold one value of {wrt!r}, so there is nothing to compare. "
            f"Remove {wrt!r} from 'within'."
        )


class _Serialisable:
    """``to_dict``/``from_dict`` for the frozen dataclasses below (TOML I/O)."""

    kind: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None or (f.default is not dataclasses.MISSING and value == f.default):
                continue
            if isinstance(value, _Serialisable):
                value = value.to_dict()
            elif isinstance(value, Expression):
                value = value.text
            elif isinstance(value, tuple):
                value = [list(v) if isinstance(v, tuple) else v for v in value]
            out[f.name] = value
        return out

    @classmethod
    def from_fields(cls, data: dict[str, Any], owner: str) -> _Serialisable:
        fields_ = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - set(fields_) - {"kind"})
        if unknown:
            raise TheoryError(
                f"{owner}: unknown key(s) {unknown} for a {cls.kind!r}; allowed keys: {', '.join(fields_)}."
            )
        required = [
            n
            for n, f in fields_.items()
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        missing = [n for n in required if n not in data]
        if missing:
            raise TheoryError(f"{owner}: a {cls.kind!r} needs key(s) {missing}.")
        return cls(**{k: v for k, v in data.items() if k != "kind"})


# -- transforms for invariances ----------------------------------------------------------
class AbstractTransform(_Serialisable, ABC):
    """A transformation of the inputs; ``variables`` lists the inputs it changes.

    ``images(values)`` applies it to a mapping variable -> value (NumPy or JAX arrays or
    numbers, only arithmetic is used), so training terms and audits share one definition.
    It returns a list of images: one, or several transforms that generate the group.
    """

    variables: tuple[str, ...]

    #: Whether ``T`` applied some number of times (or a limit of that) is the identity, as
    #: for a reflection: ``f(T x) = s f(x)`` then holds only for ``s = 1`` or ``-1`` (or f = 0).
    periodic: ClassVar[bool] = False

    @abstractmethod
    def images(self, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The transformed values of ``variables`` (one dict per generator)."""

    def describe(self) -> str:
        """A short description, e.g. ``reflection of x about 0``."""
        return f"{self.kind} of {', '.join(self.variables)}"


@dataclass(frozen=True)
class Reflection(AbstractTransform):
    """``x -> 2*about - x`` for the variable ``variable``."""

    variable: str
    about: float = 0.0
    kind: ClassVar[str] = "reflection"
    periodic: ClassVar[bool] = True

    def __post_init__(self) -> None:
        check_name(self.variable, "reflection variable")
        object.__setattr__(self, "about", check_number(self.about, "reflection 'about'"))

    @property
    def variables(self) -> tuple[str, ...]:
        return (self.variable,)

    def images(self, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [{self.variable: 2 * self.about - values[self.variable]}]

    def describe(self) -> str:
        return f"reflection of {self.variable} about {format_number(self.about)}"


@dataclass(frozen=True)
class Translation(AbstractTransform):
    """``x_i -> x_i + shift_i`` (shifts in each variable's unit)."""

    variables: tuple[str, ...]
    shift: tuple[float, ...]
    kind: ClassVar[str] = "translation"

    def __post_init__(self) -> None:
        object.__setattr__(self, "variables", _names(self.variables, "translation variables"))
        shift = (self.shift,) if isinstance(self.shift, int | float) else self.shift
        if not isinstance(shift, list | tuple) or len(shift) != len(self.variables):
            raise TheoryError(
                f"translation shift must give one number per variable {list(self.variables)}; got {self.shift!r:.60}."
            )
        object.__setattr__(
            self, "shift", tuple(check_number(s, "translation shift") for s in shift)
        )

    def images(self, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [{v: values[v] + s for v, s in zip(self.variables, self.shift, strict=True)}]

    def describe(self) -> str:
        shifts = ", ".join(map(format_number, self.shift))
        return f"translation of {', '.join(self.variables)} by {shifts}"


@dataclass(frozen=True)
class Scaling(AbstractTransform):
    """``x_i -> factor * x_i`` for every listed variable."""

    variables: tuple[str, ...]
    factor: float
    kind: ClassVar[str] = "scaling"

    def __post_init__(self) -> None:
        object.__setattr__(self, "variables", _names(self.variables, "scaling variables"))
        f = check_number(self.factor, "scaling factor")
        if f <= 0 or f == 1:
            raise TheoryError(f"scaling factor must be positive and not 1; got {self.factor!r}.")
        object.__setattr__(self, "factor", f)

    def images(self, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [{v: values[v] * self.factor for v in self.variables}]

    def describe(self) -> str:
        return f"scaling of {', '.join(self.variables)} by {format_number(self.factor)}"


@dataclass(frozen=True)
class Rotation(AbstractTransform):
    """Rotation of the plane of two variables (same unit) by ``angle`` radians."""

    variables: tuple[str, ...]
    angle: float
    kind: ClassVar[str] = "rotation"
    periodic: ClassVar[bool] = True  # the orbit of a point is a circle

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "variables", _names(self.variables, "rotation variables", minimum=2)
        )
        if len(self.variables) != 2:
            raise TheoryError(
                f"a rotation acts on exactly two variables; got {list(self.variables)}."
            )
        a = check_number(self.angle, "rotation angle")
        if math.isclose(math.remainder(a, 2 * math.pi), 0.0, abs_tol=1e-12):
            raise TheoryError(f"rotation angle {a} is a multiple of 2*pi, which changes nothing.")
        object.__setattr__(self, "angle", a)

    def images(self, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        a, b = self.variables
        c, s = math.cos(self.angle), math.sin(self.angle)
        return [{a: c * values[a] - s * values[b], b: s * values[a] + c * values[b]}]

    def describe(self) -> str:
        return f"rotation of {', '.join(self.variables)} by {format_number(self.angle)} rad"


@dataclass(frozen=True)
class Permutation(AbstractTransform):
    """Any permutation of the listed variables (same unit).

    With ``Invariance(..., output_scale=-1)`` the quantity is antisymmetric: it changes
    sign when two variables are exchanged, so ``images`` are odd permutations only.

    Examples
    --------
    >>> [sorted(image.items()) for image in Permutation(("a", "b", "c")).images(
    ...     {"a": 1, "b": 2, "c": 3})]
    [[('a', 2), ('b', 1)], [('b', 3), ('c', 2)]]
    """

    variables: tuple[str, ...]
    kind: ClassVar[str] = "permutation"
    periodic: ClassVar[bool] = True

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "variables", _names(self.variables, "permutation variables", minimum=2)
        )

    def images(self, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        # The transposition (v0 v1) and a cycle through v1 generate every permutation. The
        # cycle is odd, like the transposition, so output_scale -1 means antisymmetry: a
        # cycle of all n variables when n is even, of v1 ... v(n-1) when n is odd.
        v = self.variables
        swap = {v[0]: values[v[1]], v[1]: values[v[0]]}
        ring = v if len(v) % 2 == 0 else v[1:]
        cycle = {name: values[src] for name, src in zip(ring, ring[1:] + ring[:1], strict=True)}
        return [swap, cycle]


TRANSFORMS: dict[str, type[AbstractTransform]] = {
    t.kind: t for t in (Reflection, Translation, Scaling, Rotation, Permutation)
}


# -- constraints --------------------------------------------------------------------------
class AbstractConstraint(_Serialisable, ABC):
    """A statement of the theory about the predicted quantities."""

    name: str | None

    @property
    def label(self) -> str:
        """A short name for reports: the given ``name`` or a description."""
        return self.name or self.describe()

    @abstractmethod
    def describe(self) -> str:
        """A one-line description, e.g. ``density increasing with Depth``."""

    @abstractmethod
    def referenced_names(self) -> dict[str, str]:
        """Name -> what the theory must know it as (``quantity``, ``input``, ``group``)."""


@dataclass(frozen=True)
class Bounds(AbstractConstraint):
    """``lower <= quantity <= upper``; without limits, the variable's own bounds apply.

    Examples
    --------
    >>> Bounds("density", lower=990.0, upper=1001.0)
    Bounds(quantity='density', lower=990.0, upper=1001.0, name=None)
    """

    quantity: str
    lower: float | None = None
    upper: float | None = None
    name: str | None = None
    kind: ClassVar[str] = "bounds"

    def __post_init__(self) -> None:
        check_name(self.quantity, "bounds quantity")
        lo = (
            None
            if self.lower is None
            else check_number(self.lower, f"bounds on {self.quantity!r} lower")
        )
        hi = (
            None
            if self.upper is None
            else check_number(self.upper, f"bounds on {self.quantity!r} upper")
        )
        if lo is not None and hi is not None and not lo < hi:
            raise TheoryError(
                f"bounds on {self.quantity!r} are out of order: lower {lo} must be below upper {hi}."
            )
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)
        object.__setattr__(self, "name", _optional_name(self.name, "constraint"))

    def describe(self) -> str:
        lo = "-inf" if self.lower is None else format_number(self.lower)
        hi = "inf" if self.upper is None else format_number(self.upper)
        if self.lower is None and self.upper is None:
            return f"{self.quantity} within its variable bounds"
        return f"{lo} <= {self.quantity} <= {hi}"

    def referenced_names(self) -> dict[str, str]:
        return {self.quantity: "quantity"}


@dataclass(frozen=True)
class Monotonic(AbstractConstraint):
    """``quantity`` rises (or falls) with ``wrt``, within each group of ``within``.

    Examples
    --------
    Density must not decrease with depth on one date:

    >>> Monotonic("density", wrt="Depth", direction="increasing", within="DateTime")
    Monotonic(quantity='density', wrt='Depth', direction='increasing', within=('DateTime',), name=None)
    """

    quantity: str
    wrt: str
    direction: str = "increasing"
    within: tuple[str, ...] | None = None
    name: str | None = None
    kind: ClassVar[str] = "monotonic"

    def __post_init__(self) -> None:
        check_name(self.quantity, "monotonic quantity")
        check_name(self.wrt, "monotonic 'wrt'")
        check_choice(
            self.direction,
            ("increasing", "decreasing"),
            f"monotonic direction of {self.quantity!r}",
        )
        if self.within is not None:
            object.__setattr__(self, "within", _names(self.within, "monotonic 'within'"))
        _check_within("monotonic", self.quantity, self.wrt, self.within)
        object.__setattr__(self, "name", _optional_name(self.name, "constraint"))

    def describe(self) -> str:
        group = f" within each {', '.join(self.within)}" if self.within else ""
        return f"{self.quantity} {self.direction} with {self.wrt}{group}"

    def referenced_names(self) -> dict[str, str]:
        out = {self.quantity: "quantity", self.wrt: "input"}
        out.update({g: "group" for g in self.within or ()})
        return out


@dataclass(frozen=True)
class Shape(AbstractConstraint):
    """``quantity`` is convex or concave in ``wrt`` (sign of the second derivative)."""

    quantity: str
    wrt: str
    curvature: str = "convex"
    within: tuple[str, ...] | None = None
    name: str | None = None
    kind: ClassVar[str] = "shape"

    def __post_init__(self) -> None:
        check_name(self.quantity, "shape quantity")
        check_name(self.wrt, "shape 'wrt'")
        check_choice(self.curvature, ("convex", "concave"), f"shape curvature of {self.quantity!r}")
        if self.within is not None:
            object.__setattr__(self, "within", _names(self.within, "shape 'within'"))
        _check_within("shape", self.quantity, self.wrt, self.within)
        object.__setattr__(self, "name", _optional_name(self.name, "constraint"))

    def describe(self) -> str:
        group = f" within each {', '.join(self.within)}" if self.within else ""
        return f"{self.quantity} {self.curvature} in {self.wrt}{group}"

    def referenced_names(self) -> dict[str, str]:
        out = {self.quantity: "quantity", self.wrt: "input"}
        out.update({g: "group" for g in self.within or ()})
        return out


def vacuous_equation(
    owner: str, text: str, residual: Any, written: Iterable[str], parameters: Iterable[str] = ()
) -> str:
    """Why an equation whose ``residual`` (a sympy expression, left side minus right side)
    involves no variable says nothing, or can never hold. ``written``: the names in its
    text; ``parameters``: the parameters the residual still holds.

    Examples
    --------
    >>> import sympy
    >>> print(vacuous_equation("equation", "1 == 2", sympy.Integer(-1), ()))
    equation '1 == 2' involves no variable and can never hold: both sides are constants and differ (the residual, left side minus right side, is -1); an equation must involve at least one variable (an input or a target).
    """
    head = f"{owner} {text!r}"
    need = "an equation must involve at least one variable (an input or a target)"
    parameters = sorted(parameters)
    written = sorted(written)
    shown = f"{str(residual):.60}"
    if parameters:
        return (
            f"{head} involves no variable, only the parameter(s) {', '.join(parameters)}: it "
            f"holds or fails whatever the data, so there is nothing to fit or check; {need}. "
            "To fix a parameter, give it a 'value' (or 'bounds' or a 'prior')."
        )
    if residual == 0:
        names = f" of {', '.join(written)}" if written else ""
        return (
            f"{head} says nothing: its two sides are equal for every value{names} (the "
            f"residual, left side minus right side, simplifies to 0); {need} that does not "
            "cancel."
        )
    never = bool(residual.is_Number)  # a nonzero number; else, say pi - 3, maybe either
    verdict = "can never hold" if never else "holds always or never, whatever the data"
    if written:
        return (
            f"{head} involves no variable once simplified: {', '.join(written)} cancel, "
            f"leaving the constant residual {shown} (left side minus right side), so it "
            f"{verdict}; {need}."
        )
    if never:
        return (
            f"{head} involves no variable and can never hold: both sides are constants and "
            f"differ (the residual, left side minus right side, is {shown}); {need}."
        )
    return (
        f"{head} involves no variable: both sides are constants (the residual, left side "
        f"minus right side, is {shown}), so it {verdict}; {need}."
    )


@dataclass(frozen=True)
class Equation(AbstractConstraint):
    """A governing equation, written as a residual that must vanish (or as ``lhs == rhs``).

    Derivatives of targets with respect to inputs are written ``D(u, x)``,
    ``D(u, x, 2)``, ``D(D(u, x), t)``.

    Examples
    --------
    >>> Equation("D(u, t) + u*D(u, x) == nu*D(u, x, 2)", name="burgers")
    Equation(residual=Expression('D(u, t) + u*D(u, x) == nu*D(u, x, 2)'), name='burgers')
    """

    residual: Expression
    name: str | None = None
    kind: ClassVar[str] = "equation"

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _optional_name(self.name, "constraint"))
        owner = f"equation {self.name!r}" if self.name else "equation"
        residual = as_expression(self.residual, owner, equation=True)
        object.__setattr__(self, "residual", residual)
        if not residual.sympy.free_symbols:  # 1 == 2, v0 == v0: see also Theory
            raise TheoryError(
                vacuous_equation(owner, residual.text, residual.sympy, residual.names)
            )

    def describe(self) -> str:
        text = self.residual.text
        return text if "==" in text else f"{text} = 0"

    def referenced_names(self) -> dict[str, str]:
        return {}  # checked by binding the residual, which knows every name's role


@dataclass(frozen=True)
class Invariance(AbstractConstraint):
    """``f(T x) = output_scale * f(x)`` for the transform ``T``.

    ``output_scale = 1`` is invariance; ``-1`` with a reflection is an odd function, with
    a permutation an antisymmetric one; ``factor**k`` with a scaling is homogeneity of
    degree ``k``. A reflection, rotation or permutation takes only ``1`` or ``-1`` (any
    other scale, repeated until the points come back, would make the quantity zero).

    Examples
    --------
    >>> Invariance(Reflection("x"), quantity="u", output_scale=-1.0)
    Invariance(transform=Reflection(variable='x', about=0.0), quantity='u', output_scale=-1.0, name=None)
    """

    transform: AbstractTransform
    quantity: str | None = None
    output_scale: float = 1.0
    name: str | None = None
    kind: ClassVar[str] = "invariance"

    def __post_init__(self) -> None:
        if isinstance(self.transform, dict):
            object.__setattr__(
                self, "transform", transform_from_dict(self.transform, "invariance transform")
            )
        if not isinstance(self.transform, AbstractTransform):
            allowed = ", ".join(t.__name__ for t in TRANSFORMS.values())
            raise TheoryError(
                f"invariance transform must be one of {allowed}; got {self.transform!r:.60}."
            )
        object.__setattr__(self, "quantity", _optional_name(self.quantity, "invariance quantity"))
        object.__setattr__(
            self, "output_scale", check_number(self.output_scale, "invariance output_scale")
        )
        object.__setattr__(self, "name", _optional_name(self.name, "constraint"))
        self._check_output_scale()

    def _check_output_scale(self) -> None:
        """Refuse a scale that only ``f = 0`` satisfies."""
        t, s = self.transform, self.output_scale
        if s == 0:
            raise TheoryError(
                f"invariance output_scale under a {t.kind} must be non-zero (f(T x) = 0 "
                f"everywhere makes f zero); got {format_number(s)}."
            )
        if t.periodic and abs(s) != 1:
            raise TheoryError(
                f"invariance output_scale under a {t.kind} must be 1 or -1: repeating the "
                f"{t.kind} brings every point back (near) where it started, so f(T x) = s f(x) "
                f"with |s| != 1 makes f zero; got {format_number(s)}."
            )

    def describe(self) -> str:
        what = self.quantity or "the prediction"
        scale = format_number(self.output_scale)
        how = "invariant" if self.output_scale == 1 else f"scaled by {scale}"
        return f"{what} {how} under {self.transform.describe()}"

    def referenced_names(self) -> dict[str, str]:
        out = {v: "input" for v in self.transform.variables}
        if self.quantity:
            out[self.quantity] = "quantity"
        return out


@dataclass(frozen=True)
class Interactions(AbstractConstraint):
    """Which inputs may interact: each group is a set of inputs allowed to interact.

    Used as interaction constraints by boosted trees and as groups by group lasso.
    """

    groups: tuple[tuple[str, ...], ...]
    name: str | None = None
    kind: ClassVar[str] = "interactions"

    def __post_init__(self) -> None:
        if not isinstance(self.groups, list | tuple) or not self.groups:
            raise TheoryError(
                f"interactions groups must be a non-empty list of lists of input names; got {self.groups!r:.60}."
            )
        object.__setattr__(
            self, "groups", tuple(_names(g, "interactions group") for g in self.groups)
        )
        object.__setattr__(self, "name", _optional_name(self.name, "constraint"))

    def describe(self) -> str:
        return "interactions only within " + "; ".join(
            "{" + ", ".join(g) + "}" for g in self.groups
        )

    def referenced_names(self) -> dict[str, str]:
        return {v: "input" for g in self.groups for v in g}


CONSTRAINTS: dict[str, type[AbstractConstraint]] = {
    c.kind: c for c in (Bounds, Monotonic, Shape, Equation, Invariance, Interactions)
}


def _from_registry(registry: dict[str, type], data: object, owner: str, what: str) -> Any:
    if not isinstance(data, dict):
        raise TheoryError(
            f"{owner} must be a table with a 'kind' key; got {type(data).__name__} {data!r:.60}."
        )
    kind = data.get("kind")
    if kind not in registry:
        raise TheoryError(
            f"{owner}: unknown {what} kind {kind!r}; allowed kinds: {', '.join(registry)}."
        )
    try:
        return registry[kind].from_fields(data, owner)
    except TypeError as err:  # a wrong type slipped past a check
        raise TheoryError(f"{owner}: {err}") from None


def constraint_from_dict(data: object, owner: str = "constraint") -> AbstractConstraint:
    """Build a constraint from a TOML table such as ``{kind = "monotonic", ...}``."""
    return _from_registry(CONSTRAINTS, data, owner, "constraint")


def transform_from_dict(data: object, owner: str = "transform") -> AbstractTransform:
    """Build a transform from a TOML table such as ``{kind = "reflection", variable = "x"}``."""
    return _from_registry(TRANSFORMS, data, owner, "transform")
