"""Excel workbooks (.xlsx), a sheet at a time, read by GDAL's XLSX driver.

Cells keep their own types: a text cell stays text (``0363`` stays ``0363``) and a number stays a
number, so no column is retyped from its values. The first row is always the header, on every sheet
(GDAL would otherwise take it for data when every cell of the first two rows is text).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from .ogr import open_ogr
from .source import Source
from .text_types import TextEvidence

SUFFIXES = {".xlsx"}


def open_excel(path: Path, *, sheet: str | None, batch_size: int) -> Source:
    # the configuration option, not the open option HEADERS: GDAL applies that to the first sheet only
    source = open_ogr(path, layer=sheet, encoding=None, batch_size=batch_size, config={"OGR_XLSX_HEADERS": "FORCE", "OGR_XLSX_FIELD_TYPES": "AUTO"})
    source.tabular = True
    text_columns = [c for c in source.columns if pa.types.is_string(c.type) or pa.types.is_large_string(c.type)]
    for column in text_columns:
        column.evidence = TextEvidence()  # only to see whether the cells hold geometries (WKT, GeoJSON)
    for batch in source.read([c.name for c in text_columns], False):
        for column, values in zip(text_columns, batch.table.columns, strict=True):
            column.evidence.add(values.combine_chunks())
    return source
