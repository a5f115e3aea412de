"""Seeded generator of the raw records a bank receives, with a known true PD.

The process is documented in ``docs/synthetic-data.md``. In short: each firm has
latent factors (health, innovation, fraud, stage, size) that drive its records (tax
filings, invoices, patents, yearly financials, qualifications) and, separately, its
true probability of default. Models see only the records; :func:`generate` also
returns the truth so that the best achievable AUC is known.

Records of a firm end at its application date (the day the bank pulls them), so no
record is dated after ``applied_on``.

Examples
--------
>>> tables = generate(200, seed=7)
>>> len(tables.firms), len(tables.applications)
(200, 200)
>>> bool((tables.invoices["issued_at"].dt.normalize() < tables.invoices["firm_id"].map(
...     tables.applications.set_index("firm_id")["applied_on"])).all())
True
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from techcredit.data._calendar import days_in_month, month_index, month_of_year, month_start
from techcredit.schemas import RawTables, conform_frame

__all__ = ["GeneratorConfig", "generate"]

logger = logging.getLogger(__name__)

class GeneratorConfig(BaseModel):
    """Knobs of the synthetic process; the defaults give the documented sample.

    Examples
    --------
    >>> GeneratorConfig(n_firms=10).tech_share
    0.35
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_firms: int = Field(gt=0, le=5_000_000)
    seed: int = Field(default=20261122, ge=0)
    first_application: dt.date = dt.date(2023, 1, 1)
    last_application: dt.date = dt.date(2025, 6, 30)
    tech_share: float = Field(default=0.35, ge=0, le=1)
    fraud_share: float = Field(default=0.04, ge=0, le=1)
    tax_history_months: int = Field(default=36, ge=12, le=120)
    invoice_history_months: int = Field(default=24, ge=3, le=60)
    invoice_scale: float = Field(default=1.0, gt=0, le=10)
    """Multiplies invoice counts (the volume knob); amounts keep the revenue."""
    max_invoices_per_month: int = Field(default=150, ge=1)


# Industries (GB/T 4754-2017 codes) and their VAT rates and seasonality amplitude.
_MICRO_INDUSTRIES = (
    ("C1391", 0.13), ("C3311", 0.13), ("C2231", 0.13), ("F5123", 0.13), ("F5271", 0.13),
    ("F5261", 0.13), ("E4790", 0.09), ("H6210", 0.06), ("L7212", 0.06), ("O8010", 0.06),
    ("G5430", 0.09), ("A0511", 0.09),
)
_TECH_INDUSTRIES = (
    ("I6513", 0.06), ("I6511", 0.06), ("I6432", 0.06), ("C3969", 0.13), ("C3562", 0.13),
    ("C2720", 0.13), ("M7320", 0.06), ("M7520", 0.06), ("C4011", 0.13), ("C3841", 0.13),
)
_TECH_IPC = ("G06F", "H04L", "H01L", "G01N", "A61K", "C12N", "B25J", "H01M", "G06N", "G06Q",
             "G06T", "H04W")
_MICRO_IPC = ("A47B", "B65D", "E04B", "A23L", "F16B", "B29C", "D06F", "A01G")
_REGIONS = ("310000", "440000", "320000", "330000", "110000", "370000", "510000", "420000",
            "350000", "340000", "430000", "610000", "500000", "120000")
_REGION_WEIGHTS = np.array([12, 16, 14, 13, 9, 8, 6, 5, 5, 4, 3, 2, 2, 1], dtype=float)
# Calendar-month revenue factors: Spring Festival dip in Feb, year-end peak.
_SEASON = np.array([1.0, 0.72, 1.0, 1.0, 1.0, 1.05, 0.95, 0.95, 1.05, 0.97, 1.05, 1.26])
_KINDS = ("invention", "utility", "design", "software_copyright")
_LEGAL_TERM_YEARS = np.array([20, 10, 15, 50])  # for the generator's own lapse process


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _days(values: np.ndarray) -> np.ndarray:
    return np.asarray(values).astype("datetime64[D]")


def generate(n_firms: int | None = None, *, seed: int | None = None,
             config: GeneratorConfig | None = None, **knobs: object) -> RawTables:
    """Generate raw tables for ``n_firms`` firms, one application each, with the truth.

    Parameters
    ----------
    n_firms : int, optional
        Number of firms (and applications). Required unless ``config`` is given.
    seed : int, optional
        Random seed; the same seed and knobs give byte-identical tables.
    config : GeneratorConfig, optional
        All knobs at once.
    **knobs
        Any other :class:`GeneratorConfig` field, e.g. ``invoice_scale=0.5``.

    Returns
    -------
    RawTables
        ``firms``, ``tax_grades``, ``tax_filings``, ``invoices``, ``patents``,
        ``patent_events``, ``rnd``, ``applications`` (with ``default_12m``) and ``truth``.

    Examples
    --------
    >>> t = generate(50, seed=1)
    >>> sorted(t.truth["firm_kind"].unique())
    ['micro', 'tech']
    """
    if config is None:
        params: dict[str, object] = dict(knobs)
        if n_firms is not None:
            params["n_firms"] = n_firms
        if seed is not None:
            params["seed"] = seed
        config = GeneratorConfig.model_validate(params)
    elif n_firms is not None or seed is not None or knobs:
        raise TypeError("pass either config or n_firms/seed/knobs, not both")
    return _Generator(config).run()


