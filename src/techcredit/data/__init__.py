"""Synthetic raw records with a known truth, and the committed sample.

Examples
--------
>>> from techcredit.data import generate
>>> tables = generate(100, seed=3)
>>> tables.applications["default_12m"].isin([0, 1]).all()
np.True_
"""

from techcredit.data.generator import GeneratorConfig, generate
from techcredit.data.sample import load_sample, read_tables, write_tables

__all__ = ["GeneratorConfig", "generate", "load_sample", "read_tables", "write_tables"]
