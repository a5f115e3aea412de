"""The notebooks run top to bottom in a fresh kernel of this interpreter and show true things.

Each notebook is executed with nbclient in a kernel started from ``sys.executable``
(the ``python3`` spec that ipykernel ships, resolved by jupyter_client to the running
interpreter; no kernelspec needs installing, and kernelspecs installed on the machine are
ignored), with the kernel's working directory ``notebooks/``, ``MPLBACKEND=Agg`` and
``TMPDIR`` in pytest's temporary folder, so bundles and YAML copies never land in the
repository. ``03_committee_review`` reviews the bundle ``01_quickstart`` trained (passed
through ``TECHCREDIT_NOTEBOOK_BUNDLE``), so the suite trains once.

Assertions read the executed outputs, found by cell tags (``decision``, ``iv-table``...).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from techcredit.config.boosting import load_validation_spec
from techcredit.config.policy import load_policy
from techcredit.config.rating import TIER_NAMES
from techcredit.data import load_sample
from techcredit.pipeline.train import split_out_of_time

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("01_quickstart.ipynb", "02_scorecard_development.ipynb", "03_committee_review.ipynb")
CELL_TIMEOUT_S = 300
CODE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")
CJK = re.compile(r"[\u4e00-\u9fff]")
SESSION_START = time.time()
_spec = importlib.util.spec_from_file_location("strip", NOTEBOOKS / "strip.py")
assert _spec is not None
assert _spec.loader is not None
strip = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(strip)
"""``notebooks/strip.py``: a committed notebook is clean when its ``has_outputs`` is False."""


# ------------------------------------------------------------------------ running
@dataclass
class Run:
    nb: nbformat.NotebookNode
    kernel_argv: list[str]
    tmp: Path


def execute(name: str, tmp: Path, **env: str) -> Run:
    """Execute ``notebooks/<name>`` top to bottom; a failing cell raises CellExecutionError."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    # kernel_dirs=[]: only ipykernel's own python3 spec, whose argv jupyter_client fills
    # with sys.executable; a user's or the system's kernelspecs cannot redirect the kernel.
    km = KernelManager(kernel_name="python3",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", km=km,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    start = time.perf_counter()
    client.execute(env={**os.environ, "MPLBACKEND": "Agg", "TMPDIR": str(tmp), **env})
    print(f"{name}: {time.perf_counter() - start:.1f} s")
    return Run(nb, list(km.kernel_spec.argv), tmp)


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return execute(NAMES[0], tmp_path_factory.mktemp("nb01"))


@pytest.fixture(scope="module")
def scorecard_nb(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return execute(NAMES[1], tmp_path_factory.mktemp("nb02"))


@pytest.fixture(scope="module")
def review(quickstart: Run, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return execute(NAMES[2], tmp_path_factory.mktemp("nb03"),
                   TECHCREDIT_NOTEBOOK_BUNDLE=str(bundle_of(quickstart)))


@pytest.fixture(scope="module")
def out_of_time_applications() -> int:
    """How many of the sample's applications validation.yaml's split leaves out of time."""
    split = load_validation_spec().split
    part = split_out_of_time(load_sample().applications["applied_on"].to_numpy(),
                             split.validation_share, split.calibration_share)
    n = int((part == "validate").sum())
    assert 0 < n < len(part)
    return n


def bundle_of(run: Run) -> Path:
    (manifest,) = run.tmp.glob("techcredit-quickstart-*/bundle/manifest.json")
    return manifest.parent


# ----------------------------------------------------------------------- outputs
def cell(nb: nbformat.NotebookNode, tag: str) -> nbformat.NotebookNode:
    (found,) = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    return found


def stdout(c: nbformat.NotebookNode) -> str:
    return "".join(o.text for o in c.outputs if o.output_type == "stream" and o.name == "stdout")


def images(cells: list[nbformat.NotebookNode]) -> int:
    return sum("image/png" in o.get("data", {}) for c in cells for o in c.get("outputs", []))


class _Table(HTMLParser):
    """The header row and body rows (index cells, value cells) of a pandas HTML table."""

    def __init__(self) -> None:
        super().__init__()
        self.header: list[str] = []
        self.rows: list[tuple[list[str], list[str]]] = []
        self._section = ""
        self._row: tuple[list[str], list[str]] | None = None
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("thead", "tbody"):
            self._section = tag
        elif tag == "tr":
            self._row = ([], [])
        elif tag in ("th", "td"):
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._row is not None and self._text is not None:
            self._row[0 if tag == "th" else 1].append("".join(self._text).strip())
            self._text = None
        elif tag == "tr" and self._row is not None:
            if self._section == "thead" and not self.header:
                self.header = self._row[0]
            elif self._section == "tbody":
                self.rows.append(self._row)
            self._row = None


def table(c: nbformat.NotebookNode) -> list[dict[str, str]]:
    """The DataFrame a cell displayed: one dict per row, ``index`` = last index level."""
    (html,) = [o.data["text/html"] for o in c.outputs if "text/html" in o.get("data", {})]
    parser = _Table()
    parser.feed(html)
    out = []
    for index, values in parser.rows:
        row = dict(zip(parser.header[-len(values):], values, strict=True))
        row["index"] = index[-1]
        out.append(row)
    return out


# ------------------------------------------------------------------------- tests
def test_kernel_is_this_interpreter(quickstart: Run) -> None:
    assert quickstart.kernel_argv[0] == sys.executable
    assert quickstart.kernel_argv[1:3] == ["-m", "ipykernel_launcher"]


def test_quickstart_decides_one_firm_with_reasons_in_zh_and_en(quickstart: Run) -> None:
    text = stdout(cell(quickstart.nb, "decision"))
    outcome = re.search(r"outcome (approve|decline|refer)\b", text)
    assert outcome is not None, text
    pd_pct = float(re.search(r"PD ([0-9.]+)%", text).group(1))  # type: ignore[union-attr]
    assert 0 < pd_pct < 100
    reasons = stdout(cell(quickstart.nb, "reasons")).splitlines()
    # The quickstart's application is referred: it names reasons (at most four).
    assert 1 <= len(reasons) <= 4, (outcome.group(1), reasons)
    for line in reasons:
        code, rest = line.split(maxsplit=1)
        zh, en = rest.split("  /  ")
        assert CODE.match(code), line
        assert CJK.search(zh), line
        assert re.search(r"[A-Za-z]{3}", en), line
    explained = table(cell(quickstart.nb, "explain"))
    assert len(explained) == 8
    contributions = [float(r["contribution"]) for r in explained]
    assert contributions == sorted(contributions, reverse=True)
    assert images(quickstart.nb.cells) == 2


def test_temp_outputs_stay_in_the_temp_dir(quickstart: Run, scorecard_nb: Run) -> None:
    assert (bundle_of(quickstart) / "validation.json").exists()
    (copy,) = scorecard_nb.tmp.glob("techcredit-models-*/models/scorecard.yaml")
    assert "tax_paid_cv_12m" in copy.read_text(encoding="utf-8")
    # Nothing in the notebooks' folder or the sample was written while they ran.
    written = [p for folder in (NOTEBOOKS, NOTEBOOKS.parent / "data")
               for p in folder.rglob("*") if p.is_file() and p.stat().st_mtime > SESSION_START]
    assert written == []


def test_scorecard_iv_table_is_sorted_and_has_kept_features(scorecard_nb: Run) -> None:
    rows = table(cell(scorecard_nb.nb, "iv-table"))
    assert len(rows) == 15
    ivs = [float(r["iv"]) for r in rows]
    assert ivs == sorted(ivs, reverse=True)
    assert ivs[0] > 0.1
    assert {"True", "False"} <= {r["kept"] for r in rows}
    features = table(cell(scorecard_nb.nb, "scorecard-table"))
    assert len(features) >= 5
    assert all(float(r["points_min"]) <= float(r["points_max"]) for r in features)


def test_scorecard_moved_cut_point_appears_after_refit(scorecard_nb: Run) -> None:
    before = table(cell(scorecard_nb.nb, "bins-before"))
    after = table(cell(scorecard_nb.nb, "bins-after"))
    labels_before = [r["bin"] for r in before]
    labels_after = [r["bin"] for r in after]
    assert not any(label.startswith("[0.5,") or label.endswith(", 0.5)")
                   for label in labels_before)
    assert any(label.startswith("[0.5,") for label in labels_after)
    assert any(label.endswith(", 0.5)") for label in labels_after)
    assert len(labels_after) == len(labels_before)  # one cut moved, none added
    # The same fit rows fall in the bins before and after.
    assert sum(int(r["count"]) for r in before) == sum(int(r["count"]) for r in after) > 1000


def test_scorecard_validation_out_of_time(scorecard_nb: Run) -> None:
    metrics = {r["index"]: r for r in table(cell(scorecard_nb.nb, "validation"))}
    for column in ("optimal cuts", "cut at 0.5"):
        assert 0.6 < float(metrics["AUC"][column]) < 1
        assert 0.2 < float(metrics["KS"][column]) < 1
        assert float(metrics["Gini"][column]) == pytest.approx(
            2 * float(metrics["AUC"][column]) - 1, abs=2e-4)
    assert images(scorecard_nb.nb.cells) >= 5


def test_review_champion_table_and_side_by_side_agree(review: Run,
                                                     out_of_time_applications: int) -> None:
    roles = [r["index"] for r in table(cell(review.nb, "validation-table"))]
    assert sorted(roles) == ["challenger"] * 3 + ["champion"] * 3
    side = table(cell(review.nb, "side-by-side"))
    assert sorted(r["index"] for r in side) == ["micro", "tech_growth", "tech_startup"]
    for r in side:
        # Serving sums XGBoost's float32 contributions where validation takes its margin:
        # PDs differ by < 1e-6, which can reorder near-ties (AUC moves by ~1e-4 at most).
        assert float(r["champion AUC"]) == pytest.approx(
            float(r["validation.json champion AUC"]), abs=2e-4)
        assert {r["champion"], r["challenger"]} == {"scorecard", "xgboost"}
    assert sum(int(r["applications"]) for r in side) == out_of_time_applications


def test_review_shap_one_summary_per_segment(review: Run) -> None:
    assert images([cell(review.nb, "shap")]) == 3


def test_review_reason_frequencies_and_tiers(review: Run,
                                             out_of_time_applications: int) -> None:
    n = out_of_time_applications
    outcomes = {r["index"]: int(r["count"]) for r in table(cell(review.nb, "outcomes"))}
    assert set(outcomes) <= {"approve", "decline", "refer"}
    assert sum(outcomes.values()) == n
    said = re.fullmatch(r"(\d+) of (\d+) decisions name at least one reason\n",
                        stdout(cell(review.nb, "reason-frequencies")))
    assert said is not None
    with_reasons = int(said.group(1))
    assert int(said.group(2)) == n
    # every decision that is not a full approval names a reason
    assert n - outcomes.get("approve", 0) <= with_reasons <= n
    reasons = table(cell(review.nb, "reason-frequencies"))
    assert len(reasons) == 15
    counts = [int(r["decisions"]) for r in reasons]
    assert counts == sorted(counts, reverse=True)
    assert counts[0] <= with_reasons
    # a decision names a code once, and at most max_reasons codes
    assert sum(counts) <= load_policy().reasons.max_reasons * with_reasons
    assert len({r["code"] for r in reasons}) == len(reasons)  # one text pair per code
    for r, count in zip(reasons, counts, strict=True):
        assert CODE.match(r["code"]), r
        assert CJK.search(r["text_zh"]), r
        assert re.search(r"[A-Za-z]{3}", r["text_en"]), r
        assert float(r["share of decisions"]) == pytest.approx(count / n, abs=5e-4), r
    tiers = table(cell(review.nb, "by-tier"))
    names = [r["index"] for r in tiers]
    assert names == [t for t in TIER_NAMES if t in names]  # best tier first
    assert len(names) >= 5
    assert sum(int(r["applications"]) for r in tiers) == n
    approvals = [int(r["approvals"]) for r in tiers]
    assert sum(approvals) == outcomes.get("approve", 0)
    for r, approved in zip(tiers, approvals, strict=True):
        assert float(r["approved"]) == pytest.approx(
            approved / int(r["applications"]), abs=5e-4), r
    assert all(0 < float(r["median_rate_annual"]) < 0.25 for r in tiers)


# ------------------------------------------------------------- committed clean
@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_stripped_and_introduced(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert not strip.has_outputs(nb), f"run python notebooks/strip.py {name}"
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    assert first.source.startswith("# ")
    assert "**For**" in first.source
    assert "**Shows**" in first.source


def test_strip_script_strips_an_executed_notebook(quickstart: Run, tmp_path: Path) -> None:
    path = tmp_path / NAMES[0]
    nbformat.write(quickstart.nb, path)
    script = [sys.executable, str(NOTEBOOKS / "strip.py")]
    check = subprocess.run([*script, "--check", str(path)], capture_output=True, text=True,
                           check=False)
    assert check.returncode == 1
    assert "has outputs" in check.stdout
    subprocess.run([*script, str(path)], check=True, capture_output=True)
    stripped = nbformat.read(path, as_version=4)
    assert all(c.outputs == [] and c.execution_count is None and "execution" not in c.metadata
               for c in stripped.cells if c.cell_type == "code")
    assert [c.source for c in stripped.cells] == [c.source for c in quickstart.nb.cells]
    assert subprocess.run([*script, "--check", str(path)], check=False).returncode == 0
