"""``Decider``: explainable limit and rate decisions from a verified bundle, in-process.

The loan system's door (DESIGN.md, the serving contract)::

    decider = Decider.load(bundle_dir)        # techcredit.Decider also takes models:/ URIs
    decision = decider.score(application)     # Application, mapping or JSON text
    frame = decider.score_batch(applications) # same results row for row

One application and a hundred thousand run the same array code: raw records ->
:class:`~techcredit.features.FirmArrays` -> features (the training builders) ->
segment -> the champion's calibrated PD and exact log-odds contributions -> the
innovation rating and patent pledge value -> policy (knock-outs, refers, limit, rate)
-> reasons -> :class:`~techcredit.decision.result.Decision`. The challenger scores in
shadow when asked (its PD is recorded, never used).

A Decider is immutable after loading and holds no per-call state, so it is safe to
share between threads. XGBoost is called with one thread per application (see
:class:`~techcredit.modeling.boosting.BoostedModel`), which keeps latency independent of
other work on the machine; a large batch is decided in chunks, ``BATCH_THREADS`` at once,
each chunk's XGBoost call on one thread. Results never depend on threads or chunks.

Examples
--------
See ``tests/test_decider.py``; in short::

    >>> from techcredit.decision import Decider                # doctest: +SKIP
    >>> decider = Decider.load("path/to/bundle")              # doctest: +SKIP
    >>> decider.score(app).outcome                            # doctest: +SKIP
    'approve'
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from techcredit.application import Application, as_application, day_number
from techcredit.config.policy import PolicySpec, load_policy
from techcredit.config.rating import (
    DIMENSIONS,
    InnovationSpec,
    ValuationSpec,
    load_innovation_spec,
    load_valuation_spec,
)
from techcredit.config.scorecard import ScalingSpec, load_scorecard_spec
from techcredit.decision.bundle import read_json
from techcredit.decision.models import BundleModels, CalibratedModel
from techcredit.decision.policy import (
    CompiledPolicy,
    PolicyInputs,
    PolicyResult,
    apply_policy,
    policy_features,
)
from techcredit.decision.result import ContributionTable, Decision, ShadowScore
from techcredit.exceptions import InvalidInputError, ModelError
from techcredit.explain.reasons import Reason, ReasonCatalogue, ReasonFields, rank_reason_fields
from techcredit.features import FirmArrays, build_matrix
from techcredit.features.build import warm_up
from techcredit.features.catalogue import feature_names
from techcredit.modeling.segments import route_columns
from techcredit.rating.patents import CitationCohorts
from techcredit.rating.serving import RatingResult, features_read, rate_prepared
from techcredit.rating.serving import warm_up as warm_up_rating
from techcredit.schemas import RawTables

__all__ = ["Decider", "PreparedBatch"]

logger = logging.getLogger(__name__)

_COHORTS = "rating/citation_cohorts.json"

_T = TypeVar("_T")

BATCH_CHUNK = 8_192
"""Applications per chunk of :meth:`Decider.score_batch`: each chunk runs the whole
path (features, models, rating, policy, reasons) on one thread."""
BATCH_THREADS = 2
"""Chunks decided at once (the serving machines have 2 cores). XGBoost and numpy's
kernels release the GIL, so one chunk's model call overlaps another's Python stages."""

@dataclass(frozen=True)
class _Requests:
    """The request fields of a batch, one entry per application."""

    application_id: list[int | None]
    product: np.ndarray
    amount_cny: np.ndarray
    term_months: np.ndarray
    input_hash: list[str]

    @classmethod
    def of(cls, apps: Sequence[Application]) -> _Requests:
        """The requests of validated applications, in order."""
        return cls([a.application_id for a in apps],
                   np.array([a.request.product for a in apps], dtype=object),
                   np.array([a.request.amount_cny for a in apps], dtype=np.float64),
                   np.array([a.request.term_months for a in apps], dtype=np.int64),
                   [a.input_hash() for a in apps])

    def take(self, lo: int, hi: int) -> _Requests:
        """Requests ``lo:hi``."""
        return _Requests(self.application_id[lo:hi], self.product[lo:hi],
                         self.amount_cny[lo:hi], self.term_months[lo:hi],
                         self.input_hash[lo:hi])


@dataclass(frozen=True, eq=False)
class PreparedBatch:
    """Applications validated and converted to record arrays once (:meth:`Decider.prepare`).

    Scoring it skips validation and conversion, so the same batch can be decided by
    several deciders -- the champion, a challenger, a policy under review -- each giving
    exactly what :meth:`Decider.score_batch` gives on the original input.
    """

    arrays: FirmArrays
    firm_ids: np.ndarray
    """int64, one per application (the firm whose records it reads)."""
    asof_days: np.ndarray
    """int64 days since 1970-01-01: each application's date."""
    requests: _Requests

    def __len__(self) -> int:
        return int(self.firm_ids.size)

    def take(self, lo: int, hi: int) -> PreparedBatch:
        """Applications ``lo:hi`` (sharing the record arrays)."""
        return PreparedBatch(self.arrays, self.firm_ids[lo:hi], self.asof_days[lo:hi],
                             self.requests.take(lo, hi))


