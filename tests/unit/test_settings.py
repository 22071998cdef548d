"""One settings list: every variable read in one module, documented from it, secrets masked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scorecard.bootstrap import derive_readmodel_key, new_cipher_key
from scorecard.cli import main
from scorecard.settings import NAMES, SECRET, Settings, markdown_table

ROOT = Path(__file__).parents[2]
PACKAGES = ("domain", "projections", "ingest", "scorecard", "scorecard_ui")
READS = re.compile(r"os\.environ\.get|os\.getenv|getenv\(|os\.environ\[")


def sources() -> list[Path]:
    return [path for package in PACKAGES for path in (ROOT / package).rglob("*.py")]


def test_the_operations_guide_shows_the_settings_list() -> None:
    text = (ROOT / "docs" / "operations.md").read_text("utf-8")
    start = text.index("| variable | unset | meaning | secret |")
    end = text.index("<!-- end of the settings table -->")
    assert text[start:end] == markdown_table(), (
        "docs/operations.md's settings table differs from scorecard/settings.py: paste "
        "`scorecard settings --table` over it")


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = [str(path.relative_to(ROOT)) for path in sources()
               if path.name != "settings.py" and READS.search(path.read_text("utf-8"))]
    assert readers == []


def test_every_variable_the_code_names_is_in_the_list() -> None:
    named = {name for path in sources()
             for name in re.findall(r"\bSCORECARD_[A-Z_]+[A-Z]\b", path.read_text("utf-8"))}
    assert named - set(NAMES) == set()


def test_the_effective_settings_mask_every_secret() -> None:
    environ = {"SCORECARD_EVENT_STORE": "postgresql://scorecard:db-Secret-1@db:5432/scorecard",
               "SCORECARD_CIPHER_KEY": "cipher-Secret-2", "SCORECARD_PASSWORD": "pw-Secret-3",
               "SCORECARD_KAFKA_SASL_PASSWORD": "sasl-Secret-4",
               "SCORECARD_ADMIN_PASSWORD": "admin-Secret-5", "SCORECARD_HOME": "/srv/home",
               "SCORECARD_READMODEL_KEY": "readmodel-Secret-6",
               "SCORECARD_SESSION_IDLE_MINUTES": "5"}
    shown = dict(Settings.from_environment(environ).effective())
    text = repr(shown) + repr(Settings.from_environment(environ))
    assert "Secret" not in text
    assert shown["SCORECARD_EVENT_STORE"] == "postgresql://scorecard:***@db:5432/scorecard"
    assert shown["SCORECARD_HOME"] == "/srv/home"
    assert shown["SCORECARD_SESSION_IDLE_MINUTES"] == "5"
    assert shown["SCORECARD_DUCKDB_MEMORY_LIMIT"].startswith("(unset")
    assert {"SCORECARD_EVENT_STORE", "SCORECARD_CIPHER_KEY", "SCORECARD_PASSWORD",
            "SCORECARD_READMODEL_KEY"} <= SECRET


def test_scorecard_settings_prints_them(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SCORECARD_CIPHER_KEY", "cipher-Secret-2")
    monkeypatch.setenv("SCORECARD_DUCKDB_MEMORY_LIMIT", "256MB")
    assert main(["settings"]) == 0
    out = capsys.readouterr().out
    assert "Secret" not in out
    assert re.search(r"SCORECARD_CIPHER_KEY +\*\*\* \(set\)", out)
    assert re.search(r"SCORECARD_DUCKDB_MEMORY_LIMIT +256MB", out)
    assert main(["settings", "--table"]) == 0
    assert capsys.readouterr().out == markdown_table()


def test_scorecard_readmodel_key_prints_the_key_derived_from_the_cipher_key(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    cipher = new_cipher_key()
    monkeypatch.setenv("SCORECARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SCORECARD_CIPHER_KEY", cipher)
    assert main(["readmodel-key"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == derive_readmodel_key(cipher) != cipher
    read_page = Settings.from_environment({"SCORECARD_CIPHER_KEY": cipher}) \
        .without_store_access(printed)
    assert read_page.cipher_key is None and read_page.readmodel_key == printed
