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

# subpackages with heavy dependencies (matplotlib, the HTML report, the run store), imported on
# first use so that ``import tgds`` stays light: ``tgds.plot.learning_curves(model)`` works
# after a plain ``import tgds``
_LAZY = ("datasets", "plot", "report", "runs")


def __getattr__(name: str):  # PEP 562
    if name in _LAZY:
        import importlib  # noqa: PLC0415

        return importlib.import_module(f"tgds.{name}")
    raise AttributeError(f"module 'tgds' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


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