@dataclass(frozen=True)
class _Scored:
    """Everything a batch's decisions are made of (columnar)."""

    requests: _Requests
    segment: np.ndarray
    kind: np.ndarray
    policy: PolicyResult
    rating: RatingResult
    reasons: list[tuple[ReasonFields, ...]]
    shadow_kind: np.ndarray
    shadow_prob: np.ndarray
    contributions: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    """Per segment: (rows of the batch, their values of the champion's features, the
    champion's calibrated contributions, bias last)."""


class Decider:
    """Decisions from one verified bundle. Build with :meth:`load`.

    Parameters
    ----------
    models : BundleModels
    policy, innovation_spec, valuation_spec : specifications
        Default: the copies inside the bundle (what was reviewed with the model).
    scaling : ScalingSpec
        The points scale of decisions' scores: the bundle's ``scorecard.yaml`` ``scaling``,
        the scale of the scorecard's own points.
    cohorts : CitationCohorts, optional
        Citation reference of the patent valuation (from the bundle). Without it the
        cohorts are fitted on each batch, so a row's patent value depends on the batch:
        :meth:`load` therefore requires them.
    shadow : bool
        Score the challenger in shadow and record its PD on each decision.
    model_version : str, optional
        Registry version, recorded on each decision.
    """

    def __init__(self, models: BundleModels, *, policy: PolicySpec, scaling: ScalingSpec,
                 innovation_spec: InnovationSpec, valuation_spec: ValuationSpec,
                 cohorts: CitationCohorts | None = None, shadow: bool = False,
                 model_version: str | None = None) -> None:
        self.models = models
        self.scaling = scaling
        self.innovation_spec = innovation_spec
        self.valuation_spec = valuation_spec
        self.cohorts = cohorts
        self.shadow = shadow
        self.model_version = model_version
        catalogue = set(feature_names())
        unknown = [f for f in policy_features(policy) if f not in catalogue]
        if unknown:
            raise ModelError(f"policy reads features the catalogue lacks: {unknown}")
        self._policy = CompiledPolicy.of(policy)  # what decides; ``policy`` reads its spec
        self._reasons = {seg: ReasonCatalogue.for_features(m.champion.feature_names)
                         for seg, m in models.segments.items()}
        self._columns = {seg: _feature_index(m.champion) for seg, m in models.segments.items()}
        # the features the router, the rating and the policy read, as matrix columns: a
        # view per feature read, not per feature built
        read = {*models.router.features(), *features_read(innovation_spec),
                *self._policy.features}
        self._names = feature_names()
        self._read_index = np.flatnonzero([name in read for name in self._names])
        self._read = tuple(self._names[j] for j in self._read_index.tolist())
        self._shadow_columns = {seg: _feature_index(m.challenger)
                                for seg, m in models.segments.items() if m.challenger}
        rt = policy.reasons.rule_texts
        self._rule_texts = {**{r.id: (r.zh, r.en) for r in [*policy.knockouts, *policy.refer]},
                            **{k: (v.zh, v.en) for k, v in rt.items()}}
        self._warm_up()

    def _warm_up(self) -> None:
        """Compile (or load from numba's cache) every kernel a decision runs, by running
        each stage on zero rows, so the first ``score()`` is as fast as the others."""
        warm_up()
        warm_up_rating()
        self._policy.warm_up(self.scaling)
        for m in self.models.segments.values():
            for model in (m.champion, m.challenger):
                if model is None:
                    continue
                _contributions(model, np.zeros((0, len(model.feature_names))))
                if model.kind == "xgboost":
                    model.model.forest_.warm_up()  # its margins too (the shadow's)
        for catalogue in self._reasons.values():
            rank_reason_fields(np.zeros((0, len(catalogue.features))), catalogue, rules=[],
                               rule_texts=self._rule_texts, wanted=np.zeros(0, dtype=bool),
                               max_reasons=self.policy.reasons.max_reasons)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, source: Path | str, *, shadow: bool = False,
             model_version: str | None = None, policy: PolicySpec | None = None) -> Decider:
        """Load a bundle directory: verify its manifest, models and specifications.

        Parameters
        ----------
        source : path
            A bundle directory (``techcredit.Decider.load`` also resolves registry URIs).
        shadow : bool
            Score the challenger in shadow.
        model_version : str, optional
        policy : PolicySpec, optional
            Override the bundle's policy (what-if analysis); default the bundle's copy.

        Raises
        ------
        ModelError
            If the bundle is tampered with, incomplete, or not a directory.
        """
        text = str(source)
        if "://" in text or text.startswith("models:/"):
            raise ModelError(f"{text!r} is a URI: load it with techcredit.Decider.load, which "
                             "resolves registry URIs, or pass a bundle directory")
        root = Path(source)
        if not root.is_dir():
            raise ModelError(f"bundle directory {root} does not exist")
        models = BundleModels.load(root)
        specs = root / "specs"
        if not (root / _COHORTS).exists():
            raise ModelError(f"bundle {root} has no {_COHORTS}: patent values would depend on "
                             "the batch; retrain with this version of techcredit")
        cohorts = CitationCohorts.from_dict(read_json(root, _COHORTS))
        return cls(models, policy=policy or load_policy(specs),
                   scaling=load_scorecard_spec(specs).scaling,
                   innovation_spec=load_innovation_spec(specs),
                   valuation_spec=load_valuation_spec(specs), cohorts=cohorts, shadow=shadow,
                   model_version=model_version)

    @property
    def policy(self) -> PolicySpec:
        """The policy specification this decider applies (read-only)."""
        return self._policy.spec

    @property
    def model_name(self) -> str:
        """Registered model name recorded in the bundle."""
        return self.models.model_name

    # ------------------------------------------------------------------ scoring
    def score(self, application: Application | Mapping[str, Any] | str | bytes) -> Decision:
        """Decide one application.

        Raises
        ------
        InvalidInputError
            If the application is malformed (naming every bad field). A decline is an
            outcome, not an error.
        """
        app = as_application(application)
        batch = PreparedBatch(FirmArrays.from_columns(app.columns()),
                              np.array([app.firm.firm_id], dtype=np.int64),
                              np.array([day_number(app.request.applied_on)], dtype=np.int64),
                              _Requests.of([app]))
        return self._decisions(self._score(batch))[0]

    @staticmethod
    def prepare(applications: Iterable[Application | Mapping[str, Any] | str] | RawTables,
                *, snapshot_id: str | None = None) -> PreparedBatch:
        """Validate and convert a batch once, for :meth:`score_batch` (any decider).

        Parameters are those of :meth:`score_batch`.

        Raises
        ------
        InvalidInputError
            Naming the position of every bad application and its fields.
        """
        if isinstance(applications, RawTables):
            return _from_tables(applications, snapshot_id)
        return _from_applications(applications)

    def score_batch(self, applications: Iterable[Application | Mapping[str, Any] | str]
                    | RawTables | PreparedBatch, *, as_frame: bool = True,
                    snapshot_id: str | None = None, chunk_rows: int = BATCH_CHUNK,
                    threads: int = BATCH_THREADS) -> pd.DataFrame | list[Decision]:
        """Decide many applications; identical, row for row, to :meth:`score`.

        Parameters
        ----------
        applications : iterable of applications, RawTables, or PreparedBatch
            Applications (objects, mappings or JSON), or raw tables whose
            ``applications`` table lists the requests (records known after an
            application's date are ignored for it, as in training), or a batch
            already validated and converted by :meth:`prepare`.
        as_frame : bool
            Return a DataFrame (one row per application, in order); else Decisions.
            The frame holds each Decision field except the contribution table; its
            reasons are five columns of tuples, one entry per reason: ``reason_codes``,
            ``reason_texts_zh``, ``reason_texts_en``, ``reason_contributions`` (``None``
            for a policy rule) and ``reason_features``.
        snapshot_id : str, optional
            For raw tables: an identifier of the data snapshot (e.g. the digest logged
            with it); default :func:`techcredit.data.tables_digest` of the tables. A
            prepared batch carries the one given to :meth:`prepare` (passing another
            raises).
        chunk_rows, threads : int
            Applications are decided in chunks of ``chunk_rows``, ``threads`` chunks at
            once (memory stays bounded by the chunk). Results do not depend on either.

        Notes
        -----
        Every decision field equals :meth:`score`'s for the same application, except
        ``input_hash``, which hashes what was sent: an application's validated content
        (:meth:`~techcredit.application.Application.input_hash`), or
        for raw tables the application row together with the snapshot identifier.

        Raises
        ------
        InvalidInputError
            Naming the position of every bad application and its fields.
        """
        if isinstance(applications, PreparedBatch):
            if snapshot_id is not None:
                raise InvalidInputError([("snapshot_id", None, None,
                                          "a prepared batch carries the snapshot id given to "
                                          "prepare; pass it there")])
            batch = applications
        else:
            batch = self.prepare(applications, snapshot_id=snapshot_id)
        if as_frame:
            frame = pd.concat(self._in_chunks(batch, self._frame, chunk_rows, threads),
                              ignore_index=True)
            frame.attrs.update(model_name=self.model_name, model_version=self.model_version,
                               bundle_id=self.models.version_id)
            return frame
        return list(chain.from_iterable(
            self._in_chunks(batch, self._decisions, chunk_rows, threads)))

    def _in_chunks(self, batch: PreparedBatch, finish: Callable[[_Scored], _T],
                   chunk_rows: int, threads: int) -> list[_T]:
        """``finish(self._score(chunk))`` of every chunk of ``batch``, in order."""
        for name, value in (("chunk_rows", chunk_rows), ("threads", threads)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError([(name, None, None,
                                          f"must be a whole number of at least 1, got "
                                          f"{value!r}")])
        n = len(batch)
        if n <= chunk_rows:  # one chunk: XGBoost may use every core
            return [finish(self._score(batch))]
        starts = range(0, n, chunk_rows)

        def run(lo: int) -> _T:
            # one XGBoost thread per chunk: the chunks are the parallelism
            return finish(self._score(batch.take(lo, min(lo + chunk_rows, n)),
                                      model_threads=1))

        if threads == 1:
            return [run(lo) for lo in starts]
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return list(pool.map(run, starts))

    # ------------------------------------------------------------------- engine
    def _score(self, batch: PreparedBatch, *, model_threads: int | None = None) -> _Scored:
        """Every decision field of ``batch``, columnar. ``model_threads``: XGBoost threads
        (default: one for small calls, every core for large ones)."""
        arrays, ids, asof, requests = (batch.arrays, batch.firm_ids, batch.asof_days,
                                       batch.requests)
        thresholds = self.policy.flags
        matrix = build_matrix(arrays, ids, asof, thresholds)
        values = matrix.values
        names = matrix.names
        if names is not self._names and names != self._names:
            raise ModelError("the feature matrix does not follow the catalogue's order")
        # the read columns as rows of one gathered copy (contiguous; one fancy index)
        feats = dict(zip(self._read, values.T[self._read_index], strict=True))
        n = ids.size
        segment = route_columns(feats, self.models.router)
        logit = np.empty(n)
        kind = np.empty(n, dtype=object)
        shadow_kind = np.empty(n, dtype=object)  # object arrays start as None
        shadow_prob = np.empty(n)
        shadow_prob.fill(np.nan)
        contributions: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        by_segment: dict[str, list[int]] = {}
        for i, name in enumerate(segment.tolist()):
            by_segment.setdefault(name, []).append(i)
        for seg, models in self.models.segments.items():
            if seg not in by_segment:
                continue
            rows = np.array(by_segment[seg], dtype=np.intp)
            champion = models.champion
            x = _rows(values, rows, self._columns[seg])
            contrib = _contributions(champion, x, model_threads)
            logit[rows] = contrib.sum(axis=1)
            kind[rows] = champion.kind
            contributions[seg] = (rows, x, contrib)
            if self.shadow and models.challenger is not None:
                challenger = models.challenger
                shadow_logit = _logit(challenger,
                                      _rows(values, rows, self._shadow_columns[seg]),
                                      model_threads)
                shadow_prob[rows] = 1.0 / (1.0 + np.exp(-shadow_logit))
                shadow_kind[rows] = challenger.kind
        rating = rate_prepared(feats, arrays, ids, asof, spec=self.innovation_spec,
                               valuation_spec=self.valuation_spec, cohorts=self.cohorts,
                               loan_term_years=requests.term_months / 12.0)
        result = apply_policy(self._policy, PolicyInputs(
            features=feats, segment=segment, logit=logit, product=requests.product,
            amount_cny=requests.amount_cny, innovation_tier=rating.tier,
            pledge_value_cny=rating.pledge_value_cny), self.scaling)
        wanted = (result.outcome != "approve") | result.reduced
        reasons: list[tuple[ReasonFields, ...]] = [()] * n
        for seg, (rows, _, contrib) in contributions.items():
            ranked = rank_reason_fields(contrib[:, :-1], self._reasons[seg],
                                  rules=[result.costly_rules[i] for i in rows],
                                  rule_texts=self._rule_texts, wanted=wanted[rows],
                                  max_reasons=self.policy.reasons.max_reasons)
            for i, r in zip(rows, ranked, strict=True):
                reasons[i] = r
        return _Scored(requests, segment, kind, result, rating, reasons, shadow_kind,
                       shadow_prob, contributions)

    def _decisions(self, s: _Scored) -> list[Decision]:
        n = s.segment.size
        p = s.policy
        contrib_rows: dict[int, ContributionTable] = {}
        for seg, (rows, vals, contrib) in s.contributions.items():
            names = self._reasons[seg].features
            for k, i in enumerate(rows.tolist()):
                contrib_rows[i] = ContributionTable(names, vals[k], contrib[k])
        out = []
        r = s.rating
        for i in range(n):
            shadow = None
            if s.shadow_kind[i] is not None:
                shadow = ShadowScore(str(s.shadow_kind[i]), float(s.shadow_prob[i]))
            out.append(Decision(
                application_id=s.requests.application_id[i], outcome=str(p.outcome[i]),
                product=str(s.requests.product[i]), segment=str(s.segment[i]),
                model_kind=str(s.kind[i]), prob_default=float(p.prob_default[i]),
                score=float(p.score[i]), risk_grade=str(p.risk_grade[i]),
                innovation_tier=str(r.tier[i]), innovation_composite=float(r.composite[i]),
                innovation_stage=str(r.stage[i]),
                innovation_scores={d: float(getattr(r, a)[i]) for d, a in _SCORE_FIELDS},
                patent_value_cny=float(r.patent_value_cny[i]),
                pledge_value_cny=float(r.pledge_value_cny[i]),
                requested_amount_cny=float(s.requests.amount_cny[i]),
                limit_cny=float(p.limit_cny[i]), rate_annual=_opt(p.rate_annual[i]),
                term_months=int(s.requests.term_months[i]),
                reasons=tuple(map(Reason._make, s.reasons[i])),
                rules_fired=p.rules[i], model_name=self.model_name,
                model_version=self.model_version, bundle_id=self.models.version_id,
                input_hash=s.requests.input_hash[i], challenger=shadow,
                contributions=contrib_rows[i]))
        return out

    def _frame(self, s: _Scored) -> pd.DataFrame:
        p = s.policy
        r = s.rating
        data: dict[str, Any] = {
            "application_id": pd.array(s.requests.application_id, dtype="Int64"),
            "outcome": p.outcome, "product": s.requests.product, "segment": s.segment,
            "model_kind": s.kind, "prob_default": p.prob_default, "score": p.score,
            "risk_grade": p.risk_grade, "innovation_tier": r.tier,
            "innovation_composite": r.composite, "innovation_stage": r.stage,
            **{f"innovation_score_{d}": getattr(r, f"score_{d}") for d in DIMENSIONS},
            "patent_value_cny": r.patent_value_cny, "pledge_value_cny": r.pledge_value_cny,
            "requested_amount_cny": s.requests.amount_cny, "limit_cny": p.limit_cny,
            "rate_annual": p.rate_annual, "term_months": s.requests.term_months,
            **_reason_columns(s.reasons), "rules_fired": p.rules,
            "challenger_model_kind": s.shadow_kind, "challenger_prob_default": s.shadow_prob,
            "input_hash": s.requests.input_hash,
        }
        return pd.DataFrame(data)


# ------------------------------------------------------------------------ helpers
_REASON_COLUMNS = ("reason_codes", "reason_texts_zh", "reason_texts_en",
                   "reason_contributions", "reason_features")
_NO_REASONS = ((),) * len(_REASON_COLUMNS)


def _reason_columns(rows: list[tuple[ReasonFields, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    """One column per :class:`Reason` field, each row a tuple (plain values only)."""
    codes: list[tuple[Any, ...]] = []
    zh: list[tuple[Any, ...]] = []
    en: list[tuple[Any, ...]] = []
    contributions: list[tuple[Any, ...]] = []
    features: list[tuple[Any, ...]] = []
    for row in rows:  # five appends per row: a third of the time of a nested zip
        fields = tuple(zip(*row, strict=True)) if row else _NO_REASONS
        codes.append(fields[0])
        zh.append(fields[1])
        en.append(fields[2])
        contributions.append(fields[3])
        features.append(fields[4])
    return dict(zip(_REASON_COLUMNS, (codes, zh, en, contributions, features), strict=True))


def _opt(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


_SCORE_FIELDS = tuple((d, f"score_{d}") for d in DIMENSIONS)
"""Each innovation dimension with its :class:`RatingResult` field."""


def _rows(values: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The ``rows`` of the feature matrix, in a model's column order (C-contiguous)."""
    if rows.size == values.shape[0]:  # every row (one application): no row selection
        return np.ascontiguousarray(values[:, cols])
    return np.ascontiguousarray(values[np.ix_(rows, cols)])


def _feature_index(model: CalibratedModel) -> np.ndarray:
    index = {name: j for j, name in enumerate(feature_names())}
    try:
        return np.array([index[f] for f in model.feature_names], dtype=np.intp)
    except KeyError as exc:
        raise ModelError(f"model feature {exc.args[0]!r} is not in the catalogue") from None


def _contributions(model: CalibratedModel, x: np.ndarray,
                   threads: int | None = None) -> np.ndarray:
    """Calibrated contributions ``(rows, k + 1)`` of rows ``x`` (the model's columns), bias
    last; each row sums to its calibrated logit. ``threads``: XGBoost's, if it is one."""
    if model.kind == "xgboost":
        raw = model.model.contributions_ordered(x, threads=threads)
    else:
        raw = model.model.contributions_ordered(x)
    return model.calibrator.transform_contributions(raw)


def _logit(model: CalibratedModel, x: np.ndarray, threads: int | None = None) -> np.ndarray:
    """Calibrated log-odds of rows ``x`` (the model's columns)."""
    if model.kind == "xgboost":
        margin = model.model.margin_ordered(x, threads=threads)
    else:
        margin = model.model.contributions_ordered(x).sum(axis=1)
    return model.calibrator.transform(margin)


def _from_applications(applications: Iterable[Any]
                       ) -> PreparedBatch:
    """Validate every application; stack their columns with one surrogate firm per row."""
    apps: list[Application] = []
    problems: list[tuple[object, ...]] = []
    for i, obj in enumerate(applications):
        try:
            apps.append(as_application(obj))
        except InvalidInputError as exc:
            problems.extend((f"applications[{i}].{p[0]}", *p[1:]) for p in exc.problems)
    if problems:
        raise InvalidInputError(problems)
    if not apps:
        raise InvalidInputError([("applications", None, None, "no applications given")])
    stacked: dict[str, dict[str, list[np.ndarray]]] = {}
    for pos, app in enumerate(apps):
        for table, cols in app.columns().items():
            parts = stacked.setdefault(table, {})
            for name, values in cols.items():
                if name == "firm_id":
                    values = np.full(values.size, pos, dtype=np.int64)
                parts.setdefault(name, []).append(values)
    columns = {t: {c: np.concatenate(v) for c, v in cols.items()} for t, cols in stacked.items()}
    arrays = FirmArrays.from_columns(columns)
    ids = np.arange(len(apps), dtype=np.int64)
    asof = np.array([day_number(a.request.applied_on) for a in apps], dtype=np.int64)
    return PreparedBatch(arrays, ids, asof, _Requests.of(apps))


def _from_tables(tables: RawTables, snapshot_id: str | None
                 ) -> PreparedBatch:
    apps = tables.applications
    if apps is None or len(apps) == 0:
        raise InvalidInputError([("applications", None, None,
                                  "raw tables need an applications table to score")])
    tables.validate()
    arrays = FirmArrays.from_tables(tables)
    ids = apps["firm_id"].to_numpy(dtype=np.int64)
    asof = apps["applied_on"].to_numpy().astype("datetime64[D]").astype(np.int64)
    if snapshot_id is None:
        from techcredit.data.sample import tables_digest  # batch only: keep serving imports light

        snapshot_id = tables_digest(tables)
    rows = apps[["application_id", "firm_id", "applied_on", "product", "requested_amount_cny",
                 "term_months"]].astype(str).to_numpy().tolist()
    # fields joined by the unit separator, which no id, date, product or number contains:
    # read from the right, the six row fields are unambiguous whatever the snapshot id holds
    hashes = [hashlib.sha256("\x1f".join([snapshot_id, *row]).encode()).hexdigest()
              for row in rows]
    requests = _Requests(apps["application_id"].astype(object).tolist(),
                         apps["product"].astype(object).to_numpy(),
                         apps["requested_amount_cny"].to_numpy(dtype=np.float64),
                         apps["term_months"].to_numpy(dtype=np.int64), hashes)
    return PreparedBatch(arrays, ids, asof, requests)

