"""tgds: theory-guided data science.

Write down what you know about a system once (variables with units and physical
ranges, relations, constraints, governing equations, a physics model) as a
:class:`~tgds.theory.Theory`, and use it in every step of the workflow.
"""

from tgds.exceptions import DataError, TgdsError, TheoryError, UnitError
from tgds.theory import (
    Bounds,
    Equation,
    Expression,
    Interactions,
    Invariance,
    Monotonic,
    Parameter,
    PhysicsModel,
    Relation,
    Shape,
    Theory,
    Variable,
    check_data,
)

__version__ = "0.1.0"

from tgds._persist import load, save  # noqa: E402 - needs the names above
from tgds.models import TheoryGuidedClassifier, TheoryGuidedRegressor  # noqa: E402
from tgds.refine import audit  # noqa: E402
from tgds.selection import compare  # noqa: E402

__all__ = [
    "Bounds",
    "DataError",
    "Equation",
    "Expression",
    "Interactions",
    "Invariance",
    "Monotonic",
    "Parameter",
    "PhysicsModel",
    "Relation",
    "Shape",
    "TgdsError",
    "Theory",
    "TheoryGuidedClassifier",
    "TheoryGuidedRegressor",
    "TheoryError",
    "UnitError",
    "Variable",
    "__version__",
    "audit",
    "check_data",
    "compare",
    "load",
    "save",
]
