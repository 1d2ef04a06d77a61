"""``Relation``: a named derived quantity, written as an expression."""

from __future__ import annotations

from dataclasses import dataclass

from tgds.exceptions import TheoryError
from tgds.theory._expression import Expression, as_expression
from tgds.theory._units import parse_unit
from tgds.theory._variables import check_name

__all__ = ["Relation"]


@dataclass(frozen=True)
class Relation:
    """A derived quantity ``name = expression`` of variables, parameters and other relations.

    Parameters
    ----------
    name : str
        The quantity's name, used by constraints (``Monotonic("density", ...)``).
    expression : str or Expression
        Its definition. Checked for dimensional consistency by the theory.
    unit : str, optional
        The unit of the result. Inferred when omitted; converted to when given.
    empirical : bool
        An empirical fit written for numbers in the declared units of its inputs (e.g.
        the density of water for a temperature in degC). Its internal dimensions are
        not checked; ``unit`` is required and is the unit of the result.
    description : str
        Free text.

    Examples
    --------
    >>> Relation("density", "1000*(1 - (T + 288.9414)*(T - 3.9863)**2/(508929.2*(T + 68.12963)))",
    ...          unit="kg/m^3", empirical=True)  # doctest: +ELLIPSIS
    Relation(name='density', expression=Expression('1000*(1 - ...'), unit='kg/m^3', empirical=True, ...)
    """

    name: str
    expression: Expression
    unit: str | None = None
    empirical: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        check_name(self.name, "relation")
        owner = f"relation {self.name!r}"
        object.__setattr__(self, "expression", as_expression(self.expression, owner))
        if self.unit is not None:
            parse_unit(self.unit, f"{owner} unit")
        if not isinstance(self.empirical, bool):
            raise TheoryError(
                f"{owner} 'empirical' must be true or false; got {self.empirical!r:.40}."
            )
        if self.empirical and self.unit is None:
            raise TheoryError(
                f"{owner} is empirical, so it must declare the unit of its result (unit = '...')."
            )
        if self.expression.derivatives:
            raise TheoryError(
                f"{owner} contains a derivative D(...); write governing equations as Equation constraints."
            )
        if not isinstance(self.description, str):
            raise TheoryError(
                f"{owner} description must be a string; got {type(self.description).__name__}."
            )
