"""Making one entry's table: a file through the loader (``import_file``) into catalog_staging, a query
with CREATE TABLE AS; then, in one transaction, its checks, the swap (dependent views made again) and
its provenance. A failure at any point leaves the old table, its views and its provenance as they were."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
import zipfile
from pathlib import Path

import sqlalchemy as sa

from ..db import engine
from ..errors import AnalysisLibError
from . import amsterdam_schema, provenance, swap
from .checks import CheckFailed, run_checks
from .downloads import fetch
from .fingerprints import file_state
from .plan import MISSING, Step, source_path
from ..errors import CatalogError
from .sql import ident, quoted, run

STAGING = provenance.STAGING_SCHEMA
INTERIM = Path("data/interim")


def make_from_file(step: Step, root: Path, staging: str, build_id: int, started: float, recipes: dict) -> dict:
    from ..files import file_columns, import_file  # the loader, by its public functions only

    entry = step.entry
    path = _source_file(step, root)
    options = entry.loader_options()
    definition = amsterdam_schema.read_definition(root / entry.amsterdam_schema, entry.amsterdam_schema) if entry.amsterdam_schema else None
    conformance = None
    if definition is not None:
        reading = {k: options[k] for k in ("layer", "encoding", "separator", "skip_rows", "skip_rows_after_header")}
        present = file_columns(path, **reading)
        conformance = amsterdam_schema.conformance(definition, present, entry, source=f"{step.name} ({path.name})")
        options.update(conformance.loader_options)
    try:
        with _said_of_the_entry(step, staging):
            report = import_file(path, staging, schema=STAGING, if_exists="fail", lock_timeout=entry.lock_timeout, progress=False,
                                 **options)
            _unchanged_since_hashed(step, root)
            with engine().begin() as conn:
                _lock_timeout(conn, entry.lock_timeout)
                _recipes_search_path(conn, step)  # for its sql: checks, as a re-check runs them
                relation = quoted(STAGING, staging)
                if conformance is not None:
                    conformance.apply(conn, relation)
                checks = list(entry.checks) + (conformance.checks if conformance else [])
                keyed = (lambda: conformance.add_key(conn, relation)) if conformance is not None else None
                notes = _report_notes(report) + (conformance.notes if conformance else [])
                return _check_and_swap(conn, step, staging, "TABLE", checks, build_id, started, recipes, after_checks=keyed, notes=notes)
    finally:
        _drop_staging(staging, "TABLE")


def _report_notes(report) -> list[str]:
    """What the loader said beside the rows (lines skipped, markers made NULL, columns renamed)."""
    lines = str(report).splitlines()[1:]
    return [line.strip() for line in lines if not line.strip().startswith("geometry column")]


@contextlib.contextmanager
def _said_of_the_entry(step: Step, staging: str | None):
    """Errors that name the staging table are about the entry's table: say so, the loader's hints in
    datasets.yml's words, and that nothing was changed."""
    try:
        yield
    except (AnalysisLibError, sa.exc.DBAPIError) as error:
        text = str(error.orig).strip().splitlines()[0] if isinstance(error, sa.exc.DBAPIError) else str(error)
        if staging:
            text = text.replace(f"{STAGING}.{staging}", step.qualified).replace(staging, step.table)
        if isinstance(error, CheckFailed):  # failing rows are data, not hints
            raise CheckFailed(text) from None
        text = _in_catalog_words(text)
        unchanged = "was not made" if step.state == MISSING else "was left as it was"
        raise CatalogError(f"{text}; {step.qualified} {unchanged}") from None


_OPTION_SPELLING = re.compile(r"\b(pass |give )?([a-z_]+)=(True|False|'[^']*'|\"[^\"]*\"|[\w.:-]+)( \(--[a-z-]+(?: [A-Z]+)?\))?")


def _in_catalog_words(text: str) -> str:
    """The loader's hints (``pass crs='EPSG:28992'``, ``skip_bad_lines=True (--skip-bad-lines)``) as
    datasets.yml spells them: ``crs: EPSG:28992``, ``skip_bad_lines: true``."""
    from .spec import Entry

    def spelled(match: re.Match) -> str:
        name, value = match.group(2), match.group(3)
        if name not in Entry.model_fields:
            return match.group(0)
        value = {"True": "true", "False": "false"}.get(value, value.strip("'\""))
        return f"{'give ' if match.group(1) else ''}{name}: {value}"

    return _OPTION_SPELLING.sub(spelled, text)


