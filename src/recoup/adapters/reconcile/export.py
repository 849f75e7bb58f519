"""Export reconciliation sets (matched pairs, open breaks) as CSV or Parquet."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FORMATS = ("csv", "parquet")


def _cell(value: Any) -> Any:
    return value if isinstance(value, int | float | bool | type(None)) else str(value)


def write_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str], path: Path,
               file_format: str) -> int:  # fmt: skip
    """Write ``rows`` (dicts) with ``columns`` to ``path``; money and ids as exact text."""
    if file_format not in FORMATS:
        raise ValueError(f"unknown format {file_format!r}")
    table = pa.table({name: [_cell(row.get(name)) for row in rows] for name in columns})
    if file_format == "csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    return int(table.num_rows)
