"""The MLflow registry against a private SQLite store: log, register, resolve, promote.

One store per module (creating MLflow's SQLite schema takes seconds); each test uses its
own registered model name so tests stay independent of their order.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from techcredit.cli import main
from techcredit.config.mlflow import MlflowSettings, RegistrySettings
from techcredit.data.applications import application_records
from techcredit.decision.bundle import BundleWriter, verify_bundle
from techcredit.decision.decider import Decider
from techcredit.exceptions import ModelError, RegistryError
from techcredit.registry import (
    RegisteredVersion,
    log_training_run,
    promote,
    resolve_bundle,
    resolve_model_version,
)
from techcredit.registry.resolve import bundle_cache_dir

SNAPSHOT = "ab" * 32
# MLflow's SQLAlchemy store configures a deprecated loader on first use: known, harmless.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The ``noload`` loader strategy is deprecated:DeprecationWarning")

GOOD = {"auc": 0.81, "ks": 0.45, "gini": 0.62, "psi": 0.02, "psi_excess": 0.0,
        "calibration_excess": 0.011, "brier": 0.07}


def _write_bundle(folder: Path, champion_metrics: dict[str, float] | None = None) -> Path:
    metrics = {**GOOD, **(champion_metrics or {})}
    segments = {
        seg: {"champion": "xgboost", "challenger": "scorecard", "n_train": 1234,
              "n_validation": 456,
              "models": {"xgboost": metrics, "scorecard": {**GOOD, "auc": 0.75}}}
        for seg in ("micro", "tech_startup", "tech_growth")
    }
    writer = BundleWriter(folder)
    writer.write_json("bundle.json", {"model_name": "techcredit", "made_in": str(folder)})
    writer.write_json("validation.json", {"segments": segments})
    writer.write_text("segments/micro/notes.txt", "hand-made test bundle\n")
    writer.finish()
    return folder


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlflow-store")


def _settings(store: Path, name: str) -> MlflowSettings:
    return MlflowSettings.local(store, registry=RegistrySettings(model_name=name))


def _log(store: Path, name: str, bundle: Path, **metrics: float) -> RegisteredVersion:
    report = bundle.parent / f"{bundle.name}-validation.json"
    report.write_text(json.dumps({"note": "report copy"}))
    return log_training_run(
        bundle,
        params={"n_applications": 5000, "xgb": {"max_depth": 3}},
        metrics={"micro.xgboost.auc": 0.81, "micro.scorecard.ks@10%": 0.4, **metrics},
        artifacts={"validation": report},
        snapshot_sha256=SNAPSHOT,
        settings=_settings(store, name),
    )


@pytest.fixture(scope="module")
def logged(store: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RegisteredVersion]:
    bundle = _write_bundle(tmp_path_factory.mktemp("bundles") / "b1")
    return bundle, _log(store, "logged", bundle)


def test_log_registers_a_version_with_alias_challenger(
        store: Path, logged: tuple[Path, RegisteredVersion]) -> None:
    from mlflow import MlflowClient

    bundle, version = logged
    assert version.model_name == "logged"
    assert version.model_uri == f"models:/logged/{version.version}"
    settings = _settings(store, "logged")
    client = MlflowClient(tracking_uri=settings.tracking.uri,
                          registry_uri=settings.tracking.uri)
    challenger = client.get_model_version_by_alias("logged", "challenger")
    assert str(challenger.version) == version.version
    mv = client.get_model_version("logged", version.version)
    manifest = verify_bundle(bundle)
    assert mv.tags["bundle_json_sha256"] == manifest["files"]["bundle.json"]
    assert mv.tags["data_snapshot_sha256"] == SNAPSHOT
    assert mv.run_id == version.run_id
    run = client.get_run(version.run_id)
    assert run.data.params["data_snapshot_sha256"] == SNAPSHOT
    assert run.data.tags["data_snapshot_sha256"] == SNAPSHOT
    assert json.loads(run.data.params["xgb"]) == {"max_depth": 3}
    assert run.data.metrics["micro.xgboost.auc"] == 0.81
    assert run.data.metrics["micro.scorecard.ks_10_"] == 0.4
    assert [a.path for a in client.list_artifacts(version.run_id, "artifacts")] == [
        "artifacts/validation.json"]
    # no pickle in the logged model: it is the code file plus the bundle folder
    model_dir = store / "mlruns" / "models" / mv.source.rsplit("/", 1)[-1] / "artifacts"
    mlmodel = yaml.safe_load((model_dir / "MLmodel").read_text())
    pyfunc = mlmodel["flavors"]["python_function"]
    assert pyfunc["loader_module"] == "mlflow.pyfunc.loaders.code_model"
    assert Path(pyfunc["model_code_path"]).name == "pyfunc_model.py"
    assert (model_dir / "pyfunc_model.py").is_file()
    assert not [p for p in model_dir.rglob("*") if p.suffix in {".pkl", ".pickle"}]


def test_resolve_by_alias_gives_a_verified_copy_with_the_same_bytes(
        store: Path, logged: tuple[Path, RegisteredVersion]) -> None:
    bundle, version = logged
    settings = _settings(store, "logged")
    folder = resolve_bundle("models:/logged@challenger", settings)
    assert folder == bundle_cache_dir(settings, "logged", version.version).resolve()
    assert folder != bundle.resolve()
    assert (folder / "bundle.json").read_bytes() == (bundle / "bundle.json").read_bytes()
    verify_bundle(folder)
    assert not list(folder.rglob("*.pkl"))
    # by version number, and a second time from the cache
    assert resolve_bundle(f"models:/logged/{version.version}", settings) == folder
    # the alias resolved once: the version it named and that version's bundle together
    assert resolve_model_version("models:/logged@challenger", settings) == (
        "logged", version.version, folder)
    with pytest.raises(RegistryError, match="not a models:/ URI"):
        resolve_model_version(str(bundle), settings)


def test_unknown_alias_version_or_model_is_a_registry_error(
        store: Path, logged: tuple[Path, RegisteredVersion]) -> None:
    settings = _settings(store, "logged")
    with pytest.raises(RegistryError, match="alias 'nobody'"):
        resolve_bundle("models:/logged@nobody", settings)
    with pytest.raises(RegistryError, match="version 99"):
        resolve_bundle("models:/logged/99", settings)
    with pytest.raises(RegistryError, match="nomodel"):
        resolve_bundle("models:/nomodel@champion", settings)


def test_tampered_cached_bundle_is_refused(
        store: Path, logged: tuple[Path, RegisteredVersion]) -> None:
    _, version = logged
    settings = _settings(store, "logged")
    folder = resolve_bundle("models:/logged@challenger", settings)
    target = folder / "validation.json"
    original = target.read_bytes()
    target.write_bytes(original.replace(b"0.81", b"0.91", 1))
    try:
        with pytest.raises(ModelError, match=r"validation\.json does not match the manifest"):
            resolve_bundle(f"models:/logged/{version.version}", settings)
    finally:
        target.write_bytes(original)
    resolve_bundle(f"models:/logged/{version.version}", settings)


def test_tampered_registry_artifact_is_refused_even_with_a_rewritten_manifest(
        store: Path, tmp_path: Path) -> None:
    settings = _settings(store, "tampered")
    version = _log(store, "tampered", _write_bundle(tmp_path / "b"))
    [stored] = [p for p in (store / "mlruns").rglob("bundle.json")
                if p.parent.name == "b" and p.parent.parent.name == "artifacts"
                and (p.parent / "manifest.json").is_file()
                and json.loads(p.read_text())["made_in"] == str(tmp_path / "b")]
    # an attacker changes one byte of the stored bundle
    original = stored.read_bytes()
    stored.write_bytes(original.replace(b"techcredit", b"techcreditX", 1))
    with pytest.raises(ModelError, match=r"bundle\.json does not match the manifest"):
        resolve_bundle(version.model_uri, settings)
    # ... and also rewrites the manifest to match: the registry's recorded hash catches it
    shutil.rmtree(bundle_cache_dir(settings, "tampered", version.version))
    from techcredit.decision.bundle import file_sha256

    manifest_path = stored.parent / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["bundle.json"] = file_sha256(stored)
    manifest_path.write_text(json.dumps(manifest, sort_keys=True, indent=1) + "\n")
    verify_bundle(stored.parent)
    with pytest.raises(ModelError, match="recorded in the registry"):
        resolve_bundle(version.model_uri, settings)


def test_promote_moves_champion_only_when_every_gate_passes(
        store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = _settings(store, "promo")
    good = _log(store, "promo", _write_bundle(tmp_path / "good"))
    result = promote(settings=settings)
    assert result.promoted
    assert result.version == good.version
    assert len(result.gates) == 12
    assert result.failed == ()
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=settings.tracking.uri, registry_uri=settings.tracking.uri)
    assert str(client.get_model_version_by_alias("promo", "champion").version) == good.version

    bad = _log(store, "promo", _write_bundle(tmp_path / "bad", {"calibration_excess": 0.04}))
    assert str(client.get_model_version_by_alias("promo", "challenger").version) == bad.version
    refused = promote(settings=settings)
    assert not refused.promoted
    assert refused.version == bad.version
    assert refused.previous_champion == good.version
    assert {(g.segment, g.gate) for g in refused.failed} == {
        (seg, "max_calibration_excess") for seg in ("micro", "tech_startup", "tech_growth")}
    assert "not promoted" in refused.summary()
    assert "micro.max_calibration_excess" in refused.summary()
    assert str(client.get_model_version_by_alias("promo", "champion").version) == good.version
    tag = json.loads(client.get_model_version("promo", bad.version).tags["promotion"])
    assert tag["promoted"] is False

    # the CLI says the same, with exit codes 1 (refused) and 0 (promoted)
    config = tmp_path / "mlflow.yaml"
    gates = settings.gates().model_dump(mode="json", exclude_none=True)
    config.write_text(
        f"tracking:\n  uri: {settings.tracking.uri}\n  artifact_root: {store / 'mlruns'}\n"
        f"registry:\n  model_name: promo\n  bundle_cache: {store / 'bundle-cache'}\n"
        f"promotion: {json.dumps(gates)}\n")  # JSON is YAML
    env = pytest.MonkeyPatch()
    env.setenv("TECHCREDIT_MLFLOW_CONFIG", str(config))
    env.delenv("MLFLOW_TRACKING_URI", raising=False)
    try:
        assert main(["promote"]) == 1
        out = capsys.readouterr().out
        assert "calibration_excess  0.0400 <= 0.0150  FAIL" in out
        assert "failed micro.max_calibration_excess" in out
        assert main(["promote", "--version", good.version]) == 0
        assert "promoted version" in capsys.readouterr().out
        assert main(["promote", "--version", "42"]) == 2
    finally:
        env.undo()


# --- the pyfunc model (defined from code) ------------------------------------------------

@pytest.fixture(scope="module")
def trained(store: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    """A real bundle from the training job on a small generated set, logged to the store."""
    train_module = pytest.importorskip("techcredit.pipeline.train")
    from techcredit.data import generate

    tables = generate(2000, seed=11)
    result = train_module.train(tables, tmp_path_factory.mktemp("real") / "bundle",
                                progress=False)
    version = log_training_run(result.bundle_dir, params=result.params,
                               metrics=result.metrics(), artifacts={},
                               snapshot_sha256=result.snapshot_sha256,
                               settings=_settings(store, "real"))
    apps = tables.applications.iloc[:40]
    docs = [json.dumps(application_records(tables, row)) for _, row in apps.iterrows()]
    expected = Decider.load(result.bundle_dir).score_batch(docs)
    return (version, docs, expected), result.bundle_dir


@pytest.mark.slow
def test_registered_version_by_alias_predicts_like_the_local_bundle(
        store: Path, trained: tuple[tuple[RegisteredVersion, list[str], pd.DataFrame], Path]
        ) -> None:
    import mlflow.pyfunc

    (version, docs, expected), bundle = trained
    settings = _settings(store, "real")
    folder = resolve_bundle("models:/real@challenger", settings)
    assert (folder / "bundle.json").read_bytes() == (bundle / "bundle.json").read_bytes()
    mlflow.set_tracking_uri(settings.tracking.uri)
    mlflow.set_registry_uri(settings.tracking.uri)
    loaded = mlflow.pyfunc.load_model("models:/real@challenger")
    got = loaded.predict(pd.DataFrame({"application": docs}))
    assert got["prob_default"].tolist() == expected["prob_default"].tolist()
    assert got["outcome"].tolist() == expected["outcome"].tolist()
    assert version.version == "1"


def test_pyfunc_refuses_a_tampered_bundle(store: Path, tmp_path: Path,
                                          ) -> None:
    import mlflow.pyfunc

    # the manifest is checked before any model is loaded
    settings = _settings(store, "pyfunc_tamper")
    version = _log(store, "pyfunc_tamper", _write_bundle(tmp_path / "pb"))
    [stored] = [p for p in (store / "mlruns").rglob("notes.txt")
                if p.parents[2].name == "pb" and p.parents[3].name == "artifacts"
                and f"{tmp_path / 'pb'}" in (p.parents[2] / "bundle.json").read_text()]
    stored.write_text("hand-made test bundlE\n")
    mlflow.set_tracking_uri(settings.tracking.uri)
    mlflow.set_registry_uri(settings.tracking.uri)
    with pytest.raises(ModelError, match=r"segments/micro/notes\.txt does not match"):
        mlflow.pyfunc.load_model(version.model_uri)
