"""Experiment files: what ``tgds run`` reads (see docs/runs.md for the layout).

Everything is checked before a run folder is created, so a bad file leaves nothing
behind; errors name the file, the table, the key, what was expected and what is allowed.
What a model asks of the theory (its constraint names, input variables, a physics model
with ``outputs``) is checked here too, against the theory the file names; the data is
checked by the runner, still before a run folder is made.
"""

from __future__ import annotations

import re
import tomllib
import urllib.parse
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tgds.datasets._files import BUNDLED_THEORIES
from tgds.exceptions import TgdsError, TheoryError
from tgds.theory import Theory

__all__ = ["Experiment", "ExperimentError", "ModelSpec", "load_experiment", "load_theory"]

MODEL_KINDS = ("physics", "neural", "gradient_boosting")
VALIDATION_KINDS = ("holdout", "blocked_time", "regime", "extrapolation")
BUNDLED_DATA = ("lake", "lotka_volterra")
_TOP = (
    "name",
    "description",
    "data",
    "theory",
    "target",
    "validation",
    "models",
    "outputs",
    "tracking",
)
#: The seed of a neural or gradient-boosting model without ``random_state``: filled in when
#: an experiment file is read, so that a run repeats, and written into the run's resolved
#: ``experiment.toml`` (which a resume and a re-run of that file read back).
DEFAULT_SEED = 0
_SEEDED = ("neural", "gradient_boosting")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # used with fullmatch: no "name\n"
_NO_NETWORK = (
    "tgds does not reach the network at run time; to use a remote MLflow server, log the "
    "run folder (report.html, summary.csv, theory.toml, experiment.toml) to it yourself."
)


class ExperimentError(TgdsError, ValueError):
    """An experiment file is malformed or refers to something that does not exist."""


@dataclass(frozen=True)
class ModelSpec:
    """One ``[[models]]`` entry: a name, a kind, whether to wrap it in repairs, and its settings."""

    name: str
    kind: str
    repair: bool = False
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Experiment:
    """A validated experiment file."""

    name: str
    base: Path
    data: dict[str, Any]
    theory: dict[str, Any]
    target: str | None
    validation: dict[str, Any]
    models: tuple[ModelSpec, ...]
    output_dir: Path
    mlflow: str | None = None
    description: str = ""
    file: Path | None = None  # the file it was read from, for messages; None when made in code

    @property
    def label(self) -> str:
        """How messages name the experiment: ``experiment file '<path>'``."""
        return f"experiment file '{self.file}'" if self.file is not None else "experiment"

    def to_toml_dict(self) -> dict[str, Any]:
        """The resolved experiment (absolute paths, defaults filled in) as TOML-ready data."""
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        out["data"] = dict(self.data)
        out["theory"] = dict(self.theory)
        if self.target:
            out["target"] = self.target
        out["validation"] = dict(self.validation)
        out["models"] = [
            {"name": m.name, "kind": m.kind, "repair": m.repair, **m.params} for m in self.models
        ]
        out["outputs"] = {"dir": str(self.output_dir)}
        if self.mlflow:
            out["tracking"] = {"mlflow": self.mlflow}
        return out


