"""The committed sample under ``data/sample/``: writing, loading and summarising.

The sample is ``generate(**SAMPLE_KNOBS)`` written as one Parquet file per table;
``python -m techcredit.data.sample --write`` (or ``techcredit sample --write``)
regenerates it byte for byte.

Examples
--------
>>> tables = load_sample()
>>> len(tables.firms)
5000
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd

from techcredit.config import source_root
from techcredit.exceptions import TechCreditError
from techcredit.schemas import TABLES, RawTables

__all__ = [
    "SAMPLE_KNOBS",
    "default_sample_dir",
    "load_sample",
    "read_tables",
    "summarize",
    "tables_digest",
    "write_tables",
]

SAMPLE_DIR_ENV = "TECHCREDIT_SAMPLE_DIR"
SAMPLE_KNOBS: dict[str, float | int] = {"n_firms": 5000, "seed": 20261122, "invoice_scale": 0.2}
"""Generator settings of the committed sample.

A fifth of the invoice count keeps the files a few MB; amounts keep the revenue.
"""


def default_sample_dir() -> Path:
    """Return ``$TECHCREDIT_SAMPLE_DIR`` or the checkout's ``data/sample`` folder."""
    env = os.environ.get(SAMPLE_DIR_ENV)
    if env:
        return Path(env)
    return source_root() / "data" / "sample"


def write_tables(tables: RawTables, folder: Path | str) -> list[Path]:
    """Write every table as ``<folder>/<name>.parquet`` (zstd), deterministically."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables.items():
        path = out / f"{name}.parquet"
        frame.to_parquet(path, engine="pyarrow", compression="zstd", compression_level=19,
                         index=False)
        written.append(path)
    return written


def read_tables(folder: Path | str) -> RawTables:
    """Read tables written by :func:`write_tables` and validate them against the schemas.

    Raises
    ------
    TechCreditError
        If a required table file is missing.
    InvalidInputError
        If a table does not match its schema.
    """
    src = Path(folder)
    frames: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        path = src / f"{name}.parquet"
        if path.exists():
            frames[name] = pd.read_parquet(path, engine="pyarrow")
        elif name not in ("applications", "truth"):
            raise TechCreditError(f"missing table file {path}")
    tables = RawTables(**frames)
    tables.validate()
    return tables


def load_sample() -> RawTables:
    """Load the committed sample of 5,000 firms (see ``data/sample/README.md``)."""
    return read_tables(default_sample_dir())


def tables_digest(tables: RawTables) -> str:
    """Return a sha256 over every table's column names, dtypes and values.

    Equal digests mean equal tables, value for value and type for type.

    Examples
    --------
    >>> from techcredit.data import generate
    >>> tables_digest(generate(30, seed=5)) == tables_digest(generate(30, seed=5))
    True
    """
    h = hashlib.sha256()
    for name, frame in tables.items():
        h.update(name.encode())
        for col in frame.columns:
            h.update(f"{col}:{frame[col].dtype}".encode())
            hashed = pd.util.hash_pandas_object(frame[col], index=False)
            h.update(hashed.to_numpy().tobytes())
    return h.hexdigest()


def summarize(tables: RawTables) -> dict[str, object]:
    """Summarise generated tables: row counts, default rates by segment, truth AUC.

    Returns
    -------
    dict
        ``rows`` (table -> count), ``default_rate`` (overall), ``by_segment`` (a frame of
        firm kind x stage with firms, default rate and mean true PD) and ``truth_auc``
        (AUC of the true PD against the observed outcomes: the best any model can do
        on these rows, up to sampling noise).
    """
    from sklearn.metrics import roc_auc_score

    rows = {name: len(frame) for name, frame in tables.items()}
    out: dict[str, object] = {"rows": rows}
    if tables.applications is None or tables.truth is None:
        return out
    joined = tables.applications.merge(tables.truth, on=["application_id", "firm_id"])
    y = joined["default_12m"].astype(int)
    out["default_rate"] = float(y.mean())
    out["truth_auc"] = float(roc_auc_score(y, joined["prob_default"]))
    seg = joined.assign(segment=joined["firm_kind"].astype(str) + "/" + joined["stage"].astype(str))
    out["by_segment"] = seg.groupby("segment").agg(
        firms=("firm_id", "size"),
        default_rate=("default_12m", "mean"),
        mean_true_pd=("prob_default", "mean"),
    )
    return out


def _main(argv: list[str] | None = None) -> int:
    import argparse

    from techcredit.data.generator import generate

    parser = argparse.ArgumentParser(description="Regenerate the committed sample.")
    parser.add_argument("--write", action="store_true", help="write data/sample/*.parquet")
    parser.add_argument("--out", type=Path, default=None, help="folder (default data/sample)")
    args = parser.parse_args(argv)
    if not args.write:
        parser.print_help()
        return 0
    tables = generate(**SAMPLE_KNOBS)  # type: ignore[arg-type]
    folder = args.out or default_sample_dir()
    for path in write_tables(tables, folder):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    print(f"digest {tables_digest(tables)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
