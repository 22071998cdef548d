"""What a command of the embedded store imports at its start.

Every ``scorecard`` command is a new process, and the tests alone run hundreds: importing
the PostgreSQL driver, DuckDB, Arrow and pandas at the start cost about a second of CPU
each time, for commands (``agency add``, ``push``, ``user add``) that use none of them.
The command line and the composition root import them where they are used
(``scorecard/cli.py``, ``scorecard/bootstrap.py``, ``scorecard/recorders.py``); this
checks that a new import at the top of a module has not brought them back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("psycopg", "duckdb", "pyarrow", "pandas", "numpy", "streamlit", "openpyxl")


def imported(code: str, env: dict[str, str] | None = None) -> set[str]:
    """The heavy packages a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, env=env,
                          cwd=Path(__file__).parents[2])
    modules = json.loads(done.stdout.splitlines()[-1])
    return {name for name in modules if name.split(".")[0] in HEAVY}


def test_the_command_line_starts_without_the_read_model_or_postgresql() -> None:
    assert imported("import scorecard.cli") == set()


def test_recording_in_an_embedded_home_needs_neither(tmp_path: Path) -> None:
    """(A new home checks its plan against the read model's columns, so the home is made
    first, as every command after a deployment's first finds it.)"""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("SCORECARD_")}
    env["SCORECARD_HOME"] = str(tmp_path / "home")
    imported("from scorecard.cli import main\nmain(['init'])", env)
    code = ("from scorecard.cli import main\n"
            f"main(['agency', 'add', 'racs', '--name', 'RACS', '--sector', 'voluntary',"
            f" '--key-file', {str(tmp_path / 'racs.key')!r}])")
    assert imported(code, env) == set()
    assert (tmp_path / "racs.key").read_text()


@pytest.mark.parametrize("command", [["report", "--as-at", "2015-10-31"]])
def test_a_report_imports_the_read_model_when_it_reads(tmp_path: Path,
                                                       command: list[str]) -> None:
    """The converse, so the two tests above cannot pass by checking nothing: a command
    that reads does import DuckDB."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("SCORECARD_")}
    env["SCORECARD_HOME"] = str(tmp_path / "home")
    code = f"from scorecard.cli import main\nmain({json.dumps(command)})"
    assert "duckdb" in imported(code, env)
