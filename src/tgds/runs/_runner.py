"""Executing an experiment: data, theory, folds, models, scores, the run folder, the report.

The work is split into units (one model on one fold). A unit is done when its
``metrics.json`` exists, so an interrupted run resumed with ``tgds run --resume``
redoes only the missing units; neural units also resume from their checkpoint.

Before a run folder is made, the data is checked against what each model needs (its
input columns exist and hold numbers, finite ones for the physics and neural models) and
the ``[validation]`` columns against the data; errors name the experiment file, the
``[[models]]`` entry or ``[validation]`` key, and the data file.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tgds._validation import similar_name
from tgds.exceptions import DataError, TgdsError
from tgds.runs._experiment import (
    _NO_NETWORK,
    Experiment,
    ModelSpec,
    estimator_params,
    is_local_uri,
    load_theory,
    parse_experiment,
)
from tgds.runs._store import RunError, RunFolder, RunIndex, read_run_toml
from tgds.theory import Monotonic, Shape, Theory
from tgds.utils import (
    atomic_write_bytes,
    atomic_write_csv,
    atomic_write_text,
    toml_key,
    toml_value,
)

__all__ = ["RunResult", "execute", "resume", "load_unit_model", "key_columns", "load_data"]


@dataclass(frozen=True)
class RunResult:
    """What a finished run produced: its folder and the comparison summary."""

    folder: RunFolder
    summary: pd.DataFrame

    @property
    def report(self) -> Path:
        return self.folder.path / "report.html"


# -- inputs ------------------------------------------------------------------------------------
def load_data(spec: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The data table and, when asked for, the unlabeled points (``[data] unlabeled``)."""
    from tgds.datasets import load_lotka_volterra, make_lake, read_table  # noqa: PLC0415

    grid = None
    source = spec.get("source")
    if source == "bundled:lake":
        options = {
            k: spec[k] for k in ("seed", "n_years", "max_depth", "sample_every") if k in spec
        }
        data, grid = make_lake(**options, return_grid=True)
    elif source == "bundled:lotka_volterra":
        data = load_lotka_volterra()
    else:
        data = read_table(spec["path"])
    unlabeled = spec.get("unlabeled")
    if unlabeled == "grid":
        extra = grid
    elif unlabeled == "data":
        extra = data
    elif unlabeled is not None:
        extra = read_table(unlabeled)
    else:
        extra = None
    return data.reset_index(drop=True), extra


def key_columns(theory: Theory, data: pd.DataFrame) -> list[str]:
    """Columns worth keeping next to predictions: time, groups and ``wrt`` of shape constraints."""
    keys = [v.name for v in theory.variables if v.role in ("time", "group")]
    for c in theory.constraints:
        if isinstance(c, Monotonic | Shape):
            keys += [c.wrt, *(c.within or ())]
    return [k for k in dict.fromkeys(keys) if k in data.columns]


def make_folds(
    validation: dict[str, Any], data: pd.DataFrame, theory: Theory
) -> list[tuple[np.ndarray, np.ndarray]]:
    from tgds.selection import BlockedTimeSplit, ExtrapolationSplit, RegimeSplit  # noqa: PLC0415

    kind = validation["kind"]
    if kind == "holdout":
        return [_holdout(data, validation["time"], validation["test_fraction"])]
    if kind == "blocked_time":
        cv = BlockedTimeSplit(
            validation.get("n_splits", 3), gap=validation.get("gap", 0), time=validation["time"]
        )
    elif kind == "regime":
        cv = RegimeSplit(
            validation["by"],
            n_splits=validation.get("n_splits"),
            bins=validation.get("bins"),
            theory=theory,
        )
    else:
        cv = ExtrapolationSplit(validation["variable"], n_splits=validation.get("n_splits", 3),
                                direction=validation.get("direction", "high"), theory=theory)  # fmt: skip
    return [(np.asarray(a), np.asarray(b)) for a, b in cv.split(data)]


