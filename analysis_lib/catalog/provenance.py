"""Where every table came from, kept in the database itself (schema ``catalog``): a row per build and
a row per table built, written in the transaction that swaps the table in, and the same in one line
as the table's COMMENT, which QGIS and psql show. The read-only role reads it like any schema."""

from __future__ import annotations

import getpass
import json
import subprocess
from pathlib import Path

from .sql import ident, literal, quoted, run
from .. import __version__
from .fingerprints import FileState, Fingerprint
from .plan import Recorded, Step

SCHEMA = "catalog"
STAGING_SCHEMA = "catalog_staging"

_DDL = """
CREATE SCHEMA IF NOT EXISTS catalog;
CREATE SCHEMA IF NOT EXISTS catalog_staging;
COMMENT ON SCHEMA catalog IS 'Where every table of datasets.yml came from (analysis-lib build; layout 1)';  -- see _LAYOUT
COMMENT ON SCHEMA catalog_staging IS 'Tables analysis-lib build is making; they replace their table once checked';
CREATE TABLE IF NOT EXISTS catalog.builds (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished timestamptz,
    git_commit text,
    git_dirty boolean,
    os_user text,
    db_user text NOT NULL DEFAULT current_user,
    workbench_version text NOT NULL,
    selection text NOT NULL,
    result text NOT NULL DEFAULT 'running' CHECK (result IN ('running', 'succeeded', 'failed', 'killed')),
    summary jsonb
);
CREATE TABLE IF NOT EXISTS catalog.tables (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    build_id bigint NOT NULL REFERENCES catalog.builds,
    entry text NOT NULL,
    schema_name text NOT NULL,
    table_name text NOT NULL,
    kind text NOT NULL,
    source_path text,
    source_url text,
    sha256 text,
    size bigint,
    mtime_ns bigint,
    companions jsonb NOT NULL DEFAULT '[]',
    options jsonb NOT NULL,
    sql text,
    inputs jsonb NOT NULL,
    fingerprint text NOT NULL,
    components jsonb NOT NULL,
    checks_digest text NOT NULL,
    rows bigint,
    columns jsonb NOT NULL,
    srid integer,
    geometry_type text,
    extent double precision[],
    geometries jsonb NOT NULL,
    notes jsonb NOT NULL DEFAULT '[]',
    rechecked boolean NOT NULL DEFAULT false,  -- only checked again by this build (built_at: when it was made)
    built_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    seconds double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS tables_by_table ON catalog.tables (schema_name, table_name, id DESC);
CREATE TABLE IF NOT EXISTS catalog.file_hashes (
    path text PRIMARY KEY,
    size bigint NOT NULL,
    mtime_ns bigint NOT NULL,
    inode bigint NOT NULL,
    ctime_ns bigint NOT NULL,
    sha256 text NOT NULL,
    hashed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE catalog.file_hashes IS 'Each source file as last hashed: a file whose time alone changed is hashed once';
CREATE OR REPLACE VIEW catalog.current AS
    SELECT DISTINCT ON (schema_name, table_name) * FROM catalog.tables ORDER BY schema_name, table_name, id DESC;
COMMENT ON VIEW catalog.current IS 'The last build of every table the catalog made';
"""

BUILD_LOCK = "analysis_lib.catalog.build"
_KIND = {"table": "TABLE", "view": "VIEW", "materialized view": "MATERIALIZED VIEW"}  # materialized -> the SQL word (file entries: table)


_LAYOUT = "(analysis-lib build; layout 1)"  # bump with the DDL (adding ALTER … IF NOT EXISTS for older layouts)


def ensure_schema(conn) -> None:
    """The catalog schema as this version writes it (made once; a no-op build only reads its comment)."""
    said = run(conn, "SELECT obj_description(to_regnamespace('catalog'), 'pg_namespace')").scalar()
    if not (said or "").endswith(_LAYOUT):
        run(conn, _DDL)


def recorded(conn) -> list[Recorded]:
    """The last build of every table, as recorded (nothing when no build ran yet)."""
    if run(conn, "SELECT to_regclass('catalog.current')").scalar() is None:
        return []
    rows = run(
        conn,
        "SELECT entry, schema_name, table_name, components, checks_digest, source_path, size, mtime_ns, sha256, build_id,"
        " companions, columns FROM catalog.current"
    ).all()
    return [
        Recorded(entry, schema, table, Fingerprint(components, checks),
                 FileState(path, size, mtime, sha) if path and size is not None else None, build_id,
                 tuple(FileState(**c) for c in companions), columns)
        for entry, schema, table, components, checks, path, size, mtime, sha, build_id, companions, columns in rows
    ]


def file_hashes(conn) -> dict[str, FileState]:
    if run(conn, "SELECT to_regclass('catalog.file_hashes')").scalar() is None:
        return {}
    rows = run(conn, "SELECT path, size, mtime_ns, sha256, inode, ctime_ns FROM catalog.file_hashes").all()
    return {row[0]: FileState(*row) for row in rows}


