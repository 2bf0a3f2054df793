"""Atomic, Arrow-native loads into PostGIS.

Data travels as Arrow batches through ADBC's ingest (PostgreSQL's binary COPY), geometries as WKB into
a typed ``geometry(<Type>, <SRID>)`` column. Everything happens in one transaction under an advisory
lock on the table name: a new table is filled under a staging name, indexed, analysed and only then
renamed into place, so a failure at any point (bad value, killed process, lost connection) leaves
the database as it was, and two loads of one table run one after the other.

What is written is decided by the plan (``plan.decide``); a load whose later batch needs a wider
geometry column (a MultiPolygon after Polygons, a 3D line after rows without geometry) widens the
staging table's column between two COPYs, so streaming stays streaming.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import adbc_driver_manager
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from tqdm import tqdm

from . import extent
from . import geometry as geo
from .db import adbc_connection
from .errors import LoadError
from .plan import DEFAULT_LOCK_TIMEOUT, Batch, Options, Plan, decide
from .sources.encoding import Encoding
from .sources.frame import open_frame

_SHOWN_ROWS = 5


@dataclass
class LoadReport:
    """What a load did."""

    table: str
    rows: int
    columns: dict[str, str]  # input name -> column name in the database
    geometry: geo.GeometryColumn | None = None
    encoding: Encoding | None = None  # the text encoding a file was read with, and why
    repaired_rows: list[int] = field(default_factory=list)  # 1-based rows whose geometry was repaired
    nulled_rows: list[int] = field(default_factory=list)  # rows whose geometry could not be repaired: NULL
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def repaired(self) -> int:
        return len(self.repaired_rows)

    @property
    def renamed(self) -> dict[str, str]:
        return {old: new for old, new in self.columns.items() if old != new}

    def __str__(self) -> str:
        lines = [f"{self.table}: {self.rows:,} rows in {self.seconds:.1f} s"]
        if self.geometry:
            lines.append(f"  geometry column {self.geometry.name}: {self.geometry.sql_type}")
        if self.renamed:
            shown = [f"{old!r} -> {new}" for old, new in list(self.renamed.items())[:8]]
            more = len(self.renamed) - len(shown)
            lines.append("  renamed: " + ", ".join(shown) + (f" and {more} more (report.columns in Python lists them all)" if more else ""))
        if self.repaired_rows:
            lines.append(f"  repaired {self.repaired} invalid geometries (rows {_rows(self.repaired_rows)})")
        if self.nulled_rows:
            lines.append(f"  {len(self.nulled_rows)} geometries could not be repaired and are NULL (rows {_rows(self.nulled_rows)})")
        lines.extend(f"  {note}" for note in self.notes)
        return "\n".join(lines)


def _rows(rows: list[int]) -> str:
    return ", ".join(map(str, rows[:_SHOWN_ROWS])) + (", …" if len(rows) > _SHOWN_ROWS else "")


def load(
    data: pd.DataFrame,
    table: str,
    *,
    schema: str = "public",
    if_exists: str = "fail",
    crs=None,
    target_crs=None,
    primary_key: str | Iterable[str] | None = None,
    spatial_index: bool = True,
    make_valid: bool = False,
    z: str = "keep",
    geometry_type: str | None = None,
    null_values: Iterable = (),
    check_extent: bool = True,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    progress: bool | None = None,
) -> LoadReport:
    """Load a DataFrame or GeoDataFrame into ``schema.table``, atomically.

    ``if_exists``: 'fail' (default), 'replace' (swap in a complete new table) or 'append'.
    ``crs`` names the CRS of a GeoDataFrame that has none; ``target_crs`` reprojects on the way in.
    Column names become snake_case (see ``LoadReport.columns``); ``null_values`` (e.g. [-99999999])
    become NULL in numeric columns. Coordinates outside the CRS's area of use stop the load unless
    ``check_extent=False``. A lock on the table that another session holds (an open transaction in a
    notebook, another load) is waited for at most ``lock_timeout`` seconds.
    """
    options = Options(
        table=table, schema=schema, if_exists=if_exists, crs=crs, target_crs=target_crs, primary_key=primary_key,
        spatial_index=spatial_index, make_valid=make_valid, z=z, geometry_type=geometry_type,
        null_values=tuple(null_values), check_extent=check_extent, lock_timeout=lock_timeout,
    )
    source = open_frame(data)
    plan, batches = decide(source, options, existing=existing_columns(schema, table) if if_exists == "append" else None)
    return write(plan, batches, total=source.total, progress=progress)


def write(plan: Plan, batches: Iterable[Batch], *, total: int | None, progress: bool | None, encoding: Encoding | None = None) -> LoadReport:
    """Write ``batches`` according to ``plan`` in one transaction; LoadError (nothing changed) on failure,
    also when a lock (the table, or another load of it) was not granted within the plan's lock_timeout."""
    started = time.perf_counter()
    report = LoadReport(table=plan.qualified, rows=0, columns=plan.columns, encoding=encoding)
    preparer = _Preparer(plan)
    with ThreadPoolExecutor(max_workers=1) as pool:
        prepared = _prepared_in_turn(preparer, batches, pool)  # the first batch is prepared while we connect
        feed = _Feed(prepared, report)
        try:
            with adbc_connection() as connection:
                with connection.cursor() as cursor, _progress_bar(plan, total, progress) as feed.bar:
                    writer = _Writer(cursor, plan)
                    writer.ingest(feed)
                    if (error := preparer.outside_error) is not None:
                        raise error
                    if report.rows == 0:
                        raise LoadError(f"{plan.source}: no rows to load")
                    writer.finish()
                connection.commit()
            if writer.appending:
                report.notes += _absent_note(writer)
        except adbc_driver_manager.Error as error:
            if feed.error is not None:
                raise feed.error from None  # the input's own error, which reached the driver as a broken stream
            if getattr(error, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
                raise LoadError(_waited_message(plan)) from None
            raise LoadError(f"loading {plan.qualified} failed, nothing was changed: {_database_message(error)}") from None
    report.geometry = preparer.column
    report.seconds = time.perf_counter() - started
    sentinels = ", ".join(_shown(v) for v in plan.null_values_given)
    report.notes = list(plan.notes) + report.notes + _null_notes(feed.markers, "missing-value markers (NA, NULL, . …)")
    report.notes += _null_notes(feed.sentinels, f"null_values ({sentinels})")
    return report


def existing_columns(schema: str, table: str) -> dict[str, str] | None:
    """The columns of ``schema.table`` (name -> PostgreSQL type), None when there is no such table. The
    writer reads them again under the load's lock, and the server refuses what no longer fits."""
    with adbc_connection() as connection, connection.cursor() as cursor:
        return _columns_of(cursor, schema, table) or None


def _columns_of(cursor, schema: str, table: str) -> dict[str, str]:
    cursor.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
        " WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        parameters=(_quoted(schema, table),),
    )
    return dict(cursor.fetchall())


