"""The risk-committee report: built through the CLI, checked as HTML and in Chromium."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from techcredit.cli import main
from techcredit.data import write_tables
from techcredit.data.sample import tables_digest
from techcredit.decision.bundle import read_json
from techcredit.exceptions import InvalidInputError, RegistryError
from techcredit.modeling.metrics import auc
from techcredit.registry import VersionInfo
from techcredit.registry.promotion import GATES
from techcredit.reporting import SECTION_IDS, ModelIdentity, log_report
from techcredit.reporting.inputs import ReportData, gather
from techcredit.reporting.sections import identity_section
from techcredit.reporting.stats import delong_ci, wilson_bounds
from techcredit.schemas import RawTables

CHROMIUM = Path("/usr/bin/chromium")
WIDTH, HEIGHT = 1280, 4000
_IMG = re.compile(r'<img alt="([^"]*)" src="([^"]*)">')


@pytest.fixture(scope="module")
def data_dir(decision_tables: RawTables, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report-data")
    write_tables(decision_tables, folder)
    return folder


@pytest.fixture(scope="module")
def report_path(decision_bundle: Path, data_dir: Path,
                tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the session bundle, made by ``techcredit report`` on its own data."""
    out = tmp_path_factory.mktemp("report") / "report.html"
    code = main(["report", "--model", str(decision_bundle), "--data", str(data_dir),
                 "--output", str(out)])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def page(report_path: Path) -> str:
    return report_path.read_text(encoding="utf-8")


def test_every_section_has_a_heading_and_a_caption(page: str) -> None:
    for section in SECTION_IDS:
        match = re.search(rf'<section id="{section}"><h2>([^<]+)</h2><p class="caption">'
                          r"([^<]{40,})</p>", page)
        assert match, f"section {section} lacks its heading or caption"
    assert len(re.findall(r"<section id=", page)) == len(SECTION_IDS)


def test_page_is_self_contained(page: str) -> None:
    assert 'src="http' not in page
    assert "http://" not in page
    assert "https://" not in page
    for attr, value in re.findall(r'\b(src|href)="([^"]*)"', page):
        assert value.startswith("data:image/png;base64,") if attr == "src" else (
            value.startswith("#")), (attr, value[:40])
    assert "<link" not in page
    assert "@import" not in page


def test_every_image_is_an_embedded_valid_png(page: str) -> None:
    from PIL import Image

    images = _IMG.findall(page)
    # per segment: calibration, distribution, PSI, bins, SHAP; reasons, tiers, patents
    assert len(images) == 3 * 5 + 3
    assert page.count("<img") == len(images)
    for alt, src in images:
        raw = base64.b64decode(src.removeprefix("data:image/png;base64,"), validate=True)
        assert raw.startswith(b"\x89PNG\r\n\x1a\n"), alt
        with Image.open(io.BytesIO(raw)) as img:
            img.verify()
        with Image.open(io.BytesIO(raw)) as img:
            assert img.format == "PNG", alt
            assert min(img.size) > 100, alt


