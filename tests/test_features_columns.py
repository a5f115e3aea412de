"""``FirmArrays.from_columns`` (numpy columns, no pandas) against ``from_tables``."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

from techcredit.data import load_sample
from techcredit.exceptions import InvalidInputError
from techcredit.features import FirmArrays, build_features
from techcredit.features.arrays import READ, TABLE_NAMES, column_dtype
from techcredit.schemas import RawTables


@lru_cache(maxsize=1)
def _sample() -> RawTables:
    return load_sample()


def plain_columns(tables: RawTables, names: tuple[str, ...] = TABLE_NAMES,
                  ) -> dict[str, dict[str, np.ndarray]]:
    """The documented column formats, choice columns as object arrays of str."""
    out = {}
    for table in names:
        frame = getattr(tables, table)
        cols = {}
        for name in READ[table]:
            dtype = column_dtype(table, name)
            s = frame[name]
            if dtype.kind == "M":
                cols[name] = s.to_numpy().astype(dtype)
            elif dtype.kind == "O":
                cols[name] = np.array(s.astype(object).tolist(), dtype=object)
            else:
                cols[name] = s.to_numpy(dtype=dtype, na_value=np.nan) if dtype.kind == "f" \
                    else s.to_numpy(dtype=dtype)
        out[table] = cols
    return out


def assert_same_arrays(a: FirmArrays, b: FirmArrays) -> None:
    for part in dataclasses.fields(a):
        x, y = getattr(a, part.name), getattr(b, part.name)
        for field in dataclasses.fields(x):
            u, v = getattr(x, field.name), getattr(y, field.name)
            where = f"{part.name}.{field.name}"
            assert u.dtype == v.dtype, where
            assert u.shape == v.shape, where
            if u.dtype.kind == "O":
                assert u.tolist() == v.tolist(), where
            else:
                assert u.tobytes() == v.tobytes(), where


def test_columns_and_frames_give_identical_arrays_and_features():
    tables = _sample()
    from_frames = FirmArrays.from_tables(tables)
    from_columns = FirmArrays.from_columns(plain_columns(tables))
    assert_same_arrays(from_frames, from_columns)
    apps = tables.applications
    a = build_features(from_frames, as_of=apps["applied_on"], firm_ids=apps["firm_id"])
    b = build_features(from_columns, as_of=apps["applied_on"], firm_ids=apps["firm_id"])
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_firms_missing_from_some_tables():
    tables = _sample()
    holders = set(tables.patents["firm_id"]) & set(tables.rnd["firm_id"])
    no_patents = sorted(set(tables.firms["firm_id"]) - set(tables.patents["firm_id"]))[:3]
    no_invoices = sorted(set(tables.firms["firm_id"]) - set(tables.invoices["firm_id"]))[:3]
    ids = [*sorted(holders)[:3], *no_patents, *no_invoices]
    assert len(no_patents) == 3  # the sample has firms without patents
    sub = tables.for_firms(ids)
    assert_same_arrays(FirmArrays.from_tables(sub), FirmArrays.from_columns(plain_columns(sub)))
    # whole tables left out are empty tables
    only = ("firms", "tax_filings", "invoices")
    empty = RawTables(**{n: getattr(sub, n) if n in only else getattr(sub, n).iloc[:0]
                         for n in TABLE_NAMES})
    got = FirmArrays.from_columns(plain_columns(sub, only))
    assert_same_arrays(FirmArrays.from_tables(empty), got)
    assert got.patents.patent_id.dtype == np.int64
    assert got.patents.static.shape[0] == got.rnd.matrix.shape[0] == 0
    feats = build_features(got, as_of="2024-06-30", firm_ids=ids)
    assert (feats["ip_inforce_count_now"] == 0).all()
    assert feats["rnd_revenue_sum_1y"].isna().all()
    assert (feats.loc[no_invoices, "inv_sales_net_12m"] == 0).all()


def test_one_firm_built_from_columns_matches_the_batch():
    tables = _sample()
    apps = tables.applications.iloc[:40]
    many = build_features(tables, as_of=apps["applied_on"], firm_ids=apps["firm_id"])
    for i in range(0, len(apps), 5):
        fid = int(apps["firm_id"].iloc[i])
        arrays = FirmArrays.from_columns(plain_columns(tables.for_firms([fid])))
        one = build_features(arrays, as_of=apps["applied_on"].iloc[i], firm_ids=[fid])
        pd.testing.assert_frame_equal(one, many.iloc[[i]], check_exact=True)


def _grades(**override: object) -> dict[str, object]:
    cols = {"firm_id": np.array([1, 2]), "year": np.array([2022, 2023]),
            "grade": np.array(["A", "B"], dtype=object),
            "published_on": np.array(["2023-04-01", "2024-04-01"], dtype="datetime64[D]")}
    return {**cols, **override}


@pytest.mark.parametrize(("tables", "where"), [
    ({"tax_grades": _grades(year=np.array([2022]))}, ("tax_grades", None, "year")),
    ({"tax_grade": _grades()}, ("tax_grade", None, None)),
    ({"tax_grades": {k: v for k, v in _grades().items() if k != "grade"}},
     ("tax_grades", None, "grade")),
    ({"tax_grades": _grades(grade=np.array(["A", "E"], dtype=object))},
     ("tax_grades", 1, "grade")),
])
def test_structural_problems_name_the_field(tables, where):
    with pytest.raises(InvalidInputError) as info:
        FirmArrays.from_columns(tables)
    assert [p[:3] for p in info.value.problems] == [where]


def test_from_columns_names_a_short_column_and_a_missing_one() -> None:
    """The one-pass check of complete tables never lets unequal lengths through."""
    grades = {"firm_id": np.array([7, 7]), "year": np.array([2022]),
              "grade": np.array(["B", "A"], dtype=object),
              "published_on": np.array(["2023-04-01", "2024-04-01"], dtype="datetime64[D]")}
    with pytest.raises(InvalidInputError) as info:
        FirmArrays.from_columns({"tax_grades": grades,
                                 "rnd": {"firm_id": np.array([7])}})
    assert "tax_grades.year" in info.value.fields
    assert "rnd.year" in info.value.fields