def make_derived(step: Step, staging: str, build_id: int, started: float, recipes: dict) -> dict:
    entry = step.entry
    with _said_of_the_entry(step, staging), engine().begin() as conn:
        _lock_timeout(conn, entry.lock_timeout)
        _recipes_search_path(conn, step)
        if entry.materialized == "view":
            return _replace_view(conn, step, build_id, started, recipes)
        kind = "TABLE" if entry.materialized == "table" else "MATERIALIZED VIEW"
        relation = quoted(STAGING, staging)
        run(conn, f"CREATE {kind} {relation} AS {_recipe(step)}")
        for column in _geometry_columns(conn, relation):
            run(conn, f"CREATE INDEX {ident(swap.gist_index_name(staging, column))} ON {relation} USING gist ({ident(column)})")
        run(conn, f"ANALYZE {relation}")
        return _check_and_swap(conn, step, staging, kind, entry.checks, build_id, started, recipes)


def _recipes_search_path(conn, step: Step) -> None:
    """Names without a schema: the entry's own schema's tables, then public's (as plan._inputs reads them)."""
    run(conn, f"SET LOCAL search_path TO {ident(step.schema)}, public")


def _recipe(step: Step) -> str:
    return step.query.text.strip().rstrip(";") + "\n"  # a recipe may end in a -- comment


def _check_and_swap(conn, step: Step, staging: str, kind: str, checks, build_id: int, started: float, recipes: dict,
                    after_checks=None, notes=()) -> dict:
    relation = quoted(STAGING, staging)
    facts = provenance.facts_of(conn, STAGING, staging, count_rows=True)
    facts["notes"] = list(notes)
    reads_other_tables = any(check.sql for check in checks)
    if reads_other_tables:  # a check that reads a table another worker swaps must not hold it while waiting
        swap.one_swap_at_a_time(conn, _ms(step))
    _checked(conn, step, checks, relation, facts["columns"])
    if after_checks is not None:
        after_checks()
    if not reads_other_tables:
        swap.one_swap_at_a_time(conn, _ms(step))
    old = swap.kind_of(conn, step.schema, step.table)
    dependents = swap.dependent_views(conn, step.schema, step.table) if old else []
    extras = swap.table_extras(conn, step.schema, step.table) if old else None
    swap.drop_views(conn, dependents)
    run(conn, f"CREATE SCHEMA IF NOT EXISTS {ident(step.schema)}")
    swap.put_in_place(conn, STAGING, staging, kind, step.schema, step.table)
    if extras is not None:
        swap.restore_extras(conn, step.schema, step.table, extras)
    swap.make_views(conn, dependents, recipes, build_id)
    provenance.record_table(conn, step, build_id, facts, time.perf_counter() - started)
    return facts


def _replace_view(conn, step: Step, build_id: int, started: float, recipes: dict) -> dict:
    target = quoted(step.schema, step.table)
    swap.one_swap_at_a_time(conn, _ms(step))
    old = swap.kind_of(conn, step.schema, step.table)
    dependents = swap.dependent_views(conn, step.schema, step.table) if old else []
    extras = swap.table_extras(conn, step.schema, step.table) if old else None
    swap.drop_views(conn, dependents)
    if old:
        run(conn, f"DROP {old} {target}")
    run(conn, f"CREATE SCHEMA IF NOT EXISTS {ident(step.schema)}")
    run(conn, f"CREATE VIEW {target} AS {_recipe(step)}")
    facts = provenance.facts_of(conn, step.schema, step.table, count_rows=False)
    facts["geometries"] = [dict(g, extent=None) for g in facts["geometries"]]  # a view's extent would read all it reads
    _checked(conn, step, step.entry.checks, target, facts["columns"])
    if extras is not None:
        swap.restore_extras(conn, step.schema, step.table, extras)
    swap.make_views(conn, dependents, recipes, build_id)
    provenance.record_table(conn, step, build_id, facts, time.perf_counter() - started)
    return facts


