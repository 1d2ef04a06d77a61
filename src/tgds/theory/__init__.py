"""The theory language: variables, parameters, relations, constraints, physics models.

Write down what is known about a system once, in Python or in a TOML file, and every
later step of the workflow reads the same :class:`Theory`. Expressions go through a
whitelist parser (:mod:`tgds.theory._parser`); units are pint units and every relation
and equation is checked for dimensional consistency (:mod:`tgds.theory._units`
explains offset temperatures such as degC).
"""

from tgds.theory._autodiff import field_derivatives
from tgds.theory._build import DerivativeSpec
from tgds.theory._check import ColumnSummary, DataIssue, DataReport, check_data
from tgds.theory._compile import CompiledExpression
from tgds.theory._constraints import (
    AbstractConstraint,
    AbstractTransform,
    Bounds,
    Equation,
    Interactions,
    Invariance,
    Monotonic,
    Permutation,
    Reflection,
    Rotation,
    Scaling,
    Shape,
    Translation,
)
from tgds.theory._expression import Expression, SymbolicExpression
from tgds.theory._physics import PhysicsModel
from tgds.theory._relation import Relation
from tgds.theory._theory import Theory
from tgds.theory._units import UnitInfo, parse_unit, ureg
from tgds.theory._variables import HalfNormal, LogNormal, Normal, Parameter, Uniform, Variable

__all__ = [
    "AbstractConstraint",
    "AbstractTransform",
    "Bounds",
    "ColumnSummary",
    "CompiledExpression",
    "DataIssue",
    "DataReport",
    "DerivativeSpec",
    "Equation",
    "Expression",
    "HalfNormal",
    "Interactions",
    "Invariance",
    "LogNormal",
    "Monotonic",
    "Normal",
    "Parameter",
    "Permutation",
    "PhysicsModel",
    "Reflection",
    "Relation",
    "Rotation",
    "Scaling",
    "Shape",
    "SymbolicExpression",
    "Theory",
    "Translation",
    "Uniform",
    "UnitInfo",
    "Variable",
    "check_data",
    "field_derivatives",
    "parse_unit",
    "ureg",
]