def test_numbers_are_those_of_the_bundle(page: str, decision_bundle: Path,
                                         decision_tables: RawTables) -> None:
    validation = read_json(decision_bundle, "validation.json")
    manifest = json.loads((decision_bundle / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"]["bundle.json"] in page
    assert tables_digest(decision_tables) in page
    assert "same as the training snapshot</td><td>yes" in page
    for seg, entry in validation["segments"].items():
        champion = entry["models"][entry["champion"]]
        row = re.search(rf"<tr><td>{seg}</td><td>{entry['champion']} \(champion\)</td>"
                        r"(.*?)</tr>", page)
        assert row, seg
        cells = re.findall(r">([^<]*)</td>", row.group(1))
        assert f"{champion['auc']:.3f}" in cells
        assert f"{champion['auc_low']:.3f} – {champion['auc_high']:.3f}" in cells
        # recomputed from the snapshot: the same AUC as stored at training
        assert cells[-1] == f"{champion['auc']:.3f}"
        for gate in GATES:
            assert re.search(rf"<tr><td>{seg}</td><td>{entry['champion']}</td><td>{gate}</td>",
                             page), (seg, gate)


def test_reason_codes_are_counted_with_both_texts(page: str) -> None:
    section = page.split('<section id="reasons">')[1].split("</section>")[0]
    rows = re.findall(r"<tr><td>([A-Z][A-Z0-9_]+)</td><td>([^<]+)</td><td>([^<]+)</td>"
                      r'<td class="num">([\d,]+)</td>', section)
    assert rows, "no reason code rows"
    counts = [int(n.replace(",", "")) for *_, n in rows]
    assert counts == sorted(counts, reverse=True)
    assert counts[0] > 0
    assert all(re.search(r"[\u4e00-\u9fff]", zh) for _, zh, _, _ in rows)


@pytest.fixture(scope="module")
def gathered(decision_bundle: Path, decision_tables: RawTables) -> ReportData:
    identity = ModelIdentity.from_bundle(decision_bundle)
    return gather(decision_bundle, decision_tables, identity=identity, data_source="fixture")


def test_a_different_snapshot_is_flagged(gathered: ReportData) -> None:
    data, identity = gathered, gathered.identity
    assert data.snapshot_matches
    other = dataclasses.replace(data, identity=dataclasses.replace(
        identity, data_snapshot_sha256="0" * 64))
    html = identity_section(other).body
    assert "same as the training snapshot</td><td>NO" in html
    assert 'class="warn"' in html


def test_identity_shows_the_registry_record_or_says_unregistered(gathered: ReportData
                                                                  ) -> None:
    folder = identity_section(gathered).body
    assert "<td>registry version</td><td>not registered (bundle folder)</td>" in folder
    assert "<td>training run id</td><td>–</td>" in folder
    info = VersionInfo(model_name=gathered.identity.model_name, version="7",
                       run_id="run-abc", aliases=("challenger", "champion"),
                       registered_at="2026-11-20T08:00:00+00:00",
                       data_snapshot_sha256=gathered.data_digest, promotion=None)
    registered = ModelIdentity.from_version(info, "models:/techcredit@champion")
    html = identity_section(dataclasses.replace(gathered, identity=registered)).body
    for item, value in (("registry version", "7"), ("training run id", "run-abc"),
                        ("aliases", "challenger, champion"),
                        ("registered at", "2026-11-20T08:00:00+00:00"),
                        ("requested", "models:/techcredit@champion")):
        assert f"<td>{item}</td><td>{value}</td>" in html, item
    assert "same as the training snapshot</td><td>yes" in html


def test_an_unregistered_bundle_is_not_logged(decision_bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="unregistered"):
        log_report(tmp_path / "r.html", ModelIdentity.from_bundle(decision_bundle))


# ------------------------------------------------------------------ statistics
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 20)), min_size=4, max_size=80))
def test_delong_estimate_is_the_auc_and_inside_its_interval(rows: list[tuple[int, int]]
                                                            ) -> None:
    y = np.array([r[0] for r in rows])
    score = np.array([r[1] for r in rows], dtype=float)
    if y.min() == y.max():
        with pytest.raises(InvalidInputError):
            delong_ci(y, score)
        return
    ci = delong_ci(y, score)
    assert ci.estimate == pytest.approx(auc(y, score), abs=1e-12)
    assert 0 <= ci.lower <= ci.estimate <= ci.upper <= 1
    # DeLong by brute force: the pairwise kernel psi(event, non-event), its structural
    # components V10 (per event) and V01 (per non-event), their variances
    pos, neg = score[y == 1], score[y == 0]
    kernel = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = kernel.mean(axis=1), kernel.mean(axis=0)
    var = ((v10.var(ddof=1) / len(pos) if len(pos) > 1 else 0.0)
           + (v01.var(ddof=1) / len(neg) if len(neg) > 1 else 0.0))
    half = norm.ppf(0.975) * np.sqrt(var)
    assert kernel.mean() == pytest.approx(ci.estimate, abs=1e-12)
    assert ci.lower == pytest.approx(max(0.0, kernel.mean() - half), abs=1e-9)
    assert ci.upper == pytest.approx(min(1.0, kernel.mean() + half), abs=1e-9)


