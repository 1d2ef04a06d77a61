"""Variables, parameters and priors: the named quantities of a theory."""

from __future__ import annotations

import keyword
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field

from tgds.exceptions import TheoryError
from tgds.theory._parser import MAX_NAME_LENGTH, RESERVED_NAMES
from tgds.theory._units import UnitInfo, parse_unit

__all__ = [
    "Variable",
    "Parameter",
    "Normal",
    "LogNormal",
    "Uniform",
    "HalfNormal",
    "ROLES",
    "check_name",
    "check_choice",
    "check_bounds",
    "format_number",
]

#: The roles a variable can play.
ROLES = ("input", "target", "group", "time")


def check_name(name: object, owner: str) -> str:
    """A valid theory name: an ASCII identifier, not starting with ``_``, not reserved."""
    if not isinstance(name, str) or not name.isidentifier() or not name.isascii():
        raise TheoryError(
            f"{owner} name must be an identifier (letters, digits, '_', not starting with a digit); got {name!r:.60}."
        )
    if name.startswith("_") or len(name) > MAX_NAME_LENGTH:
        raise TheoryError(
            f"{owner} name {name!r} must not start with '_' and has at most {MAX_NAME_LENGTH} characters."
        )
    if keyword.iskeyword(name):
        raise TheoryError(
            f"{owner} name {name!r} is a Python keyword and cannot be used in expressions; choose another name."
        )
    if name in RESERVED_NAMES:
        raise TheoryError(
            f"{owner} name {name!r} is reserved for a function or constant; choose another name."
        )
    return name


def check_choice(value: object, allowed: tuple[str, ...], what: str) -> str:
    """``value`` if it is one of ``allowed``; otherwise an error listing them."""
    if value not in allowed:
        raise TheoryError(
            f"{what} must be one of {', '.join(map(repr, allowed))}; got {value!r:.60}."
        )
    return value  # type: ignore[return-value]


def check_number(value: object, what: str, allow_inf: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):  # NumPy scalars too
        raise TheoryError(f"{what} must be a number; got {type(value).__name__} {value!r:.60}.")
    x = float(value)
    if math.isnan(x) or (math.isinf(x) and not allow_inf):
        raise TheoryError(f"{what} must be a finite number; got {value!r}.")
    return x


def format_number(x: float) -> str:
    """``x`` as short as ``:g`` writes it when that reads back exactly, else every digit.

    Examples
    --------
    >>> format_number(25.0), format_number(1e6), format_number(0.123456789)
    ('25', '1e+06', '0.123456789')
    """
    short = f"{x:g}"
    return short if float(short) == x else repr(float(x))


def check_bounds(bounds: object, what: str) -> tuple[float, float] | None:
    """Normalise ``(low, high)`` to floats (``None`` -> infinite); check ``low < high``."""
    if bounds is None:
        return None
    ordered = isinstance(bounds, list | tuple) or (
        hasattr(bounds, "__getitem__") and not isinstance(bounds, str | Mapping)
    )  # a set or a dict has no first and second element
    if not ordered or not hasattr(bounds, "__len__") or len(bounds) != 2:
        raise TheoryError(
            f"{what} must be a pair (low, high), with None or inf for no limit; got {bounds!r:.60}."
        )
    lo = -math.inf if bounds[0] is None else check_number(bounds[0], f"{what} low", allow_inf=True)
    hi = math.inf if bounds[1] is None else check_number(bounds[1], f"{what} high", allow_inf=True)
    if not lo < hi:
        raise TheoryError(f"{what} are out of order: low {lo} must be below high {hi}.")
    return (lo, hi)


