"""``tgds.save`` and ``tgds.load``: safe files for fitted tgds estimators.

A model file is a tgds container (:mod:`tgds.utils._container`): JSON metadata with
the estimator's class, parameters (the theory as TOML text) and fitted attributes,
followed by the network's arrays. Loading accepts only the estimator classes listed
here, rebuilds the network's structure from the metadata and reads the arrays into
it; nothing is unpickled and no code named in the file is imported.

Which estimators: :class:`~tgds.models.TheoryGuidedRegressor`,
:class:`~tgds.models.TheoryGuidedClassifier`, :class:`~tgds.models.PhysicsModelRegressor`
(no arrays: its fitted state follows from the theory) and
:class:`~tgds.refine.ConsistentRegressor` around one of these (its repairs by name and
fields; the arrays are those of the wrapped estimator). A ``ConsistentRegressor`` around
another library's estimator is refused: save that estimator with ``skops.io`` and wrap it
again with ``prefit=True``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from tgds._validation import is_number
from tgds.exceptions import DataError
from tgds.models import PhysicsModelRegressor, TheoryGuidedClassifier, TheoryGuidedRegressor
from tgds.refine import (
    ConservationProjection,
    ConsistentRegressor,
    IsotonicProjection,
    ProjectToBounds,
)
from tgds.theory import Theory
from tgds.utils import (
    dataclass_fields,
    dataclass_from_fields,
    plain_containers,
    read_container,
    read_container_meta,
    restore_containers,
    write_container,
)

__all__ = ["save", "load"]

_KIND = "model-1"
_NETWORKS = {cls.__name__: cls for cls in (TheoryGuidedRegressor, TheoryGuidedClassifier)}
_CLASSES = (*_NETWORKS, PhysicsModelRegressor.__name__, ConsistentRegressor.__name__)
_REPAIRS = {
    cls.__name__: cls for cls in (ProjectToBounds, IsotonicProjection, ConservationProjection)
}


def save(model: Any, path: str | Path) -> Path:
    """Write a fitted tgds estimator to ``path`` atomically; returns the path.

    The folder of ``path`` must exist; a file already there is replaced.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from tgds.models import TheoryGuidedRegressor
    >>> X = np.linspace(0, 1, 20).reshape(-1, 1)
    >>> m = TheoryGuidedRegressor(hidden=(8,), epochs=5, random_state=0).fit(X, X[:, 0])
    >>> path = save(m, pathlib.Path(tempfile.mkdtemp()) / "model.tgds")
    >>> bool(np.array_equal(load(path).predict(X), m.predict(X)))
    True
    """
    meta, tree = _state(model)
    path = Path(path)
    _check_writable(path)
    try:
        return write_container(path, _KIND, meta, tree)
    except OSError as err:  # it names the temporary file, not the one asked for
        raise DataError(f"cannot write model file '{path}': {err.strerror or err}.") from None


def _check_writable(path: Path) -> None:
    """Refuse, naming ``path``, what would fail in the atomic write's rename or temporary file."""
    if path.is_dir():
        raise DataError(f"cannot write model file '{path}': it is a folder; give a file path.")
    if not path.parent.is_dir():
        what = "a file" if path.parent.exists() else "missing"
        raise DataError(
            f"cannot write model file '{path}': its folder '{path.parent}' is {what}; expected "
            "an existing folder."
        )


def load(path: str | Path) -> Any:
    """Read an estimator written by :func:`save`.

    A model file may come from anyone: it can only choose among tgds's estimators and
    their documented parameters, nothing in it is run, and a loaded network has
    ``checkpoint_path=None`` (a file path to write to is never taken from a file; set it
    again to resume its training from a checkpoint).
    """
    if Path(path).is_dir():  # "does not exist", said of a folder, would mislead
        raise DataError(
            f"model file '{path}' is a folder; give the path of a file tgds.save wrote."
        )
    meta = read_container_meta(path, _KIND)

    def read_tree(template: Any) -> Any:
        return read_container(path, _KIND, lambda _: template)[1]

    where = f"model file '{path}'"
    try:
        return _build(meta, read_tree, where, Path(path).stat().st_size)
    except (KeyError, TypeError, AttributeError, IndexError) as err:  # a field missing or mistyped
        raise DataError(
            f"{where} has corrupt metadata ({type(err).__name__}: {err!s:.80}); it was damaged, "
            "or not written by tgds.save."
        ) from None