def _holdout(data: pd.DataFrame, time: str, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    if time not in data.columns:
        raise DataError(
            f"validation time column {time!r} is not in the data; columns: {list(data.columns)}."
        )
    values = data[time]
    if not pd.api.types.is_numeric_dtype(values):
        values = pd.to_datetime(values, errors="coerce")
        if values.isna().any():
            raise DataError(
                f"validation time column {time!r} has values that are neither numbers nor dates."
            )
    distinct = np.sort(values.unique())
    if len(distinct) < 2:
        raise DataError(
            f"the holdout split by {time!r} needs at least two distinct times; the data has {len(distinct)}."
        )
    cut = distinct[int(np.floor(len(distinct) * (1 - fraction)))]
    test = (values >= cut).to_numpy()
    if test.all() or not test.any():
        raise DataError(
            f"the holdout split by {time!r} leaves an empty train or test set; change test_fraction."
        )
    return np.flatnonzero(~test), np.flatnonzero(test)


# -- models ------------------------------------------------------------------------------------
def build_model(spec: ModelSpec, theory: Theory, target: str, unit: Path) -> Any:
    from sklearn.compose import ColumnTransformer  # noqa: PLC0415
    from sklearn.ensemble import HistGradientBoostingRegressor  # noqa: PLC0415
    from sklearn.pipeline import Pipeline  # noqa: PLC0415

    from tgds.models import PhysicsModelRegressor, TheoryGuidedRegressor  # noqa: PLC0415
    from tgds.refine import ConsistentRegressor  # noqa: PLC0415

    params = estimator_params(spec.kind, spec.params)
    if spec.kind == "physics":
        model = PhysicsModelRegressor(theory=theory, targets=target, **params)
    elif spec.kind == "neural":
        try:
            model = TheoryGuidedRegressor(
                theory=theory, targets=target, checkpoint_path=unit / "checkpoint.tgds", **params
            )
        except TypeError as err:
            raise RunError(f"model {spec.name!r}: {err}") from None
    else:
        inputs = list(params.pop("inputs", [v for v in theory.inputs]))
        model = Pipeline([("inputs", ColumnTransformer([("inputs", "passthrough", inputs)])),
                          ("model", HistGradientBoostingRegressor(**params))])  # fmt: skip
    return ConsistentRegressor(model, theory, targets=[target]) if spec.repair else model


def _fit_params(spec: ModelSpec, model: Any, unlabeled: pd.DataFrame | None) -> dict[str, Any]:
    if spec.kind != "neural":
        return {}
    inner = getattr(model, "estimator", model)
    params: dict[str, Any] = {"resume": True}  # continue from the unit's own checkpoint
    if unlabeled is not None and inner.physics is not None:
        params["X_unlabeled"] = unlabeled
    return params


def save_unit_model(model: Any, unit: Path, spec: ModelSpec, target: str | None = None) -> None:
    """Write the fitted model in a safe format, with ``model.json`` describing it."""
    import tgds  # noqa: PLC0415

    inner = model.estimator_ if spec.repair else model
    if spec.kind == "physics" and not inner.n_parameters_:
        file = None  # nothing fitted: the theory is the model
    elif spec.kind in ("physics", "neural"):
        file = "model.tgds"
        tgds.save(inner, unit / file)
    else:
        import skops.io  # noqa: PLC0415

        file = "model.skops"
        atomic_write_bytes(unit / file, skops.io.dumps(inner))
    info: dict[str, Any] = {
        "kind": spec.kind,
        "repair": spec.repair,
        "file": file,
        "name": spec.name,
    }
    if target is not None:
        info["target"] = target
    if spec.kind == "gradient_boosting":
        info["inputs"] = list(inner.named_steps["inputs"].transformers_[0][2])
    RunFolder(unit).write_json("model.json", info)


def load_unit_model(unit: Path, theory: Theory, target: str | None = None) -> Any:
    """Read a model written by :func:`save_unit_model` (never unpickles).

    ``target``: what the model predicts (default: ``model.json``'s, else the theory's targets).
    """
    import tgds  # noqa: PLC0415
    from tgds.models import PhysicsModelRegressor  # noqa: PLC0415
    from tgds.refine import ConsistentRegressor  # noqa: PLC0415

    info = RunFolder(unit).read_json("model.json", dict)
    kind = info.get("kind")
    if kind == "physics" and info.get("file") is None:
        model = PhysicsModelRegressor(theory=theory, targets=target or info.get("target"))
        model._compile()  # nothing calibrated: its fitted state depends on the theory only
    elif kind in ("physics", "neural"):
        model = tgds.load(unit / "model.tgds")
    elif kind == "gradient_boosting":
        model = _load_skops(unit / "model.skops")
    else:
        raise RunError(f"'{unit / 'model.json'}' names an unknown model kind {kind!r}.")
    if info.get("repair"):
        target = target or info.get("target")
        targets = [target] if target else None
        return ConsistentRegressor(model, theory, targets=targets, prefit=True).fit()
    return model


def _load_skops(path: Path) -> Any:
    import skops.io  # noqa: PLC0415

    untrusted = skops.io.get_untrusted_types(file=path)
    foreign = [t for t in untrusted if not _library_class(t)]
    if foreign:
        raise RunError(
            f"model file '{path}' names {foreign}, which are not classes of scikit-learn, NumPy "
            "or SciPy (a function, such as a FunctionTransformer's, could do anything when "
            "called); not loading it."
        )
    return skops.io.load(path, trusted=untrusted)


def _library_class(name: str) -> bool:
    """Whether the dotted ``name`` is a class of scikit-learn, NumPy or SciPy.

    A function, even one of theirs, is not trusted: a model may call it on data
    (``numpy.savetxt``, ``numpy.load``). Nothing the file names is imported to tell (a
    module such as ``numpy.f2py.__main__`` runs code on import): only modules already
    loaded, with the gradient-boosting models that the run store writes, are looked in.
    """
    import sys  # noqa: PLC0415

    import sklearn.ensemble  # noqa: F401, PLC0415 - the models the run store writes

    module, _, attr = name.rpartition(".")
    if not module.startswith(("sklearn.", "numpy.", "scipy.")) or module not in sys.modules:
        return False
    obj = getattr(sys.modules[module], attr, None)
    return isinstance(obj, type) and obj.__module__.startswith(("sklearn", "numpy", "scipy"))


# -- execution ---------------------------------------------------------------------------------
def execute(exp: Experiment, *, quiet: bool = False, folder: RunFolder | None = None) -> RunResult:
    """Run an experiment into a new run folder (or continue ``folder``).

    A continued run uses its own ``theory.toml`` and ``folds.json`` and refuses data that
    no longer has the rows recorded in ``data_card.json``.
    """
    if folder is not None:
        _refuse_if_running(folder)
    if exp.mlflow:
        _check_tracking(exp.mlflow)
        _require_mlflow()
    started = folder is not None and (folder.path / "folds.json").exists()
    if started:
        theory, data, unlabeled, target, folds = _stored_inputs(folder, exp)
    else:  # a new run, or one interrupted before its start files were all written
        theory = load_theory(exp.theory)
        data, unlabeled = load_data(exp.data)
        target = exp.target or (theory.targets[0] if theory.targets else None)
        data = _checked_data(exp, theory, data, unlabeled, target)
        folds = _folds(exp, data, theory)
    index = RunIndex(exp.output_dir)
    if folder is None:
        folder = index.create(exp.name, files={"experiment.toml": _emit_experiment(exp)})
        resumed = False
    else:
        resumed = True
    with folder.lock():
        if resumed:
            _refuse_if_running(folder)
            folder.clean_temporaries()
            folder.set_status("running")
            index.record(folder)
        if not started:
            _write_start(folder, exp, theory, data, folds, target)
        try:
            rows = _run_units(folder, exp, theory, data, unlabeled, folds, target, quiet)
            summary = _finish(folder, rows)
            index.record(
                folder,
                best_model=str(summary.index[0]),
                summary=summary.reset_index().to_dict(orient="records"),
            )
            if exp.mlflow:
                _log_mlflow(exp, folder, summary)
        except BaseException as err:
            if not isinstance(err, KeyboardInterrupt | SystemExit):
                folder.set_status("failed", error=f"{type(err).__name__}: {err}")
                index.record(folder)
            raise
    return RunResult(folder, summary)


def resume(
    run: str | Path, *, root: Path | None = None, quiet: bool = False, force: bool = False
) -> RunResult:
    """Continue an interrupted run from its own resolved ``experiment.toml``.

    A run whose process still runs on this host is refused. A run marked running on
    another host (a container that has since been replaced, a shared disk) cannot be
    checked from here and is refused too, unless ``force=True`` (``--force`` on the
    command line) says that its process has ended.
    """
    folder = RunIndex(root or Path("runs"), create=False).open(run)
    if folder.status()["state"] == "complete":
        raise RunError(f"run {folder.id} is already complete.")
    _refuse_if_running(folder, force=force)
    file = folder.path / "experiment.toml"
    if not file.is_file():
        raise RunError(
            f"run {folder.id} was interrupted before it started (it has no experiment.toml): "
            "there is nothing to resume; run the experiment again."
        )
    raw = read_run_toml(file)
    if (folder.path / "theory.toml").is_file() and isinstance(raw.get("theory"), dict):
        # the run's own copy of the theory, whatever became of the original file
        raw["theory"] = {"path": str(folder.path / "theory.toml")}
    # as recorded: a run started before seeds were filled in keeps random_state unset, as
    # its neural units' checkpoints were written (they keep the seed they drew)
    exp = parse_experiment(raw, folder.path, file, default_seeds=False)
    exp = Experiment(**{**exp.__dict__, "output_dir": folder.path.parent})
    return execute(exp, quiet=quiet, folder=folder)


def _refuse_if_running(folder: RunFolder, force: bool = False) -> None:
    holder = folder.running_elsewhere()
    if holder is None:
        return
    pid, host = holder
    if host == socket.gethostname():
        raise RunError(
            f"run {folder.id} is still running (process {pid} on this host); "
            "wait for it to end, or stop it, before resuming."
        )
    if not force:
        raise RunError(
            f"run {folder.id} is marked running on host {host!r} (process {pid}), which cannot "
            "be checked from this host; resume it there, or wait for it to end. If it is no "
            f"longer running, resume with --force (tgds run --resume {folder.id} --force)."
        )
    folder.set_status("failed", error=f"taken over from host {host!r} (process {pid}) by --force")


def _data_label(spec: dict[str, Any]) -> str:
    """How messages name the experiment's data: ``data file '<path>'`` or ``data 'bundled:lake'``."""
    return f"data file '{spec['path']}'" if "path" in spec else f"data '{spec.get('source')}'"


def _checked_data(
    exp: Experiment,
    theory: Theory,
    data: pd.DataFrame,
    unlabeled: pd.DataFrame | None,
    target: str | None,
) -> pd.DataFrame:
    """The rows with a value of ``target``, once the target and every model's input columns
    are checked (before a run folder is made); messages give the rows as read."""
    rows = _labelled(data, target, _data_label(exp.data))
    _check_inputs(exp, theory, rows, unlabeled)
    return rows.reset_index(drop=True)


def _labelled(data: pd.DataFrame, target: str | None, source: str = "data") -> pd.DataFrame:
    """The rows with a numeric, finite value of ``target`` (their index kept)."""
    if target is None or target not in data.columns:
        raise DataError(
            f"the target {target!r} is not a column of the {source}; columns: {list(data.columns)}."
        )
    data = data[data[target].notna()]
    if len(data) == 0:
        raise DataError(f"the {source} has no rows with a value of the target {target!r}.")
    values = data[target]
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        bad = values[pd.to_numeric(values, errors="coerce").isna()].unique()[:3]
        raise DataError(
            f"{source}: the target column {target!r} must hold numbers; it has values such as {list(bad)}."
        )
    infinite = ~np.isfinite(values.to_numpy(dtype=float))
    if infinite.any():
        raise DataError(
            f"{source}: the target column {target!r} holds infinite values in "
            f"{_rows(data.index[infinite])}; expected finite numbers. Remove those rows."
        )
    return data


def _rows(index: pd.Index) -> str:
    """``3 rows (row 4, 9, 12)``: row numbers of the table as read, counting from 0."""
    shown = ", ".join(str(i) for i in index[:5]) + (", ..." if len(index) > 5 else "")
    return f"{len(index)} row{'s' if len(index) != 1 else ''} (row {shown}, counting from 0)"


def _model_inputs(spec: ModelSpec, theory: Theory, target: str) -> tuple[list[str], bool]:
    """The columns a model of ``target`` reads, and whether they must be finite (gradient
    boosting takes missing and infinite values; the physics and neural models do not)."""
    if spec.kind == "physics":
        from tgds.models import PhysicsModelRegressor  # noqa: PLC0415

        params = estimator_params(spec.kind, spec.params)
        model = PhysicsModelRegressor(theory=theory, targets=target, **params)
        model._compile()  # checked when the experiment was read
        return list(model.inputs_), True
    return list(spec.params.get("inputs") or theory.inputs), spec.kind == "neural"


def _check_inputs(
    exp: Experiment, theory: Theory, data: pd.DataFrame, unlabeled: pd.DataFrame | None = None
) -> None:
    """The input columns of every model exist and hold numbers (finite ones, for the physics
    and neural models), in the data and in the unlabeled points a neural model trains its
    physics terms on (before a folder is made)."""
    source = _data_label(exp.data)
    for i, spec in enumerate(exp.models):
        where = f"{exp.label}, [[models]] #{i + 1} ({spec.name})"
        inputs, finite = _model_inputs(spec, theory, exp.target or theory.targets[0])
        frames = [(data, source)]
        if spec.kind == "neural" and unlabeled is not None and _uses_physics(spec, theory):
            frames.append(
                (unlabeled, f"unlabeled points ([data] unlabeled = {exp.data['unlabeled']!r})")
            )
        for frame, what in frames:
            missing = [c for c in inputs if c not in frame.columns]
            if missing:
                key = "'inputs'" if "inputs" in spec.params else "'inputs' (default: the theory's)"
                if spec.kind == "physics":
                    key = "'kind' (the physics model's inputs)"
                raise DataError(
                    f"{where} key {key}: model {spec.name!r} needs the input column(s) "
                    f"{missing}, which the {what} lacks; its columns: {list(frame.columns)}."
                )
            for c in inputs:
                _check_column(frame[c], c, spec.kind, where, what, finite)


def _check_column(
    values: pd.Series, column: str, kind: str, where: str, what: str, finite: bool
) -> None:
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce")
        bad = values[numbers.isna() & values.notna()].unique()[:3]
        raise DataError(
            f"{where}: the input column {column!r} must hold numbers; the {what} has values "
            f"such as {list(bad)}."
        )
    if not finite:
        return
    bad = ~np.isfinite(values.to_numpy(dtype=float))
    if bad.any():
        raise DataError(
            f"{where}: the input column {column!r} must hold finite numbers (a {kind} model "
            f"takes no NaN or infinite value); the {what} has NaN or infinite values in "
            f"{_rows(values.index[bad])}. Remove or impute those rows"
            + (", or leave the column out of the model's inputs." if kind == "neural" else ".")
        )


def _uses_physics(spec: ModelSpec, theory: Theory) -> bool:
    """Whether a neural model trains physics terms (and so reads the unlabeled points)."""
    physics = spec.params.get("physics", "all")
    return physics != "none" and bool(physics) and bool(theory.constraints)


def _folds(
    exp: Experiment, data: pd.DataFrame, theory: Theory
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The folds of ``[validation]``, its columns checked against the data first; an error
    of the splitter names the table."""
    _check_validation(exp, data, theory)
    try:
        return make_folds(exp.validation, data, theory)
    except TgdsError as err:
        kind = exp.validation["kind"]
        raise DataError(f"{exp.label}, [validation] (kind = {kind!r}): {err}") from None


def _check_validation(exp: Experiment, data: pd.DataFrame, theory: Theory) -> None:
    """``time``, ``by`` and ``variable`` name columns of the data (``by`` and ``variable``
    may also be a relation of the theory or an expression of columns)."""
    from tgds.theory import Expression  # noqa: PLC0415

    columns = list(data.columns)
    known = set(columns) | set(theory.parameter_values())
    for key in ("time", "by", "variable"):
        spec = exp.validation.get(key)
        if spec is None or spec in data.columns:
            continue
        where = f"{exp.label}, [validation] key '{key}'"
        what = f"{spec!r} is not a column of the {_data_label(exp.data)}"
        if key != "time":
            relations = {r.name for r in theory.relations}
            try:
                names = (
                    {s.name for s in theory.expression_of(spec.strip()).sympy.free_symbols}
                    if spec.strip() in relations
                    else set(Expression(spec).names)
                )
            except TgdsError as err:
                raise DataError(
                    f"{where}: {what}, nor an expression of its columns ({err}); its columns: {columns}."
                ) from None
            missing = sorted(names - known)
            if not missing:
                continue
            if names != {spec.strip()}:
                what += f", and as an expression it uses {missing}, which the data lacks"
        else:
            missing = [spec]
        near = [m[0] for m in (similar_name(n, columns, cutoff=0.6) for n in missing) if m]
        hint = f" Did you mean {near}?" if near else ""
        raise DataError(f"{where}: {what}; its columns: {columns}.{hint}")


def _stored_inputs(
    folder: RunFolder, exp: Experiment
) -> tuple[Theory, pd.DataFrame, pd.DataFrame | None, str, list[tuple[np.ndarray, np.ndarray]]]:
    """What a started run was started with: its theory, target and folds, and the data
    (which must still have the rows its data card recorded)."""
    theory = Theory.from_toml(folder.path / "theory.toml")
    card = folder.read_json("data_card.json", dict)
    target = card.get("target")
    data, unlabeled = load_data(exp.data)
    data = _checked_data(exp, theory, data, unlabeled, target)
    recorded = card.get("n_rows")
    if recorded != len(data):
        raise RunError(
            f"run {folder.id} cannot be resumed: its data card '{folder.path / 'data_card.json'}' "
            f"records {recorded} rows with a value of {target!r}, but the data "
            f"({exp.data.get('source') or exp.data.get('path')}) now has {len(data)}; "
            "the stored folds no longer fit it. Run the experiment again."
        )
    try:
        folds = [
            (np.asarray(f["train"], dtype=int), np.asarray(f["test"], dtype=int))
            for f in folder.read_json("folds.json", list)
        ]
    except (KeyError, TypeError, ValueError) as err:
        raise RunError(f"run file '{folder.path / 'folds.json'}' is corrupt: {err}.") from None
    return theory, data, unlabeled, target, folds


def _write_start(
    folder: RunFolder, exp: Experiment, theory: Theory, data: pd.DataFrame, folds: list, target: str
) -> None:
    if not (folder.path / "experiment.toml").exists():
        atomic_write_text(folder.path / "experiment.toml", _emit_experiment(exp))
    theory.to_toml(folder.path / "theory.toml")
    report = theory.check_data(data)
    card = {
        "n_rows": report.n_rows,
        "target": target,
        "source": exp.data.get("source") or exp.data.get("path"),
        "columns": [c.__dict__ for c in report.columns],
        "issues": [
            # the data have the default index: the example labels are the positions again
            {
                **{k: v for k, v in i.__dict__.items() if k != "example_labels"},
                "examples": [list(e) for e in i.examples],
            }
            for i in report.issues
        ],
    }
    folder.write_json("data_card.json", card)
    folder.write_json(
        "folds.json",
        [{"fold": k, "train": a.tolist(), "test": b.tolist()} for k, (a, b) in enumerate(folds)],
    )
    folder.log(
        f"started {exp.name}: {len(data)} rows, {len(folds)} fold(s), models {[m.name for m in exp.models]}"
    )


def _emit_experiment(exp: Experiment) -> str:
    lines = []
    data = exp.to_toml_dict()
    for key in ("name", "description", "target"):
        if key in data:
            lines.append(f"{key} = {toml_value(data[key])}")
    for table in ("data", "theory", "validation", "outputs", "tracking"):
        if table in data:
            lines.append(f"\n[{table}]")
            lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in data[table].items()]
    for model in data["models"]:
        lines.append("\n[[models]]")
        lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in model.items()]
    return "\n".join(lines) + "\n"


def _run_units(folder, exp, theory, data, unlabeled, folds, target, quiet) -> list[dict]:
    from tgds.selection import score_fold  # noqa: PLC0415

    units = [(spec, k) for spec in exp.models for k in range(len(folds))]
    keys = key_columns(theory, data)
    y = data[target].to_numpy()
    rows = []
    with _progress(quiet, len(units)) as advance:
        for spec, k in units:
            unit = folder.unit(spec.name, k)
            if (unit / "metrics.json").exists():
                rows.append(RunFolder(unit).read_json("metrics.json", dict))
                advance(f"{spec.name} fold {k} (done before)")
                continue
            train, test = folds[k]
            X_test = data.iloc[test].reset_index(drop=True)
            try:
                model = build_model(spec, theory, target, unit)
                start = time.perf_counter()
                model.fit(data.iloc[train], y[train], **_fit_params(spec, model, unlabeled))
                fit_s = time.perf_counter() - start
                metrics, audit_report, pred = score_fold(
                    model, X_test, y[test], theory, targets=[target]
                )
            except (TgdsError, ValueError, TypeError) as err:  # e.g. scikit-learn refusing the data
                raise RunError(
                    f"model {spec.name!r} ({spec.kind}) failed on fold {k}: {type(err).__name__}: {err}"
                ) from err
            save_unit_model(model, unit, spec, target)
            predictions = X_test[keys].copy()
            predictions.insert(0, "row", test)
            predictions["observed"] = y[test]
            predictions["predicted"] = pred
            atomic_write_csv(unit / "predictions.csv", predictions)
            history = getattr(getattr(model, "estimator_", model), "history_", None)
            if history is not None:
                RunFolder(unit).write_json("history.json", history)
            row = {
                "model": spec.name,
                "fold": k,
                **metrics,
                "fit_s": fit_s,
                "audit": audit_report.to_frame().to_dict(orient="records"),
            }
            RunFolder(unit).write_json("metrics.json", row)  # last: marks the unit done
            folder.log(
                f"{spec.name} fold {k}: rmse {metrics['rmse']:.4g}, consistency {metrics['consistency']:.4f}, {fit_s:.1f} s"
            )
            rows.append(row)
            advance(f"{spec.name} fold {k}: rmse {metrics['rmse']:.3g}")
    return rows


def _finish(folder: RunFolder, rows: list[dict]) -> pd.DataFrame:
    from tgds.selection import summarise  # noqa: PLC0415

    folds = pd.DataFrame([{k: v for k, v in r.items() if k != "audit"} for r in rows])
    summary = summarise(folds)
    atomic_write_csv(folder.path / "folds.csv", folds)
    atomic_write_csv(folder.path / "summary.csv", summary.reset_index())
    from tgds.report import render_report  # noqa: PLC0415

    folder.set_status("complete")
    render_report(folder.path)
    folder.log("complete")
    return summary


def _check_tracking(uri: str) -> None:
    """Checked when the experiment file is read; again here for an Experiment made in code."""
    if not is_local_uri(uri, sqlite=True):
        raise RunError(
            "[tracking] mlflow: expected local storage (a path, a 'file:' or a 'sqlite:///' "
            f"URI); got {uri!r:.80}. {_NO_NETWORK}"
        )


def _require_mlflow() -> None:
    try:
        import mlflow  # noqa: F401, PLC0415
    except ImportError:
        raise RunError(
            "[tracking] mlflow needs the mlflow package: pip install 'tgds[mlflow]'."
        ) from None


def _log_mlflow(exp: Experiment, folder: RunFolder, summary: pd.DataFrame) -> None:
    import mlflow  # noqa: PLC0415

    _check_tracking(exp.mlflow)
    mlflow.set_tracking_uri(exp.mlflow)
    mlflow.set_experiment(exp.name)
    with mlflow.start_run(run_name=folder.id):
        # a local store's experiment may name remote artifact storage (its meta.yaml)
        artifacts = mlflow.get_artifact_uri()
        if isinstance(artifacts, str) and not is_local_uri(artifacts):
            raise RunError(
                f"[tracking] mlflow: the MLflow experiment {exp.name!r} in {exp.mlflow!r:.80} "
                f"stores artifacts at {artifacts!r:.80}, expected a local folder; not "
                f"uploading the run's files. {_NO_NETWORK}"
            )
        mlflow.log_params({f"{m.name}.kind": m.kind for m in exp.models})
        for model, row in summary.iterrows():
            mlflow.log_metrics(
                {
                    f"{model}.{k}": float(row[k])
                    for k in ("rmse", "mae", "consistency", "complexity")
                    if pd.notna(row[k])
                }
            )
        for name in ("report.html", "summary.csv", "theory.toml", "experiment.toml"):
            if (folder.path / name).exists():
                mlflow.log_artifact(str(folder.path / name))


class _progress:
    """A rich progress bar over units unless ``quiet``."""

    def __init__(self, quiet: bool, total: int):
        self.quiet, self.total, self._bar = quiet, total, None

    def __enter__(self) -> Callable[[str], None]:
        if self.quiet:
            return lambda message: None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )  # noqa: PLC0415

        self._bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        )
        self._bar.__enter__()
        task = self._bar.add_task("models", total=self.total)
        return lambda message: self._bar.update(task, advance=1, description=message)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
