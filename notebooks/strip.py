"""Strip outputs, execution counts and run metadata from notebooks (committed clean).

Usage (from the repository root or anywhere)::

    python notebooks/strip.py                  # every notebook next to this script
    python notebooks/strip.py a.ipynb b.ipynb  # the given notebooks
    python notebooks/strip.py --check          # exit 1 and name each notebook with outputs
                                               # (or widget state)

Examples
--------
>>> import nbformat
>>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
>>> nb.cells[0].execution_count = 1
>>> nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"})]
>>> has_outputs(nb), strip(nb), has_outputs(nb), strip(nb)
(True, True, False, False)
>>> nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
>>> has_outputs(nb), strip(nb), has_outputs(nb)
(True, True, False)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat

__all__ = ["has_outputs", "main", "strip", "strip_file"]

HERE = Path(__file__).resolve().parent

_RUN_METADATA = ("execution", "collapsed", "scrolled")
"""Cell metadata written by running a notebook (nbclient timings, UI state)."""


def has_outputs(nb: nbformat.NotebookNode) -> bool:
    """True if the notebook has widget state or any code cell has outputs, an execution
    count or run metadata: exactly what :func:`strip` removes."""
    return "widgets" in nb.metadata or any(
        cell.get("outputs") or cell.get("execution_count") is not None
        or any(key in cell.metadata for key in _RUN_METADATA)
        for cell in nb.cells if cell.cell_type == "code")


def strip(nb: nbformat.NotebookNode) -> bool:
    """Remove outputs, execution counts and run metadata in place; True if anything changed."""
    changed = has_outputs(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        cell.execution_count = None
        for key in _RUN_METADATA:
            cell.metadata.pop(key, None)
    nb.metadata.pop("widgets", None)
    return changed


def strip_file(path: Path | str) -> bool:
    """Strip one notebook file in place (rewritten only if it changed)."""
    nb = nbformat.read(path, as_version=4)
    if not strip(nb):
        return False
    nbformat.write(nb, path)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: strip (or ``--check``) the given notebooks, default all next to this file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: notebooks/)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if any notebook has outputs")
    args = parser.parse_args(argv)
    paths = args.paths or sorted(HERE.glob("*.ipynb"))
    if args.check:
        dirty = [p for p in paths if has_outputs(nbformat.read(p, as_version=4))]
        for path in dirty:
            print(f"{path}: has outputs; run python notebooks/strip.py")
        return 1 if dirty else 0
    for path in paths:
        if strip_file(path):
            print(f"stripped {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
