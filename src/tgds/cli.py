"""The ``tgds`` command line.

Commands: ``check``, ``theory``, ``run``, ``demo``, ``report``, ``predict``, ``runs list``,
``runs show``, ``runs compare``. Exit codes: ``0`` success; ``1`` the command ran but
found problems (``tgds check --strict`` found issues in the data); ``2`` bad input (a
malformed theory or experiment file, a missing or unreadable file, an unknown model, an
unwritable output folder, a wrong option).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from tgds import __version__
from tgds.exceptions import TgdsError

app = typer.Typer(
    name="tgds",
    help="Theory-guided data science: check data against a theory, train and audit models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_PROBLEMS, EXIT_BAD_INPUT = 0, 1, 2


def _fail(err: Exception, data: str | None = None) -> typer.Exit:
    """Print ``err`` and exit with code 2. ``data`` names where the data came from (``data
    file 'new.csv'``), for the library's messages that call it ``X``."""
    message = str(err)
    if data is not None:
        # the estimators call the frame they were given X; here it is a file the user named
        message = re.sub(
            r"\bX (lacks the input column|contains NaN or infinite values|has no column)",
            lambda m: f"{data} {m[1]}",
            message,
        )
        message = re.sub(
            r"on this data: it (lacks|has)", lambda m: f"on this data: {data} {m[1]}", message
        )
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def _printable(text: str) -> str:
    """``text`` with control characters escaped: a run folder may come from someone else,
    and its stored error must not drive the terminal."""
    return "".join(c if c.isprintable() or c == "\n" else repr(c)[1:-1] for c in text)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tgds {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Theory-guided data science."""


@app.command()
def check(
    theory: Annotated[Path, typer.Argument(help="Theory file (TOML).")],
    data: Annotated[
        Path, typer.Argument(help="Data file (CSV or Parquet); column names are variable names.")
    ],
    strict: Annotated[bool, typer.Option(help="Exit with code 1 if any issue is found.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the issues as JSON records, with example rows.")
    ] = False,
) -> None:
    """Check a data file against a theory: columns, types, missing values, physical bounds."""
    from tgds.datasets import read_table
    from tgds.theory import Theory

    try:
        report = Theory.from_toml(theory).check_data(read_table(data))
    except TgdsError as err:
        raise _fail(err) from None
    if as_json:
        typer.echo(json.dumps(report.to_records(), indent=2))
    else:
        typer.echo(str(report))
    if strict and not report.ok:
        raise typer.Exit(EXIT_PROBLEMS)


@app.command("theory")
def show_theory(theory: Annotated[Path, typer.Argument(help="Theory file (TOML).")]) -> None:
    """Validate a theory file and print its summary."""
    from tgds.theory import Theory

    try:
        typer.echo(str(Theory.from_toml(theory)))
    except TgdsError as err:
        raise _fail(err) from None


runs_app = typer.Typer(help="List, show and compare runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")

RunsDir = Annotated[
    Path | None,
    typer.Option(
        "--runs-dir", help="The run store (default: ./runs, or the experiment's [outputs] dir)."
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]


def _index(runs_dir: Path | None) -> Any:
    """The run store, read-only: a store that does not exist is an error, never created."""
    from tgds.runs import RunIndex

    return RunIndex(runs_dir or Path("runs"), create=False)


def _print_result(result: Any) -> None:
    shown = result.summary[
        ["rmse", "mae", "consistency", "violation_rate", "complexity", "fit_s", "rank"]
    ]
    typer.echo(shown.to_string(float_format=lambda v: f"{v:.4g}"))
    typer.echo(f"\nrun folder: {result.folder.path}")
    if result.report.exists():
        typer.echo(f"report:     {result.report}")


@app.command("run")
def run_command(
    experiment: Annotated[
        Path | None, typer.Argument(help="Experiment file (TOML); see docs/runs.md.")
    ] = None,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Continue an interrupted run (id or folder).")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="With --resume: take over a run marked running on another host "
            "whose process has ended.",
        ),
    ] = False,
    runs_dir: RunsDir = None,
    quiet: Quiet = False,
) -> None:
    """Train and compare the models of an experiment; write a run folder and its report."""
    from dataclasses import replace

    from tgds.runs import execute, load_experiment
    from tgds.runs import resume as resume_run

    exp = None
    try:
        if resume is not None:
            result = resume_run(resume, root=runs_dir, quiet=quiet, force=force)
        elif force:
            raise typer.BadParameter("--force goes with --resume RUN.")
        elif experiment is None:
            raise typer.BadParameter("give an experiment file, or --resume RUN.")
        else:
            exp = load_experiment(experiment)
            result = execute(replace(exp, output_dir=runs_dir) if runs_dir else exp, quiet=quiet)
    except TgdsError as err:
        # how the message names the data: read only now, on the way out
        data = _data_label(exp.data) if exp is not None else None
        if resume is not None:
            data = _data_of_run(resume, runs_dir)
        raise _fail(err, data) from None
    _print_result(result)


def _data_label(spec: dict) -> str:
    from tgds.runs._runner import _data_label as label

    return label(spec)


def _data_of_run(run: str, runs_dir: Path | None) -> str | None:
    """How messages name the data of a run to resume (its experiment.toml's [data]), or
    None where that cannot be read: resuming reports that itself."""
    from tgds.runs._store import read_run_toml

    try:
        spec = read_run_toml(_index(runs_dir).open(run).path / "experiment.toml").get("data")
    except (TgdsError, OSError):
        return None
    return _data_label(spec) if isinstance(spec, dict) else None


@app.command()
def demo(runs_dir: RunsDir = None, quiet: Quiet = False) -> None:
    """Physics model vs plain NN vs theory-guided NN on the bundled lake; prints the table and the report path."""
    from dataclasses import replace

    from tgds.datasets import bundled_path
    from tgds.runs import execute, load_experiment
    from tgds.runs._runner import load_data, load_theory

    exp = load_experiment(bundled_path("lake_demo.toml"))
    typer.echo(f"tgds demo: {exp.description}\nexperiment: {bundled_path('lake_demo.toml')}\n")
    typer.echo(str(load_theory(exp.theory).check_data(load_data(exp.data)[0])) + "\n")
    try:
        result = execute(replace(exp, output_dir=(runs_dir or Path("runs")).resolve()), quiet=quiet)
    except TgdsError as err:
        raise _fail(err) from None
    _print_result(result)


@app.command()
def report(
    run: Annotated[str, typer.Argument(help="Run id (or prefix) or folder.")],
    runs_dir: RunsDir = None,
) -> None:
    """Render a run's report.html again."""
    from tgds.report import render_report

    try:
        path = render_report(_index(runs_dir).open(run).path)
    except TgdsError as err:
        raise _fail(err) from None
    typer.echo(str(path))


@app.command()
def predict(
    run: Annotated[str, typer.Argument(help="Run id (or prefix) or folder.")],
    data: Annotated[
        Path, typer.Argument(help="Data file (CSV or Parquet) with the model's input columns.")
    ],
    model: Annotated[str | None, typer.Option(help="Model name (default: the run's best).")] = None,
    fold: Annotated[
        int | None, typer.Option(help="Which fold's model (default: the last).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the predictions to this CSV.")
    ] = None,
    runs_dir: RunsDir = None,
) -> None:
    """Predict with a saved model of a run, audit the predictions against the run's theory (with the RMSE where the data hold the target), and warn of inputs outside the theory's bounds or the run's data."""
    import warnings

    from tgds.datasets import read_table
    from tgds.runs import PredictionWarning, predict_with_run

    if output is not None and not output.parent.is_dir():
        raise _fail(
            ValueError(f"cannot write '{output}': the folder '{output.parent}' does not exist.")
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PredictionWarning)
        try:
            frame, audit_report = predict_with_run(
                _index(runs_dir).open(run), read_table(data), model=model, fold=fold
            )
        except TgdsError as err:
            raise _fail(err, f"data file '{data}'") from None
    if output is not None:
        from tgds.utils import atomic_write_csv

        try:
            atomic_write_csv(output, frame)
        except OSError as err:
            raise _fail(ValueError(f"cannot write '{output}': {err.strerror or err}.")) from None
        typer.echo(f"predictions written to {output}")
    else:
        typer.echo(frame.head(10).to_string())
    for w in caught:  # ours as warning lines; any other as Python would show it
        if issubclass(w.category, PredictionWarning):
            typer.echo(f"warning: data file '{data}': {w.message}", err=True)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    typer.echo("\n" + str(audit_report))


@runs_app.command("list")
def runs_list(runs_dir: RunsDir = None) -> None:
    """All runs in the store, newest first."""
    try:
        frame = _index(runs_dir).list()
    except TgdsError as err:
        raise _fail(err) from None
    # a run without a best model (failed, incomplete) shows '-', as a missing time does
    shown = frame.drop(columns=["dir"]).astype(object)
    shown = shown.where(shown.notna(), "-")
    typer.echo(shown.to_string(index=False) if len(frame) else "no runs yet")


@runs_app.command("show")
def runs_show(
    run: Annotated[str, typer.Argument(help="Run id (or prefix) or folder.")],
    runs_dir: RunsDir = None,
) -> None:
    """A run's status and comparison table."""
    from tgds.runs import read_summary

    try:
        folder = _index(runs_dir).open(run)
        status = folder.status()
        summary = folder.path / "summary.csv"
        table = read_summary(summary) if summary.exists() else None
    except TgdsError as err:
        raise _fail(err) from None
    typer.echo(
        f"run {folder.id}: {status['state']} (started {status.get('started')}, finished {status.get('finished', '-')})"
    )
    if status.get("error"):
        typer.echo(f"error: {_printable(str(status['error']))}")
    if table is not None:
        typer.echo(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


@runs_app.command("compare")
def runs_compare(
    runs: Annotated[list[str], typer.Argument(help="Two or more run ids.")],
    runs_dir: RunsDir = None,
) -> None:
    """Put the comparison tables of several runs side by side."""
    import pandas as pd

    index = _index(runs_dir)
    frames = []
    try:
        for run in runs:
            folder = index.open(run)
            frame = folder.summary("to compare")  # a failed run's error names its state
            frame.insert(0, "run", folder.id)
            frames.append(frame)
    except TgdsError as err:
        raise _fail(err) from None
    cols = ["run", "model", "rmse", "mae", "consistency", "violation_rate", "complexity", "rank"]
    typer.echo(pd.concat(frames)[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def main() -> None:
    """Entry point of the ``tgds`` script."""
    app()


if __name__ == "__main__":
    main()