def recheck(step: Step, build_id: int) -> dict | None:
    """Only the checks changed: run them on the table as it is and record that they now pass, without
    making it again (what depends on it is untouched). None when the table's rows or columns are not
    what the build recorded (changed by hand): then it is made again."""
    started = time.perf_counter()
    with _said_of_the_entry(step, None), engine().begin() as conn:
        _lock_timeout(conn, step.entry.lock_timeout)
        _recipes_search_path(conn, step)
        target = quoted(step.schema, step.table)
        swap.one_swap_at_a_time(conn, _ms(step))
        facts = provenance.facts_of(conn, step.schema, step.table, count_rows=step.entry.materialized != "view")
        recorded = provenance.recorded_facts(conn, step.schema, step.table)
        if (facts["rows"], facts["columns"]) != (recorded["rows"], recorded["columns"]):
            return None
        _checked(conn, step, step.entry.checks, target, facts["columns"])
        provenance.record_recheck(conn, step, build_id, time.perf_counter() - started)
        facts["notes"] = ["checked again (the checks changed); the data is that of build "
                          f"{step.recorded.build_id if step.recorded else '?'}"]
        return facts


def _ms(step: Step) -> int:
    return int(step.entry.lock_timeout * 1000)


def _checked(conn, step: Step, checks, relation: str, columns: dict) -> None:
    failures = run_checks(conn, checks, relation, columns)
    if failures:
        listed = "\n  ".join(failures)
        state = "was not made" if step.state == MISSING else "was left as it was"
        raise CheckFailed(f"{len(failures)} check(s) failed; {step.qualified} {state}:\n  {listed}")


def _geometry_columns(conn, relation: str) -> list[str]:
    return run(
        conn,
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped"
        " AND atttypid = 'geometry'::regtype ORDER BY attnum", (relation,)).scalars().all()


def _lock_timeout(conn, seconds: float) -> None:
    run(conn, f"SET LOCAL lock_timeout = '{int(seconds * 1000)}ms'")


def _drop_staging(staging: str, kind: str) -> None:
    with engine().begin() as conn:
        run(conn, f"DROP {kind} IF EXISTS {quoted(STAGING, staging)}")


def _source_file(step: Step, root: Path) -> Path:
    """The file to import: the download (fetched when missing, checked against its pin) or the file
    under data/raw; a zip's member extracted into data/interim."""
    entry = step.entry
    if entry.url is not None:
        fetched = fetch(step.name, entry, root)
        relative = str(fetched.path.relative_to(root))
        step.file = file_state(fetched.path, relative, None if fetched.action == "downloaded" else _recorded_file(step, relative))
        if step.file.sha256 != entry.sha256:
            raise CatalogError(f"{relative} changed since it was fetched (sha256 {step.file.sha256}, pinned {entry.sha256})")
    path = source_path(root, entry)
    if entry.member is None:
        return path
    return _extracted(path, entry.member, root / INTERIM / step.name)


def _recorded_file(step: Step, relative: str):
    recorded = step.recorded.file if step.recorded else None
    return recorded if recorded is not None and recorded.path == relative else None


def _extracted(archive: Path, member: str, folder: Path) -> Path:
    try:
        with zipfile.ZipFile(archive) as opened:
            try:
                info = opened.getinfo(member)
            except KeyError:
                names = [n for n in opened.namelist() if not n.endswith("/")]
                raise CatalogError(f"{archive}: no member {member!r} (members: {', '.join(names[:20])})") from None
            shutil.rmtree(folder, ignore_errors=True)  # parts of an earlier version (an old .prj, .cpg) must not be read
            folder.mkdir(parents=True)
            for name in [info.filename, *_sidecars(opened, info.filename)]:
                partial = folder / f".{Path(name).name}.partial"
                with opened.open(name) as source, partial.open("wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
                os.replace(partial, folder / Path(name).name)
            return folder / Path(info.filename).name
    except zipfile.BadZipFile:
        raise CatalogError(f"{archive}: not a zip file (member {member!r} was asked for)") from None


def _sidecars(opened: zipfile.ZipFile, member: str) -> list[str]:
    """A shapefile's .dbf, .shx, .prj and .cpg beside the .shp asked for."""
    stem = member.rsplit(".", 1)[0]
    if not member.lower().endswith(".shp"):
        return []
    return [n for n in opened.namelist() if n.rsplit(".", 1)[0] == stem and n != member]


def _unchanged_since_hashed(step: Step, root: Path) -> None:
    """The file read must be the file hashed: one changed during the load would get the wrong provenance."""
    for state in (step.file, *step.companions) if step.file else ():
        status = (root / state.path).stat()
        if (status.st_size, status.st_mtime_ns) != (state.size, state.mtime_ns):
            raise CatalogError(f"{state.path} changed while it was loaded; build again")

