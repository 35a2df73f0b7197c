"""The results table: its columns, Parquet files with the spec in their metadata, pivots for the reader."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from core import __version__
from core.study.spec import (
    AXES,
    COLUMNS,
    FORMAT_NAME,
    META_KEY,
    METRICS,
    SCHEMA_VERSION,
    STATUSES,
    StudyError,
    StudySpec,
)


def _frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(list(rows), columns=list(COLUMNS))
    for name, dtype in COLUMNS.items():
        if dtype == "object":
            df[name] = df[name].fillna("").astype(object)
        elif dtype == "Int64":
            df[name] = pd.array([None if pd.isna(v) else int(v) for v in df[name]], dtype="Int64")
        else:
            df[name] = df[name].astype(dtype)
    return df.sort_values("point", kind="stable").reset_index(drop=True)


def results_table(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Rows of :func:`run_point` (or :func:`run_study`'s ``on_row``) as a study table: :data:`COLUMNS` with
    their dtypes, sorted by point (what :func:`run_study` returns for the same rows)."""
    return _frame(rows)


def _metadata(spec: StudySpec) -> dict[str, str]:
    return {
        "format": FORMAT_NAME,
        "schema_version": str(SCHEMA_VERSION),
        "version": __version__,
        "spec": spec.text,
        "spec_file": spec.file or "",
        "name": spec.name,
        "base": spec.base_ref,
        "base_file": "" if spec.base_file is None else str(spec.base_file),
        "points": str(len(spec.points)),
        "currency": spec.base.currency if spec.base is not None else "",
    }


def write_results(
    table: pd.DataFrame, path: str | os.PathLike, spec: StudySpec | None, metadata: Mapping[str, str] | None = None
) -> Path:
    """Write ``table`` as Parquet with the spec text and the package version in its schema metadata.

    Atomic: a temporary file in the same folder, flushed to disk, then renamed
    over ``path`` — a crash leaves either the old file or the new one.
    ``spec=None``: the study's ``metadata`` as :func:`read_results` gave it
    (a study read back whose base project is not at hand, written again).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if spec is None and metadata is None:
        raise ValueError("write_results needs the study's spec or its metadata")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    meta = dict(arrow.schema.metadata or {})
    study_meta = _metadata(spec) if spec is not None else dict(metadata or {})
    meta[META_KEY] = json.dumps(study_meta, ensure_ascii=False).encode()
    arrow = arrow.replace_schema_metadata(meta)
    from core.files import write_atomic

    write_atomic(p, lambda fh: pq.write_table(arrow, fh), mode="wb")
    return p


def read_results(path: str | os.PathLike) -> tuple[pd.DataFrame, dict[str, str]]:
    """A study's table and its metadata (``spec``, ``version``, ``base``…). Raises StudyError if it is not one."""
    import pyarrow.parquet as pq

    p = Path(path)
    try:
        arrow = pq.read_table(p)
    except FileNotFoundError:
        raise StudyError(f"{p}: no such file") from None
    except Exception as err:
        raise StudyError(f"{p}: not a readable Parquet file ({err})") from None
    raw = (arrow.schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise StudyError(f"{p}: not a Feeder Market study file (no study metadata)")
    meta = json.loads(raw.decode())
    table = arrow.to_pandas()
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise StudyError(f"{p}: a study file without the column(s) {', '.join(missing)} (another version?)")
    return _frame(table[list(COLUMNS)].to_dict("records")), meta


def status_counts(table: pd.DataFrame) -> pd.Series:
    """Number of points per status (``ok``, ``infeasible``, ``error``), every status listed."""
    return table.status.value_counts().reindex(STATUSES, fill_value=0)


def pivot(
    table: pd.DataFrame, metric: str = "welfare", rows: str | None = None, columns: str | None = None
) -> pd.DataFrame:
    """Mean of ``metric`` over the ``ok`` points, by ``rows`` × ``columns`` (axes).

    Without ``rows``/``columns``: ``mechanism`` when it varies, else the first
    axis that varies, by the next axis that varies (at most 12 values).
    """
    if metric not in table.columns:
        raise KeyError(f"no metric '{metric}': choose one of {', '.join(METRICS)}")
    ok = table[table.status == "ok"]
    varying = [a for a in AXES if table[a].nunique() > 1]  # NaN (k of other mechanisms…) is not a value
    if rows is None:
        rows = "mechanism" if "mechanism" in varying else (varying[0] if varying else "mechanism")
    if columns is None:
        columns = next((a for a in varying if a != rows and table[a].nunique() <= 12), None)
    if ok.empty:
        return pd.DataFrame()
    values = ok[metric].astype(float)
    if columns is None:
        return values.groupby(ok[rows], dropna=False).agg(["mean", "std", "count"]).rename_axis(rows)
    return values.groupby([ok[rows], ok[columns]], dropna=False).mean().unstack(columns)
