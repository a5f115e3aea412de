"""The MLflow pyfunc model of a techcredit bundle, defined from code.

MLflow copies this file into every logged model (``python_model=<this file>``) and runs
it at load time; :func:`mlflow.models.set_model` below names the model object. Nothing
is pickled: the model's state is the bundle folder, logged as the artifact ``bundle``,
which :meth:`TechCreditPyfunc.load_context` verifies against its manifest before
loading it with :meth:`techcredit.decision.models.BundleModels.load`. So MLflow's own
tools score with it, e.g. ``mlflow.pyfunc.load_model("models:/techcredit@champion")``,
``mlflow models predict`` (with ``--env-manager local`` in an environment that has
techcredit installed) or ``mlflow.pyfunc.spark_udf``.

Input: a pandas DataFrame of feature rows (one per application, the catalogue's
feature columns). Output: the same index with ``segment``, ``prob_default``, ``model``
(the champion kind) and ``challenger_prob_default``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel, PythonModelContext

from techcredit.exceptions import InvalidInputError, ModelError

__all__ = ["TechCreditPyfunc"]


class TechCreditPyfunc(PythonModel):
    """Score feature rows with the per-segment models of a verified bundle."""

    def __init__(self) -> None:
        self._models: Any = None

    def load_context(self, context: PythonModelContext) -> None:
        """Verify the ``bundle`` artifact against its manifest and load its models.

        Raises
        ------
        ModelError
            If the bundle is missing or any file differs from its manifest.
        """
        from techcredit.decision.bundle import verify_bundle
        from techcredit.decision.models import BundleModels

        path = (context.artifacts or {}).get("bundle")
        if path is None:
            raise ModelError("the logged model has no 'bundle' artifact")
        verify_bundle(Path(path))
        self._models = BundleModels.load(Path(path))

    def predict(self, context: PythonModelContext, model_input: pd.DataFrame,
                params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Return ``segment``, ``prob_default``, ``model``, ``challenger_prob_default``.

        Raises
        ------
        InvalidInputError
            If the input is not a DataFrame or lacks feature columns.
        """
        if self._models is None:
            raise ModelError("the model's context was not loaded")
        if not isinstance(model_input, pd.DataFrame):
            raise InvalidInputError(
                f"expected a pandas DataFrame of feature rows, got {type(model_input).__name__}")
        return self._models.predict_features(model_input)


mlflow.models.set_model(TechCreditPyfunc())
