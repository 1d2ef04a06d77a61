"""Declarative validation of estimator parameters, with scikit-learn style messages.

Each estimator lists its rules in ``_parameter_rules`` (name -> rule) and calls
:func:`validate_params` at the start of ``fit``; ``__init__`` only stores arguments.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tgds.exceptions import DataError, TgdsError

__all__ = [
    "Rule",
    "validate_params",
    "Int",
    "Real",
    "OneOf",
    "Instance",
    "Boolean",
    "Widths",
    "Optional",
    "any_of",
    "InvalidParameterError",
    "repeated",
]


class InvalidParameterError(TgdsError, ValueError):
    """An estimator parameter has a wrong type or value."""


@dataclass(frozen=True)
class Rule:
    """A check ``test(value) -> bool`` and the words for what it accepts."""

    test: Callable[[Any], bool]
    words: str


def Int(low: int | None = None, high: int | None = None) -> Rule:  # noqa: N802 - reads like a type
    def test(v: Any) -> bool:
        return (
            isinstance(v, numbers.Integral)
            and not isinstance(v, bool)
            and (low is None or v >= low)
            and (high is None or v <= high)
        )

    bounds = " and ".join(
        s
        for s in (f">= {low}" if low is not None else "", f"<= {high}" if high is not None else "")
        if s
    )
    return Rule(test, f"an int {bounds}".strip())


def Real(  # noqa: N802
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    finite: bool = False,
) -> Rule:
    def test(v: Any) -> bool:
        if not isinstance(v, numbers.Real) or isinstance(v, bool) or v != v:
            return False
        if finite and not math.isfinite(v):
            return False
        if low is not None and (v <= low if low_open else v < low):
            return False
        return high is None or v <= high

    op = ">" if low_open else ">="
    bounds = " and ".join(
        s
        for s in (
            f"{op} {low}" if low is not None else "",
            f"<= {high}" if high is not None else "",
        )
        if s
    )
    return Rule(test, f"a {'finite ' if finite else ''}float {bounds}".strip())


def OneOf(*values: Any) -> Rule:  # noqa: N802
    return Rule(
        lambda v: any(type(v) is type(x) and v == x for x in values),
        "one of " + ", ".join(map(repr, values)),
    )


def Instance(*types: type, words: str | None = None) -> Rule:  # noqa: N802
    return Rule(
        lambda v: isinstance(v, types),
        words or "an instance of " + " or ".join(t.__name__ for t in types),
    )


Boolean = Rule(lambda v: isinstance(v, bool), "a bool")


def Widths() -> Rule:  # noqa: N802
    def test(v: Any) -> bool:
        return (
            isinstance(v, list | tuple)
            and len(v) >= 1
            and all(
                isinstance(w, numbers.Integral) and not isinstance(w, bool) and w >= 1 for w in v
            )
        )

    return Rule(test, "a non-empty tuple of positive ints, e.g. (64, 64)")


def Optional(rule: Rule) -> Rule:  # noqa: N802
    return Rule(lambda v: v is None or rule.test(v), f"{rule.words} or None")


def any_of(*rules: Rule) -> Rule:
    return Rule(lambda v: any(r.test(v) for r in rules), " or ".join(r.words for r in rules))


def validate_params(estimator: Any, rules: dict[str, Rule]) -> None:
    """Raise :class:`InvalidParameterError` for the first parameter that breaks its rule."""
    owner = type(estimator).__name__
    for name, rule in rules.items():
        value = getattr(estimator, name)
        if not rule.test(value):
            raise InvalidParameterError(
                f"The {name!r} parameter of {owner} must be {rule.words}. Got {value!r:.80} instead."
            )


def is_number(value: Any) -> bool:
    """A real number (NaN and infinities included), not a bool: what JSON numbers read back as."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def repeated(names: Sequence[str]) -> list[str]:
    """The names that occur more than once in ``names``, sorted."""
    return sorted(name for name, n in Counter(names).items() if n > 1)


def similar_name(
    name: str, candidates: Sequence[str], cutoff: float = 0.8
) -> tuple[str, bool] | None:
    """The candidate ``name`` was probably meant to be, for a hint in an error message:
    ``(candidate, True)`` for one that differs only in letter case or surrounding spaces,
    else ``(candidate, False)`` for the most similar spelling (``difflib`` ratio at least
    ``cutoff``, letter case aside); None when none is close.

    Examples
    --------
    >>> similar_name("T_room", ["t_room ", "depth"])
    ('t_room ', True)
    >>> similar_name("T_room", ["Troom", "depth"])
    ('Troom', False)
    """
    key = name.strip().casefold()
    folded = {str(c).strip().casefold(): c for c in reversed(candidates)}  # the first wins
    if key in folded:
        return folded[key], True
    match = difflib.get_close_matches(key, list(folded), n=1, cutoff=cutoff)
    return (folded[match[0]], False) if match else None


def bind_targets(y: Any, targets: Sequence[str], what: str = "y") -> Any:
    """``y`` with the columns of a data frame (pandas or polars) put in the order of
    ``targets`` by name. A frame of one column for one target, or with the columns
    ``0, 1, ...``, is taken as it is; one whose columns are not the targets is refused, as
    taking it by position would pair each target with another's observations.

    Examples
    --------
    >>> import pandas as pd
    >>> list(bind_targets(pd.DataFrame({"H": [1.0], "R": [2.0]}), ["R", "H"]).columns)
    ['R', 'H']
    """
    columns = getattr(y, "columns", None)
    if columns is None or isinstance(y, np.ndarray):
        return y
    names = list(columns)
    if (len(names) == 1 and len(targets) == 1) or names in (list(targets), list(range(len(names)))):
        return y
    if len(names) != len(targets) or set(names) != set(targets):
        raise DataError(
            f"{what} has the columns {names}; expected the targets {list(targets)} (in any order)."
        )
    return y[list(targets)]
