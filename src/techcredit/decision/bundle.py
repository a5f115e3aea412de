"""The model bundle: a directory of JSON and XGBoost files with a hash manifest.

A bundle is everything a decider needs to score, written by the training job and
read at serving time. It holds no pickle: JSON documents, XGBoost's own model files
and YAML copies of the reviewed specifications. ``manifest.json`` lists the sha256
of every file; :func:`verify_bundle` refuses a bundle whose files differ from it in
any byte, or that has files the manifest does not list.

Layout (see ``docs/ARCHITECTURE.md``)::

    manifest.json            format, versions, created_at, sha256 of every other file
    bundle.json              model name, segments, champion / challenger per segment
    segments/<seg>/...       per-segment model files (scorecard.json, xgboost.ubj, ...)
    specs/<name>.yaml        copies of the models/*.yaml used in training

Examples
--------
>>> import json, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp()) / "b"
>>> writer = BundleWriter(folder)
>>> writer.write_json("bundle.json", {"model_name": "demo"})
>>> manifest = writer.finish()
>>> sorted(manifest["files"])
['bundle.json']
>>> verify_bundle(folder)["format"]
'techcredit.bundle/1'
>>> _ = (folder / "bundle.json").write_text('{"model_name": "evil"}')
>>> verify_bundle(folder)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
techcredit.exceptions.ModelError: bundle file bundle.json does not match the manifest ...
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

from techcredit._version import __version__
from techcredit.exceptions import ModelError

__all__ = ["BUNDLE_FORMAT", "BundleWriter", "file_sha256", "read_json", "verify_bundle"]

BUNDLE_FORMAT = "techcredit.bundle/1"
MANIFEST = "manifest.json"
_KEY_LIBRARIES = ("numpy", "pandas", "scikit-learn", "xgboost", "pydantic", "optbinning")


def file_sha256(path: Path) -> str:
    """Return the sha256 hex digest of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "techcredit": __version__}
    for name in _KEY_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def _relative(name: str) -> PurePosixPath:
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts or name == MANIFEST:
        raise ModelError(f"invalid bundle file name {name!r}")
    return rel


class BundleWriter:
    """Write files into a new bundle directory, then seal it with :meth:`finish`.

    Parameters
    ----------
    folder : path
        Must not exist yet, or be empty.
    """

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        if self.folder.exists() and any(self.folder.iterdir()):
            raise ModelError(f"bundle folder {self.folder} is not empty")
        self.folder.mkdir(parents=True, exist_ok=True)
        self._files: list[PurePosixPath] = []

    def path(self, name: str) -> Path:
        """Reserve ``name`` (a relative POSIX path) and return where to write it."""
        rel = _relative(name)
        target = self.folder.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel not in self._files:
            self._files.append(rel)
        return target

    def write_json(self, name: str, document: Any) -> None:
        """Write a JSON document with sorted keys (stable bytes for equal content)."""
        text = json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1,
                          allow_nan=False)
        self.path(name).write_text(text + "\n", encoding="utf-8")

    def write_text(self, name: str, text: str) -> None:
        """Write a UTF-8 text file (e.g. a YAML specification copy)."""
        self.path(name).write_text(text, encoding="utf-8")

    def finish(self, **extra: Any) -> dict[str, Any]:
        """Hash every written file into ``manifest.json`` and return the manifest."""
        missing = [str(r) for r in self._files if not self.folder.joinpath(*r.parts).is_file()]
        if missing:
            raise ModelError(f"reserved bundle files were never written: {missing}")
        manifest = {
            "format": BUNDLE_FORMAT,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "versions": _library_versions(),
            "files": {str(r): file_sha256(self.folder.joinpath(*r.parts))
                      for r in sorted(self._files)},
            **extra,
        }
        (self.folder / MANIFEST).write_text(
            json.dumps(manifest, sort_keys=True, indent=1) + "\n", encoding="utf-8")
        return manifest


def verify_bundle(folder: Path | str) -> dict[str, Any]:
    """Check every file of a bundle against its manifest and return the manifest.

    Raises
    ------
    ModelError
        If the manifest is missing or unreadable, of another format, a listed file is
        missing or differs in any byte, or a file is present that the manifest does
        not list.
    """
    root = Path(folder)
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        raise ModelError(f"{root} is not a techcredit bundle: {MANIFEST} is missing")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read {manifest_path}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise ModelError(f"{manifest_path} is not of format {BUNDLE_FORMAT}")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise ModelError(f"{manifest_path} lists no files")
    for name, digest in files.items():
        rel = _relative(name)
        path = root.joinpath(*rel.parts)
        if not path.is_file():
            raise ModelError(f"bundle file {name} listed in the manifest is missing")
        if file_sha256(path) != digest:
            raise ModelError(f"bundle file {name} does not match the manifest (sha256 differs)")
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    unlisted = sorted(present - set(files) - {MANIFEST})
    if unlisted:
        raise ModelError(f"bundle holds files the manifest does not list: {unlisted}")
    return manifest


def read_json(folder: Path | str, name: str) -> Any:
    """Read a JSON document of a (verified) bundle."""
    path = Path(folder).joinpath(*_relative(name).parts)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read bundle file {name}: {exc}") from exc
