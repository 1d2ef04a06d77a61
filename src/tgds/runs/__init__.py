"""Runs: experiment files, the run store (folders + SQLite index), execution and resume.

See docs/runs.md for the experiment file and the run folder.
"""

from tgds.runs._experiment import Experiment, ExperimentError, ModelSpec, load_experiment
from tgds.runs._predict import PredictionWarning, predict_with_run
from tgds.runs._runner import RunResult, execute, load_unit_model, resume
from tgds.runs._store import RunError, RunFolder, RunIndex, read_summary

__all__ = [
    "Experiment",
    "ExperimentError",
    "ModelSpec",
    "PredictionWarning",
    "RunError",
    "RunFolder",
    "RunIndex",
    "RunResult",
    "execute",
    "load_experiment",
    "load_unit_model",
    "predict_with_run",
    "read_summary",
    "resume",
]