class _Reader:
    def __init__(self, label: str):
        self.label = label

    def fail(self, where: str, message: str) -> ExperimentError:
        return ExperimentError(f"{self.label}, {where}: {message}")

    def table(self, data: dict, key: str, allowed: tuple[str, ...], required: bool = True) -> dict:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(
                    f"[{key}]", f"the table is missing; it needs keys {', '.join(allowed)}."
                )
            return {}
        if not isinstance(value, dict):
            raise self.fail(f"[{key}]", f"expected a table; got {type(value).__name__}.")
        self.keys(value, allowed, f"[{key}]")
        return value

    def keys(self, table: dict, allowed: tuple[str, ...], where: str) -> None:
        unknown = sorted(set(table) - set(allowed))
        if unknown:
            raise self.fail(where, f"unknown key(s) {unknown}; allowed keys: {', '.join(allowed)}.")

    def choice(self, value: Any, allowed: tuple[str, ...], where: str) -> str:
        if value not in allowed:
            raise self.fail(
                where, f"expected one of {', '.join(map(repr, allowed))}; got {value!r}."
            )
        return value

    def typed(self, value: Any, kind: type | tuple, words: str, where: str) -> Any:
        if (
            isinstance(value, bool)
            and kind is not bool
            and bool not in (kind if isinstance(kind, tuple) else (kind,))
        ):
            raise self.fail(where, f"expected {words}; got {value!r}.")
        if not isinstance(value, kind):
            raise self.fail(where, f"expected {words}; got {type(value).__name__} {value!r:.60}.")
        return value


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment file.

    Raises
    ------
    ExperimentError
        Naming the file, table and key for every problem found.
    """
    path = Path(path)
    if not path.is_file():
        raise ExperimentError(f"experiment file '{path}' does not exist.")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ExperimentError(f"experiment file '{path}' is not valid TOML: {err}.") from None
    return parse_experiment(raw, path.resolve().parent, path)


def parse_experiment(
    raw: dict, base: Path, file: Path | None = None, *, default_seeds: bool = True
) -> Experiment:
    """Validate experiment data already read from TOML; relative paths are taken from ``base``.

    ``file``, the file the data was read from, is named in the messages. With
    ``default_seeds`` (the default), a neural or gradient-boosting model without
    ``random_state`` gets ``random_state = DEFAULT_SEED`` (0), so that running the file
    twice gives the same results; ``False`` reads a run folder's resolved file as it was
    recorded (a run started before seeds were filled in resumes with ``random_state``
    unset, as its checkpoints were written).
    """
    r = _Reader(f"experiment file '{file}'" if file is not None else "experiment")
    r.keys(raw, _TOP, "top level")
    name = r.typed(raw.get("name"), str, "a name such as 'lake-demo'", "key 'name'")
    if not _NAME.fullmatch(name):
        raise r.fail("key 'name'", f"use letters, digits, '-' and '_' (at most 64); got {name!r}.")
    data = _data(r, raw, base)
    theory = _theory(r, raw, base)
    validation = _validation(r, raw)
    models = _models(r, raw)
    if default_seeds:
        models = tuple(_seeded(m) for m in models)
    outputs = r.table(raw, "outputs", ("dir",), required=False)
    out_dir = Path(r.typed(outputs.get("dir", "runs"), str, "a folder path", "[outputs] key 'dir'"))
    tracking = r.table(raw, "tracking", ("mlflow",), required=False)
    mlflow = tracking.get("mlflow")
    if mlflow is not None:
        r.typed(mlflow, str, "a tracking URI such as 'file:./mlruns'", "[tracking] key 'mlflow'")
        if not is_local_uri(mlflow, sqlite=True):
            raise r.fail(
                "[tracking] key 'mlflow'",
                "expected local storage: a folder path, a 'file:' URI such as 'file:./mlruns' "
                f"or 'sqlite:///<file>.db'; got {mlflow!r:.80}. {_NO_NETWORK}",
            )
        mlflow = _absolute_uri(mlflow, base)
    target = raw.get("target")
    if target is not None:
        r.typed(target, str, "a target column name", "key 'target'")
    _check_against_theory(r, theory, target, models)
    return Experiment(
        name=name,
        base=base,
        data=data,
        theory=theory,
        target=target,
        validation=validation,
        models=models,
        output_dir=base / out_dir,  # an absolute path stays itself
        mlflow=mlflow,
        description=r.typed(raw.get("description", ""), str, "text", "key 'description'"),
        file=file,
    )


def is_local_uri(uri: str, *, sqlite: bool = False) -> bool:
    """Whether an MLflow tracking (or artifact) URI names local storage only: a plain path,
    ``file:`` without a host (or ``localhost``), or with ``sqlite=True`` a
    ``sqlite:///<file>`` database. Anything else (``http``, ``https``, ``databricks``,
    ``s3``, ``file://host/share``...) may reach the network and is not local."""
    if not uri.strip() or any(ord(c) < 32 or c == "\x7f" for c in uri):
        return False
    parts = urllib.parse.urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "" or (len(scheme) == 1 and uri[1:2] == ":"):  # a path; C:\ on Windows
        # but MLflow takes the bare words "databricks", "databricks-uc", "uc" for servers
        return uri.strip().lower() not in ("databricks", "databricks-uc", "uc")
    if scheme == "file":
        return parts.netloc in ("", "localhost") and not parts.query and not parts.fragment
    if scheme == "sqlite" and sqlite:  # sqlite:///relative.db, sqlite:////absolute.db
        return (
            uri.lower().startswith("sqlite:///")
            and len(uri) > len("sqlite:///")
            and not parts.query
            and not parts.fragment
        )
    return False


