"""Data-quality checks of a table in PostGIS: nulls, duplicate rows, invalid geometries, CRS, extent.

Every check runs in the database (one pass per kind of check), so tables of millions of rows are fine.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyproj
import sqlalchemy as sa

from . import extent
from .db import connect
from .errors import AnalysisLibError
from .identifiers import checked_name
from .query import read

EXAMPLES = 10


class TableNotFound(AnalysisLibError):
    """The table to check does not exist (or the role may not read it)."""


@dataclass(frozen=True)
class QualityReport:
    table: str
    rows: int
    columns: pd.DataFrame  # column, type, nulls, null %
    duplicate_rows: int  # rows identical to an earlier row in every column
    geometry: pd.DataFrame  # per geometry column: srid, crs, types, nulls, empty, invalid, outside area of use, extent
    invalid_examples: pd.DataFrame  # first invalid geometries: column, row key, reason

    def summary(self) -> pd.DataFrame:
        """One line per finding, 'ok' when the table is clean."""
        findings = [("rows", f"{self.rows:,}")]
        findings += [(f"nulls in {c}", f"{n:,} ({p}%)") for c, n, p in self.columns[["column", "nulls", "null %"]].itertuples(index=False) if n]
        if self.duplicate_rows:
            findings.append(("duplicate rows", f"{self.duplicate_rows:,}"))
        for g in self.geometry.itertuples(index=False):
            for label, count in (("invalid geometries", g.invalid), ("empty geometries", g.empty),
                                 ("geometries outside the CRS's area of use", g.outside_area_of_use)):
                if count:
                    findings.append((f"{label} in {g.column}", f"{count:,}"))
            if not g.srid:
                findings.append((f"CRS of {g.column}", "missing (SRID 0)"))
        if len(findings) == 1:
            findings.append(("findings", "ok: no nulls, duplicates or bad geometries"))
        return pd.DataFrame(findings, columns=["check", "result"]).set_index("check")


def check_table(table: str, *, schema: str = "public") -> QualityReport:
    """Run every check on ``schema.table``."""
    checked_name(schema, "schema")
    checked_name(table, "table")
    columns = _columns(schema, table)
    qualified = f'"{schema}"."{table}"'
    geometry_columns = columns.loc[columns["type"].str.startswith("geometry"), "column"].tolist()
    counts = _counts(qualified, columns["column"].tolist())
    rows = int(counts.pop("__rows"))
    columns["nulls"] = [int(counts[c]) for c in columns["column"]]
    columns["null %"] = [round(100 * n / rows, 1) if rows else 0.0 for n in columns["nulls"]]
    return QualityReport(
        table=f"{schema}.{table}",
        rows=rows,
        columns=columns,
        duplicate_rows=int(read(f"SELECT count(*) - count(DISTINCT md5(t::text)) AS n FROM {qualified} t")["n"].iloc[0]),
        geometry=pd.DataFrame([_geometry_checks(qualified, c) for c in geometry_columns],
                              columns=["column", "srid", "crs", "types", "nulls", "empty", "invalid", "outside_area_of_use", "extent"]),
        invalid_examples=_invalid_examples(qualified, schema, table, geometry_columns),
    )


def _columns(schema: str, table: str) -> pd.DataFrame:
    found = read(
        """
        SELECT a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type
        FROM pg_attribute a
        WHERE a.attrelid = to_regclass(format('%I.%I', CAST(:schema AS text), CAST(:table AS text)))
          AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """,
        {"schema": schema, "table": table},
    )
    if found.empty:
        tables = read(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = :schema"
            " AND table_type = 'BASE TABLE' AND table_name <> 'spatial_ref_sys' ORDER BY 1", {"schema": schema}
        )["table_name"].tolist()
        raise TableNotFound(f"table {schema}.{table} does not exist or cannot be read; tables in {schema}: {', '.join(tables) or 'none'}")
    return found


def _counts(qualified: str, names: list[str]) -> dict[str, int]:
    nulls = ", ".join(f'count(*) FILTER (WHERE "{n}" IS NULL) AS "{n}"' for n in names)
    with connect() as connection:
        return dict(connection.execute(sa.text(f'SELECT count(*) AS "__rows", {nulls} FROM {qualified}')).mappings().one())


def _geometry_checks(qualified: str, column: str) -> dict:
    row = read(
        f"""
        SELECT count(*) FILTER (WHERE g IS NULL) AS nulls,
               count(*) FILTER (WHERE ST_IsEmpty(g)) AS empty,
               count(*) FILTER (WHERE NOT ST_IsValid(g)) AS invalid,
               array_agg(DISTINCT ST_SRID(g)) FILTER (WHERE g IS NOT NULL) AS srids,
               array_agg(DISTINCT GeometryType(g)) FILTER (WHERE g IS NOT NULL) AS types,
               ST_XMin(ST_Extent(g)) AS xmin, ST_YMin(ST_Extent(g)) AS ymin,
               ST_XMax(ST_Extent(g)) AS xmax, ST_YMax(ST_Extent(g)) AS ymax
        FROM (SELECT "{column}" AS g FROM {qualified}) t
        """
    ).iloc[0]
    srids = [s for s in (row["srids"] or []) if s is not None]
    srid = srids[0] if len(srids) == 1 else 0
    extent = None if pd.isna(row["xmin"]) else tuple(round(float(row[k]), 2) for k in ("xmin", "ymin", "xmax", "ymax"))
    return {
        "column": column,
        "srid": srid,
        "crs": _crs_name(srid) if len(srids) <= 1 else f"mixed SRIDs {sorted(srids)}",
        "types": ", ".join(sorted(row["types"] or [])),
        "nulls": int(row["nulls"]),
        "empty": int(row["empty"]),
        "invalid": int(row["invalid"]),
        "outside_area_of_use": _outside_area_of_use(qualified, column, srid),
        "extent": extent,
    }


def _crs_name(srid: int) -> str:
    if not srid:
        return "none (SRID 0)"
    try:
        return f"EPSG:{srid} {pyproj.CRS.from_epsg(srid).name}"
    except pyproj.exceptions.CRSError:
        return f"SRID {srid} (not an EPSG code)"


def _outside_area_of_use(qualified: str, column: str, srid: int) -> int:
    """Geometries outside the area where the CRS is used, as loads check it (``extent``): a sign of
    swapped x/y, a wrong CRS, or coordinates in another unit."""
    if not srid:
        return 0
    try:
        crs = pyproj.CRS.from_epsg(srid)
    except pyproj.exceptions.CRSError:
        return 0
    area = extent.area_of(crs)
    if area is None:
        return 0
    xmin, ymin, xmax, ymax = area.bounds
    found = read(
        f"""
        SELECT count(*) AS n FROM {qualified}
        WHERE "{column}" IS NOT NULL AND NOT ST_IsEmpty("{column}")
          AND NOT ST_Within("{column}", ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, CAST(:srid AS integer)))
        """,
        {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax, "srid": srid},
    )
    return int(found["n"].iloc[0])


def _invalid_examples(qualified: str, schema: str, table: str, geometry_columns: list[str]) -> pd.DataFrame:
    key = _primary_key(schema, table)
    order = f'"{key}"' if key else "ctid"
    parts = [
        read(
            f"""
            SELECT CAST(:column AS text) AS column, {order}::text AS row_key, ST_IsValidReason("{column}") AS reason
            FROM {qualified} WHERE NOT ST_IsValid("{column}") ORDER BY {order} LIMIT {EXAMPLES}
            """,
            {"column": column},
        )
        for column in geometry_columns
    ]
    examples = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["column", "row_key", "reason"])
    return examples.rename(columns={"row_key": key or "ctid"})


def _primary_key(schema: str, table: str) -> str | None:
    found = read(
        """
        SELECT a.attname AS name FROM pg_index i
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
        WHERE i.indrelid = to_regclass(format('%I.%I', CAST(:schema AS text), CAST(:table AS text))) AND i.indisprimary
        """,
        {"schema": schema, "table": table},
    )
    return found["name"].iloc[0] if len(found) == 1 else None