def _state(model: Any) -> tuple[dict[str, Any], Any]:
    """The metadata and the pytree of arrays that describe a fitted ``model``."""
    name = type(model).__name__
    if isinstance(model, tuple(_NETWORKS.values())):
        return model._state_meta(), model.model_
    if isinstance(model, PhysicsModelRegressor):
        check_is_fitted(model, "targets_")
        params = {
            "theory": model.theory.to_toml(),
            "targets": model.targets,
            "calibrate": model.calibrate,
        }
        types = plain_containers(params, ("targets", "calibrate"))
        fitted = {"parameters": model.parameters_, "parameter_std": model.parameter_std_}
        return {"class": name, "params": params, "param_types": types, "fitted": fitted}, ()
    if isinstance(model, ConsistentRegressor):
        check_is_fitted(model, "estimator_")
        inner = model.estimator_
        if not isinstance(inner, (*_NETWORKS.values(), PhysicsModelRegressor)):
            raise DataError(
                f"tgds.save stores a ConsistentRegressor around a tgds estimator; this one wraps "
                f"{type(inner).__name__}. Save that estimator with skops.io and wrap it again with "
                "ConsistentRegressor(..., prefit=True) after loading it."
            )
        inner_meta, tree = _state(inner)
        params = {
            "theory": model.theory.to_toml(),
            "repairs": model.repairs,
            "reject": model.reject,
            "targets": model.targets,
            "prefit": model.prefit,
        }
        types = plain_containers(params, ("repairs", "targets"))
        if params["repairs"] is not None:
            params["repairs"] = [_repair_state(r) for r in params["repairs"]]
        meta = {"class": name, "params": params, "param_types": types, "estimator": inner_meta}
        return meta, tree
    raise DataError(f"tgds.save takes a fitted tgds estimator ({', '.join(_CLASSES)}); got {name}.")


def _repair_state(repair: Any) -> dict[str, Any]:
    name = type(repair).__name__
    if name not in _REPAIRS or not isinstance(repair, _REPAIRS[name]):
        raise DataError(f"tgds.save stores the repairs {', '.join(_REPAIRS)}; got {name}.")
    return dataclass_fields(repair)


def _build(
    meta: dict[str, Any], read_tree: Callable[[Any], Any], where: str, size: int | None = None
) -> Any:
    name = meta.get("class")
    if name in _NETWORKS:
        return _NETWORKS[name]._from_state(meta, read_tree, where, size)
    if name == PhysicsModelRegressor.__name__:
        return _physics_model(meta, where)
    if name == ConsistentRegressor.__name__:
        params = dict(meta["params"])
        known = {"theory", "repairs", "reject", "targets", "prefit", "repairs_as_tuple"}
        unknown = sorted(set(params) - known)
        if unknown:
            raise DataError(f"{where} sets unknown parameters {unknown} of {name}.")
        if meta["estimator"].get("class") == name:  # save() writes a tgds estimator inside
            raise DataError(f"{where} holds a {name} around another {name}; tgds saves only one.")
        inner = _build(meta["estimator"], read_tree, where, size)
        # files before ``param_types`` flagged only tuple repairs
        old = {"repairs": "tuple"} if params.pop("repairs_as_tuple", False) else {}
        if params["repairs"] is not None:
            params["repairs"] = [
                dataclass_from_fields(_REPAIRS, r, "repair", where) for r in params["repairs"]
            ]
        restore_containers(params, meta.get("param_types", old), where)
        prefit = params.pop("prefit")
        theory = Theory.from_toml(params.pop("theory"))
        model = ConsistentRegressor(inner, theory, prefit=True, **params).fit()
        if not prefit:  # the parameters as they were: an unfitted estimator to clone and fit
            model.set_params(estimator=clone(inner), prefit=False)
        return model
    raise DataError(
        f"{where} holds an unknown class {name!r}; tgds can load {', '.join(_CLASSES)}."
    )


def _physics_model(meta: dict[str, Any], where: str) -> PhysicsModelRegressor:
    """A fitted PhysicsModelRegressor: its theory, targets, and the values of the parameters
    it calibrated (older files have no ``targets``, ``calibrate`` or ``fitted``)."""
    params = dict(meta["params"])
    unknown = sorted(set(params) - {"theory", "targets", "calibrate"})
    if unknown:
        raise DataError(f"{where} sets unknown parameters {unknown} of PhysicsModelRegressor.")
    restore_containers(params, meta.get("param_types", {}), where)
    model = PhysicsModelRegressor(
        theory=Theory.from_toml(params["theory"]),
        targets=params.get("targets"),
        calibrate=params.get("calibrate", "unknown"),
    )
    model._compile()  # no arrays: the rest of the fitted state follows from the theory
    fitted = meta.get("fitted", {"parameters": {}, "parameter_std": {}})
    free = [p.name for p in model._free]
    for key in ("parameters", "parameter_std"):
        values = fitted[key]
        if (
            not isinstance(values, dict)
            or sorted(values) != sorted(free)
            or not all(is_number(v) for v in values.values())
            or (key == "parameters" and not all(math.isfinite(v) for v in values.values()))
        ):
            raise DataError(
                f"{where} holds {key} {values!r:.80}; expected a number for each calibrated "
                f"parameter {free}: the file was damaged, or not written by tgds.save."
            )
    model.parameters_ = {n: float(fitted["parameters"][n]) for n in free}
    model.parameter_std_ = {n: float(fitted["parameter_std"][n]) for n in free}
    return model