def _absolute_uri(uri: str, base: Path) -> str:
    """A local tracking URI with a relative path, taken from ``base`` as the data paths are.

    ``file:./mlruns`` in ``/work/exp/exp.toml`` is ``file:///work/exp/mlruns`` wherever
    ``tgds run`` is started, so that a resumed run logs to the same store."""
    parts = urllib.parse.urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "file":
        path = urllib.parse.unquote(parts.path)
        return uri if path.startswith("/") else (base / path).resolve().as_uri()
    if scheme == "sqlite":
        path = uri[len("sqlite:///") :]
        return uri if path.startswith("/") else f"sqlite:///{(base / path).resolve()}"
    return str((base / uri).resolve())  # a plain path; an absolute one stays itself


def _data(r: _Reader, raw: dict, base: Path) -> dict:
    table = r.table(
        raw, "data", ("source", "path", "unlabeled", "seed", "n_years", "max_depth", "sample_every")
    )
    source, path = table.get("source"), table.get("path")
    if (source is None) == (path is None):
        raise r.fail("[data]", "give exactly one of source = 'bundled:<name>' and path = '<file>'.")
    out = dict(table)
    if source is not None:
        r.typed(source, str, "'bundled:<name>'", "[data] key 'source'")
        kind, _, name = source.partition(":")
        if kind != "bundled":
            raise r.fail(
                "[data] key 'source'",
                f"expected 'bundled:<name>' with a name in {list(BUNDLED_DATA)}; got {source!r}.",
            )
        r.choice(name, BUNDLED_DATA, "[data] key 'source'")
    else:
        file = Path(r.typed(path, str, "a CSV or Parquet path", "[data] key 'path'"))
        file = base / file
        if not file.is_file():
            raise r.fail("[data] key 'path'", f"the data file '{file}' does not exist.")
        out["path"] = str(file)
    unlabeled = table.get("unlabeled")
    if unlabeled is not None:
        r.typed(unlabeled, str, "'grid', 'data' or a path", "[data] key 'unlabeled'")
        if unlabeled == "grid" and source != "bundled:lake":
            raise r.fail(
                "[data] key 'unlabeled'",
                "'grid' is available for source = 'bundled:lake' only; use 'data' or a path.",
            )
        if unlabeled not in ("grid", "data"):
            file = base / unlabeled
            if not file.is_file():
                raise r.fail("[data] key 'unlabeled'", f"the file '{file}' does not exist.")
            out["unlabeled"] = str(file)
    for key in ("seed", "n_years"):
        if key in table:
            r.typed(table[key], int, "an integer", f"[data] key '{key}'")
    for key in ("max_depth", "sample_every"):
        if key in table:
            r.typed(table[key], (int, float), "a number", f"[data] key '{key}'")
    return out