class _Generator:
    """One run of the synthetic process; each step draws from one seeded stream."""

    def __init__(self, cfg: GeneratorConfig) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg.seed)
        self.n = cfg.n_firms

    # ------------------------------------------------------------------ firms
    def run(self) -> RawTables:
        self._latent()
        self._revenue_path()
        firms = self._firms()
        tax_filings = self._tax_filings()
        firms["abnormal_taxpayer_on"] = self.abnormal_on
        tax_grades = self._tax_grades()
        invoices = self._invoices()
        patents, patent_events = self._patents()
        rnd = self._rnd()
        applications, truth = self._outcomes()
        tables = {
            "firms": firms, "tax_grades": tax_grades, "tax_filings": tax_filings,
            "invoices": invoices, "patents": patents, "patent_events": patent_events,
            "rnd": rnd, "applications": applications, "truth": truth,
        }
        return RawTables(**{name: conform_frame(name, frame) for name, frame in tables.items()})

    def _latent(self) -> None:
        rng, n, cfg = self.rng, self.n, self.cfg
        self.firm_id = np.arange(1, n + 1, dtype="int64")
        self.is_tech = rng.random(n) < cfg.tech_share
        span = (cfg.last_application - cfg.first_application).days
        self.applied = _days(np.datetime64(cfg.first_application)) + rng.integers(
            0, span + 1, n
        ).astype("timedelta64[D]")
        self.app_month = month_index(self.applied)
        # Stage and age: tech firms by stage mix; micro firms exponential ages.
        stage_draw = rng.random(n)
        tech_stage = np.where(stage_draw < 0.35, 0, np.where(stage_draw < 0.75, 1, 2))
        low = np.array([0.3, 3.0, 8.0])[tech_stage]
        high = np.array([3.0, 8.0, 20.0])[tech_stage]
        tech_age = low + (high - low) * rng.random(n)
        micro_age = np.minimum(0.3 + rng.exponential(6.0, n), 30.0)
        self.age_years = np.where(self.is_tech, tech_age, micro_age)
        self.stage = np.where(self.age_years < 3, 0, np.where(self.age_years < 8, 1, 2))
        self.registered = self.applied - np.round(self.age_years * 365.25).astype(
            "timedelta64[D]"
        )
        self.health = rng.standard_normal(n)
        z = rng.standard_normal(n)
        innovation = 0.3 * self.health + np.sqrt(1 - 0.09) * z
        self.innovation = np.where(self.is_tech, innovation, -1.5 + 0.5 * z)
        self.fraud = rng.random(n) < cfg.fraud_share
        # Each fraud firm shows one or two of four patterns.
        pattern = rng.random((n, 4)) < 0.4
        none = ~pattern.any(axis=1)
        pattern[none, rng.integers(0, 4, n)[none]] = True
        pattern &= self.fraud[:, None]
        self.fraud_spike, self.fraud_mismatch, self.fraud_void, self.fraud_conc = pattern.T
        # Size: heavy-tailed yearly revenue, smaller for young firms.
        median = np.where(self.is_tech, 6e6, 2.5e6)
        ramp = np.minimum(1.0, 0.3 + self.age_years / 4.0)
        revenue = median * np.exp(1.1 * rng.standard_normal(n) + 0.15 * self.health) * ramp
        self.revenue_year = np.clip(revenue, 5e4, 5e8)
        self.growth = np.clip(
            0.05 + 0.10 * self.health + 0.08 * np.where(self.is_tech, self.innovation, 0)
            + 0.25 * (self.age_years < 3) + 0.10 * rng.standard_normal(n),
            -0.6, 1.5,
        )
        self.distress = rng.random(n) < _sigmoid(-2.4 - 1.6 * self.health)
        self.distress_onset = rng.integers(1, 10, n)  # months before application
        # Buyer concentration: Dirichlet weights; concentrated firms have a dominant buyer.
        self.n_buyers = np.clip(
            1 + rng.poisson(np.clip(np.sqrt(self.revenue_year / 1e5), 1, 60)), 1, 120
        )
        self.concentrated = self.fraud_conc | (rng.random(n) < 0.08)

    def _revenue_path(self) -> None:
        """Monthly true revenue for the ``tax_history_months`` before application."""
        rng, _n = self.rng, self.n
        h = self.cfg.tax_history_months
        rel = np.arange(-h, 1)  # month offsets; 0 is the application month
        months = self.app_month[:, None] + rel[None, :]
        season = _SEASON[month_of_year(months) - 1]
        amplitude = np.where(self.is_tech, 0.6, 1.0)[:, None]
        season = 1 + amplitude * (season - 1)
        trend = np.exp(self.growth[:, None] * rel[None, :] / 12.0)
        sigma = (0.18 + 0.12 * np.maximum(0, -self.health))[:, None]
        noise = np.exp(sigma * rng.standard_normal(months.shape) - sigma**2 / 2)
        since = rel[None, :] + self.distress_onset[:, None]
        decline = np.where(self.distress[:, None] & (since >= 0),
                           np.exp(-0.18 * np.maximum(since, 0)), 1.0)
        revenue = self.revenue_year[:, None] / 12 * season * trend * noise * decline
        reg_month = month_index(self.registered)
        self.alive = months >= reg_month[:, None]
        self.months = months
        self.revenue = np.where(self.alive, revenue, 0.0)

    def _firms(self) -> pd.DataFrame:
        rng, n = self.rng, self.n
        # One table of industries, micro first: tech firms index past the micro rows.
        table = _MICRO_INDUSTRIES + _TECH_INDUSTRIES
        industry = np.where(
            self.is_tech,
            len(_MICRO_INDUSTRIES) + rng.integers(0, len(_TECH_INDUSTRIES), n),
            rng.integers(0, len(_MICRO_INDUSTRIES), n),
        )
        codes = np.array([c for c, _ in table], dtype=object)[industry]
        vat = np.array([r for _, r in table])[industry]
        small_scale = self.revenue_year < 5e6
        self.vat_rate = np.where(small_scale & (rng.random(n) < 0.8), 0.01, vat)
        region = rng.choice(len(_REGIONS), n, p=_REGION_WEIGHTS / _REGION_WEIGHTS.sum())
        per_employee = np.exp(np.log(4e5) + 0.5 * rng.standard_normal(n))
        employees = np.clip(np.round(self.revenue_year / per_employee), 1, 2000).astype(int)
        st_share = np.where(
            self.is_tech,
            rng.beta(3 + np.maximum(self.innovation, -2.5) + 2.5, 6),
            rng.beta(1, 10, n),
        )
        self.employees = employees
        self.st_staff = np.minimum(np.round(employees * st_share), employees).astype(int)
        q, h = self.innovation, self.health
        days_alive = (self.applied - self.registered).astype(int)

        def qualification(prob: np.ndarray, min_days: int) -> np.ndarray:
            eligible = (rng.random(n) < prob) & (days_alive > min_days)
            offset = min_days + (rng.random(n) * np.maximum(days_alive - min_days, 1)).astype(int)
            date = self.registered + offset.astype("timedelta64[D]")
            return np.where(eligible, date, np.datetime64("NaT"))

        self.high_tech_on = qualification(
            np.where(self.is_tech, _sigmoid(-0.8 + 1.5 * q), 0.0), 366)
        self.tech_sme_on = qualification(
            np.where(self.is_tech, _sigmoid(0.3 + 1.2 * q), 0.03), 60)
        self.specialized_on = qualification(
            np.where(self.is_tech & (self.stage > 0), _sigmoid(-2.2 + 1.0 * q + 0.5 * h), 0.0),
            730)
        changed = rng.random(n) < np.clip(0.10 + 0.10 * self.distress + 0.25 * self.fraud, 0, 1)
        lag = rng.integers(1, 3 * 365, n).astype("timedelta64[D]")
        rep_change = np.maximum(self.applied - lag, self.registered + np.timedelta64(1, "D"))
        self.legal_rep_changed = np.where(changed & (days_alive > 2), rep_change,
                                          np.datetime64("NaT"))
        # Abnormal taxpayer: the worst distressed firms stop filing for 3+ months.
        self.abnormal = self.distress & (self.health < -1.8) & (rng.random(n) < 0.35) & (
            days_alive > 200)
        arrears = rng.random(n) < _sigmoid(-4.2 - 1.4 * h)
        arrears_lag = rng.integers(15, 365, n).astype("timedelta64[D]")
        arrears_on = np.maximum(self.applied - arrears_lag, self.registered)
        self.arrears_on = np.where(arrears & (days_alive > 30), arrears_on, np.datetime64("NaT"))
        return pd.DataFrame({
            "firm_id": self.firm_id,
            "registered_on": self.registered,
            "industry_code": codes,
            "region_code": np.array(_REGIONS, dtype=object)[region],
            "employees": employees,
            "st_staff": self.st_staff,
            "high_tech_cert_on": self.high_tech_on,
            "tech_sme_on": self.tech_sme_on,
            "specialized_on": self.specialized_on,
            "legal_rep_changed_on": self.legal_rep_changed,
            "abnormal_taxpayer_on": np.datetime64("NaT"),  # set once filings are known
            "tax_arrears_on": self.arrears_on,
        })

    # -------------------------------------------------------------- tax filings
    def _tax_filings(self) -> pd.DataFrame:
        rng = self.rng
        months, revenue = self.months[:, :-1], self.revenue[:, :-1]
        alive = self.alive[:, :-1]
        n, m = months.shape
        h = self.health[:, None]
        rel = np.arange(-m, 0)[None, :]
        after_onset = self.distress[:, None] & (rel + self.distress_onset[:, None] >= 0)
        p_zero = _sigmoid(-4.6 - 1.2 * h + 2.0 * after_onset)
        p_miss = _sigmoid(-5.2 - 1.1 * h + 1.5 * after_onset)
        zero = rng.random((n, m)) < p_zero
        missing = rng.random((n, m)) < p_miss
        # Abnormal taxpayers: the last 3-5 months unfiled; listed after the third.
        gap = rng.integers(3, 6, n)[:, None]
        silent = self.abnormal[:, None] & (rel >= -gap)
        missing |= silent
        listed_month = self.app_month - gap[:, 0] + 3
        listed_on = month_start(listed_month) + np.timedelta64(14, "D")
        listed = self.abnormal & (listed_on <= self.applied)
        self.abnormal_on = np.where(listed, listed_on, np.datetime64("NaT"))
        self.abnormal = listed
        # Declared sales: honest firms declare about their revenue; mismatch fraud
        # under-declares against the invoices they issue (票税不符).
        declared = revenue * np.exp(0.04 * rng.standard_normal((n, m)))
        declared = np.where(zero, 0.0, declared)
        vat = declared * self.vat_rate[:, None] * rng.uniform(0.25, 0.45, (n, 1))
        margin = np.clip(0.03 + 0.03 * h + 0.01 * rng.standard_normal((n, 1)), 0, 0.2)
        cit = np.where(rel % 3 == -1, declared * 3 * margin * 0.05, 0.0)  # quarterly prepayment
        filed = month_start(months + 1) + rng.integers(0, 15, (n, m)).astype("timedelta64[D]")
        keep = alive & ~missing & (filed <= self.applied[:, None])
        self.declared = np.where(keep, declared, np.nan)
        idx = np.nonzero(keep)
        return pd.DataFrame({
            "firm_id": self.firm_id[idx[0]],
            "period": month_start(months[idx]),
            "filed_on": filed[idx],
            "declared_sales_cny": np.round(declared[idx], 2),
            "vat_paid_cny": np.round(vat[idx], 2),
            "cit_paid_cny": np.round(cit[idx], 2),
            "zero_filing": zero[idx],
        })

    def _tax_grades(self) -> pd.DataFrame:
        rng = self.rng
        app_year = self.applied.astype("datetime64[Y]").astype(int) + 1970
        reg_year = self.registered.astype("datetime64[Y]").astype(int) + 1970
        years = app_year[:, None] - np.arange(1, 5)[None, :]
        published = (years + 1 - 1970).astype("datetime64[Y]").astype("datetime64[D]") + (
            np.timedelta64(31 + 28 + 31 + 14, "D"))
        exists = (years >= reg_year[:, None]) & (published <= self.applied[:, None])
        score = (84 + 9 * self.health[:, None] + 6 * rng.standard_normal(years.shape)
                 - 25 * self.abnormal[:, None] * (years == app_year[:, None] - 1)
                 - 15 * self.fraud[:, None] * (rng.random(years.shape) < 0.5))
        grade = np.select([score >= 90, score >= 70, score >= 40], ["A", "B", "C"], "D")
        grade = np.where(years == reg_year[:, None], "M", grade)
        idx = np.nonzero(exists)
        return pd.DataFrame({
            "firm_id": self.firm_id[idx[0]],
            "year": years[idx],
            "grade": grade[idx],
            "published_on": published[idx],
        })

    # ---------------------------------------------------------------- invoices
    _STATUS = ("normal", "voided", "red_letter")
    _CHUNK_FIRMS = 8192

    def _invoices(self) -> pd.DataFrame:
        """Invoices of all firms, built chunk by chunk of firms to bound memory."""
        chunks = [self._invoice_chunk(np.arange(lo, min(lo + self._CHUNK_FIRMS, self.n)))
                  for lo in range(0, self.n, self._CHUNK_FIRMS)]
        offset = np.cumsum([0] + [len(c["firm_row"]) for c in chunks[:-1]])
        for c, off in zip(chunks, offset, strict=True):
            c["original_local"] = np.where(c["original_local"] >= 0, c["original_local"] + 1 + off,
                                           0)
        cols = {}
        for key in list(chunks[0]):  # concatenate column by column, freeing the parts
            cols[key] = np.concatenate([c.pop(key) for c in chunks])
        ids = np.arange(1, len(cols["firm_row"]) + 1, dtype="int64")
        original = cols.pop("original_local")
        return pd.DataFrame({
            "invoice_id": ids,
            "firm_id": self.firm_id[cols["firm_row"]],
            "issued_at": cols["issued_at"],
            "buyer_id": cols["buyer_id"],
            "amount_cny": cols["amount_cny"],
            "tax_cny": cols["tax_cny"],
            "status": pd.Categorical.from_codes(cols["status"], categories=list(self._STATUS)),
            "original_invoice_id": pd.arrays.IntegerArray(original, original == 0),
        })

    def _invoice_chunk(self, firms: np.ndarray) -> dict[str, np.ndarray]:
        rng, cfg = self.rng, self.cfg
        hmonths = cfg.invoice_history_months
        months = self.months[firms, -hmonths - 1:]
        revenue = self.revenue[firms, -hmonths - 1:]
        n, m = months.shape
        invoiced = revenue * rng.uniform(0.8, 1.0, (n, 1))
        # Mismatch fraud: fake invoices in the last 6-12 months far above revenue.
        rel = np.arange(-m + 1, 1)[None, :]
        fake_from = -rng.integers(6, 13, n)[:, None]
        invoiced = np.where(self.fraud_mismatch[firms, None] & (rel >= fake_from),
                            invoiced * rng.uniform(1.8, 3.0, (n, 1)), invoiced)
        ticket = 1.5e4 * np.exp(0.5 * rng.standard_normal(n)) * np.sqrt(
            self.revenue_year[firms] / 2.5e6)
        ticket = np.clip(ticket, 800, 5e5)
        lam = invoiced / ticket[:, None] * cfg.invoice_scale
        # Spike fraud: one recent month with 5-10x the usual invoicing.
        spike = self.fraud_spike[firms, None] & (rel == rng.integers(-6, 0, n)[:, None])
        factor = rng.uniform(5.0, 10.0, (n, 1))
        lam = np.where(spike, lam * factor, lam)
        invoiced = np.where(spike, invoiced * factor, invoiced)
        cap = np.where(spike, cfg.max_invoices_per_month * 10, cfg.max_invoices_per_month)
        counts = np.where(invoiced > 0, np.minimum(rng.poisson(np.minimum(lam, 1e6)), cap), 0)
        flat = counts.ravel()
        cell = np.repeat(np.arange(n * m), flat)
        total = len(cell)
        local = cell // m
        # Amounts: lognormal weights that share out each month's invoiced sales.
        weights = np.exp(0.8 * rng.standard_normal(total))
        starts = np.cumsum(flat) - flat
        cell_weight = np.zeros(n * m)
        cell_weight[flat > 0] = np.add.reduceat(weights, starts[flat > 0])
        amount = np.round(invoiced.ravel()[cell] * weights / cell_weight[cell], 2)
        # Issue time: business hours, with night-time invoicing for fraud firms.
        month_of_row = months.ravel()[cell]
        day = (rng.random(total) * days_in_month(month_of_row)).astype("int64")
        night = rng.random(total) < np.where(self.fraud[firms], 0.25, 0.02)[local]
        hour = np.where(night, (22 + rng.integers(0, 8, total)) % 24, rng.integers(8, 19, total))
        issued_day = month_start(month_of_row) + day.astype("timedelta64[D]")
        issued = issued_day.astype("datetime64[s]") + (
            hour * 3600 + rng.integers(0, 3600, total)).astype("timedelta64[s]")
        # Buyers: a heavy-tailed pool per firm; concentrated firms have a dominant buyer.
        nb = self.n_buyers[firms][local]
        rank = np.minimum(rng.pareto(1.2, total).astype("int64"), nb - 1)
        rank = np.where(self.concentrated[firms][local] & (rng.random(total) < 0.65), 0, rank)
        buyer = self.firm_id[firms][local] * 1000 + rank
        buyer = np.where(rng.random(total) < 0.1, 10**9 + rng.integers(0, 20000, total), buyer)
        status = (rng.random(total) < np.where(self.fraud_void[firms], 0.12, 0.01)[local])
        status = status.astype("int8")  # 0 normal, 1 voided
        tax = np.round(amount * self.vat_rate[firms][local], 2)
        applied = self.applied[firms][local]
        keep = (issued_day < applied) & (issued_day >= self.registered[firms][local])
        # Red-letter invoices reverse earlier normal ones, in part or in full.
        p_red = np.where(self.fraud_void[firms], 0.10, 0.008)[local]
        orig = np.flatnonzero(keep & (status == 0) & (rng.random(total) < p_red))
        part = np.where(rng.random(len(orig)) < 0.7, 1.0, rng.uniform(0.2, 0.9, len(orig)))
        red_issued = issued[orig] + rng.integers(1, 60 * 86400, len(orig)).astype(
            "timedelta64[s]")
        red_ok = red_issued.astype("datetime64[D]") < applied[orig]
        orig, part, red_issued = orig[red_ok], part[red_ok], red_issued[red_ok]
        base = np.flatnonzero(keep)
        rows_local = np.concatenate([local[base], local[orig]])
        issued_all = np.concatenate([issued[base], red_issued])
        key = (rows_local.astype("int64") << 34) + (
            issued_all - np.datetime64("2000-01-01T00:00:00")).astype("int64") * 2
        key[len(base):] += 1  # a red letter issued in the same second follows
        order = np.argsort(key, kind="stable")
        position = np.empty(len(order), dtype="int64")
        position[order] = np.arange(len(order))
        where_base = np.full(total, -1, dtype="int64")
        where_base[base] = np.arange(len(base))
        original_local = np.concatenate([
            np.full(len(base), -1, dtype="int64"), position[where_base[orig]]])
        return {
            "firm_row": firms[rows_local][order],
            "issued_at": issued_all[order].astype("datetime64[ns]"),
            "buyer_id": np.concatenate([buyer[base], buyer[orig]])[order],
            "amount_cny": np.concatenate([amount[base], -np.round(amount[orig] * part, 2)])[order],
            "tax_cny": np.concatenate([tax[base], -np.round(tax[orig] * part, 2)])[order],
            "status": np.concatenate([status[base],
                                      np.full(len(orig), 2, dtype="int8")])[order],
            "original_local": original_local[order],
        }

    # ----------------------------------------------------------------- patents
    def _patents(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        rng, n = self.rng, self.n
        q, h = self.innovation, self.health
        size = np.log(self.revenue_year / 6e6)
        lam = np.where(self.is_tech, np.exp(1.3 + 0.8 * q + 0.25 * size), 0.35)
        counts = np.minimum(rng.poisson(np.clip(lam, 0, 60)), 80)
        firm_row = np.repeat(np.arange(n), counts)
        total = len(firm_row)
        qi, hi = q[firm_row], h[firm_row]
        p_inv = np.clip(0.28 + 0.10 * qi, 0.05, 0.7)
        p = np.stack([p_inv, np.full(total, 0.37), np.full(total, 0.10),
                      1 - p_inv - 0.47], axis=1)
        p = np.clip(p, 0.01, None)
        p /= p.sum(axis=1, keepdims=True)
        kind = (rng.random(total)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
        kind = np.minimum(kind, 3)
        transferred = rng.random(total) < 0.15
        applied = self.applied[firm_row]
        registered = self.registered[firm_row]
        earliest = registered - np.where(transferred, 3 * 365, 0).astype("timedelta64[D]")
        span = np.maximum((applied - earliest).astype(int) - 30, 1)
        filed = earliest + (rng.random(total) * span).astype("timedelta64[D]")
        lag_days = np.select(
            [kind == 0, kind == 3],
            [rng.uniform(1.5, 4.0, total) * 365, rng.uniform(0.1, 0.3, total) * 365],
            rng.uniform(0.5, 1.2, total) * 365,
        ).astype(int)
        granted_at = filed + lag_days.astype("timedelta64[D]")
        rejected = (kind == 0) & (rng.random(total) < np.clip(0.35 - 0.1 * qi, 0.05, 0.6))
        granted = (granted_at <= applied) & ~rejected
        claims = np.select(
            [kind == 0, kind == 1, kind == 2],
            [5 + rng.poisson(np.clip(5 + 2 * qi, 1, 30)), 1 + rng.poisson(6, total),
             np.ones(total, dtype=int)],
            0,
        )
        ipc = np.where(
            self.is_tech[firm_row],
            np.array(_TECH_IPC, dtype=object)[rng.integers(0, len(_TECH_IPC), total)],
            np.array(_MICRO_IPC, dtype=object)[rng.integers(0, len(_MICRO_IPC), total)],
        )
        family = 1 + np.where(kind == 0, rng.poisson(np.clip(0.2 + 0.5 * np.maximum(qi, 0),
                                                             0, 5)), 0)
        main = rng.random(total) < np.clip(0.7 + 0.1 * qi, 0.2, 0.95)
        patent_id = np.arange(1, total + 1, dtype="int64")
        patents = pd.DataFrame({
            "patent_id": patent_id,
            "firm_id": self.firm_id[firm_row],
            "kind": np.array(_KINDS, dtype=object)[kind],
            "filed_on": filed,
            "granted_on": np.where(granted, granted_at, np.datetime64("NaT")),
            "claims": claims,
            "ipc_class": ipc,
            "family_countries": family,
            "main_business": main,
            "acquisition": np.where(transferred, "transferred", "own"),
        })
        events = self._patent_events(firm_row, kind, granted, granted_at, filed, transferred,
                                     applied, qi, hi, patent_id)
        self.patent_firm_row = firm_row
        return patents, events

    def _patent_events(self, firm_row: np.ndarray, kind: np.ndarray, granted: np.ndarray,
                       granted_at: np.ndarray, filed: np.ndarray, transferred: np.ndarray,
                       applied: np.ndarray, q: np.ndarray, h: np.ndarray,
                       patent_id: np.ndarray) -> pd.DataFrame:
        rng = self.rng
        total = len(firm_row)
        parts: list[pd.DataFrame] = []

        # Annual fees: paid on each grant anniversary until the patent lapses.
        years_granted = np.where(granted, (applied - granted_at).astype(int) // 365, -1)
        lapse_rate = np.where(kind == 3, 0.0, _sigmoid(-3.0 - 0.8 * q - 0.5 * h))
        lapse_year = np.where(kind == 3, 10**6, rng.geometric(np.clip(lapse_rate, 1e-6, 1)))
        term_end_year = _LEGAL_TERM_YEARS[kind] - ((granted_at - filed).astype(int) // 365)
        fee_years = np.where(kind == 3, 0, np.minimum(np.minimum(years_granted, lapse_year - 1),
                                                      term_end_year - 1) + 1)
        fee_years = np.maximum(fee_years, 0)
        fee_row = np.repeat(np.arange(total), fee_years)
        k = np.arange(len(fee_row)) - np.repeat(np.cumsum(fee_years) - fee_years, fee_years)
        fee_on = granted_at[fee_row] + (k * 365 - rng.integers(0, 30, len(fee_row))).astype(
            "timedelta64[D]")
        fee_on = np.maximum(fee_on, granted_at[fee_row])
        parts.append(self._events(fee_row, patent_id, firm_row, fee_on, "annual_fee"))
        lapsed_on = granted_at + (lapse_year * 365 + 180).astype("timedelta64[D]")
        lapses = granted & (kind != 3) & (lapse_year <= years_granted)
        lapses &= lapsed_on <= applied
        parts.append(self._events(np.flatnonzero(lapses), patent_id, firm_row,
                                  lapsed_on[lapses], "lapse"))
        # Forward citations, mostly on inventions, more for innovative firms.
        cite_rate = np.where(kind == 0, np.exp(-0.6 + 0.7 * q), np.where(kind == 1, 0.12, 0.02))
        years_public = np.maximum((applied - filed).astype(int) / 365.0 - 1.5, 0)
        n_cite = rng.poisson(np.clip(cite_rate * years_public, 0, 200))
        cite_row = np.repeat(np.arange(total), n_cite)
        window = np.maximum((applied[cite_row] - filed[cite_row]).astype(int) - 540, 1)
        cite_on = filed[cite_row] + (540 + rng.random(len(cite_row)) * window).astype(
            "timedelta64[D]")
        cite_on = np.minimum(cite_on, applied[cite_row])
        parts.append(self._events(cite_row, patent_id, firm_row, cite_on, "citation"))
        # Market and legal events on granted rights.
        live_days = np.maximum((applied - granted_at).astype(int), 1)

        def dated(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            rows = np.flatnonzero(mask & granted)
            on = granted_at[rows] + (rng.random(len(rows)) * live_days[rows]).astype(
                "timedelta64[D]")
            return rows, on

        rows, on = dated(rng.random(total) < np.where(self.stage[firm_row] > 0, 0.12, 0.06))
        amount = np.round(rng.uniform(2e5, 3e6, len(rows)), -3)
        parts.append(self._events(rows, patent_id, firm_row, on, "pledge", amount))
        released = rng.random(len(rows)) < 0.4
        rel_on = on[released] + rng.integers(180, 1100, released.sum()).astype("timedelta64[D]")
        ok = rel_on <= applied[rows[released]]
        parts.append(self._events(rows[released][ok], patent_id, firm_row, rel_on[ok],
                                  "pledge_release"))
        t_rows = np.flatnonzero(transferred & granted)
        t_on = np.minimum(np.maximum(self.registered[firm_row[t_rows]], granted_at[t_rows]),
                          applied[t_rows])
        parts.append(self._events(t_rows, patent_id, firm_row, t_on, "transfer"))
        rows, on = dated(rng.random(total) < 0.05 + 0.03 * np.maximum(q, 0))
        parts.append(self._events(rows, patent_id, firm_row, on, "licence",
                                  np.round(rng.uniform(5e4, 1e6, len(rows)), -3)))
        rows, on = dated(rng.random(total) < np.where(kind == 0, 0.04, 0.02))
        parts.append(self._events(rows, patent_id, firm_row, on, "invalidation_request"))
        rows, on = dated(rng.random(total) < 0.02)
        parts.append(self._events(rows, patent_id, firm_row, on, "litigation"))
        events = pd.concat(parts, ignore_index=True)
        events = events.sort_values(["firm_id", "patent_id", "event_on", "event"], kind="stable")
        return events.reset_index(drop=True)

    def _events(self, rows: np.ndarray, patent_id: np.ndarray, firm_row: np.ndarray,
                on: np.ndarray, event: str, amount: np.ndarray | None = None) -> pd.DataFrame:
        return pd.DataFrame({
            "patent_id": patent_id[rows],
            "firm_id": self.firm_id[firm_row[rows]],
            "event_on": on,
            "event": event,
            "amount_cny": amount if amount is not None else np.full(len(rows), np.nan),
        })

    # --------------------------------------------------------------------- rnd
    def _rnd(self) -> pd.DataFrame:
        rng, n = self.rng, self.n
        q, h = self.innovation, self.health
        app_year = self.applied.astype("datetime64[Y]").astype(int) + 1970
        reg_year = self.registered.astype("datetime64[Y]").astype(int) + 1970
        back = np.arange(1, 6)[None, :]
        years = app_year[:, None] - back
        reported = (years + 1 - 1970).astype("datetime64[Y]").astype("datetime64[D]") + (
            np.timedelta64(150, "D") + rng.integers(0, 30, years.shape).astype("timedelta64[D]"))
        exists = (years >= reg_year[:, None]) & (reported <= self.applied[:, None])
        t = years - app_year[:, None] + 0.5
        noise = np.exp(0.08 * rng.standard_normal(years.shape))
        revenue = self.revenue_year[:, None] * np.exp(self.growth[:, None] * t) * noise
        first = years == reg_year[:, None]
        revenue = np.where(first, revenue * rng.uniform(0.1, 0.9, (n, 1)), revenue)
        ratio = np.where(
            self.is_tech,
            np.clip(np.exp(np.log(0.045) + 0.35 * q + 0.3 * rng.standard_normal(n)), 0, 0.4),
            np.where(rng.random(n) < 0.7, 0.0, rng.uniform(0.001, 0.02, n)),
        )
        rnd = revenue * ratio[:, None] * np.exp(0.1 * rng.standard_normal(years.shape))
        domestic = rnd * rng.uniform(0.85, 1.0, (n, 1))
        margin = np.clip(0.05 + 0.04 * h[:, None] + 0.02 * rng.standard_normal((n, 1)), -0.3, 0.4)
        total_cost = revenue * (1 - margin)
        ht_share = np.where(self.is_tech, np.clip(0.45 + 0.15 * q + 0.1 * rng.standard_normal(n),
                                                   0, 1), rng.uniform(0, 0.2, n))
        equity0 = self.revenue_year * rng.uniform(0.2, 0.8, n)
        net_assets = equity0[:, None] * np.exp((self.growth + 0.05 * h)[:, None] * t)
        net_assets = np.where(self.distress[:, None] & (h[:, None] < -1.5),
                              net_assets - 0.3 * revenue, net_assets)
        total_assets = np.maximum(net_assets, 0) + revenue * rng.uniform(0.2, 0.6, (n, 1))
        staff = np.maximum(np.round(self.employees[:, None] * np.exp(
            0.5 * self.growth[:, None] * (t + 0.5))), 1).astype(int)
        share = self.st_staff / np.maximum(self.employees, 1)
        st = np.minimum(np.round(staff * share[:, None]), staff).astype(int)
        conv = rng.poisson(np.where(self.is_tech, np.exp(0.2 + 0.6 * q), 0.05)[:, None],
                           years.shape)
        mgmt = rng.random((n, 4)) < np.where(self.is_tech, _sigmoid(0.3 + 1.0 * q), 0.1)[:, None]
        idx = np.nonzero(exists)
        r = idx[0]
        return pd.DataFrame({
            "firm_id": self.firm_id[r],
            "year": years[idx],
            "reported_on": reported[idx],
            "revenue_cny": np.round(revenue[idx], 2),
            "high_tech_revenue_cny": np.round(revenue[idx] * ht_share[r], 2),
            "rnd_expense_cny": np.round(rnd[idx], 2),
            "domestic_rnd_expense_cny": np.round(np.minimum(domestic[idx], rnd[idx]), 2),
            "total_cost_cny": np.round(total_cost[idx], 2),
            "net_assets_cny": np.round(net_assets[idx], 2),
            "total_assets_cny": np.round(total_assets[idx], 2),
            "staff": staff[idx],
            "st_staff": st[idx],
            "conversions": conv[idx],
            "has_rnd_ledger": mgmt[r, 0],
            "has_rnd_institution": mgmt[r, 1],
            "has_conversion_incentive": mgmt[r, 2],
            "has_talent_programme": mgmt[r, 3],
        })

    # ----------------------------------------------------------------- outcome
    def _outcomes(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        rng, n = self.rng, self.n
        h, q = self.health, self.innovation
        young = self.age_years < 2
        recent_rep = ~np.isnat(self.legal_rep_changed) & (
            (self.applied - self.legal_rep_changed).astype("timedelta64[D]").astype(int) < 183)
        arrears = ~np.isnat(self.arrears_on)
        common = (1.6 * self.fraud + 1.1 * self.distress + 0.45 * self.concentrated
                  + 0.5 * recent_rep + 1.0 * self.abnormal + 0.7 * arrears)
        micro = -3.1 - 0.95 * h + 0.35 * young + common
        base = np.array([-2.7, -3.3, -3.6])[self.stage]
        tech = base - 0.6 * h - 0.55 * q + common
        logit = np.where(self.is_tech, tech, micro)
        pd_true = _sigmoid(logit)
        default = (rng.random(n) < pd_true).astype("int64")
        qualified = ~np.isnat(self.high_tech_on) | ~np.isnat(self.tech_sme_on)
        product = np.where(
            self.is_tech & qualified, "tech_loan",
            np.where(rng.random(n) < 0.6, "tax_loan", "invoice_loan"),
        )
        cap = np.select([product == "tax_loan", product == "invoice_loan"], [3e6, 5e6], 1e7)
        amount = np.round(np.clip(self.revenue_year * rng.uniform(0.05, 0.3, n), 5e4, cap), -4)
        applications = pd.DataFrame({
            "application_id": np.arange(1, n + 1, dtype="int64") + 10_000_000,
            "firm_id": self.firm_id,
            "applied_on": self.applied,
            "product": product,
            "requested_amount_cny": amount,
            "term_months": np.full(n, 12),
            "default_12m": default,
        })
        truth = pd.DataFrame({
            "application_id": applications["application_id"],
            "firm_id": self.firm_id,
            "prob_default": pd_true,
            "firm_kind": np.where(self.is_tech, "tech", "micro"),
            "stage": np.array(["startup", "growth", "mature"])[self.stage],
            "health": h,
            "innovation": q,
            "fraud": self.fraud,
        })
        return applications, truth