def remember_hashes(conn, states: list[FileState]) -> None:
    """The files this build hashed (or found unchanged), so the next status need not hash them."""
    if not states:
        return
    run(conn, "INSERT INTO catalog.file_hashes AS known (path, size, mtime_ns, sha256, inode, ctime_ns) VALUES (%s, %s, %s, %s, %s, %s)"
              " ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256,"
              " inode = excluded.inode, ctime_ns = excluded.ctime_ns, hashed_at = clock_timestamp()"
              " WHERE (known.size, known.mtime_ns, known.sha256, known.inode, known.ctime_ns)"
              " IS DISTINCT FROM (excluded.size, excluded.mtime_ns, excluded.sha256, excluded.inode, excluded.ctime_ns)",
        [(s.path, s.size, s.mtime_ns, s.sha256, s.inode, s.ctime_ns) for s in states])


def existing_tables(conn) -> dict[tuple[str, str], tuple[str | None, dict]]:
    """Every table and view (schema, name) with its COMMENT and its columns (name -> type)."""
    rows = run(
        conn,
        "SELECT n.nspname, c.relname, obj_description(c.oid, 'pg_class'),"
        " coalesce((SELECT jsonb_object_agg(a.attname, format_type(a.atttypid, a.atttypmod)) FROM pg_attribute a"
        "           WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '{}')"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'catalog_staging')"
    ).all()
    return {(schema, name): (comment, columns) for schema, name, comment, columns in rows}


def start_build(conn, root: Path, selection: str, recipes: list[str]) -> int:
    """``recipes``: the files besides datasets.yml the catalog is made of (SQL, Amsterdam Schema definitions)."""
    commit, dirty = _git_state(root, ["datasets.yml", *recipes])
    return run(
        conn,
        "INSERT INTO catalog.builds (git_commit, git_dirty, os_user, workbench_version, selection)"
        " VALUES (%(commit)s, %(dirty)s, %(user)s, %(version)s, %(selection)s) RETURNING id",
        {"commit": commit, "dirty": dirty, "user": _os_user(), "version": __version__, "selection": selection},
    ).scalar_one()


def finish_build(conn, build_id: int, result: str, summary: dict) -> None:
    run(
        conn,
        "UPDATE catalog.builds SET finished = clock_timestamp(), result = %(result)s, summary = CAST(%(summary)s AS jsonb)"
        " WHERE id = %(id)s",
        {"id": build_id, "result": result, "summary": json.dumps(summary)},
    )


def mark_killed_builds(conn) -> int:
    """Builds still 'running' while this one holds the build lock were killed (the lock died with them)."""
    return run(conn, "UPDATE catalog.builds SET result = 'killed' WHERE result = 'running'").rowcount


def record_table(conn, step: Step, build_id: int, facts: dict, seconds: float) -> None:
    """The table's provenance row and COMMENT, in the caller's transaction (the one that swaps it in)."""
    entry, file = step.entry, step.file
    main = facts["geometries"][0] if facts["geometries"] else {}
    run(
        conn,
        "INSERT INTO catalog.tables (build_id, entry, schema_name, table_name, kind, source_path, source_url, sha256, size,"
        " mtime_ns, companions, options, sql, inputs, fingerprint, components, checks_digest, rows, columns, srid, geometry_type,"
        " extent, geometries, notes, seconds) VALUES (%(build)s, %(entry)s, %(schema)s, %(table)s, %(kind)s, %(path)s, %(url)s,"
        " %(sha)s, %(size)s, %(mtime)s, CAST(%(companions)s AS jsonb), CAST(%(options)s AS jsonb), %(sql)s,"
        " CAST(%(inputs)s AS jsonb), %(fingerprint)s, CAST(%(components)s AS jsonb), %(checks)s, %(rows)s,"
        " CAST(%(columns)s AS jsonb), %(srid)s, %(geometry_type)s, %(extent)s, CAST(%(geometries)s AS jsonb),"
        " CAST(%(notes)s AS jsonb), %(seconds)s)",
        {
            "build": build_id, "entry": step.name, "schema": step.schema, "table": step.table,
            "kind": entry.materialized if entry.sql else "table",
            "path": file.path if file else None, "url": entry.url, "sha": file.sha256 if file else None,
            "size": file.size if file else None, "mtime": file.mtime_ns if file else None,
            "companions": json.dumps([c.__dict__ for c in step.companions]),
            "options": json.dumps(entry.model_dump(mode="json", by_alias=True, exclude_defaults=True, exclude={"headers"})),
            "sql": step.query.text if step.query else None, "inputs": json.dumps(list(step.inputs)),
            "fingerprint": step.fingerprint.data, "components": json.dumps(step.fingerprint.components),
            "checks": step.fingerprint.checks, "rows": facts["rows"], "columns": json.dumps(facts["columns"]),
            "srid": main.get("srid"), "geometry_type": main.get("type"), "extent": main.get("extent"),
            "geometries": json.dumps(facts["geometries"]), "notes": json.dumps(facts.get("notes", [])), "seconds": seconds,
        },
    )
    run(conn, f"COMMENT ON {_KIND[entry.materialized]} {quoted(step.schema, step.table)} IS {literal(comment(step, build_id, facts))}")