def _theory(r: _Reader, raw: dict, base: Path) -> dict:
    table = r.table(raw, "theory", ("path", "bundled"))
    if ("path" in table) == ("bundled" in table):
        raise r.fail("[theory]", "give exactly one of path = '<file.toml>' and bundled = '<name>'.")
    if "bundled" in table:
        r.choice(table["bundled"], BUNDLED_THEORIES, "[theory] key 'bundled'")
        return dict(table)
    file = Path(r.typed(table["path"], str, "a theory file path", "[theory] key 'path'"))
    file = base / file
    if not file.is_file():
        raise r.fail("[theory] key 'path'", f"the theory file '{file}' does not exist.")
    return {"path": str(file)}


_VALIDATION_KEYS = {
    "holdout": ("time", "test_fraction"),
    "blocked_time": ("time", "n_splits", "gap"),
    "regime": ("by", "n_splits", "bins"),
    "extrapolation": ("variable", "n_splits", "direction"),
}


def _validation(r: _Reader, raw: dict) -> dict:
    table = r.table(
        raw,
        "validation",
        ("kind", "time", "test_fraction", "n_splits", "gap", "by", "bins", "variable", "direction"),
    )
    kind = r.choice(table.get("kind"), VALIDATION_KINDS, "[validation] key 'kind'")
    r.keys(
        {k: v for k, v in table.items() if k != "kind"},
        _VALIDATION_KEYS[kind],
        f"[validation] (kind = {kind!r})",
    )
    for key in ("time", "by", "variable", "direction"):
        if key in table:
            r.typed(table[key], str, "a column name" if key != "direction" else "'high' or 'low'",
                    f"[validation] key '{key}'")  # fmt: skip
    for key in ("n_splits", "gap"):
        if key in table:
            r.typed(table[key], (int, float) if key == "gap" else int,
                    "a number" if key == "gap" else "an integer", f"[validation] key '{key}'")  # fmt: skip
    if "bins" in table and not (
        (isinstance(table["bins"], int) and not isinstance(table["bins"], bool))
        or (
            isinstance(table["bins"], list)
            and all(isinstance(b, int | float) and not isinstance(b, bool) for b in table["bins"])
        )
    ):
        raise r.fail(
            "[validation] key 'bins'",
            f"expected a number of bins or a list of bin edges; got {table['bins']!r:.60}.",
        )
    out = dict(table)
    if kind == "holdout":
        fraction = out.setdefault("test_fraction", 0.3)
        if (
            not isinstance(fraction, float | int)
            or isinstance(fraction, bool)
            or not 0 < fraction < 1
        ):
            raise r.fail(
                "[validation] key 'test_fraction'",
                f"expected a number between 0 and 1; got {fraction!r}.",
            )
    if kind in ("holdout", "blocked_time") and "time" not in out:
        raise r.fail("[validation]", f"kind = {kind!r} needs time = '<the time column>'.")
    if kind == "regime" and "by" not in out:
        raise r.fail("[validation]", "kind = 'regime' needs by = '<a column or an expression>'.")
    if kind == "extrapolation" and "variable" not in out:
        raise r.fail("[validation]", "kind = 'extrapolation' needs variable = '<a column>'.")
    return out


def _models(r: _Reader, raw: dict) -> tuple[ModelSpec, ...]:
    entries = raw.get("models")
    if not isinstance(entries, list) or not entries:
        raise r.fail(
            "[[models]]", "at least one [[models]] table is needed, each with name and kind."
        )
    specs, seen = [], set()
    for i, entry in enumerate(entries):
        where = f"[[models]] #{i + 1}"
        if not isinstance(entry, dict):
            raise r.fail(where, f"expected a table; got {type(entry).__name__}.")
        name = r.typed(entry.get("name"), str, "a model name", f"{where} key 'name'")
        if not _NAME.fullmatch(name) or name in seen:
            raise r.fail(
                f"{where} key 'name'",
                f"names must be unique and use letters, digits, '-', '_'; got {name!r}.",
            )
        seen.add(name)
        kind = r.choice(entry.get("kind"), MODEL_KINDS, f"{where} ({name}) key 'kind'")
        repair = r.typed(
            entry.get("repair", False), bool, "true or false", f"{where} ({name}) key 'repair'"
        )
        params = {k: v for k, v in entry.items() if k not in ("name", "kind", "repair")}
        allowed = _model_keys(kind)
        r.keys(params, allowed, f"{where} ({name}, kind = {kind!r})")
        _check_params(r, kind, params, f"{where} ({name})")
        specs.append(ModelSpec(name, kind, repair, params))
    return tuple(specs)


