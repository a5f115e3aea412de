"""mlflow.yaml settings, promotion gate logic and import isolation (no MLflow store)."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from techcredit.config.mlflow import (
    GateLimits,
    MlflowSettings,
    PromotionSettings,
    SegmentGateLimits,
    load_mlflow_settings,
)
from techcredit.exceptions import ConfigError, ModelError, RegistryError
from techcredit.registry import evaluate_gates, resolve_bundle, sanitize_key
from techcredit.registry._mlflow import parse_models_uri

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "techcredit"
# gates of these tests (the reviewed ones live in mlflow.yaml)
GATES = PromotionSettings(default=GateLimits(min_auc=0.70, min_ks=0.30, max_psi_excess=0.10,
                                             max_calibration_excess=0.015))


def _validation(**champion_metrics: float) -> dict:
    metrics = {"auc": 0.8, "ks": 0.45, "psi_excess": 0.02, "calibration_excess": 0.01,
               **champion_metrics}
    return {"segments": {
        "micro": {"champion": "xgboost", "challenger": "scorecard",
                  "models": {"xgboost": metrics, "scorecard": {"auc": 0.1}}},
    }}


# --- settings ---------------------------------------------------------------------------

def test_repository_mlflow_yaml_is_the_embedded_local_default() -> None:
    settings = load_mlflow_settings(ROOT / "mlflow.yaml", environ={})
    assert settings.tracking.uri == f"sqlite:///{ROOT / 'mlflow.db'}"
    assert settings.tracking.artifact_root == str(ROOT / "mlruns")
    assert settings.tracking.is_local
    assert settings.registry.model_name == "techcredit"
    assert settings.serving.model_uri == "models:/techcredit@champion"
    assert settings.serving.shadow_challenger is True
    assert settings.promotion.gates_for("micro").max_calibration_excess == 0.015


def test_relative_paths_resolve_against_the_yaml_folder_not_the_cwd(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "team.yaml").write_text(
        "tracking:\n  uri: sqlite:///db/store.db\n  artifact_root: art\n")
    monkeypatch.chdir(tmp_path)
    settings = load_mlflow_settings(folder / "team.yaml", environ={})
    assert settings.tracking.uri == f"sqlite:///{folder.resolve() / 'db' / 'store.db'}"
    assert settings.tracking.artifact_root == str(folder.resolve() / "art")
    assert settings.registry.bundle_cache == str(folder.resolve() / "mlruns" / "bundle-cache")


def test_environment_overrides_tracking_uri_and_config_file(tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("registry:\n  model_name: other_model\n")
    env = {"MLFLOW_TRACKING_URI": "http://mlflow.internal:5000",
           "TECHCREDIT_MLFLOW_CONFIG": str(other)}
    settings = load_mlflow_settings(environ=env)
    assert settings.tracking.uri == "http://mlflow.internal:5000"
    assert settings.tracking.effective_registry_uri == "http://mlflow.internal:5000"
    assert not settings.tracking.is_local
    assert settings.registry.model_name == "other_model"
    with pytest.raises(ConfigError, match="TECHCREDIT_MLFLOW_CONFIG"):
        load_mlflow_settings(environ={"TECHCREDIT_MLFLOW_CONFIG": str(tmp_path / "nope")})


def test_os_environ_is_read_when_no_mapping_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////srv/team/mlflow.db")
    monkeypatch.delenv("TECHCREDIT_MLFLOW_CONFIG", raising=False)
    assert load_mlflow_settings().tracking.uri == "sqlite:////srv/team/mlflow.db"


@pytest.mark.parametrize(("text", "field"), [
    ("promotion:\n  default:\n    min_auc: 1.7\n    min_ks: 0.3\n    max_psi_excess: 0.1\n"
     "    max_calibration_excess: 0.01\n", "promotion.default.min_auc"),
    ("promotion:\n  segments:\n    nano: {min_auc: 0.6}\n", "promotion.segments"),
    ("registry:\n  modelname: x\n", "registry.modelname"),
    ("registry:\n  champion_alias: a\n  challenger_alias: a\n", "registry"),
    ("tracking:\n  uri: ''\n", "tracking.uri"),
])
def test_bad_field_is_named_with_the_file(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "mlflow.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_mlflow_settings(path, environ={})
    assert str(path) in str(info.value)
    assert field in str(info.value)


def test_segment_overrides_replace_single_gates() -> None:
    promotion = PromotionSettings(default=GATES.default,
                                  segments={"tech_startup": SegmentGateLimits(min_ks=0.2)})
    startup = promotion.gates_for("tech_startup")
    assert startup.min_ks == 0.2
    assert startup.min_auc == promotion.default.min_auc
    assert promotion.gates_for("micro") == promotion.default


def test_gates_come_only_from_the_reviewed_file(tmp_path: Path) -> None:
    reviewed = load_mlflow_settings(ROOT / "mlflow.yaml", environ={}).gates()
    assert reviewed.default.min_auc == 0.70  # what mlflow.yaml says
    assert MlflowSettings.local(tmp_path).promotion == reviewed
    bare = tmp_path / "bare.yaml"
    bare.write_text("tracking:\n  uri: sqlite:///x.db\n")
    settings = load_mlflow_settings(bare, environ={})
    assert settings.promotion is None
    with pytest.raises(ConfigError, match="no promotion gates"):
        settings.gates()
    with pytest.raises(ValueError, match="default"):
        PromotionSettings()  # no built-in gate numbers


# --- gates -------------------------------------------------------------------------------

def test_gates_pass_and_fail_on_the_champion_metrics_only() -> None:
    passing = evaluate_gates(_validation(), GATES)
    assert [g.gate for g in passing] == ["min_auc", "min_ks", "max_psi_excess",
                                         "max_calibration_excess"]
    assert all(g.passed and g.model == "xgboost" for g in passing)
    failing = evaluate_gates(_validation(psi_excess=0.25), GATES)
    [bad] = [g for g in failing if not g.passed]
    assert (bad.segment, bad.gate, bad.value, bad.limit) == ("micro", "max_psi_excess", 0.25, 0.1)
    assert "FAIL" in str(bad)


@pytest.mark.parametrize("value", [math.nan, None, "0.8", True])
def test_a_missing_or_non_numeric_metric_fails_its_gate(value: object) -> None:
    validation = _validation()
    validation["segments"]["micro"]["models"]["xgboost"]["auc"] = value
    [auc] = [g for g in evaluate_gates(validation, GATES) if g.gate == "min_auc"]
    assert not auc.passed
    assert auc.value is None


def test_gate_limits_are_inclusive() -> None:
    gates = evaluate_gates(_validation(auc=0.7, calibration_excess=0.015), GATES)
    assert all(g.passed for g in gates)


@pytest.mark.parametrize("validation", [
    {}, {"segments": {}}, {"segments": {"micro": {"models": {}}}},
    {"segments": {"micro": {"champion": "xgboost", "models": {"scorecard": {}}}}},
])
def test_malformed_validation_json_is_a_model_error(validation: dict) -> None:
    with pytest.raises(ModelError, match=r"validation\.json"):
        evaluate_gates(validation, GATES)


# --- URIs and keys ----------------------------------------------------------------------

def test_models_uri_forms() -> None:
    assert parse_models_uri("models:/techcredit@champion").alias == "champion"
    assert parse_models_uri("models:/techcredit/3").version == "3"
    for bad in ("models:/techcredit/Production", "models:/m-0123abc", "models:/a/1/extra"):
        with pytest.raises(RegistryError, match="unsupported model URI"):
            parse_models_uri(bad)


def test_resolve_refuses_unknown_paths_and_schemes(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="neither"):
        resolve_bundle(tmp_path / "missing")
    with pytest.raises(RegistryError, match="unsupported"):
        resolve_bundle("runs:/abc/model")
    with pytest.raises(ModelError, match=r"manifest\.json is missing"):
        resolve_bundle(tmp_path)


def test_resolve_refuses_a_store_that_does_not_exist(tmp_path: Path) -> None:
    settings = MlflowSettings.local(tmp_path)
    with pytest.raises(RegistryError, match="does not exist"):
        resolve_bundle("models:/techcredit@champion", settings)
    assert not (tmp_path / "mlflow.db").exists()


def test_sanitize_key() -> None:
    assert sanitize_key("micro.xgboost.auc") == "micro.xgboost.auc"
    assert re.fullmatch(r"[A-Za-z0-9_\-. :/]+", sanitize_key("ks@10%(valid)"))
    with pytest.raises(RegistryError):
        sanitize_key("/")


# --- import isolation -------------------------------------------------------------------

def test_importing_the_registry_does_not_import_mlflow() -> None:
    # ... nor does resolving a bundle folder (the scoring path without a registry)
    code = ("import sys, tempfile, pathlib, techcredit, techcredit.registry\n"
            "from techcredit.registry import log_training_run, promote, resolve_bundle\n"
            "from techcredit.decision.bundle import BundleWriter\n"
            "folder = pathlib.Path(tempfile.mkdtemp()) / 'b'\n"
            "writer = BundleWriter(folder)\n"
            "writer.write_json('bundle.json', {})\n"
            "writer.finish()\n"
            "resolve_bundle(folder)\n"
            "print('mlflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


_MLFLOW_IMPORT = re.compile(r"^\s*(import\s+mlflow\b|from\s+mlflow\b)", re.MULTILINE)


def test_only_the_registry_imports_mlflow() -> None:
    offenders = [str(path.relative_to(SRC)) for path in SRC.rglob("*.py")
                 if "registry" not in path.relative_to(SRC).parts
                 and _MLFLOW_IMPORT.search(path.read_text(encoding="utf-8"))]
    assert offenders == []
    # and the check itself sees the registry's imports
    assert _MLFLOW_IMPORT.search((SRC / "registry" / "pyfunc_model.py").read_text())


def test_logging_a_missing_file_to_a_run_is_refused(tmp_path: Path) -> None:
    from techcredit.registry import log_run_artifact

    with pytest.raises(RegistryError, match="not a file"):
        log_run_artifact("0123", tmp_path / "missing.html", "committee_report/v1",
                         MlflowSettings.local(tmp_path))