def recorded_facts(conn, schema: str, table: str) -> dict:
    row = run(conn, "SELECT rows, columns FROM catalog.current WHERE schema_name = %s AND table_name = %s", (schema, table)).one()
    return {"rows": row[0], "columns": row[1]}


def record_recheck(conn, step: Step, build_id: int, seconds: float) -> None:
    """The table as it was, now checked by this build's checks: a copy of its last row (when it was
    made, from what) with this build, the new checks digest and ``rechecked``, and the COMMENT naming
    this build."""
    copied = ("entry, schema_name, table_name, kind, source_path, source_url, sha256, size, mtime_ns, companions, sql, inputs,"
              " fingerprint, components, rows, columns, srid, geometry_type, extent, geometries, notes, built_at")
    options = json.dumps(step.entry.model_dump(mode="json", by_alias=True, exclude_defaults=True, exclude={"headers"}))
    old = run(
        conn,
        f"INSERT INTO catalog.tables (build_id, options, checks_digest, seconds, rechecked, {copied})"
        f" SELECT %(build)s, CAST(%(options)s AS jsonb), %(checks)s, %(seconds)s, true, {copied} FROM catalog.current"
        " WHERE schema_name = %(schema)s AND table_name = %(table)s RETURNING rows",
        {"build": build_id, "options": options, "checks": step.fingerprint.checks, "seconds": seconds,
         "schema": step.schema, "table": step.table},
    ).one()
    text = comment(step, build_id, {"rows": old[0]})
    run(conn, f"COMMENT ON {_KIND[step.entry.materialized]} {quoted(step.schema, step.table)} IS {literal(text)}")


def comment(step: Step, build_id: int, facts: dict) -> str:
    entry = step.entry
    if entry.sql:
        origin = f"{entry.materialized} from {entry.sql}" + (f" over {', '.join(step.inputs)}" if step.inputs else "")
    else:
        origin = f"from {step.file.path if step.file else entry.url}" + (f" ({entry.member})" if entry.member else "")
        if step.file:
            origin += f" sha256 {step.file.sha256[:12]}"
    rows = f", {facts['rows']:,} rows" if facts["rows"] is not None else ""
    return f"datasets.yml entry {step.name}: {origin}{rows}; analysis-lib build {build_id} (see catalog.current)"


def facts_of(conn, schema: str, table: str, *, count_rows: bool) -> dict:
    """Rows, columns and types, and each geometry column's SRID, type and extent."""
    qualified = quoted(schema, table)
    columns = dict(run(
        conn,
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = %s::regclass"
        " AND attnum > 0 AND NOT attisdropped ORDER BY attnum", (qualified,)).all())
    geometries = []
    for name, pg_type in columns.items():
        if not pg_type.startswith("geometry"):
            continue
        row = run(
            conn,
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent({ident(name)}) AS e FROM {qualified}) s").one()
        srid, geometry_type = _declared(pg_type)
        geometries.append({"column": name, "srid": srid, "type": geometry_type, "extent": list(row) if row[0] is not None else None})
    rows = run(conn, f"SELECT count(*) FROM {qualified}").scalar() if count_rows else None
    return {"rows": rows, "columns": columns, "geometries": geometries}


def _declared(pg_type: str) -> tuple[int | None, str | None]:
    inside = pg_type.partition("(")[2].rstrip(")")
    if not inside:
        return None, None
    kind, _, srid = inside.partition(",")
    return (int(srid) if srid.strip() else None), kind.strip()


def _git_state(root: Path, recipes: list[str]) -> tuple[str | None, bool | None]:
    """HEAD, and whether the tree differs from it anywhere the commit would not reproduce: a tracked
    file changed, or a recipe the catalog uses that is not committed at all."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)

    try:
        commit = git("rev-parse", "HEAD")
        if commit.returncode != 0:
            return None, None
        tracked = git("status", "--porcelain", "--untracked-files=no")
        untracked = git("status", "--porcelain", "--untracked-files=all", "--", *recipes)
        if tracked.returncode != 0 or untracked.returncode != 0:
            return commit.stdout.strip(), None
        return commit.stdout.strip(), bool(tracked.stdout.strip() or untracked.stdout.strip())
    except (OSError, subprocess.TimeoutExpired):
        return None, None


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None