@dataclass(frozen=True)
class Variable:
    """A measured or predicted quantity; its name is the data column.

    Parameters
    ----------
    name : str
        The column name, an identifier.
    unit : str
        A pint unit: ``"m"``, ``"kg/m^3"``, ``"degC"``, ``"1"`` for dimensionless.
    bounds : (float, float), optional
        Physical limits, in ``unit``; ``None`` or ``inf`` for an open side.
    role : {"input", "target", "group", "time"}
        ``group`` columns (e.g. a date or a site) may be non-numeric and are used to
        group rows (``Monotonic(..., within=...)``); ``time`` is an input that orders rows.
    description : str
        Free text.

    Examples
    --------
    >>> Variable("Depth", "m", bounds=(0, 25.2))
    Variable('Depth', 'm', bounds=(0.0, 25.2))
    """

    name: str
    unit: str = "1"
    bounds: tuple[float, float] | None = None
    role: str = "input"
    description: str = ""

    def __post_init__(self) -> None:
        check_name(self.name, "variable")
        owner = f"variable {self.name!r}"
        parse_unit(self.unit, f"{owner} unit")
        object.__setattr__(self, "bounds", check_bounds(self.bounds, f"{owner} bounds"))
        check_choice(self.role, ROLES, f"{owner} role")
        if not isinstance(self.description, str):
            raise TheoryError(
                f"{owner} description must be a string; got {type(self.description).__name__}."
            )

    @property
    def unit_info(self) -> UnitInfo:
        return parse_unit(self.unit)

    def __repr__(self) -> str:
        extra = "" if self.bounds is None else f", bounds={self.bounds}"
        extra += "" if self.role == "input" else f", role={self.role!r}"
        return f"Variable({self.name!r}, {self.unit!r}{extra})"


# -- priors --------------------------------------------------------------------------------
class AbstractPrior:
    """A prior distribution of a parameter (used by Bayesian calibration)."""

    distribution: str = ""

    @property
    def support(self) -> tuple[float, float]:
        """The interval ``(low, high)`` outside which the prior has no probability."""
        return (-math.inf, math.inf)

    def to_dict(self) -> dict[str, float | str]:
        out: dict[str, float | str] = {"distribution": self.distribution}
        out.update({k: v for k, v in self.__dict__.items()})
        return out


def _positive(value: object, what: str) -> float:
    x = check_number(value, what)
    if x <= 0:
        raise TheoryError(f"{what} must be positive; got {value!r}.")
    return x


@dataclass(frozen=True)
class _LocScale(AbstractPrior):
    loc: float
    scale: float

    def __post_init__(self) -> None:
        name = type(self).__name__
        object.__setattr__(self, "loc", check_number(self.loc, f"{name} prior loc"))
        object.__setattr__(self, "scale", _positive(self.scale, f"{name} prior scale"))


@dataclass(frozen=True)
class Normal(_LocScale):
    """Normal(loc, scale)."""

    distribution = "normal"


@dataclass(frozen=True)
class LogNormal(_LocScale):
    """LogNormal(loc, scale): the logarithm of the parameter is Normal(loc, scale)."""

    distribution = "lognormal"

    @property
    def support(self) -> tuple[float, float]:
        return (0.0, math.inf)


@dataclass(frozen=True)
class HalfNormal(AbstractPrior):
    """HalfNormal(scale) on the positive half line."""

    scale: float
    distribution = "halfnormal"

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", _positive(self.scale, "HalfNormal prior scale"))

    @property
    def support(self) -> tuple[float, float]:
        return (0.0, math.inf)


@dataclass(frozen=True)
class Uniform(AbstractPrior):
    """Uniform(low, high)."""

    low: float
    high: float
    distribution = "uniform"

    def __post_init__(self) -> None:
        lo, hi = check_bounds((self.low, self.high), "Uniform prior limits")
        if math.isinf(lo) or math.isinf(hi):
            raise TheoryError("Uniform prior limits must be finite.")
        object.__setattr__(self, "low", lo)
        object.__setattr__(self, "high", hi)

    @property
    def support(self) -> tuple[float, float]:
        return (self.low, self.high)


PRIORS: dict[str, type[AbstractPrior]] = {
    p.distribution: p for p in (Normal, LogNormal, HalfNormal, Uniform)
}


