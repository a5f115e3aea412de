"""The command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from techcredit.cli import main


def test_help_lists_commands() -> None:
    out = subprocess.run([sys.executable, "-m", "techcredit.cli", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for command in ("demo", "generate", "sample"):
        assert command in out


def test_demo_prints_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--n-firms", "400", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "invoices" in out
    assert "AUC of the true PD" in out
    assert "tech/startup" in out


def test_generate_writes_tables(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--n-firms", "50", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "invoices.parquet").exists()
    assert "digest" in capsys.readouterr().out


def test_bad_arguments_exit_nonzero() -> None:
    with pytest.raises(SystemExit) as info:
        main(["demo", "--n-firms", "many"])
    assert info.value.code == 2
