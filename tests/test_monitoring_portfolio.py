"""Portfolio records are validated at the edge; bad input names the field."""

from __future__ import annotations

import datetime as dt

import pytest

from techcredit.data import generate
from techcredit.exceptions import InvalidInputError
from techcredit.monitoring import Portfolio, early_warnings, pledge_alerts

LOAN = {"loan_id": 1, "firm_id": 3, "booked_on": "2025-01-31", "term_months": 13,
        "limit_cny": 1e6, "rate_annual": 0.04}
PLEDGE = {"loan_id": 1, "patent_id": 5, "appraised_value_cny": 2e5, "ltv": 0.5}


def test_maturity_and_secured_amount_are_derived():
    p = Portfolio.from_records([LOAN], [PLEDGE])
    assert p.loans["maturity_on"].iloc[0].date() == dt.date(2026, 2, 28)
    assert p.pledges["secured_cny"].iloc[0] == 1e5


@pytest.mark.parametrize(("loans", "pledges", "where"), [
    ([{**LOAN, "rate_annual": 1.5}], [], "loans[0].rate_annual"),
    ([{**LOAN, "limit_cny": float("nan")}], [], "loans[0].limit_cny"),
    ([{**LOAN, "booked_on": "yesterday"}], [], "loans[0].booked_on"),
    ([LOAN, LOAN], [], "loans[1].loan_id"),
    ([{k: v for k, v in LOAN.items() if k != "firm_id"}], [], "loans[0].firm_id"),
    ([LOAN], [{**PLEDGE, "loan_id": 2}], "pledges[0].loan_id"),
    ([LOAN], [{**PLEDGE, "ltv": 0}], "pledges[0].ltv"),
    ([LOAN], [PLEDGE, PLEDGE], "pledges[1].patent_id"),
    ([{**LOAN, "colour": "red"}], [], "loans[0].colour"),
])
def test_bad_records_name_the_field(loans, pledges, where):
    with pytest.raises(InvalidInputError) as err:
        Portfolio.from_records(loans, pledges)
    assert where in err.value.fields


def test_csv_round_trip(tmp_path):
    p = Portfolio.from_records([LOAN], [PLEDGE])
    p.write(tmp_path)
    back = Portfolio.read(tmp_path)
    assert back.loans.equals(p.loans)
    assert back.pledges.equals(p.pledges)


def test_unknown_firm_and_foreign_patent_are_named():
    tables = generate(20, seed=2)
    firm = int(tables.firms["firm_id"].max()) + 100
    loan = {**LOAN, "firm_id": firm, "booked_on": "2025-06-30"}
    with pytest.raises(InvalidInputError) as err:
        early_warnings(tables, Portfolio.from_records([loan]), "2025-07-31")
    assert err.value.fields == ["loans[0].firm_id"]
    patent = tables.patents.iloc[0]
    other = int(tables.firms.loc[tables.firms["firm_id"] != patent.firm_id, "firm_id"].iloc[0])
    book = Portfolio.from_records([{**LOAN, "firm_id": other, "booked_on": "2025-06-30"}],
                                  [{**PLEDGE, "patent_id": int(patent.patent_id)}])
    with pytest.raises(InvalidInputError, match="not a right of the loan's firm"):
        pledge_alerts(tables, book, "2025-07-31")


def test_matured_and_future_loans_are_not_monitored():
    p = Portfolio.from_records([LOAN, {**LOAN, "loan_id": 2, "booked_on": "2026-01-01"}])
    assert p.active("2025-06-30").loans["loan_id"].tolist() == [1]
    assert p.active("2026-03-31").loans["loan_id"].tolist() == [2]
    assert p.active("2024-12-31").loans.empty