def _seeded(spec: ModelSpec) -> ModelSpec:
    """``spec`` with ``random_state = DEFAULT_SEED`` where its estimator draws random numbers
    and the file gives no seed (a neural network's initial weights and validation rows, a
    gradient-boosting model's early-stopping rows)."""
    if spec.kind not in _SEEDED or "random_state" in spec.params:
        return spec
    return replace(spec, params={**spec.params, "random_state": DEFAULT_SEED})


def estimator_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """A model entry's settings as the estimator takes them (TOML has no None or tuples)."""
    params = dict(params)
    if kind == "physics" and params.get("calibrate") == "none":
        params["calibrate"] = None
    if kind == "neural":
        if params.get("physics") == "none":
            params["physics"] = None
        for key in ("hidden", "inputs"):
            if isinstance(params.get(key), list):
                params[key] = tuple(params[key])
    return params


def _check_params(r: _Reader, kind: str, params: dict[str, Any], where: str) -> None:
    """Each setting of a model checked by the estimator's own parameter rules, at load time."""
    if "inputs" in params:
        inputs = params["inputs"]
        if (
            not isinstance(inputs, list)
            or not inputs
            or not all(isinstance(c, str) and c for c in inputs)
        ):
            raise r.fail(
                f"{where} key 'inputs'",
                f"expected a non-empty list of column names, e.g. ['doy', 'Depth']; got {inputs!r:.60}.",
            )
    settings = {k: v for k, v in estimator_params(kind, params).items() if k != "inputs"}
    if kind == "neural":
        from tgds.models import TheoryGuidedRegressor  # noqa: PLC0415

        rules = TheoryGuidedRegressor._parameter_rules
        for key, value in settings.items():
            rule = rules.get(key)
            if rule is not None and not rule.test(value):
                raise r.fail(f"{where} key '{key}'", f"expected {rule.words}; got {value!r:.60}.")
    elif kind == "physics" and "calibrate" in settings:
        from tgds.models._physics import CALIBRATE  # noqa: PLC0415

        value = settings["calibrate"]
        if not CALIBRATE.test(value):
            raise r.fail(
                f"{where} key 'calibrate'",
                f"expected 'unknown', 'all', 'none' or a list of parameter names; got {value!r:.60}.",
            )
    elif kind == "gradient_boosting":
        from sklearn.ensemble import HistGradientBoostingRegressor  # noqa: PLC0415

        for key, value in settings.items():
            try:
                HistGradientBoostingRegressor(**{key: value})._validate_params()
            except (ValueError, TypeError) as err:
                raise r.fail(f"{where} key '{key}'", f"{err}") from None


def _model_keys(kind: str) -> tuple[str, ...]:
    if kind == "physics":
        return ("calibrate",)
    if kind == "neural":
        from tgds.models import TheoryGuidedRegressor  # noqa: PLC0415

        # set by the runner itself (targets = the experiment's target) or not TOML-able
        skip = {"theory", "targets", "optimizer", "weighting", "checkpoint_path", "verbose"}
        return tuple(k for k in TheoryGuidedRegressor().get_params() if k not in skip)
    from sklearn.ensemble import HistGradientBoostingRegressor  # noqa: PLC0415

    return ("inputs", *HistGradientBoostingRegressor().get_params())


