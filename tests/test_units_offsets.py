"""Offset temperatures (degC, degF) beside temperatures on other scales.

tgds converts units by a factor only, never by a shift. A temperature in kelvin beside
one in degC would be taken for a temperature difference, so ``T_degC - Tr_K`` at 20 degC
and 293.15 K gave -273.15 instead of 0. Subtracting, comparing or equating temperatures
on two scales (degC with K, degF or degR; degF with K) is now refused when the theory is
built, with a message that names the expression, both terms and their units, and the fix.
Same-scale differences, temperature differences of any unit, kelvin parameters used as
differences (``k*(T - T0)`` with ``k`` in 1/K) and the shipped TOML files keep working.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tgds.datasets import bundled_path
from tgds.exceptions import TheoryError, UnitError
from tgds.runs._experiment import load_experiment
from tgds.theory import Equation, Parameter, Relation, Theory, Variable, ureg

ROOT = Path(__file__).resolve().parents[1]
FIX = "declare both in the same unit"


def _variables() -> list[Variable]:
    return [
        Variable("T", "degC", role="target"),
        Variable("T2", "degC"),
        Variable("Tr", "K"),
        Variable("Tr2", "K"),
        Variable("TF", "degF"),
        Variable("TR", "degR"),
        Variable("dT", "delta_degC"),
        Variable("z", "m"),
        Variable("t", "s", role="time"),
        Variable("x", "1"),
    ]


def theory_with(expression: str, unit: str | None = None, **kwargs: object) -> Theory:
    """A theory whose only relation ``r`` is ``expression``."""
    return Theory(
        variables=_variables(),
        parameters=[
            Parameter("k", "1/K", value=0.2),
            Parameter("lapse", "K/m", value=0.0065),
            Parameter("dTK", "K", value=3.0),
            Parameter("dTC", "delta_degC", value=3.0),
            Parameter("rate", "1/s", value=0.1),
        ],
        relations=[Relation("r", expression, unit=unit, **kwargs)],
    )


def value_of(expression: str, values: dict[str, float], unit: str | None = None) -> float:
    theory = theory_with(expression, unit)
    values = {**theory.parameter_values(), **values}
    return float(theory.expression_of("r").evaluate(values))


def refusal(build) -> str:
    with pytest.raises(UnitError) as info:
        build()
    return str(info.value)


def assert_mentions(text: str, *parts: str) -> None:
    missing = [p for p in parts if p not in text]
    assert not missing, f"message {text!r} does not mention {missing}"


# -- the reported defect ---------------------------------------------------------------------
def test_reported_degC_minus_kelvin_relation_is_refused_at_construction():
    # was: no error, and -273.15 delta_degC at T = 20 degC, Tr = 293.15 K
    variables = [Variable("Tr", "K"), Variable("T", "degC", role="target")]
    with pytest.raises(TheoryError) as info:
        Theory(variables, relations=[Relation("d", "T - Tr")])
    assert isinstance(info.value, UnitError)
    assert_mentions(
        str(info.value),
        "relation 'd' 'T - Tr'",
        "'T' (degC)",
        "'Tr' (K)",
        "subtracted",
        "different temperature scales",
        "0 degC is 273.15 K",
        FIX,
        "'degC'",
        "'K'",
        "'delta_degC'",
    )


def test_reported_equation_names_the_mixed_scales_not_an_offset_product():
    variables = [
        Variable("t", "s", role="time"),
        Variable("Tr", "K"),
        Variable("T", "degC", role="target"),
    ]
    message = refusal(
        lambda: Theory(
            variables,
            parameters=[Parameter("k", "1/s", value=0.1)],
            constraints=[Equation("D(T, t) == -k*(T - Tr)", name="cooling")],
        )
    )
    assert_mentions(message, "equation 'cooling'", "'T - Tr'", "'T' (degC)", "'Tr' (K)", FIX)
    # the old advice told the user to write the difference they had written
    assert "a difference (T - T0)" not in message
    assert "cannot be multiplied" not in message


# -- refused: two temperature scales ---------------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "first", "second", "verb"),
    [
        ("T - Tr", "'T' (degC)", "'Tr' (K)", "subtracted"),
        ("Tr - T", "'Tr' (K)", "'T' (degC)", "subtracted"),
        ("T2 - TR", "'T2' (degC)", "'TR' (degR)", "subtracted"),
        ("TF - Tr", "'TF' (degF)", "'Tr' (K)", "subtracted"),
        ("T - TF", "'T' (degC)", "'TF' (degF)", "subtracted"),
        ("TF - T2", "'TF' (degF)", "'T2' (degC)", "subtracted"),
        ("where(T > Tr, 1, 0)", "'T' (degC)", "'Tr' (K)", "compared"),
        ("where(Tr <= T2, 1, 0)", "'Tr' (K)", "'T2' (degC)", "compared"),
        ("where(T > TF, 1, 0)", "'T' (degC)", "'TF' (degF)", "compared"),
        ("max(T, Tr)", "'T' (degC)", "'Tr' (K)", "used together"),
        ("min(Tr, T)", "'Tr' (K)", "'T' (degC)", "used together"),
        ("max(T, TF)", "'T' (degC)", "'TF' (degF)", "used together"),
        ("where(x > 0, T, Tr)", "'T' (degC)", "'Tr' (K)", "used together"),
        ("(T - Tr)*k", "'T' (degC)", "'Tr' (K)", "subtracted"),
    ],
)
def test_temperatures_on_two_scales_are_refused_with_the_fix(expression, first, second, verb):
    message = refusal(lambda: theory_with(expression))
    assert_mentions(
        message,
        f"relation 'r' {expression!r}",
        first,
        second,
        verb,
        "different temperature scales",
        FIX,
        "a temperature difference should be declared 'delta_deg",
    )


@pytest.mark.parametrize(
    ("expression", "shift"),
    [
        ("T - Tr", "0 degC is 273.15 K"),
        ("T - TF", "0 degC is 32 degF"),
        ("TF - Tr", "0 degF is 255.372 K"),
    ],
)
def test_two_scales_message_gives_the_shift_a_factor_cannot_make(expression, shift):
    assert shift in refusal(lambda: theory_with(expression))


@pytest.mark.parametrize(
    ("expression", "kelvin_term"),
    [
        ("T - 0.5*(Tr + Tr2)", "'0.5*(Tr + Tr2)' (K)"),  # a mean temperature
        ("T - (Tr + dTK)", "'Tr + dTK' (K)"),
        ("T - abs(Tr)", "'abs(Tr)' (K)"),
        ("T - Tr/1", "'Tr/1' (K)"),
        ("T - -Tr", "'-Tr' (K)"),
    ],
)
def test_kelvin_temperatures_computed_from_kelvin_temperatures_are_refused(expression, kelvin_term):
    message = refusal(lambda: theory_with(expression))
    assert_mentions(message, "different temperature scales", "'T' (degC)", kelvin_term)


def test_kelvin_relation_subtracted_from_degC_is_refused():
    variables = [Variable("T", "degC", role="target"), Variable("T2", "degC")]
    relations = [
        Relation("t_k", "T2 + 273.15", unit="K", empirical=True),
        Relation("d", "T - t_k"),
    ]
    message = refusal(lambda: Theory(variables, relations=relations))
    assert_mentions(message, "relation 'd' 'T - t_k'", "'t_k' (K)", FIX)


@pytest.mark.parametrize(("lhs", "rhs"), [("T", "Tr"), ("Tr", "T"), ("T", "TF")])
def test_equating_temperatures_on_two_scales_is_refused(lhs, rhs):
    variables = _variables()
    message = refusal(lambda: Theory(variables, constraints=[Equation(f"{lhs} == {rhs}")]))
    assert_mentions(message, f"'{lhs}'", f"'{rhs}'", "equated", "different temperature scales", FIX)


def test_kelvin_parameter_subtracted_from_degC_points_to_delta_degC():
    message = refusal(lambda: theory_with("T - dTK"))
    assert_mentions(message, "'dTK' (K)", "'delta_degC'")
    # the fix the message gives works: a parameter declared in delta_degC
    assert value_of("T - dTC", {"T": 20.0}) == pytest.approx(17.0)


# -- a difference that is really a temperature -------------------------------------------------
def test_offset_minus_a_difference_explains_that_the_result_is_a_temperature():
    # 'dT' is declared a difference, so 'T - dT' is a temperature: scaling it is refused, and
    # the message must say why rather than advise writing the difference already written
    message = refusal(lambda: theory_with("k*(T - dT)"))
    assert_mentions(
        message,
        "'T - dT' is an offset temperature",
        "'dT' is a temperature difference (delta_degC)",
        "if 'dT' is a temperature, declare it in 'degC'",
    )


def test_a_number_added_to_degC_points_to_an_empirical_conversion():
    message = refusal(lambda: theory_with("T + 273.15", unit="K"))
    assert_mentions(message, "'T'", "'273.15'", "empirical = true")


# -- kept: where degC and K legitimately meet ------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "values", "expected", "unit"),
    [
        # same scale: a difference
        ("T - T2", {"T": 20.0, "T2": 5.0}, 15.0, ureg.delta_degC),
        ("Tr - Tr2", {"Tr": 300.0, "Tr2": 280.0}, 20.0, ureg.kelvin),
        # kelvin and rankine share their zero: a factor is the whole conversion (540 degR = 300 K)
        ("Tr - TR", {"Tr": 300.0, "TR": 540.0}, 0.0, ureg.kelvin),
        # a lapse rate in 1/K times a degC difference (delta_degC and K are the same size)
        ("k*(T - T2)", {"T": 20.0, "T2": 15.0}, 1.0, None),
        ("exp(-k*(T - T2))", {"T": 20.0, "T2": 20.0}, 1.0, None),
        # degC minus a kelvin difference computed from kelvin temperatures
        ("T - (Tr - Tr2)", {"T": 20.0, "Tr": 300.0, "Tr2": 290.0}, 10.0, ureg.delta_degC),
        # degC minus a lapse rate in K/m times a height: a difference
        ("T - lapse*z", {"T": 15.0, "z": 1000.0}, 8.5, ureg.delta_degC),
        # a kelvin value added to a degC temperature can only be a difference
        ("T + dTK", {"T": 20.0}, 23.0, ureg.delta_degC),
        ("dTK + T", {"T": 20.0}, 23.0, ureg.delta_degC),
        ("T - dT", {"T": 20.0, "dT": 2.5}, 17.5, ureg.delta_degC),
        ("where(T > T2, T, T2)", {"T": 20.0, "T2": 25.0}, 25.0, ureg.delta_degC),
        ("max(T - T2, Tr - Tr2)", {"T": 20.0, "T2": 5.0, "Tr": 300.0, "Tr2": 290.0}, 15.0, None),
    ],
)
def test_same_scale_and_difference_arithmetic_still_works(expression, values, expected, unit):
    theory = theory_with(expression)
    assert value_of(expression, values) == pytest.approx(expected)
    if unit is not None:
        assert theory.unit_of("r").unit == unit


def test_kelvin_difference_relation_is_used_beside_degC_once_declared_delta_degC():
    variables = [Variable("T", "degC", role="target"), Variable("z", "m")]
    lapse = [Parameter("lapse", "K/m", value=0.0065)]

    def theory(unit: str | None) -> Theory:
        drop = Relation("drop", "lapse*z", unit=unit)
        return Theory(variables, lapse, relations=[drop, Relation("r", "T - drop")])

    # in K, a relation's result may be a temperature: refused, pointing to delta_degC
    assert_mentions(refusal(lambda: theory(None)), "'drop' (K)", "'delta_degC'")
    values = {"T": 15.0, "z": 1000.0, "lapse": 0.0065}
    value = theory("delta_degC").expression_of("r").evaluate(values)
    assert float(value) == pytest.approx(8.5)


def test_equation_with_a_rate_in_per_kelvin_on_a_degC_difference():
    # Newton's cooling written in degC with a coefficient per kelvin
    variables = [
        Variable("t", "s", role="time"),
        Variable("Ta", "degC"),
        Variable("T", "degC", role="target"),
    ]
    theory = Theory(
        variables,
        parameters=[Parameter("h", "1/(s*K)", value=0.5), Parameter("c", "K", value=2.0)],
        constraints=[Equation("D(T, t) == -h*c*(T - Ta)", name="cooling")],
    )
    residual, _ = theory.residual_of(theory.constraints[0])
    value = residual.evaluate({"D(T, t)": -10.0, "T": 30.0, "Ta": 20.0, "h": 0.5, "c": 2.0})
    assert float(value) == pytest.approx(0.0)


def test_empirical_conversion_to_kelvin_then_kelvin_arithmetic():
    variables = [Variable("T", "degC", role="target"), Variable("Tr", "K")]
    theory = Theory(
        variables,
        relations=[
            Relation("t_k", "T + 273.15", unit="K", empirical=True),
            Relation("d", "t_k - Tr"),
        ],
    )
    assert float(theory.expression_of("d").evaluate({"T": 20.0, "Tr": 293.15})) == pytest.approx(
        0.0
    )


# -- the shipped theories -----------------------------------------------------------------------
THEORY_FILES = sorted((ROOT / "examples").glob("*.toml")) + [
    p for p in sorted(bundled_path("lake.toml").parent.glob("*.toml")) if p.name != "lake_demo.toml"
]


@pytest.mark.parametrize("path", THEORY_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_theory_files_load(path):
    theory = Theory.from_toml(path)
    assert theory.variables


def test_shipped_theory_file_list_is_complete():
    assert {p.name for p in THEORY_FILES} >= {"lake.toml", "burgers.toml", "lotka_volterra.toml"}
    assert len(THEORY_FILES) == 6


def test_bundled_demo_experiment_and_its_theory_load():
    experiment = load_experiment(bundled_path("lake_demo.toml"))
    theory = Theory.from_toml(bundled_path(f"{experiment.theory['bundled']}.toml"))
    density = theory.expression_of("density").evaluate({"Observed_temp": 3.9863})
    assert float(density) == pytest.approx(1000.0, abs=1e-3)
