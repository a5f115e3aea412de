"""The MLflow pyfunc model of a techcredit bundle, defined from code.

MLflow copies this file into every logged model (``python_model=<this file>``) and runs
it at load time; :func:`mlflow.models.set_model` below names the model object. Nothing
is pickled: the model's state is the bundle folder, logged as the artifact ``bundle``,
which :meth:`TechCreditPyfunc.load_context` verifies against its manifest and loads once
with :meth:`techcredit.decision.decider.Decider.load`. So MLflow's own tools decide
applications with the same engine as ``techcredit.Decider``:
``mlflow.pyfunc.load_model("models:/techcredit@champion")``, ``mlflow models predict``
(``--env-manager local`` in an environment that has techcredit installed) and
``mlflow.pyfunc.spark_udf``.

Input
-----
A pandas DataFrame with one column ``application`` (:data:`INPUT_COLUMN`): each cell
is one application as JSON text (the document :class:`techcredit.application.Application`
validates; a mapping is accepted too when calling the model in Python). As an
``mlflow models predict -t json`` file::

    {"dataframe_split": {"columns": ["application"],
                         "data": [["{\\"application_id\\": 1, \\"request\\": ...}"]]}}

or ``{"dataframe_records": [{"application": "<JSON text>"}, ...]}``. One column of JSON
text is what Spark, model serving and the registered signature can carry; the nested
records of an application are not flat columns.

Output
------
One row per application, same index, the columns of
:data:`techcredit.registry.tracking.PYFUNC_OUTPUT_COLUMNS` (plain strings, numbers and
lists of strings): ``application_id, outcome, product, segment, model_kind,
prob_default, score, risk_grade, innovation_tier, patent_value_cny, pledge_value_cny,
limit_cny, rate_annual`` (NaN when declined), ``term_months, reason_codes,
rules_fired, challenger_prob_default`` (NaN without a shadow challenger),
``input_hash`` and ``decision_json`` (the full canonical decision, reasons in Chinese
and English included). The PDs equal ``Decider.score``'s for the same application.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel, PythonModelContext

from techcredit.decision.result import Decision
from techcredit.exceptions import InvalidInputError, ModelError
from techcredit.registry.tracking import PYFUNC_INPUT_COLUMN, PYFUNC_OUTPUT_COLUMNS

__all__ = ["INPUT_COLUMN", "TechCreditPyfunc", "decisions_frame"]

#: The input column holding each application's JSON text.
INPUT_COLUMN = PYFUNC_INPUT_COLUMN


def decisions_frame(decisions: Sequence[Decision], index: pd.Index | None = None
                    ) -> pd.DataFrame:
    """The pyfunc output: one row of plain values per decision.

    Parameters
    ----------
    decisions : sequence of Decision
    index : pandas.Index, optional
        Index of the result (default ``0..n-1``).

    Examples
    --------
    >>> frame = decisions_frame([])
    >>> list(frame.columns[:4]), len(frame)
    (['application_id', 'outcome', 'product', 'segment'], 0)
    """
    rows: dict[str, list[Any]] = {name: [] for name, _ in PYFUNC_OUTPUT_COLUMNS}
    for d in decisions:
        rows["application_id"].append(d.application_id)
        for name in ("outcome", "product", "segment", "model_kind", "prob_default", "score",
                     "risk_grade", "innovation_tier", "patent_value_cny", "pledge_value_cny",
                     "limit_cny", "term_months", "input_hash"):
            rows[name].append(getattr(d, name))
        rows["rate_annual"].append(math.nan if d.rate_annual is None else d.rate_annual)
        rows["reason_codes"].append([r.code for r in d.reasons])
        rows["rules_fired"].append(list(d.rules_fired))
        rows["challenger_prob_default"].append(
            math.nan if d.challenger is None else d.challenger.prob_default)
        rows["decision_json"].append(d.to_json())
    dtypes = {"long": "int64", "double": "float64", "string": "object"}
    frame = pd.DataFrame({
        name: pd.Series(values, dtype=dtypes.get(kind, "object"))
        for (name, kind), values in zip(PYFUNC_OUTPUT_COLUMNS, rows.values(), strict=True)
        if name != "application_id"})
    ids = rows["application_id"]
    frame.insert(0, "application_id",
                 pd.Series(ids, dtype="int64" if None not in ids else "object"))
    if index is not None:
        frame.index = index
    return frame


def _applications(model_input: Any) -> list[Any]:
    """The cells of the ``application`` column; InvalidInputError naming what is wrong."""
    if not isinstance(model_input, pd.DataFrame):
        raise InvalidInputError([("model_input", None, None,
                                  "expected a pandas DataFrame with a column "
                                  f"{INPUT_COLUMN!r}, got {type(model_input).__name__}")])
    if INPUT_COLUMN not in model_input.columns:
        raise InvalidInputError([("model_input", None, INPUT_COLUMN,
                                  f"missing column (columns given: {list(model_input.columns)}); "
                                  "put each application's JSON text in it")])
    cells = model_input[INPUT_COLUMN].tolist()
    problems: list[tuple[object, ...]] = [
        ("model_input", i, INPUT_COLUMN,
         f"must be an application's JSON text, got {type(cell).__name__}")
        for i, cell in enumerate(cells) if not isinstance(cell, str | bytes | Mapping)]
    if problems:
        raise InvalidInputError(problems)
    return cells


class TechCreditPyfunc(PythonModel):
    """Decide applications (JSON text) with the verified bundle's :class:`Decider`."""

    def __init__(self) -> None:
        self._decider: Any = None

    def load_context(self, context: PythonModelContext) -> None:
        """Load the ``bundle`` artifact's decider once (:meth:`Decider.load` verifies every
        file against the bundle's manifest).

        Raises
        ------
        ModelError
            If the bundle is missing or any file differs from its manifest.
        """
        from techcredit.decision.decider import Decider

        path = (context.artifacts or {}).get("bundle")
        if path is None:
            raise ModelError("the logged model has no 'bundle' artifact")
        self._decider = Decider.load(Path(path))

    def predict(self, context: PythonModelContext, model_input: pd.DataFrame,
                params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Decide each row's application; see the module docstring for both shapes.

        Raises
        ------
        InvalidInputError
            If the input is not a DataFrame with an ``application`` column, or an
            application is malformed (naming its position and fields).
        ModelError
            If the context was not loaded.
        """
        if self._decider is None:
            raise ModelError("the model's context was not loaded")
        cells = _applications(model_input)
        if not cells:
            return decisions_frame([], model_input.index)
        decisions = self._decider.score_batch(cells, as_frame=False)
        return decisions_frame(decisions, model_input.index)


mlflow.models.set_model(TechCreditPyfunc())
