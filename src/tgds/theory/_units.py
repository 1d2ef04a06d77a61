"""Units: one pint registry for tgds, parsing of unit strings, and conversion factors.

Temperatures in degC or degF are *offset* units: 20 degC is not twice 10 degC. tgds
carries such a quantity as its *delta* unit (``delta_degC``, equal in size to a kelvin)
plus an ``offset`` flag. In checked expressions an offset temperature may be compared
with another one of the same unit, have a temperature difference added to it, or be
subtracted from another one of the same unit (the result is a difference and can then be
multiplied freely); multiplying, dividing, raising it to a power or passing it to a
function is refused, because the result would depend on where the scale's zero is.
Empirical formulas written for a temperature in degC (such as the density of water) are
declared ``empirical = true``: they are evaluated on the numbers in the declared units.
Units are converted by a factor only, never shifted, so temperatures on two scales are
never used together: subtracting, comparing or equating an offset temperature with one on
another scale (degC with degF, or with an *absolute* temperature: a quantity declared in
``K`` or ``degR``, or computed from one by sums and numeric factors) is refused, as the
two differ by a shift as well as a factor. Declare both in one unit; declare a temperature
difference ``delta_degC`` (beside degC). A kelvin value *added* to an offset temperature
can only be a difference (``T_degC + dT_K`` is a degC temperature), and so is a kelvin
value made within the expression from other units (a lapse rate in K/m times a height)
or as a difference of kelvin temperatures; a relation's result in K is taken as a
temperature (declare it ``delta_degC`` where it is a difference). Kelvin and degR share
their zero, so they convert by a factor alone. An absolute temperature is not converted
between degC and K, which would add 273.15: a relation declared in K whose expression is
in degC (or a physics model's output in degC for a target in K) is refused; declare one
unit, or write the conversion in an empirical relation (``T + 273.15``, unit ``K``).
A derivative with respect to a degC variable has the unit ``1/delta_degC`` (= 1/K), and a
coefficient in ``1/K`` multiplies a degC difference with no factor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pint

from tgds.exceptions import TheoryError, UnitError

__all__ = [
    "ureg",
    "parse_unit",
    "UnitInfo",
    "dimension_text",
    "conversion_factor",
    "offset_scale",
    "unit_text",
    "scale_shift",
]

#: The unit registry shared by every tgds object. Never modified after import.
ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=False)
_TEMPERATURE = ureg.kelvin.dimensionality


@dataclass(frozen=True)
class UnitInfo:
    """The unit of a value: a multiplicative pint unit and whether it is an offset temperature."""

    unit: pint.Unit
    offset: bool = False

    @property
    def dimensionless(self) -> bool:
        return not self.offset and self.unit.dimensionless

    @property
    def absolute_temperature(self) -> bool:
        """A temperature in an absolute unit (``K``, ``degR``), which may be a temperature
        or a difference; ``delta_degC`` is a difference only, ``degC`` is offset."""
        return (
            not self.offset
            and self.unit.dimensionality == _TEMPERATURE
            and "delta_" not in str(self.unit)
        )

    def describe(self) -> str:
        return dimension_text(self.unit) + (" (offset temperature)" if self.offset else "")


def dimension_text(unit: pint.Unit) -> str:
    """The dimension of ``unit`` as text, e.g. ``[length] / [time]`` or ``dimensionless``."""
    dim = unit.dimensionality
    return "dimensionless" if not dim else str(dim)


def parse_unit(text: object, owner: str = "unit") -> UnitInfo:
    """Parse a unit string such as ``"m/s"``, ``"kg/m^3"``, ``"degC"`` or ``"1"``.

    Raises
    ------
    TheoryError
        If ``text`` is not a string.
    UnitError
        If ``text`` is not a unit: malformed (``'m/0'``, ``'(m/s'``, ``'m/s**'``), too
        long, with too large an exponent, or unknown to pint (``'furlongz'``).
    """
    # Checked before the cache: lru_cache would raise TypeError on an unhashable value.
    if not isinstance(text, str):
        raise TheoryError(
            f"{owner} must be a unit string such as 'm/s' or '1'; got {type(text).__name__} {text!r:.60}."
        )
    return _parse_unit(text, owner)


@lru_cache(maxsize=512)
def _parse_unit(text: str, owner: str) -> UnitInfo:
    cleaned = text.strip()
    if cleaned in ("", "1", "dimensionless"):
        return UnitInfo(ureg.dimensionless)
    if len(cleaned) > 100:
        raise UnitError(
            f"{owner} {text[:40]!r}... is too long for a unit (at most 100 characters)."
        )
    why = _malformed(cleaned)
    if why:
        raise UnitError(f"{owner} {text!r} is not a unit pint understands: {why}.")
    _check_exponents(cleaned, owner)
    try:
        unit = ureg.Unit(cleaned)
    except Exception as err:  # any failure of pint's parser on a string means a bad unit
        raise UnitError(
            f"{owner} {text!r} is not a unit pint understands: {_pint_failure(err)}."
        ) from None
    try:
        ureg.Quantity(1.0, unit) * ureg.Quantity(1.0, unit)
        return UnitInfo(unit)
    except pint.errors.OffsetUnitCalculusError:
        pass
    if len(unit._units) == 1 and next(iter(unit._units.values())) == 1:
        delta = (ureg.Quantity(2.0, unit) - ureg.Quantity(1.0, unit)).units
        return UnitInfo(delta, offset=True)
    raise UnitError(
        f"{owner} {text!r} combines an offset temperature with other units; use kelvin "
        "(e.g. 'J/K') or a temperature difference ('delta_degC')."
    )


#: ASCII characters a unit may hold besides letters, digits and spaces; pint's tokenizer
#: drops or misreads others (``'m $'`` is read as ``m``, ``'m,s'`` as a millisecond).
_UNIT_PUNCTUATION = frozenset("*/^().-+_%")
_TRAILING_OPERATORS = ("**", "*", "/", "^", "+", "-")
_UNIT_SYNTAX_HINT = (
    "write products with '*' or a space, quotients with '/' and powers with '**' or '^'"
)


def _malformed(text: str) -> str:
    """Why ``text`` cannot be a unit, for mistakes pint reports badly or not at all; empty
    if none is found (pint then parses it)."""
    odd = sorted({c for c in text if c.isascii() and not (c.isalnum() or c.isspace())})
    odd = [c for c in odd if c not in _UNIT_PUNCTUATION]
    if odd:
        shown = ", ".join(repr(c) for c in odd)
        return f"it contains {shown}, which a unit cannot hold; {_UNIT_SYNTAX_HINT}"
    depth = 0
    for k, c in enumerate(text):
        depth += (c == "(") - (c == ")")
        if depth < 0:
            return f"the ')' at position {k + 1} closes no '('"
    if depth > 0:
        return f"{depth} '(' {'is' if depth == 1 else 'are'} never closed by a ')'"
    operator = next((op for op in _TRAILING_OPERATORS if text.endswith(op)), None)
    if operator is not None:
        return f"it ends with {operator!r}, which needs a unit or a number after it"
    return ""


def _pint_failure(err: Exception) -> str:
    """What is wrong with a unit pint failed to parse with ``err``, as a clause."""
    if isinstance(err, ZeroDivisionError):
        return "it divides by zero"
    if isinstance(err, OverflowError):
        return "a number in it is too large"
    if isinstance(err, TypeError) and "operand" in str(err):
        return f"units cannot be added or subtracted; {_UNIT_SYNTAX_HINT}"
    if isinstance(err, ValueError) and "scaling factor" in str(err):
        return (
            "it holds a number as a factor ('2', '1e3 m', '-m'), and a unit cannot be "
            "scaled; use a unit of the right size ('km', 'ms') and put numbers in the data"
        )
    if isinstance(err, AssertionError) or not str(err):
        return f"an operator or a pair of parentheses has nothing to act on; {_UNIT_SYNTAX_HINT}"
    said = str(err).rstrip(".")
    return said if isinstance(err, pint.errors.PintError) else f"{type(err).__name__}: {said}"


#: An exponent pint may see: an optional sign, then a number of at most two integer digits
#: (``2``, ``-1``, ``0.5``) or a parenthesised simple fraction (``(1/2)``, ``(-3/2)``).
_EXPONENT = re.compile(
    r"\s*[+-]?\s*(?:\d{1,2}(?:\.\d{1,6})?|\.\d{1,6}|\(\s*[+-]?\s*\d{1,2}\s*/\s*\d{1,2}\s*\))"
)
_POWER = re.compile(r"\*\*|\^")
_SCIENTIFIC = re.compile(r"[eE]\s*[+-]?\s*\d")
_EXPONENT_HINT = "exponents must be small numbers (such as m**2, s**-1, m**(1/2))"


def _check_exponents(text: str, owner: str) -> None:
    """Refuse exponents pint would evaluate at great cost (``m**9**9**9``), before pint sees them.

    Each ``**`` or ``^`` must be followed by a small number, which must not be raised to a
    power itself, and a parenthesised group that already holds an exponent must not be
    raised to a power (``((m**99)**99)**99``): otherwise pint computes huge integers.
    """
    for power in _POWER.finditer(text):
        start = power.end()  # never at the end: _malformed refuses a dangling operator
        match = _EXPONENT.match(text, start)
        rest = text[match.end() :].lstrip() if match else ""
        scientific = match is not None and _SCIENTIFIC.match(text, match.end())  # m**1e300
        if (
            match is None
            or scientific
            or rest[:1].isdigit()
            or rest[:1] in (".", "^", "(")
            or rest[:2] == "**"
        ):
            got = text[start:].strip()
            raise UnitError(f"{owner} {text!r}: {_EXPONENT_HINT}; got {got[:40]!r}.")
        before = text[: power.start()].rstrip()
        if before.endswith(")") and _POWER.search(_group_before(before)):
            raise UnitError(
                f"{owner} {text!r}: {_EXPONENT_HINT}, and a power must not be raised to a "
                f"power again; got {before[-40:]!r} raised to {match.group().strip()!r}."
            )


def _group_before(text: str) -> str:
    """The parenthesised group that ends ``text`` (which ends with ``)``), or all of it if unmatched."""
    depth = 0
    for k in range(len(text) - 1, -1, -1):
        if text[k] == ")":
            depth += 1
        elif text[k] == "(":
            depth -= 1
            if depth == 0:
                return text[k:]
    return text


def offset_scale(delta: pint.Unit) -> pint.Unit:
    """The offset unit whose delta unit is ``delta``: ``degree_Celsius`` for ``delta_degree_Celsius``."""
    return ureg.Unit(str(delta).removeprefix("delta_"))


def conversion_factor(source: pint.Unit, target: pint.Unit) -> float:
    """The number that converts a magnitude in ``source`` to one in ``target``."""
    return float(ureg.Quantity(1.0, source).to(target).magnitude)


def unit_text(info: UnitInfo) -> str:
    """A unit as a person declares it: ``degC``, ``K``, ``delta_degC``, ``K / m``."""
    unit = offset_scale(info.unit) if info.offset else info.unit
    return f"{unit:~}".replace("Δ°", "delta_deg").replace("°", "deg") or "1"


def scale_shift(offset: UnitInfo, other: UnitInfo) -> str:
    """Where the zero of ``offset``'s scale lies on ``other``'s, e.g. ``0 degC is 273.15 K``;
    empty when pint cannot say."""
    target = offset_scale(other.unit) if other.offset else other.unit
    try:
        zero = ureg.Quantity(0.0, offset_scale(offset.unit)).to(target).magnitude
    except pint.errors.PintError:
        return ""
    return f"0 {unit_text(offset)} is {float(zero):g} {unit_text(other)}"