def _absent_note(writer: _Writer) -> list[str]:
    absent = [name for name in writer.target_columns if name not in writer.schema.names]
    if not absent:
        return []
    return [f"columns of the table the data has not: {', '.join(absent)} (NULL, or their default, in the rows appended)"]


def _shown(value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else repr(value) if isinstance(value, str) else str(value)


def _null_notes(counts: dict[str, int], what: str) -> list[str]:
    """One line: the columns where ``what`` became NULL, and how many in each."""
    if not counts:
        return []
    shown = [f"{name} {count:,}" for name, count in list(counts.items())[:8]]
    more = f" and {len(counts) - 8} more columns" if len(counts) > 8 else ""
    return [f"{what} stored as NULL: {', '.join(shown)}{more}"]


def _prepared_in_turn(preparer: _Preparer, batches: Iterable[Batch], pool: ThreadPoolExecutor) -> Iterator[_Prepared]:
    """Prepared batches in order; batch n+1 is prepared (geometry checks, WKB) in a thread while n is
    copied. The first batch is submitted at once, before the first one is asked for."""
    batches = iter(batches)
    first = next(batches, None)
    pending = pool.submit(preparer.prepare, first) if first is not None else None

    def in_turn():
        nonlocal pending
        for batch in batches:
            submitted = pool.submit(preparer.prepare, batch)
            yield pending.result()
            pending = submitted
        if pending is not None:
            yield pending.result()

    return in_turn()


@dataclass
class _Prepared:
    """A batch as the Arrow table to copy, the geometry column type it was encoded for, and what was
    repaired; ``table`` is None once the load is bound to fail (coordinates outside the CRS's area)."""

    table: pa.Table | None
    column: geo.GeometryColumn | None
    batch: Batch
    repaired_rows: list[int] = field(default_factory=list)
    nulled_rows: list[int] = field(default_factory=list)
    sentinels: dict[str, int] = field(default_factory=dict)  # column -> null_values stored as NULL


class _Feed:
    """Prepared batches as Arrow record batches for a COPY, counted as they go. A COPY ends where a
    batch needs a wider geometry column (the writer widens it and starts the next); keeps the error that
    stopped the batches, since the driver only passes on its text."""

    def __init__(self, prepared: Iterator[_Prepared], report: LoadReport):
        self.prepared = prepared
        self.report = report
        self.bar: tqdm | None = None
        self.error: BaseException | None = None
        self.held: _Prepared | None = None  # the batch that ended the last COPY
        self.markers: dict[str, int] = {}
        self.sentinels: dict[str, int] = {}

    def next(self) -> _Prepared | None:
        """The next batch to copy (None at the end, or when the load is bound to fail)."""
        if self.held is not None:
            held, self.held = self.held, None
            return held
        item = next(self.prepared, None)
        if item is None or item.table is None:
            self._drain()
            return None
        return self._counted(item)

    def until_column_changes(self, first: _Prepared) -> Iterator[pa.RecordBatch]:
        """``first`` and the batches after it that were encoded for the same geometry column."""
        try:
            yield from first.table.to_batches()
            while (item := self.next()) is not None:
                if item.column != first.column:
                    self.held = item
                    return
                yield from item.table.to_batches()
        except BaseException as error:
            self.error = error
            raise

    def _drain(self) -> None:
        """Let the preparer see every remaining batch (it counts what lies outside the CRS's area)."""
        for _ in self.prepared:
            pass

    def _counted(self, item: _Prepared) -> _Prepared:
        self.report.rows += item.table.num_rows
        self.report.repaired_rows += item.repaired_rows
        self.report.nulled_rows += item.nulled_rows
        for counted, found in ((self.markers, item.batch.markers), (self.sentinels, item.sentinels)):
            for name, count in found.items():
                counted[name] = counted.get(name, 0) + count
        self.bar.update(item.table.num_rows)
        return item


class _Preparer:
    """Turns batches into the Arrow tables to copy: missing-value sentinels, the geometry rules, WKB.
    Runs in one thread, batch after batch, so the geometry column type grows in input order."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.outside = self.outside_stored = None
        geometry = plan.geometry
        if geometry is not None and geometry.area is not None:
            self.outside = extent.OutsideArea(geometry.area, f"{plan.source} column {geometry.name}")
        if geometry is not None and geometry.stored_area is not None:
            self.outside_stored = extent.OutsideArea(geometry.stored_area, f"{plan.source} column {geometry.name}", stored=True)

    @property
    def column(self) -> geo.GeometryColumn | None:
        return self.plan.geometry.typer.column if self.plan.geometry is not None else None

    def prepare(self, batch: Batch) -> _Prepared:
        """The batch as the Arrow table to copy; no database work."""
        plan = self.plan
        sentinels = dict(batch.sentinels)
        attributes = _nulls_for_sentinels(batch.attributes, plan.null_values, sentinels)
        if plan.geometry is None:
            return _Prepared(attributes, None, batch, sentinels=sentinels)
        geometries = geo.normalised(batch.geometries, z=plan.z)
        if self.outside is not None:
            self.outside.check(geometries, batch.first_row)
        if self.outside is not None and self.outside.count:
            return _Prepared(None, None, batch)  # the load will fail: only count what lies outside
        transformer = plan.geometry.transformer
        include_z = bool(shapely.has_z(geometries).any())
        if transformer is not None:
            source = geometries

            def swapped(rows):
                return geo.reprojected(geo.swapped_xy(source[rows]), transformer, include_z=include_z)

            geometries = geo.reprojected(source, transformer, include_z=include_z)
            if self.outside_stored is not None:
                self.outside_stored.check(geometries, batch.first_row, swapped=swapped, shown=source)
        if self.outside_stored is not None and self.outside_stored.count:
            return _Prepared(None, None, batch)
        plan.geometry.typer.add(geometries, batch.first_row)
        column = plan.geometry.typer.column
        prepared = geo.prepare(
            geometries, column, make_valid=plan.make_valid, where=f"{plan.source} column {column.name}", first_row=batch.first_row,
        )
        table = attributes.append_column(column.name, prepared.wkb)
        nulled = sorted(set(batch.nulled_rows) | set(prepared.nulled_rows))
        repaired = sorted((set(batch.repaired_rows) | set(prepared.repaired_rows)) - set(nulled))
        return _Prepared(table, column, batch, repaired_rows=repaired, nulled_rows=nulled, sentinels=sentinels)


    @property
    def outside_error(self) -> LoadError | None:
        for check in (self.outside, self.outside_stored):
            if check is not None and (error := check.error()) is not None:
                return error
        return None


_LOCK_NOT_AVAILABLE = "55P03"


def _load_lock_key(plan: Plan) -> str:
    return f"analysis_lib.load {plan.qualified}"


def _waited_message(plan: Plan) -> str:
    """Who holds what the load waited for: sessions with a lock on the table (a notebook's open
    transaction, say) or the advisory lock of another load of it."""
    with adbc_connection() as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT a.pid, a.usename, a.application_name, a.state,"
            " round(extract(epoch FROM now() - a.state_change))::bigint, left(a.query, 200)"
            " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.granted AND a.pid <> pg_backend_pid() AND (l.relation = to_regclass($1)"
            "  OR (l.locktype = 'advisory' AND l.objsubid = 1"
            "      AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($2, 0)))"
            " ORDER BY a.pid",
            parameters=(_quoted(plan.schema, plan.table), _load_lock_key(plan)),
        )
        holders = cursor.fetchall()
    shown = "; ".join(
        f"session {pid} (user {user}, application {application or '-'!r}, {state or 'state hidden'}"
        f"{f' for {seconds} s' if seconds is not None else ''}, last query: {' '.join((query or '').split())!r})"
        for pid, user, application, state, seconds, query in holders
    ) or "a session that has ended since"
    return (
        f"loading {plan.qualified} waited {plan.lock_timeout:g} s for a lock and gave up, nothing was changed: held by {shown}."
        " Finish that work (commit or roll back in that session, or restart its notebook's kernel), end it with"
        " SELECT pg_terminate_backend(pid), or let the load wait longer (lock_timeout=seconds, --lock-timeout)"
    )


class _Writer:
    """The statements of one load, in order: lock, check, stage, fill (widening the geometry column
    when a batch needs it), index, swap."""

    def __init__(self, cursor, plan: Plan):
        self.cursor = cursor
        self.plan = plan
        self.column: geo.GeometryColumn | None = None  # the staging table's geometry column type
        self.schema: pa.Schema | None = None
        self.target_columns: dict[str, str] | None = None
        self.staging = f"_load_{plan.table[:40]}_{uuid.uuid4().hex[:8]}"
        # every lock of this transaction, the advisory one included, is waited for at most this long
        cursor.execute(f"SET LOCAL lock_timeout = {max(1, round(plan.lock_timeout * 1000))}")
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", parameters=(_load_lock_key(plan),))
        cursor.fetchall()
        self.exists = self._table_exists()
        if self.exists and plan.if_exists == "fail":
            raise LoadError(f"table {plan.qualified} already exists; pass if_exists='replace' or 'append'")
        self.appending = self.exists and plan.if_exists == "append"
        if self.exists:
            self._probe_the_table_lock()

    def _probe_the_table_lock(self) -> None:
        """Take the lock the end of the load needs, and let it go: a session that holds the table (a
        notebook's open transaction) stops the load now, before the work, not after it."""
        mode = "ROW EXCLUSIVE" if self.appending else "ACCESS EXCLUSIVE"
        self._execute("SAVEPOINT analysis_lib_lock_probe")
        self._execute(f"LOCK TABLE {_quoted(self.plan.schema, self.plan.table)} IN {mode} MODE")
        self._execute("ROLLBACK TO SAVEPOINT analysis_lib_lock_probe")

    def ingest(self, feed: _Feed) -> None:
        """Create the staging table for the first batch and copy the batches into it, each run of batches
        with one geometry column type in one COPY (the driver encodes batch n+1 while the server stores n)."""
        first = feed.next()
        if first is None:
            return
        self.schema, self.column = first.table.schema, first.column
        self._create_staging()
        while first is not None:
            if first.column != self.column:
                self._alter_geometry(first.column)
            stream = pa.RecordBatchReader.from_batches(self.schema, feed.until_column_changes(first))
            if self.appending:
                self.cursor.adbc_ingest(self.staging, stream, mode="append", temporary=True)
            else:
                self.cursor.adbc_ingest(self.staging, stream, mode="append", db_schema_name=self.plan.schema)
            first = feed.next()

    def finish(self) -> None:
        if self.appending:
            self._insert_into_target()
        else:
            self._swap_in()

    def _alter_geometry(self, column: geo.GeometryColumn) -> None:
        name = _ident(column.name)
        table = _ident(self.staging) if self.appending else self._staging_name
        self._execute(
            f"ALTER TABLE {table} ALTER COLUMN {name} TYPE {column.sql_type} USING {geo.widening(self.column, column, name)}"
        )
        self.column = column

    def _table_exists(self) -> bool:
        self.cursor.execute("SELECT to_regclass($1) IS NOT NULL", parameters=(_quoted(self.plan.schema, self.plan.table),))
        return bool(self.cursor.fetchone()[0])

    def _create_staging(self) -> None:
        geometry_name = self.column.name if self.column is not None else None
        definitions = [f"{_ident(f.name)} {_pg_type(f, self.plan.source)}" for f in self.schema if f.name != geometry_name]
        if self.column is not None:
            definitions.append(f"{_ident(self.column.name)} {self.column.sql_type}")
        if self.appending:
            self._check_append_columns()
            # a temporary table: rows reach the target in one INSERT, with PostgreSQL's own casts
            self._execute(f"CREATE TEMP TABLE {_ident(self.staging)} ({', '.join(definitions)}) ON COMMIT DROP")
        else:
            self._execute(f"CREATE TABLE {self._staging_name} ({', '.join(definitions)})")

    @property
    def _column_names(self) -> list[str]:
        return list(self.schema.names)

    @property
    def _staging_name(self) -> str:
        return _quoted(self.plan.schema, self.staging)

    def _check_append_columns(self) -> None:
        self.target_columns = _columns_of(self.cursor, self.plan.schema, self.plan.table)
        missing = [name for name in self._column_names if name not in self.target_columns]
        if missing:
            raise LoadError(
                f"cannot append to {self.plan.qualified}: it has no column {', '.join(missing)}"
                f" (its columns: {', '.join(self.target_columns)})"
            )
        if self.column is not None:
            target_type = self.target_columns[self.column.name]
            srid = target_type.rstrip(")").rsplit(",", 1)[-1].strip() if "," in target_type else None
            if srid is not None and srid != str(self.column.srid):
                raise LoadError(
                    f"cannot append to {self.plan.qualified}: column {self.column.name} is {target_type},"
                    f" the data is in EPSG:{self.column.srid}; pass target_crs='EPSG:{srid}'"
                )

    def _insert_into_target(self) -> None:
        names = self._column_names
        selected = ", ".join(self._appended(name) for name in names)
        self._execute(
            f"INSERT INTO {_quoted(self.plan.schema, self.plan.table)} ({', '.join(map(_ident, names))})"
            f" SELECT {selected} FROM {_ident(self.staging)}"
        )
        self._execute(f"ANALYZE {_quoted(self.plan.schema, self.plan.table)}")

    def _appended(self, name: str) -> str:
        """A staging column for the target's column: the plan gave it the target's type where it has a
        rule for it, so PostgreSQL's assignment casts (which refuse what does not fit, where an explicit
        varchar(n) cast would cut) do the rest; text meets other types (jsonb, uuid) by their parsers;
        single geometries become multi for a Multi target."""
        target_type = self.target_columns[name]
        if self.column is not None and name == self.column.name:
            column = _ident(name)
            if target_type.startswith("geometry(Multi"):
                column = f"ST_Multi({column})"
            elif target_type.startswith("geometry(Geometry"):  # one-part multis as single, as in every Geometry column
                column = f"CASE WHEN GeometryType({column}) LIKE 'MULTI%' AND ST_NumGeometries({column}) = 1 THEN ST_GeometryN({column}, 1) ELSE {column} END"
            return f"({column})::{target_type}"
        arrow_type = self.schema.field(name).type
        staged_as_text = pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
        if staged_as_text and not target_type.startswith(("text", "character")):
            return f"{_ident(name)}::{target_type}"
        return _ident(name)

    def _swap_in(self) -> None:
        plan = self.plan
        for name, pg_type in sorted(plan.cast_after_load.items()):
            self._execute(f"ALTER TABLE {self._staging_name} ALTER COLUMN {_ident(name)} TYPE {pg_type} USING {_ident(name)}::{pg_type}")
        if plan.primary_key:
            self._add_primary_key()
        index = None
        if self.column is not None and plan.spatial_index:
            index = _index_name(self.staging, self.column.name)
            self._execute(f"CREATE INDEX {_ident(index)} ON {self._staging_name} USING gist ({_ident(self.column.name)})")
        self._execute(f"ANALYZE {self._staging_name}")
        if self.exists:
            self._execute(f"DROP TABLE {_quoted(plan.schema, plan.table)}")
        self._execute(f"ALTER TABLE {self._staging_name} RENAME TO {_ident(plan.table)}")
        table = _quoted(plan.schema, plan.table)
        if index:
            self._execute(f"ALTER INDEX {_quoted(plan.schema, index)} RENAME TO {_ident(_index_name(plan.table, self.column.name))}")
        if plan.primary_key:
            self._execute(f"ALTER TABLE {table} RENAME CONSTRAINT {_ident(self.staging + '_pkey')} TO {_ident(plan.table[:58] + '_pkey')}")

    def _add_primary_key(self) -> None:
        names = self._column_names
        missing = [name for name in self.plan.primary_key if name not in names]
        if missing:
            raise LoadError(f"primary_key: no column {', '.join(missing)} in the data (columns: {', '.join(names)})")
        self._execute(
            f"ALTER TABLE {self._staging_name} ADD CONSTRAINT {_ident(self.staging + '_pkey')}"
            f" PRIMARY KEY ({', '.join(map(_ident, self.plan.primary_key))})"
        )

    def _execute(self, statement: str) -> None:
        self.cursor.execute(statement)


def _progress_bar(plan: Plan, total: int | None, progress: bool | None):
    """A rows/s bar on a terminal or in a notebook (a kernel's stderr is no TTY, but it shows text)."""
    if progress is None:
        progress = sys.stderr.isatty() or _in_notebook_kernel()
    return tqdm(total=total, desc=plan.qualified, unit=" rows", unit_scale=True, disable=not progress)


def _in_notebook_kernel() -> bool:
    """True inside a Jupyter kernel (not merely with ipykernel imported, as pytest's nbval plugin does)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython else None
    return shell is not None and hasattr(shell, "kernel")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quoted(schema: str, table: str) -> str:
    return f"{_ident(schema)}.{_ident(table)}"


def _index_name(table: str, column: str) -> str:
    return f"{table}_{column}"[:58] + "_gist"


_PG_TYPES = [
    (pa.types.is_boolean, "boolean"),
    (pa.types.is_int8, "smallint"),
    (pa.types.is_int16, "smallint"),
    (pa.types.is_uint8, "smallint"),
    (pa.types.is_int32, "integer"),
    (pa.types.is_uint16, "integer"),
    (pa.types.is_int64, "bigint"),
    (pa.types.is_uint32, "bigint"),
    (pa.types.is_uint64, "numeric"),
    (pa.types.is_float16, "real"),
    (pa.types.is_float32, "real"),
    (pa.types.is_float64, "double precision"),
    (pa.types.is_decimal, "numeric"),
    (pa.types.is_string, "text"),
    (pa.types.is_large_string, "text"),
    (pa.types.is_binary, "bytea"),
    (pa.types.is_large_binary, "bytea"),
    (pa.types.is_date32, "date"),
    (pa.types.is_time, "time"),
    (pa.types.is_duration, "interval"),
    (pa.types.is_null, "text"),
]


def _pg_type(field: pa.Field, source: str) -> str:
    arrow_type = field.type
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return _pg_type(pa.field(field.name, arrow_type.value_type), source) + "[]"
    for test, pg_type in _PG_TYPES:
        if test(arrow_type):
            return pg_type
    raise LoadError(f"{source}: column {field.name} has type {arrow_type}, which has no PostgreSQL column type here")


def _nulls_for_sentinels(attributes: pa.Table, null_values: tuple, counts: dict[str, int]) -> pa.Table:
    """Number columns with the sentinels (e.g. -99999999) as NULL, counted per column into ``counts``;
    integers compared as integers, so ids beyond float precision are never mistaken for one."""
    if not null_values:
        return attributes
    for index, field_ in enumerate(attributes.schema):
        if pa.types.is_integer(field_.type):
            sentinels = [int(v) for v in null_values if float(v).is_integer()]
        elif pa.types.is_floating(field_.type):
            sentinels = [float(v) for v in null_values]
        else:
            continue
        try:
            value_set = pa.array(sentinels, type=field_.type)
        except (pa.ArrowInvalid, OverflowError):  # a sentinel the column's type cannot hold cannot occur in it
            value_set = pa.array([s for s in sentinels if _fits_type(s, field_.type)], type=field_.type)
        column = attributes.column(index)
        sentinel = pc.is_in(column, value_set=value_set)
        if found := pc.sum(sentinel).as_py():
            counts[field_.name] = counts.get(field_.name, 0) + found
            attributes = attributes.set_column(index, field_, pc.if_else(sentinel, pa.scalar(None, field_.type), column))
    return attributes


def _fits_type(value, arrow_type: pa.DataType) -> bool:
    try:
        pa.array([value], type=arrow_type)
    except (pa.ArrowInvalid, OverflowError):
        return False
    return True


def _database_message(error: adbc_driver_manager.Error) -> str:
    text = str(error)
    for line in text.splitlines():
        if "ERROR:" in line:
            return line.split("ERROR:", 1)[1].strip() + _detail(text)
    return text.splitlines()[0]


def _detail(text: str) -> str:
    details = [line.strip() for line in text.splitlines() if line.strip().startswith(("DETAIL:", "CONTEXT:"))]
    return (" (" + "; ".join(details) + ")") if details else ""