# -- what the models ask of the theory ---------------------------------------------------------
def load_theory(spec: dict[str, Any]) -> Theory:
    """The theory of a ``[theory]`` table: a bundled one, or a TOML file."""
    from tgds.datasets import load_theory as bundled  # noqa: PLC0415

    return bundled(spec["bundled"]) if "bundled" in spec else Theory.from_toml(spec["path"])


def _check_against_theory(
    r: _Reader, spec: dict[str, Any], target: str | None, models: tuple[ModelSpec, ...]
) -> None:
    """The target and what each model asks of the theory, so that a typo in a constraint
    name fails when the file is read, not after other models have trained."""
    theory = load_theory(spec)
    label = (
        f"the bundled theory '{spec['bundled']}'"
        if "bundled" in spec
        else f"the theory file '{spec['path']}'"
    )
    if target is None and not theory.targets:
        raise r.fail(
            "key 'target'",
            f"{label} declares no target variable; give target = '<the column to predict>' "
            "or mark a variable role = 'target'.",
        )
    if target is not None and target not in theory.targets:
        raise r.fail(
            "key 'target'",
            f"expected a target variable of {label}: one of {list(theory.targets)}; "
            f"got {target!r}. Mark it role = 'target' in the theory to predict it.",
        )
    for i, model in enumerate(models):
        where = f"[[models]] #{i + 1} ({model.name})"
        if model.kind == "physics":
            chosen = target or theory.targets[0]
            _check_physics_model(r, theory, label, where, {**model.params, "targets": chosen})
        elif model.kind == "neural":
            _check_neural(r, theory, label, where, model.params)


def _check_physics_model(
    r: _Reader, theory: Theory, label: str, where: str, params: dict[str, Any]
) -> None:
    pm = theory.physics_model
    if pm is None or pm.outputs is None:
        has = (
            "no [physics_model]"
            if pm is None
            else f"a physics model with {pm.kind} (an ODE)"
            if pm.kind == "rates"
            else f"a physics model given as a {pm.kind}"
        )
        raise r.fail(
            f"{where} key 'kind'",
            "kind = 'physics' predicts with the theory's physics model, which must give "
            f"outputs = {{<target> = '<expression>'}}; {label} has {has}, which "
            "PhysicsModelRegressor cannot evaluate. Use kind = 'neural' or "
            "'gradient_boosting' for this theory, or give it [physics_model] outputs.",
        )
    from tgds.models import PhysicsModelRegressor  # noqa: PLC0415

    try:
        PhysicsModelRegressor(theory=theory, **estimator_params("physics", params))._compile()
    except TheoryError as err:  # e.g. a parameter without a value, not calibrated
        raise r.fail(f"{where} key 'kind'", f"{err}") from None


def _check_neural(
    r: _Reader, theory: Theory, label: str, where: str, params: dict[str, Any]
) -> None:
    variables = [v.name for v in theory.variables]
    inputs = params.get("inputs")
    if inputs is None and not theory.inputs:
        raise r.fail(
            f"{where} key 'inputs'",
            f"{label} declares no input variable; give inputs = ['<column>', ...].",
        )
    unknown = [c for c in inputs or () if c not in variables]
    if unknown:
        raise r.fail(
            f"{where} key 'inputs'",
            f"expected variables of {label}: {variables}; got {unknown}, which it does not declare.",
        )
    labels = [c.label for c in theory.constraints]
    physics = params.get("physics", "all")
    if isinstance(physics, list):
        unknown = [p for p in physics if p not in labels]
        if unknown:
            raise r.fail(
                f"{where} key 'physics'",
                f"expected 'all', 'none' or a list of the constraint names of {label}: "
                f"{labels}; got {unknown}, which it does not have.",
            )
        labels = physics
    weights = params.get("physics_weight")
    if isinstance(weights, dict) and physics != "none":
        unknown = sorted(set(weights) - {"*"} - set(labels))
        if unknown:
            raise r.fail(
                f"{where} key 'physics_weight'",
                f"expected weights of constraints of {label} that the model uses: {labels} "
                f"(or '*' for the rest); got {unknown}.",
            )
