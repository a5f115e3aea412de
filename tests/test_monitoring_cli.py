"""``techcredit monitor``: demo on generated tables, and a portfolio from files."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from techcredit.cli import main
from techcredit.data import generate, write_tables
from techcredit.monitoring import build_scenario


def test_monitor_portfolio_from_files_writes_the_alerts(tmp_path, capsys):
    tables = generate(400, seed=4, first_application=dt.date(2025, 1, 1),
                      last_application=dt.date(2025, 3, 31))
    s = build_scenario(tables, as_of="2026-03-31",
                       plants=("tax_arrears", "patent_lapse", "legal_rep_change"))
    write_tables(s.tables, tmp_path / "tables")
    s.portfolio.write(tmp_path / "book")
    out = tmp_path / "alerts.csv"
    code = main(["monitor", "--data", str(tmp_path / "tables"), "--portfolio",
                 str(tmp_path / "book"), "--as-of", "2026-03-31", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    alerts = pd.read_csv(out)
    assert sorted(alerts["rule_id"]) == ["LEGAL_REP_CHANGE", "PLEDGE_LAPSED", "TAX_ARREARS"]
    assert "TAX_ARREARS" in printed
    assert "严重警告" in printed


@pytest.mark.slow
def test_monitor_demo_reports_every_plant(tmp_path, capsys):
    tables = generate(1200, seed=5, first_application=dt.date(2025, 1, 1),
                      last_application=dt.date(2025, 3, 31))
    write_tables(tables, tmp_path / "tables")
    code = main(["monitor", "--demo", "--data", str(tmp_path / "tables"),
                 "--out", str(tmp_path / "a.csv")])
    printed = capsys.readouterr().out
    assert code == 0
    assert "planted alerts raised: 16 of 16; alerts not planted: 0" in printed


def test_monitor_without_portfolio_or_demo_is_an_error(capsys):
    assert main(["monitor", "--as-of", "2026-01-01"]) == 2
    assert "--portfolio" in capsys.readouterr().err
