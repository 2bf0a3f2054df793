"""Excel workbooks (.xlsx), a sheet at a time, read by GDAL's XLSX driver.

Cells keep their own types: a text cell stays text (``0363`` stays ``0363``) and a number stays a
number, so no column is retyped from its values. The first row is always the header (GDAL would
otherwise take it for data when every cell of the first two rows is text).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from .ogr import open_ogr
from .source import Source
from .text_types import TextEvidence

SUFFIXES = {".xlsx"}


def open_excel(path: Path, *, sheet: str | None, batch_size: int) -> Source:
    source = open_ogr(path, layer=sheet, encoding=None, batch_size=batch_size, open_options={"HEADERS": "FORCE", "FIELD_TYPES": "AUTO"})
    source.tabular = True
    text_columns = [c for c in source.columns if pa.types.is_string(c.type) or pa.types.is_large_string(c.type)]
    for column in text_columns:
        column.evidence = TextEvidence()  # only to see whether the cells hold geometries (WKT, GeoJSON)
    for batch in source.read([c.name for c in text_columns], False):
        for column, values in zip(text_columns, batch.table.columns, strict=True):
            column.evidence.add(values.combine_chunks())
    return source