def prior_from_dict(data: object, owner: str) -> AbstractPrior:
    """Build a prior from ``{"distribution": "normal", "loc": 0, "scale": 1}``."""
    if not isinstance(data, dict):
        raise TheoryError(
            f"{owner} must be a table such as {{distribution = 'normal', loc = 0, scale = 1}}; got {data!r:.60}."
        )
    kind = check_choice(data.get("distribution"), tuple(PRIORS), f"{owner} distribution")
    cls = PRIORS[kind]
    fields_ = [f for f in cls.__dataclass_fields__]
    extra = sorted(set(data) - set(fields_) - {"distribution"})
    missing = sorted(set(fields_) - set(data))
    if extra or missing:
        raise TheoryError(
            f"{owner}: a {kind} prior takes keys {', '.join(fields_)}; missing {missing}, unknown {extra}."
        )
    return cls(**{k: data[k] for k in fields_})


@dataclass(frozen=True)
class Parameter:
    """A constant of the theory: known (``value``) or to be calibrated (``bounds``, ``prior``).

    A prior must give the bounds, and the value where one is given, some probability:
    ``bounds=(-2, -1)`` with a ``LogNormal`` prior (positive values only) is refused.

    Examples
    --------
    >>> Parameter("nu", "m^2/s", bounds=(0, 1), prior=LogNormal(-5.0, 1.0))
    Parameter('nu', 'm^2/s', bounds=(0.0, 1.0), prior=LogNormal(loc=-5.0, scale=1.0))
    """

    name: str
    unit: str = "1"
    value: float | None = None
    bounds: tuple[float, float] | None = None
    prior: AbstractPrior | None = None
    description: str = field(default="")

    def __post_init__(self) -> None:
        check_name(self.name, "parameter")
        owner = f"parameter {self.name!r}"
        info = parse_unit(self.unit, f"{owner} unit")
        if info.offset:
            raise TheoryError(
                f"{owner} unit {self.unit!r} is an offset temperature; parameters need 'K' or 'delta_degC'."
            )
        object.__setattr__(self, "bounds", check_bounds(self.bounds, f"{owner} bounds"))
        if self.value is not None:
            object.__setattr__(self, "value", check_number(self.value, f"{owner} value"))
            if self.bounds is not None and not self.bounds[0] <= self.value <= self.bounds[1]:
                raise TheoryError(
                    f"{owner} value {self.value} lies outside its bounds {self.bounds}."
                )
        if self.prior is not None and not isinstance(self.prior, AbstractPrior):
            raise TheoryError(
                f"{owner} prior must be Normal, LogNormal, HalfNormal or Uniform; got {self.prior!r:.60}."
            )
        if self.prior is not None:
            self._check_prior(owner)
        if not isinstance(self.description, str):
            raise TheoryError(
                f"{owner} description must be a string; got {type(self.description).__name__}."
            )

    def _check_prior(self, owner: str) -> None:
        """Refuse a prior that contradicts the bounds or the value: it gives them no probability."""
        lo, hi = self.prior.support
        where = f"its prior {self.prior!r} has probability only in ({lo}, {hi})"
        if self.bounds is not None and max(lo, self.bounds[0]) >= min(hi, self.bounds[1]):
            raise TheoryError(
                f"{owner}: {where}, which does not overlap its bounds {self.bounds}; "
                "change the bounds or the prior."
            )
        if self.value is not None and not lo <= self.value <= hi:
            raise TheoryError(
                f"{owner}: {where}, which does not hold its value {self.value}; "
                "change the value or the prior."
            )

    @property
    def unit_info(self) -> UnitInfo:
        return parse_unit(self.unit)

    @property
    def known(self) -> bool:
        """Whether the value is fixed (not to be calibrated)."""
        return self.value is not None and self.prior is None and self.bounds is None

    def __repr__(self) -> str:
        parts = [repr(self.name), repr(self.unit)]
        for key in ("value", "bounds", "prior"):
            if getattr(self, key) is not None:
                parts.append(f"{key}={getattr(self, key)!r}")
        return f"Parameter({', '.join(parts)})"
