"""Shared machinery for the pydantic models of the YAML specifications.

Every number a risk committee may change lives in a YAML file under ``models/``
(or ``mlflow.yaml``). Each file has a pydantic model in this package; loading goes
through :func:`load_spec`, which names the file and the bad fields on error.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from techcredit.exceptions import ConfigError

__all__ = [
    "COMPARISONS",
    "Comparison",
    "Condition",
    "PerSpec",
    "StrictModel",
    "compare",
    "default_models_dir",
    "load_spec",
    "read_yaml",
    "source_root",
]

MODELS_DIR_ENV = "TECHCREDIT_MODELS_DIR"

SpecT = TypeVar("SpecT", bound=BaseModel)
KeyT = TypeVar("KeyT")
ValueT = TypeVar("ValueT")


class PerSpec(Generic[KeyT, ValueT]):
    """Values derived once per specification object (``build(spec)``), for hot paths.

    Specifications are unhashable pydantic models, so entries are keyed by ``id`` and
    hold the spec itself (its id then stays unique); a full cache starts over. Two
    threads may both build a missing value; either result is the same.

    Examples
    --------
    >>> names = PerSpec(lambda spec: sorted(spec))
    >>> spec = {"b": 1, "a": 2}
    >>> names.of(spec), names.of(spec) is names.of(spec)
    (['a', 'b'], True)
    """

    def __init__(self, build: Callable[[KeyT], ValueT], size: int = 64) -> None:
        self._build = build
        self._size = size
        self._items: dict[int, tuple[KeyT, ValueT]] = {}

    def of(self, spec: KeyT) -> ValueT:
        """The value of ``spec``, built on first use."""
        hit = self._items.get(id(spec))
        if hit is not None and hit[0] is spec:
            return hit[1]
        if len(self._items) >= self._size:
            self._items.clear()
        value = self._build(spec)
        self._items[id(spec)] = (spec, value)
        return value


class StrictModel(BaseModel):
    """Base for configuration models: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Comparison = Literal["<", "<=", ">", ">=", "==", "!="]
COMPARISONS: tuple[str, ...] = get_args(Comparison)
"""The operators in order: a compiled condition (:func:`techcredit.features._jit.holds`)
names one by its index here."""
_COMPARE: dict[str, Callable[[np.ndarray, Any], np.ndarray]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne}


def compare(values: Any, op: Comparison, value: float | np.ndarray) -> np.ndarray:
    """``values <op> value`` elementwise; never true on a missing (NaN) value.

    The one evaluation of every YAML condition (segments, policy rules, monitoring).
    ``value`` is one threshold or an array of them broadcasting against ``values``
    (the policy compares all its conditions of one operator at once).

    Examples
    --------
    >>> compare([1.0, float("nan"), 3.0], "!=", 1.0).tolist()
    [False, False, True]
    """
    v = np.asarray(values, dtype=np.float64)
    hit = _COMPARE[op](v, value)  # comparisons with NaN are False (and never warn) ...
    if op == "!=":
        hit &= ~np.isnan(v)  # ... except "!=", which is True on NaN
    return hit


class Condition(StrictModel):
    """``<feature> <op> <value>`` on feature columns; never holds on a missing value."""

    feature: Annotated[str, Field(min_length=1)]
    op: Comparison
    value: Annotated[float, Field(allow_inf_nan=False)]

    def holds(self, columns: Mapping[str, Any]) -> np.ndarray:
        """Boolean array: where the condition holds on ``columns[feature]``."""
        return compare(columns[self.feature], self.op, self.value)


def source_root() -> Path:
    """The checkout this package was installed from (holding ``models/``, ``data/``...).

    Defaults for ``models/``, ``mlflow.yaml`` and ``data/sample`` are found here; each has
    its own environment variable to point elsewhere.
    """
    return Path(__file__).resolve().parents[3]


def default_models_dir() -> Path:
    """Return the folder holding the reviewed YAML specifications.

    The environment variable ``TECHCREDIT_MODELS_DIR`` wins; otherwise the ``models/``
    folder of the source checkout this package was installed from.

    Raises
    ------
    ConfigError
        If neither exists.

    Examples
    --------
    >>> (default_models_dir() / "scorecard.yaml").exists()
    True
    """
    env = os.environ.get(MODELS_DIR_ENV)
    if env:
        path = Path(env)
        if not path.is_dir():
            raise ConfigError(f"{MODELS_DIR_ENV}={env!r} is not a directory")
        return path
    path = source_root() / "models"
    if path.is_dir():
        return path
    raise ConfigError(
        f"no models/ folder found next to the source tree ({path}); set {MODELS_DIR_ENV} "
        "to the folder holding the reviewed YAML specifications"
    )


def read_yaml(path: Path) -> dict[str, Any]:
    """Read one YAML mapping, raising :class:`ConfigError` naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping at the top level")
    return data


def load_spec(name: str, model: type[SpecT], models_dir: Path | str | None = None) -> SpecT:
    """Load and validate ``<models_dir>/<name>.yaml`` into ``model``.

    Parameters
    ----------
    name : str
        File stem, e.g. ``"scorecard"``.
    model : pydantic model class
        The schema of the file.
    models_dir : path, optional
        Folder of the specifications; :func:`default_models_dir` when omitted.

    Raises
    ------
    ConfigError
        If the file is missing, not YAML, or fails validation; the message names the
        file and every bad field.
    """
    folder = Path(models_dir) if models_dir is not None else default_models_dir()
    path = folder / f"{name}.yaml"
    data = read_yaml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{path}: {fields}") from exc
