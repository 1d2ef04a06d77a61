"""Units and dimensional analysis of theory expressions.

Covers :func:`tgds.theory.parse_unit`, the dimensional checks a :class:`~tgds.theory.Theory`
runs on every relation, equation and physics-model expression (and the wording of the
:class:`~tgds.exceptions.UnitError` it raises), the conversion factors inserted between
terms of the same dimension written in different units, and the rules for offset
temperatures (degC, degF).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tgds.exceptions import TheoryError, UnitError
from tgds.theory import (
    Equation,
    Parameter,
    PhysicsModel,
    Relation,
    Theory,
    Variable,
    parse_unit,
    ureg,
)

WATER_DENSITY = "1000*(1 - (T + 288.9414)*(T - 3.9863)**2/(508929.2*(T + 68.12963)))"
BURGERS = "D(u, t) + u*D(u, x) == nu*D(u, x, 2)"


def _variables() -> list[Variable]:
    """Variables with distinctive names, so that a name in a message is unambiguous."""
    return [
        Variable("dist", "m"),
        Variable("dist_km", "km"),
        Variable("dur", "s"),
        Variable("ratio", "1"),
        Variable("temp", "degC"),
        Variable("temp2", "degC"),
        Variable("dtemp", "delta_degC"),
        Variable("tempF", "degF"),
        Variable("dtK", "K"),
    ]


def theory_with(expression: str, unit: str | None = None, **kwargs: object) -> Theory:
    """A theory whose only relation ``r`` is ``expression``."""
    return Theory(
        variables=_variables(), relations=[Relation("r", expression, unit=unit, **kwargs)]
    )


def value_of(expression: str, values: dict[str, float], unit: str | None = None) -> float:
    """The relation ``r = expression`` evaluated (in its declared or inferred unit)."""
    return float(theory_with(expression, unit).expression_of("r").evaluate(values))


def burgers_theory(nu_unit: str) -> Theory:
    return Theory(
        variables=[
            Variable("x", "m"),
            Variable("t", "s", role="time"),
            Variable("u", "m/s", role="target"),
        ],
        parameters=[Parameter("nu", nu_unit, value=0.01)],
        constraints=[Equation(BURGERS, name="burgers")],
    )


# -- parse_unit ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "dimensionality"),
    [
        ("m/s", ureg.Unit("m/s").dimensionality),
        ("kg/m^3", ureg.Unit("kg/m**3").dimensionality),
        ("  m ", ureg.Unit("m").dimensionality),
        ("K", ureg.Unit("K").dimensionality),
        ("delta_degC", ureg.Unit("K").dimensionality),
        ("m^2/s", ureg.Unit("m**2/s").dimensionality),
    ],
)
def test_parse_unit_accepts_multiplicative_units(text, dimensionality):
    info = parse_unit(text)
    assert info.unit.dimensionality == dimensionality
    assert info.offset is False


@pytest.mark.parametrize("text", ["", "1", "dimensionless", "   "])
def test_parse_unit_empty_and_one_are_dimensionless(text):
    info = parse_unit(text)
    assert info.unit == ureg.dimensionless
    assert info.dimensionless
    assert not info.offset
    assert info.describe() == "dimensionless"


def test_parse_unit_percent_is_dimensionless_but_not_one():
    info = parse_unit("percent")
    assert info.dimensionless
    assert info.unit != ureg.dimensionless


@pytest.mark.parametrize(("text", "delta"), [("degC", "delta_degC"), ("degF", "delta_degF")])
def test_parse_unit_offset_temperature_is_delta_unit_plus_flag(text, delta):
    info = parse_unit(text)
    assert info.offset is True
    assert info.unit == ureg.Unit(delta)
    assert not info.dimensionless
    assert info.describe() == "[temperature] (offset temperature)"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("furlongz", "'furlongz' is not a unit pint understands"),
        ("m**", "'m**' is not a unit pint understands"),
        (3, "got int 3"),
        (None, "got NoneType"),
        (["m"], "got list"),
        ("m" * 120, "too long"),
    ],
)
def test_parse_unit_refuses_bad_units(text, fragment):
    with pytest.raises(TheoryError, match="unit") as info:
        parse_unit(text)
    assert fragment in str(info.value)


def test_parse_unit_error_names_owner():
    with pytest.raises(TheoryError, match=r"^variable 'v' unit 'furlongz'"):
        parse_unit("furlongz", "variable 'v' unit")
    with pytest.raises(TheoryError, match="variable 'v' unit 'furlongz'"):
        Variable("v", "furlongz")


@pytest.mark.parametrize("unit", [["m"], {"unit": "m"}])
def test_variable_with_unhashable_unit_is_a_theory_error(unit):
    # e.g. ``unit = ["m"]`` in a TOML file
    with pytest.raises(TheoryError, match="variable 'v' unit must be a unit string"):
        Variable("v", unit)


def test_unit_error_is_a_theory_error():
    assert issubclass(UnitError, TheoryError)
    assert issubclass(UnitError, ValueError)


# -- dimensional errors ----------------------------------------------------------------------
DIMENSION_ERRORS = [
    # (expression, offending terms, dimension strings)
    ("dist + dur", ["'dist'", "'dur'", "added"], ["[length]", "[time]"]),
    ("dist - dur", ["'dist'", "'dur'", "subtracted"], ["[length]", "[time]"]),
    (
        "(dist + dist_km)*dur + dist",
        ["'(dist + dist_km)*dur'", "'dist'"],
        ["[length] * [time]", "and [length]"],
    ),
    ("where(dist > dur, 1, 2)", ["'dist'", "'dur'", "compared"], ["[length]", "[time]"]),
    ("where(dist > 1, dist, 0)", ["'dist'", "'1'", "compared"], ["[length]", "dimensionless"]),
    (
        "where(dist > dist_km, dist, dur)",
        ["'dist'", "'dur'", "branches of where()"],
        ["[length]", "[time]"],
    ),
    ("min(dist, dur)", ["'dist'", "'dur'", "min()"], ["[length]", "[time]"]),
    ("max(dist_km, dist, dur)", ["'dist_km'", "'dur'", "max()"], ["[length]", "[time]"]),
    ("exp(dist)", ["'dist'", "argument of exp()"], ["dimensionless", "[length]"]),
    ("log(dur/ratio)", ["'dur/ratio'", "argument of log()"], ["dimensionless", "[time]"]),
    ("sin(dist*dur)", ["'dist*dur'", "argument of sin()"], ["dimensionless", "[length] * [time]"]),
    ("tanh(dist)", ["'dist'", "argument of tanh()"], ["dimensionless", "[length]"]),
    ("dist**ratio", ["'dist'", "'ratio'", "must be a number"], ["[length]"]),
    ("dist**(2*ratio)", ["'dist'", "'2*ratio'", "must be a number"], ["[length]"]),
    ("ratio**dur", ["'dur'", "exponent"], ["dimensionless", "[time]"]),
    ("dist + 0*dur", ["'dist'", "'0*dur'"], ["[length]", "[time]"]),
    ("dist + 1", ["'dist'", "'1'"], ["[length]", "dimensionless"]),
]


@pytest.mark.parametrize(("expression", "terms", "dims"), DIMENSION_ERRORS)
def test_dimension_error_names_owner_expression_terms_and_dimensions(expression, terms, dims):
    with pytest.raises(UnitError) as info:
        theory_with(expression)
    message = str(info.value)
    assert "relation 'r'" in message
    assert repr(expression) in message
    for fragment in terms + dims:
        assert fragment in message, f"{fragment!r} missing from: {message}"


@pytest.mark.parametrize(
    "expression",
    [
        "dist + 0",
        "0 + dur",
        "0.0 - dist",
        "max(dist, 0)",
        "min(0, dur)",
        "where(dist > 0, dist, 0)",
        "where(0 < dur, 0, dur)",
        "dist/dur + dist_km/dur",
        "sqrt(dist*dist_km) + dist",
        "exp(dist/dist_km) + ratio**2.5",
        "dist**0.5*dist**1.5 + dist*dist_km",
    ],
)
def test_consistent_expressions_are_accepted(expression):
    theory = theory_with(expression)
    assert "r" in theory.names


@pytest.mark.parametrize(
    ("expression", "dimensionality"),
    [
        ("dist/dur", ureg.Unit("m/s").dimensionality),
        ("sqrt(dist*dist_km)", ureg.Unit("m").dimensionality),
        ("dist**3/dur", ureg.Unit("m**3/s").dimensionality),
        ("dist**-1", ureg.Unit("1/m").dimensionality),
        ("abs(dist) + dist_km", ureg.Unit("m").dimensionality),
        ("sign(dist)*dur", ureg.Unit("s").dimensionality),
        ("exp(ratio)*dist", ureg.Unit("m").dimensionality),
    ],
)
def test_inferred_units(expression, dimensionality):
    assert theory_with(expression).unit_of("r").unit.dimensionality == dimensionality


def test_equation_residual_mismatch_is_unit_error():
    with pytest.raises(UnitError, match=r"equation 'e'.*'D\(u, t\)'.*'x'.*\[length\] / \[time\]"):
        Theory(
            variables=[Variable("x", "m"), Variable("t", "s"), Variable("u", "m", role="target")],
            constraints=[Equation("D(u, t) == x", name="e")],
        )


# -- conversion factors ----------------------------------------------------------------------
def test_sum_of_metres_and_kilometres_is_in_metres():
    theory = theory_with("dist + dist_km")
    assert theory.unit_of("r").unit == ureg.m
    value = theory.expression_of("r").evaluate({"dist": 3.0, "dist_km": 2.0})
    assert float(value) == pytest.approx(2003.0, rel=1e-12)


def test_sum_takes_the_unit_of_the_first_term():
    theory = theory_with("dist_km - dist")
    assert theory.unit_of("r").unit == ureg.km
    value = theory.expression_of("r").evaluate({"dist": 500.0, "dist_km": 2.0})
    assert float(value) == pytest.approx(1.5, rel=1e-12)


def test_conversion_broadcasts_over_arrays():
    theory = theory_with("dist + dist_km")
    out = theory.expression_of("r").evaluate({"dist": np.array([1.0, 2.0]), "dist_km": 1.0})
    np.testing.assert_allclose(out, [1001.0, 1002.0], rtol=1e-12)


def test_relation_declared_in_km_from_metres():
    theory = theory_with("dist + dist", unit="km")
    assert theory.unit_of("r").unit == ureg.km
    assert value_of("dist + dist", {"dist": 750.0}, unit="km") == pytest.approx(1.5, rel=1e-12)


def test_relation_declared_in_incompatible_unit_is_refused():
    with pytest.raises(UnitError) as info:
        theory_with("dist", unit="s")
    message = str(info.value)
    assert "relation 'r'" in message and "'s'" in message
    assert "[length]" in message and "[time]" in message


def test_relation_using_a_relation_sees_its_declared_unit():
    theory = Theory(
        variables=_variables(),
        relations=[
            Relation("in_m", "dist_km", unit="m"),
            Relation("total", "in_m + dist", unit="km"),
        ],
    )
    assert theory.unit_of("in_m").unit == ureg.m
    out = theory.expression_of("total").evaluate({"dist_km": 2.0, "dist": 500.0})
    assert float(out) == pytest.approx(2.5, rel=1e-12)


def test_exp_of_metres_over_kilometres_is_converted():
    # x/L with x = 1000 m and L = 1 km is exactly 1, so exp(x/L) is e, not exp(1000).
    theory = theory_with("exp(dist/dist_km)")
    assert theory.unit_of("r").dimensionless
    assert value_of("exp(dist/dist_km)", {"dist": 1000.0, "dist_km": 1.0}) == pytest.approx(
        math.e, rel=1e-12
    )
    assert value_of("exp(dist/dist_km)", {"dist": 2500.0, "dist_km": 5.0}) == pytest.approx(
        math.exp(0.5), rel=1e-12
    )


@pytest.mark.parametrize(
    ("expression", "values", "expected"),
    [
        ("where(dist > dist_km, 1, 0)", {"dist": 1500.0, "dist_km": 1.0}, 1.0),
        ("where(dist > dist_km, 1, 0)", {"dist": 500.0, "dist_km": 1.0}, 0.0),
        ("where(ratio > 0, dist, dist_km)", {"ratio": -1.0, "dist": 5.0, "dist_km": 2.0}, 2000.0),
        ("max(dist, dist_km)", {"dist": 500.0, "dist_km": 1.0}, 1000.0),
        ("min(dist_km, dist)", {"dist": 500.0, "dist_km": 1.0}, 0.5),
        ("log(dist_km/dist)", {"dist": 1.0, "dist_km": 1.0}, math.log(1000.0)),
        ("(dist/dist_km)**ratio", {"dist": 4000.0, "dist_km": 1.0, "ratio": 0.5}, 2.0),
    ],
)
def test_conversion_factors_in_comparisons_extrema_and_functions(expression, values, expected):
    assert value_of(expression, values) == pytest.approx(expected, rel=1e-12)


def test_dimensionless_ratio_of_different_units_keeps_its_unit_until_declared():
    # sqrt(m/km) is dimensionless but written in the unit (m/km)**0.5; declaring '1' converts.
    values = {"dist": 4000.0, "dist_km": 1.0}
    inferred = theory_with("sqrt(dist/dist_km)").unit_of("r")
    assert inferred.dimensionless
    raw = value_of("sqrt(dist/dist_km)", values)
    assert raw * float(ureg.Quantity(1.0, inferred.unit).to("").magnitude) == pytest.approx(2.0)
    assert value_of("sqrt(dist/dist_km)", values, unit="1") == pytest.approx(2.0, rel=1e-12)


def test_physics_model_output_is_converted_to_target_unit():
    theory = Theory(
        variables=[Variable("x", "m"), Variable("u", "km", role="target")],
        physics_model=PhysicsModel(outputs={"u": "x"}),
    )
    assert float(theory.physics_expression_of("u").evaluate({"x": 1500.0})) == pytest.approx(1.5)


# -- offset temperatures ---------------------------------------------------------------------
def test_difference_of_two_offset_temperatures_is_a_difference():
    theory = theory_with("temp - temp2")
    info = theory.unit_of("r")
    assert info.offset is False
    assert info.unit == ureg.delta_degC
    assert value_of("temp - temp2", {"temp": 20.0, "temp2": 5.0}) == pytest.approx(15.0)


@pytest.mark.parametrize(("unit", "expected"), [("K", 15.0), ("delta_degF", 27.0)])
def test_difference_converts_to_kelvin_and_fahrenheit_degrees(unit, expected):
    values = {"temp": 20.0, "temp2": 5.0}
    assert value_of("temp - temp2", values, unit=unit) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("expression", "values", "expected"),
    [
        ("temp + dtemp", {"temp": 20.0, "dtemp": 2.5}, 22.5),
        ("dtemp + temp", {"temp": 20.0, "dtemp": 2.5}, 22.5),
        ("temp - dtemp", {"temp": 20.0, "dtemp": 2.5}, 17.5),
        ("temp + dtK", {"temp": 20.0, "dtK": 3.0}, 23.0),
        ("temp + 0", {"temp": 20.0}, 20.0),
        ("temp + (temp - temp2)", {"temp": 20.0, "temp2": 15.0}, 25.0),
        ("where(temp > temp2, temp, temp2)", {"temp": 20.0, "temp2": 25.0}, 25.0),
        ("max(temp, temp2)", {"temp": 20.0, "temp2": 25.0}, 25.0),
        ("min(temp, temp2)", {"temp": 20.0, "temp2": 25.0}, 20.0),
    ],
)
def test_offset_temperature_stays_offset(expression, values, expected):
    theory = theory_with(expression)
    info = theory.unit_of("r")
    assert info.offset is True
    assert info.unit == ureg.delta_degC
    assert float(theory.expression_of("r").evaluate(values)) == pytest.approx(expected)


def test_difference_of_offset_temperatures_may_be_scaled():
    theory = theory_with("(temp - temp2)*3/dur")
    assert theory.unit_of("r").offset is False
    assert value_of(
        "(temp - temp2)*3/dur", {"temp": 20.0, "temp2": 15.0, "dur": 5.0}
    ) == pytest.approx(3.0)


def test_tempF_plus_kelvin_difference():
    # 50 degF + 1 K = 51.8 degF
    theory = theory_with("tempF + dtK")
    assert theory.unit_of("r").offset is True
    assert value_of("tempF + dtK", {"tempF": 50.0, "dtK": 1.0}) == pytest.approx(51.8)


def test_adding_an_offset_temperature_to_a_difference_commutes():
    # dtK + tempF must be the same temperature as tempF + dtK (51.8 degF), in the same unit.
    values = {"tempF": 50.0, "dtK": 1.0}
    left, right = theory_with("tempF + dtK"), theory_with("dtK + tempF")
    assert right.unit_of("r") == left.unit_of("r")
    assert value_of("dtK + tempF", values) == pytest.approx(value_of("tempF + dtK", values))


@pytest.mark.parametrize(
    ("expression", "term"),
    [
        ("temp*2", "'temp'"),
        ("2*temp", "'temp'"),
        ("temp/dur", "'temp'"),
        ("dist/temp", "'temp'"),
        ("temp**2", "'temp'"),
        ("ratio**temp", "'temp'"),
        ("exp(temp)", "'temp'"),
        ("log(temp)", "'temp'"),
        ("sqrt(temp)", "'temp'"),
        ("abs(temp)", "'temp'"),
        ("sign(temp)", "'temp'"),
        ("-temp", "'temp'"),
        ("0 - temp", "'temp'"),
        ("dtemp - temp", "'temp'"),
        ("temp + temp2", "temp"),
    ],
)
def test_offset_temperature_misuse_is_refused_with_advice(expression, term):
    with pytest.raises(UnitError) as info:
        theory_with(expression)
    message = str(info.value)
    assert "relation 'r'" in message
    assert repr(expression) in message
    assert term in message
    assert "offset temperature" in message
    for advice in ("kelvin", "difference", "empirical"):
        assert advice in message, f"{advice!r} missing from: {message}"


@pytest.mark.parametrize(
    "expression",
    [
        "where(temp > dtemp, 1, 2)",
        "min(temp, dtemp)",
        "max(dtemp, temp)",
        "where(ratio > 0, temp, dtemp)",
    ],
)
def test_mixing_offset_temperature_and_difference_is_a_unit_error(expression):
    with pytest.raises(UnitError) as info:
        theory_with(expression)
    message = str(info.value)
    assert "offset temperature" in message and "difference" in message
    assert repr(expression) in message


@pytest.mark.parametrize(
    ("expression", "values", "expected"),
    [
        # 50 degF is 10 degC: the two temperatures are equal.
        ("tempF - temp", {"tempF": 50.0, "temp": 10.0}, 0.0),
        ("temp - tempF", {"tempF": 50.0, "temp": 10.0}, 0.0),
        ("where(tempF > temp, 1, 0)", {"tempF": 45.0, "temp": 10.0}, 0.0),
        ("max(tempF, temp)", {"tempF": 50.0, "temp": 20.0}, 68.0),
    ],
)
def test_offset_temperatures_in_different_units_are_refused_or_correct(
    expression, values, expected
):
    """degC and degF differ by an offset, not only a factor: refuse, or convert correctly."""
    try:
        theory = theory_with(expression)
    except UnitError:
        return
    value = float(theory.expression_of("r").evaluate(values))
    assert value == pytest.approx(expected, abs=1e-9), (
        f"{expression} at {values} gave {value} {theory.unit_of('r').unit}; expected {expected}"
    )


@pytest.mark.parametrize(
    ("expression", "unit", "fragment"),
    [
        ("temp", "K", "needs a shift (0 degC is 273.15 K)"),
        ("temp", "delta_degC", "but a temperature difference (delta_degree_Celsius) is expected"),
        ("temp - temp2", "degC", "but an offset temperature (degree_Celsius) is expected"),
        ("temp + dtemp", "degF", "not supported"),
    ],
)
def test_declared_unit_must_match_offset_kind(expression, unit, fragment):
    with pytest.raises(UnitError, match="relation 'r'") as info:
        theory_with(expression, unit=unit)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("expression", "unit", "words"),
    [
        # an absolute temperature in degC is 273.15 K more in kelvin: not a difference
        (
            "temp",
            "K",
            (
                "the expression is an offset temperature (degC), but K is expected",
                "0 degC is 273.15 K",
                "tgds converts units by a factor only",
                "expression = 'T + 273.15', unit = 'K', empirical = true",
            ),
        ),
        (
            "dtK",
            "degC",
            (
                "an offset temperature (degC) is expected, but the expression is in K",
                "0 degC is 273.15 K",
                "expression = 'T - 273.15', unit = 'degC', empirical = true",
            ),
        ),
        ("tempF", "K", ("offset temperature (degF), but K is expected", "0 degF is 255.372 K")),
    ],
)
def test_offset_temperature_declared_in_kelvin_explains_the_shift(expression, unit, words):
    with pytest.raises(UnitError, match="relation 'r'") as info:
        theory_with(expression, unit=unit)
    message = str(info.value)
    assert "a temperature difference is expected" not in message
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"


def test_physics_model_output_in_degC_for_a_kelvin_target_explains_the_shift():
    variables = [Variable("T", "degC"), Variable("T_K", "K", role="target")]
    with pytest.raises(UnitError) as info:
        Theory(variables=variables, physics_model=PhysicsModel(outputs={"T_K": "T"}))
    message = str(info.value)
    assert "physics model outputs['T_K']" in message
    assert "offset temperature (degC), but K is expected" in message
    assert "0 degC is 273.15 K" in message and "difference is expected" not in message
    # the workaround the message gives works: 20 degC is 293.15 K
    theory = Theory(
        variables=variables,
        relations=[Relation("t_k", "T + 273.15", unit="K", empirical=True)],
        physics_model=PhysicsModel(outputs={"T_K": "t_k"}),
    )
    value = theory.physics_expression_of("T_K").evaluate({"T": 20.0})
    assert float(value) == pytest.approx(293.15)


def test_offset_temperature_beside_kelvin_says_kelvin_is_taken_for_a_difference():
    with pytest.raises(UnitError) as info:
        theory_with("where(temp > dtK, 1, 2)")
    message = str(info.value)
    assert "'temp' is an offset temperature (degree_Celsius) and 'dtK' is not (kelvin)" in message
    assert "takes 'dtK' for a temperature difference" in message


def test_offset_relation_declared_in_degC_is_kept():
    theory = theory_with("temp + dtemp", unit="degC")
    assert theory.unit_of("r") == parse_unit("degC")


def test_unit_of_an_offset_variable():
    theory = theory_with("dist")
    assert theory.unit_of("temp").offset is True
    assert theory.unit_of("dtemp").offset is False
    assert theory.unit_of("temp").unit == theory.unit_of("dtemp").unit


def _temperature_gradient_theory(param_unit: str, equation: str) -> Theory:
    return Theory(
        variables=[
            Variable("temp", "degC"),
            Variable("z", "m"),
            Variable("u", "m/s", role="target"),
            Variable("T", "degC", role="target"),
        ],
        parameters=[Parameter("k", param_unit)],
        constraints=[Equation(equation)],
    )


@pytest.mark.parametrize(
    ("param_unit", "equation"),
    [
        ("m/s/K", "D(u, temp) == k"),
        ("m/s/delta_degC", "D(u, temp) == k"),
        ("K/m", "D(T, z) == k"),
        ("K/m^2", "D(T, z, 2) == k"),
        ("K/m/delta_degC", "D(D(T, z), temp) == k"),
    ],
)
def test_derivative_with_respect_to_or_of_degC_uses_delta_unit(param_unit, equation):
    theory = _temperature_gradient_theory(param_unit, equation)
    residual, derivatives = theory.residual_of(theory.constraints[0])
    (spec,) = derivatives
    # K and delta_degC are the same size: no conversion factor, residual = D(...) - k
    assert float(residual.evaluate({spec.key: 3.0, "k": 2.0})) == pytest.approx(1.0, rel=1e-12)


def test_derivative_with_respect_to_degC_wrong_unit_fails():
    with pytest.raises(UnitError) as info:
        _temperature_gradient_theory("m/s", "D(u, temp) == k")
    message = str(info.value)
    assert "'D(u, temp)'" in message and "'k'" in message
    assert "[length] / [time] / [temperature]" in message
    assert "and [length] / [time]" in message


# -- empirical relations ---------------------------------------------------------------------
def _water() -> Theory:
    return Theory(
        variables=[Variable("T", "degC", bounds=(0, 40))],
        relations=[Relation("density", WATER_DENSITY, unit="kg/m^3", empirical=True)],
    )


def test_empirical_water_density_in_degC():
    theory = _water()
    assert theory.unit_of("density").unit == ureg.Unit("kg/m^3")
    assert theory.unit_of("density").offset is False
    rho = theory.expression_of("density").evaluate({"T": np.array([4.0, 20.0, 0.0, 30.0])})
    assert rho[0] == pytest.approx(1000.0, abs=1e-3)  # maximum density near 4 degC
    assert rho[1] == pytest.approx(998.2, abs=0.05)
    assert rho[2] == pytest.approx(999.84, abs=0.05)
    assert rho[3] == pytest.approx(995.65, abs=0.05)
    assert rho[0] > max(rho[1], rho[2], rho[3])


def test_water_density_without_empirical_is_refused():
    with pytest.raises(UnitError) as info:
        Theory(
            variables=[Variable("T", "degC")],
            relations=[Relation("density", WATER_DENSITY, unit="kg/m^3")],
        )
    message = str(info.value)
    assert "relation 'density'" in message and "'T'" in message
    assert "offset temperature" in message


def test_empirical_relation_requires_unit():
    with pytest.raises(TheoryError, match="must declare the unit"):
        Relation("density", WATER_DENSITY, empirical=True)


def test_empirical_relation_evaluates_on_magnitudes_in_declared_units():
    theory = Theory(
        variables=[Variable("dist_km", "km"), Variable("temp", "degC")],
        relations=[Relation("r", "dist_km*temp**2 + 1", unit="m", empirical=True)],
    )
    assert theory.unit_of("r").unit == ureg.m
    assert float(theory.expression_of("r").evaluate({"dist_km": 2.0, "temp": 3.0})) == 19.0


def test_relation_of_an_empirical_relation_is_checked_with_its_unit():
    variables = [Variable("T", "degC"), Variable("vol", "m^3")]
    density = Relation("density", WATER_DENSITY, unit="kg/m^3", empirical=True)
    theory = Theory(variables=variables, relations=[density, Relation("mass", "density*vol", "kg")])
    mass = theory.expression_of("mass").evaluate({"T": 4.0, "vol": 2.0})
    assert float(mass) == pytest.approx(2000.0, abs=1e-2)
    with pytest.raises(UnitError, match=r"relation 'bad'.*'density'.*'vol'"):
        Theory(variables=variables, relations=[density, Relation("bad", "density + vol")])


# -- equations -------------------------------------------------------------------------------
def test_burgers_equation_is_dimensionally_consistent():
    theory = burgers_theory("m^2/s")
    residual, derivatives = theory.residual_of(theory.constraints[0])
    assert sorted(d.key for d in derivatives) == ["D(u, t)", "D(u, x)", "D(u, x, 2)"]
    values = {"u": 2.0, "D(u, t)": 1.0, "D(u, x)": 3.0, "D(u, x, 2)": 5.0, "nu": 0.1}
    assert float(residual.evaluate(values)) == pytest.approx(1.0 + 6.0 - 0.5)


def test_burgers_viscosity_in_cm2_per_s_gets_a_factor():
    theory = burgers_theory("cm^2/s")
    residual, _ = theory.residual_of(theory.constraints[0])
    values = {"u": 0.0, "D(u, t)": 0.0, "D(u, x)": 0.0, "D(u, x, 2)": 2.0, "nu": 3.0}
    assert float(residual.evaluate(values)) == pytest.approx(-6.0e-4, rel=1e-12)


def test_burgers_with_wrong_viscosity_unit_names_the_terms():
    with pytest.raises(UnitError) as info:
        burgers_theory("m/s")
    message = str(info.value)
    assert "equation 'burgers'" in message
    assert repr(BURGERS) in message
    assert "'D(u, t) + u*D(u, x)'" in message
    assert "'nu*D(u, x, 2)'" in message
    assert "[length] / [time] ** 2" in message
    assert "1 / [time] ** 2" in message


@pytest.mark.parametrize(
    ("equation", "name", "fragment"),
    [
        ("D(x, t) == 0", "'x'", "must be a target"),
        ("D(u, u) == 0", "'u'", "must be an input variable"),
        ("D(u, nu) == 0", "'nu'", "must be an input variable"),
        ("D(u, y) == 0", "'y'", "unknown name"),
    ],
)
def test_derivative_roles_are_checked(equation, name, fragment):
    with pytest.raises(TheoryError) as info:
        Theory(
            variables=[
                Variable("x", "m"),
                Variable("t", "s", role="time"),
                Variable("u", "m/s", role="target"),
            ],
            parameters=[Parameter("nu", "m^2/s")],
            constraints=[Equation(equation)],
        )
    assert fragment in str(info.value) and name in str(info.value)


# -- physics models and parameters -----------------------------------------------------------
def test_physics_model_output_unit_mismatch_fails():
    with pytest.raises(UnitError) as info:
        Theory(
            variables=[Variable("x", "m"), Variable("u", "m/s", role="target")],
            physics_model=PhysicsModel(outputs={"u": "x"}),
        )
    message = str(info.value)
    assert "physics model outputs['u']" in message
    assert "[length] but [length] / [time] is expected" in message


def test_physics_model_rate_unit_mismatch_fails():
    variables = [
        Variable("t", "s", role="time"),
        Variable("u", "m", role="target"),
    ]
    good = Theory(
        variables=variables,
        parameters=[Parameter("k", "1/s")],
        physics_model=PhysicsModel(rates={"u": "-k*u"}, time="t"),
    )
    assert float(good.physics_expression_of("u").evaluate({"k": 2.0, "u": 3.0})) == -6.0
    with pytest.raises(UnitError, match=r"rates\['u'\].*1 / \[time\] but \[length\] / \[time\]"):
        Theory(
            variables=variables,
            parameters=[Parameter("k", "1/s")],
            physics_model=PhysicsModel(rates={"u": "k"}, time="t"),
        )


def test_physics_model_dimension_error_inside_expression():
    with pytest.raises(UnitError, match=r"physics model outputs\['u'\].*'x'.*'t'"):
        Theory(
            variables=[Variable("x", "m"), Variable("t", "s"), Variable("u", "m", role="target")],
            physics_model=PhysicsModel(outputs={"u": "x + t"}),
        )


@pytest.mark.parametrize("unit", ["degC", "degF"])
def test_parameters_with_offset_units_are_refused(unit):
    with pytest.raises(TheoryError, match="offset temperature") as info:
        Parameter("T0", unit)
    assert "parameter 'T0'" in str(info.value)


@pytest.mark.parametrize("unit", ["K", "delta_degC", "degC/m"])
def test_parameters_with_temperature_difference_units_are_accepted(unit):
    assert Parameter("T0", unit).unit_info.offset is False
