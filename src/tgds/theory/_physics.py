"""``PhysicsModel``: a theory-based model of the targets, possibly with unknown parameters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tgds.exceptions import TheoryError
from tgds.theory._expression import Expression, as_expression
from tgds.theory._variables import check_name

__all__ = ["PhysicsModel"]


def _expression_map(value: object, what: str) -> tuple[tuple[str, Expression], ...] | None:
    if value is None:
        return None
    if isinstance(value, tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in value):
        value = dict(value)
    if not isinstance(value, Mapping) or not value:
        raise TheoryError(
            f"physics model {what} must be a non-empty table target -> expression; got {value!r:.60}."
        )
    return tuple(
        (
            check_name(k, f"physics model {what} key"),
            as_expression(v, f"physics model {what}[{k!r}]"),
        )
        for k, v in value.items()
    )


@dataclass(frozen=True)
class PhysicsModel:
    """A physics-based model of the targets. Give exactly one of ``outputs``, ``rates``, ``function``.

    Parameters
    ----------
    outputs : mapping target -> expression, optional
        Algebraic model: each target equals an expression of inputs and parameters.
        The expression may simply name a column holding a simulator's output.
    rates : mapping state -> expression, optional
        ODE model: ``d state / d time = rate``; ``time`` names the time variable.
    time : str, optional
        The time variable of an ODE model.
    function : callable, optional
        ``function(X, params) -> array`` in Python, for models that cannot be written
        as expressions. Such a theory cannot be saved to TOML.
    targets : tuple of str, optional
        The targets ``function`` predicts (required with ``function``).
    description : str
        Free text.

    Examples
    --------
    >>> PhysicsModel(outputs={"Observed_temp": "Modeled_temp"})  # a simulator's output column
    PhysicsModel(outputs={'Observed_temp': 'Modeled_temp'})
    >>> PhysicsModel(rates={"u": "alpha*u - beta*u*v", "v": "-gamma*v + delta*u*v"}, time="t")
    PhysicsModel(rates={'u': 'alpha*u - beta*u*v', 'v': '-gamma*v + delta*u*v'}, time='t')
    """

    outputs: tuple[tuple[str, Expression], ...] | None = None
    rates: tuple[tuple[str, Expression], ...] | None = None
    time: str | None = None
    function: Callable | None = None
    targets: tuple[str, ...] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        given = [k for k in ("outputs", "rates", "function") if getattr(self, k) is not None]
        if len(given) != 1:
            raise TheoryError(
                f"a physics model needs exactly one of outputs, rates or function; got {given or 'none'}."
            )
        object.__setattr__(self, "outputs", _expression_map(self.outputs, "outputs"))
        object.__setattr__(self, "rates", _expression_map(self.rates, "rates"))
        if self.rates is not None and self.time is None:
            raise TheoryError(
                "a physics model with rates (an ODE) needs time = '<the time variable>'."
            )
        if self.rates is None and self.time is not None:
            raise TheoryError("physics model 'time' is only used with rates (an ODE model).")
        if self.time is not None:
            check_name(self.time, "physics model time")
        if self.function is not None:
            if not callable(self.function):
                raise TheoryError(
                    f"physics model function must be callable; got {self.function!r:.60}."
                )
            if not self.targets:
                raise TheoryError(
                    "a physics model given as a function must list its targets (targets=('y',))."
                )
        if self.targets is not None:
            names = (self.targets,) if isinstance(self.targets, str) else tuple(self.targets)
            object.__setattr__(
                self, "targets", tuple(check_name(t, "physics model target") for t in names)
            )
        if self.function is None and self.targets is not None:
            raise TheoryError(
                "physics model 'targets' is only used with function; outputs and rates name their targets."
            )

    @property
    def kind(self) -> str:
        """``"outputs"`` (algebraic), ``"rates"`` (ODE) or ``"function"``."""
        return "outputs" if self.outputs else "rates" if self.rates else "function"

    @property
    def expressions(self) -> dict[str, Expression]:
        """Target (or state) -> expression, for ``outputs`` and ``rates`` models."""
        return dict(self.outputs or self.rates or ())

    @property
    def predicted(self) -> tuple[str, ...]:
        """The targets (or ODE states) this model predicts."""
        return self.targets if self.function is not None else tuple(self.expressions)

    def __repr__(self) -> str:
        if self.function is not None:
            return f"PhysicsModel(function={getattr(self.function, '__name__', self.function)!r}, targets={self.targets})"
        body = {k: e.text for k, e in self.expressions.items()}
        time = f", time={self.time!r}" if self.time else ""
        return f"PhysicsModel({self.kind}={body}{time})"
