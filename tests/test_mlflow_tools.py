"""MLflow's own tools decide applications with the registered model (issue #7).

One session-scoped training run on the committed sample registers and promotes a model
in a private SQLite store; ``mlflow.pyfunc.load_model``, ``mlflow models predict`` (a
subprocess), ``mlflow.pyfunc.spark_udf`` (local Spark) and ``techcredit score`` must
give exactly the PDs of ``Decider.score``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from techcredit.cli import main
from techcredit.exceptions import InvalidInputError, ModelError

pytestmark = pytest.mark.filterwarnings(
    "ignore:The ``noload`` loader strategy is deprecated:DeprecationWarning")

N_APPS = 6


@dataclass(frozen=True)
class Registered:
    """A trained, registered and promoted model, its bundle and reference decisions."""

    tracking_uri: str
    bundle_dir: Path
    records: list[dict[str, object]]
    expected: list[dict[str, object]]


@pytest.fixture(scope="session")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Registered:
    from mlflow import MlflowClient

    import techcredit
    from techcredit.config.mlflow import MlflowSettings
    from techcredit.data import load_sample
    from techcredit.data.applications import application_records
    from techcredit.pipeline.job import run_training_job
    from techcredit.registry import resolve_bundle

    settings = MlflowSettings.local(tmp_path_factory.mktemp("mlflow-tools-store"))
    tables = load_sample()
    job = run_training_job(tables, settings=settings, progress=False)
    # the champion alias directly: promotion gates are tested elsewhere, and this test is
    # about MLflow's tools, not whether the sample's model passes them today
    MlflowClient(settings.tracking.uri, settings.tracking.effective_registry_uri
                 ).set_registered_model_alias("techcredit", "champion", job.version.version)
    apps = tables.applications
    # a mix: the demo's last applications and the first few
    rows = pd.concat([apps.head(N_APPS // 2), apps.tail(N_APPS - N_APPS // 2)])
    records = [application_records(tables, row) for _, row in rows.iterrows()]
    decider = techcredit.Decider.load("models:/techcredit@champion", settings=settings)
    expected = [decider.score(r).to_dict() for r in records]
    return Registered(settings.tracking.uri, resolve_bundle("models:/techcredit@champion",
                                                            settings), records, expected)


def _frame(records: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame({"application": [json.dumps(r, ensure_ascii=False) for r in records]})


def _pds(expected: list[dict[str, object]]) -> list[float]:
    return [float(e["prob_default"]) for e in expected]  # type: ignore[arg-type]


@pytest.fixture
def mlflow_store(registered: Registered, monkeypatch: pytest.MonkeyPatch) -> Registered:
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", registered.tracking_uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", registered.tracking_uri)
    mlflow.set_tracking_uri(registered.tracking_uri)
    mlflow.set_registry_uri(registered.tracking_uri)
    return registered


# --- fast: input checks without a model ------------------------------------------------

def test_input_without_the_application_column_names_it() -> None:
    from techcredit.registry.pyfunc_model import _applications

    with pytest.raises(InvalidInputError, match="application") as info:
        _applications(pd.DataFrame({"x": [1.0]}))
    assert info.value.problems[0][2] == "application"
    with pytest.raises(InvalidInputError, match="DataFrame"):
        _applications([{"application": "{}"}])
    with pytest.raises(InvalidInputError) as info:
        _applications(pd.DataFrame({"application": ["{}", 3.5]}))
    assert [p[:3] for p in info.value.problems] == [("model_input", 1, "application")]


def test_predict_before_load_context_is_a_model_error() -> None:
    from techcredit.registry.pyfunc_model import TechCreditPyfunc

    with pytest.raises(ModelError, match="not loaded"):
        TechCreditPyfunc().predict(None, _frame([{}]))  # type: ignore[arg-type]


def test_load_context_refuses_a_changed_bundle_and_a_missing_one(decision_bundle: Path,
                                                                 tmp_path: Path) -> None:
    from types import SimpleNamespace

    from techcredit.registry.pyfunc_model import TechCreditPyfunc

    copy = tmp_path / "bundle"
    shutil.copytree(decision_bundle, copy)
    TechCreditPyfunc().load_context(SimpleNamespace(artifacts={"bundle": str(copy)}))
    victim = copy / "bundle.json"
    victim.write_bytes(victim.read_bytes().replace(b"{", b"{ ", 1))
    with pytest.raises(ModelError, match=r"bundle\.json does not match the manifest"):
        TechCreditPyfunc().load_context(SimpleNamespace(artifacts={"bundle": str(copy)}))
    with pytest.raises(ModelError, match="no 'bundle' artifact"):
        TechCreditPyfunc().load_context(SimpleNamespace(artifacts={}))


def test_registered_signature_has_the_application_column_and_fixed_outputs() -> None:
    from techcredit.registry.pyfunc_model import decisions_frame
    from techcredit.registry.tracking import PYFUNC_OUTPUT_COLUMNS, _signature

    sig = _signature()
    assert sig.inputs.input_names() == ["application"]
    names = [name for name, _ in PYFUNC_OUTPUT_COLUMNS]
    assert sig.outputs.input_names() == names
    assert list(decisions_frame([]).columns) == names


# --- slow: one real registered model -----------------------------------------------------

@pytest.mark.slow
def test_pyfunc_load_model_gives_the_pds_of_score(mlflow_store: Registered) -> None:
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model("models:/techcredit@champion")
    frame = _frame(mlflow_store.records)
    frame.index = pd.RangeIndex(10, 10 + len(frame))
    out = model.predict(frame)
    assert out.index.tolist() == frame.index.tolist()
    assert out["prob_default"].tolist() == _pds(mlflow_store.expected)
    for (_, row), exp in zip(out.iterrows(), mlflow_store.expected, strict=True):
        assert row["application_id"] == exp["application_id"]
        assert row["outcome"] == exp["outcome"]
        assert row["limit_cny"] == exp["limit_cny"]
        assert list(row["reason_codes"]) == [r["code"] for r in exp["reasons"]]  # type: ignore[attr-defined]
        # a logged model knows its bundle, not its registry version
        assert json.loads(row["decision_json"]) == {**exp, "model_version": None}


@pytest.mark.slow
def test_pyfunc_names_the_bad_fields_of_a_malformed_application(
        mlflow_store: Registered) -> None:
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model("models:/techcredit@champion")
    bad = json.loads(json.dumps(mlflow_store.records[0]))
    bad["request"]["amount_cny"] = -5
    del bad["firm"]
    with pytest.raises(InvalidInputError) as info:
        model.predict(_frame([mlflow_store.records[1], bad]))
    fields = {(p[0], p[2]) for p in info.value.problems}
    assert ("applications[1].request", "amount_cny") in fields
    assert any(t == "applications[1].firm" for t, _ in fields)


@pytest.mark.slow
def test_mlflow_models_predict_cli_gives_the_pds_of_score(mlflow_store: Registered,
                                                          tmp_path: Path) -> None:
    mlflow_cli = Path(sys.executable).with_name("mlflow")
    if not mlflow_cli.exists():
        pytest.skip("the mlflow command is not installed next to this Python")
    frame = _frame(mlflow_store.records)
    apps = tmp_path / "apps.json"
    apps.write_text(json.dumps({"dataframe_split": frame.to_dict(orient="split")}),
                    encoding="utf-8")
    out = tmp_path / "predictions.json"
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_store.tracking_uri,
           "MLFLOW_REGISTRY_URI": mlflow_store.tracking_uri}
    subprocess.run([str(mlflow_cli), "models", "predict", "-m", "models:/techcredit@champion",
                    "-i", str(apps), "-t", "json", "-o", str(out), "--env-manager", "local"],
                   env=env, check=True, capture_output=True, text=True, timeout=300)
    predictions = json.loads(out.read_text(encoding="utf-8"))["predictions"]
    assert [p["prob_default"] for p in predictions] == _pds(mlflow_store.expected)
    assert [p["outcome"] for p in predictions] == [e["outcome"] for e in mlflow_store.expected]


def _spark_ready() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (java on PATH or JAVA_HOME) for Spark"
    return None


@pytest.mark.slow
@pytest.mark.skipif(_spark_ready() is not None, reason=str(_spark_ready()))
def test_spark_udf_gives_the_pds_of_score(mlflow_store: Registered,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow.pyfunc
    from pyspark.sql import SparkSession

    # Spark's Python workers must run this environment's interpreter (techcredit installed)
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    monkeypatch.setenv("PYSPARK_DRIVER_PYTHON", sys.executable)
    spark = (SparkSession.builder.master("local[2]").appName("techcredit-test")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    try:
        udf = mlflow.pyfunc.spark_udf(spark, "models:/techcredit@champion",
                                      env_manager="local")
        frame = _frame(mlflow_store.records)
        frame["position"] = range(len(frame))
        sdf = spark.createDataFrame(frame).repartition(2)
        rows = (sdf.withColumn("decision", udf("application"))
                .select("position", "decision.application_id", "decision.prob_default",
                        "decision.outcome", "decision.reason_codes")
                .orderBy("position").collect())
    finally:
        spark.stop()
    assert [r["prob_default"] for r in rows] == _pds(mlflow_store.expected)
    assert [r["application_id"] for r in rows] == [e["application_id"]
                                                   for e in mlflow_store.expected]
    assert [list(r["reason_codes"]) for r in rows] == [
        [x["code"] for x in e["reasons"]] for e in mlflow_store.expected]  # type: ignore[attr-defined]


@pytest.mark.slow
def test_cli_score_prints_and_writes_the_decisions_of_score(
        registered: Registered, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    apps = tmp_path / "apps.json"
    apps.write_text(json.dumps(registered.records, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "decisions.jsonl"
    assert main(["score", "--model", str(registered.bundle_dir), "--input", str(apps),
                 "--output", str(out), "--no-shadow"]) == 0
    printed = capsys.readouterr().out
    assert f"{N_APPS} decisions from techcredit" in printed
    for exp in registered.expected:
        assert f"application {exp['application_id']}: {exp['outcome']}" in printed
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    # the bundle folder has no registry version; everything else is score()'s decision
    assert [{**x, "model_version": None} for x in lines] == [
        {**e, "model_version": None} for e in registered.expected]


def test_cli_score_refuses_a_file_that_is_not_json(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from techcredit.cli import _read_applications

    bad = tmp_path / "apps.json"
    bad.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="not JSON"):
        _read_applications(bad)
    assert main(["score", "--model", str(tmp_path / "nothing"), "--input", str(bad)]) == 2
    assert "does not exist" in capsys.readouterr().err
