"""The README's Python examples run as written, from the repository root."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_has_python_examples() -> None:
    assert BLOCKS, "README.md has no ```python block"


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code: str, tmp_path: Path) -> None:
    # the examples name data by paths relative to the repository root
    for rel in re.findall(r"""["'](\.\./shared/[^"']+)["']""", code):
        if not (ROOT / rel).exists():
            pytest.skip(
                f"the example reads {rel}, which is absent (real data live outside the repo)"
            )
    script = tmp_path / "example.py"
    script.write_text(textwrap.dedent(code), encoding="utf-8")  # a block in a list is indented
    done = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"README example failed:\n{done.stderr[-3000:]}"
