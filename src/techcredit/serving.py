"""The serving facade: ``techcredit.Decider`` and ``techcredit.score``.

:class:`Decider` is :class:`techcredit.decision.decider.Decider` whose :meth:`Decider.load`
also accepts registry URIs (``models:/techcredit@champion``, ``models:/techcredit/3``):
it resolves and verifies the bundle through :mod:`techcredit.registry` (which imports
mlflow only then), and records the registry version on every decision.
:func:`score` uses one process-wide decider, loaded on first use from the serving
settings of ``mlflow.yaml`` (``serving.model_uri``, ``serving.shadow_challenger``).

Examples
--------
>>> import techcredit
>>> techcredit.Decider.load("/no/such/bundle")
Traceback (most recent call last):
...
techcredit.exceptions.ModelError: bundle directory /no/such/bundle does not exist
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from techcredit.application import Application
from techcredit.config.mlflow import MlflowSettings, load_mlflow_settings
from techcredit.config.policy import PolicySpec
from techcredit.decision import decider as _decider
from techcredit.decision.result import Decision

__all__ = ["Decider", "default_decider", "reset_default_decider", "score"]


class Decider(_decider.Decider):
    """A :class:`techcredit.decision.decider.Decider` that also loads registry URIs."""

    @classmethod
    def load(cls, source: Path | str, *, shadow: bool = False,
             model_version: str | None = None, policy: PolicySpec | None = None,
             settings: MlflowSettings | None = None) -> Decider:
        """Load from a bundle directory or a registry URI.

        Parameters
        ----------
        source : path or str
            A bundle directory, or ``models:/<name>@<alias>`` / ``models:/<name>/<version>``.
        shadow : bool
            Score the challenger in shadow.
        model_version : str, optional
            Recorded on decisions; resolved from the registry for a ``models:/`` URI.
        policy : PolicySpec, optional
            Override the bundle's policy.
        settings : MlflowSettings, optional
            Registry settings; ``mlflow.yaml`` and the environment when omitted.

        Raises
        ------
        RegistryError
            Unknown model, alias or version, or an unreachable store.
        ModelError
            A bundle that fails verification.
        """
        text = str(source)
        if text.startswith("models:/"):
            from techcredit.registry import resolve_model_version

            settings = settings or load_mlflow_settings()
            # the alias is resolved once: the bundle is that version's, even if the alias
            # moves while loading
            _, model_version, source = resolve_model_version(text, settings)
        decider = super().load(source, shadow=shadow, model_version=model_version,
                               policy=policy)
        return decider  # type: ignore[return-value]


_lock = threading.Lock()
_default: Decider | None = None


def default_decider() -> Decider:
    """The process-wide decider of ``mlflow.yaml``'s ``serving`` section (loaded once)."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                settings = load_mlflow_settings()
                _default = Decider.load(settings.serving.model_uri,
                                        shadow=settings.serving.shadow_challenger,
                                        settings=settings)
    return _default


def reset_default_decider() -> None:
    """Forget the process-wide decider (the next :func:`score` loads it again)."""
    global _default
    with _lock:
        _default = None


def score(application: Application | Mapping[str, Any] | str | bytes) -> Decision:
    """Decide one application with the process-wide decider (see :func:`default_decider`)."""
    return default_decider().score(application)