def test_delong_interval_matches_a_known_value() -> None:
    # Two events above both non-events but one: AUC 3/4; variance by hand
    # V10 = [0.5, 1], V01 = [1, 0.5]: var = 0.125/2 + 0.125/2 = 0.125.
    ci = delong_ci([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert ci.estimate == 0.75
    # 0.75 + 1.96 * sqrt(0.125) = 1.44: the upper end is clipped to 1, the lower is not
    assert ci.upper == 1.0
    assert ci.lower == pytest.approx(0.75 - 1.959964 * np.sqrt(0.125), abs=1e-5)
    with pytest.raises(InvalidInputError, match="score"):
        delong_ci([0, 1, 0, 1], [0.1, np.nan, 0.3, 0.4])  # as metrics.auc: no missing score


@given(st.integers(1, 5000), st.data())
def test_wilson_interval_contains_the_observed_rate(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(0, n))
    low, high = wilson_bounds(np.array([k]), np.array([n]))
    assert 0 <= low[0] <= k / n + 1e-12
    assert k / n - 1e-12 <= high[0] <= 1


# -------------------------------------------------------------------- browser
def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed "
                    "(.ci/run installs Debian's chromium)")
def test_report_renders_in_headless_chromium_with_no_missing_image(
        report_path: Path, page: str, tmp_path: Path) -> None:
    from PIL import Image

    shot = tmp_path / "shot.png"
    done = _chromium(f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}",
                     report_path.as_uri(), profile=tmp_path / "profile")
    assert shot.is_file(), done.stderr[-2000:]
    with Image.open(shot) as img:
        assert img.size == (WIDTH, HEIGHT)
        pixels = np.asarray(img.convert("L"), dtype=np.float64)
    assert pixels.std() > 20, "the screenshot is (nearly) blank"
    assert (pixels < 128).mean() > 0.01, "hardly any dark pixel: no text or figure rendered"

    dom = _chromium("--dump-dom", report_path.as_uri(), profile=tmp_path / "profile2").stdout
    html_tag = re.search(r"<html[^>]*>", dom)
    assert html_tag, dom[:500]
    counts = dict(re.findall(r'data-(images|missing-images)="(\d+)"', html_tag.group(0)))
    assert counts == {"images": str(len(_IMG.findall(page))), "missing-images": "0"}


# --------------------------------------------------------------------- MLflow
@pytest.mark.slow
def test_report_of_a_registered_version_is_logged_to_its_run(
        decision_bundle: Path, decision_tables: RawTables, data_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from techcredit.config.mlflow import MlflowSettings
    from techcredit.registry import log_training_run
    from techcredit.registry._mlflow import client

    settings = MlflowSettings.local(tmp_path / "store")
    config = tmp_path / "mlflow.yaml"
    config.write_text(json.dumps(settings.model_dump(mode="json")), encoding="utf-8")
    monkeypatch.setenv("TECHCREDIT_MLFLOW_CONFIG", str(config))
    version = log_training_run(decision_bundle, params={}, metrics={}, artifacts={},
                               snapshot_sha256=tables_digest(decision_tables),
                               settings=settings)
    out = tmp_path / "report.html"
    assert main(["report", "--model", f"models:/{version.model_name}@challenger",
                 "--data", str(data_dir), "--output", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert f"version {version.version}: risk-committee report" in page
    assert version.run_id in page
    assert "challenger" in page
    listed = client(settings).list_artifacts(version.run_id, f"committee_report/v"
                                                             f"{version.version}")
    assert [Path(f.path).name for f in listed] == ["report.html"]
