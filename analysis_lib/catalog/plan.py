"""The build plan: every entry in dependency order (graphlib), with its fingerprint now, and whether
its table is up to date, stale (and why), missing or not the catalog's."""

from __future__ import annotations

import graphlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CatalogError
from . import cache
from . import fingerprints as fp
from .queries import Query, QueryProblem, parse_query, read_query
from .recipes import RAW_DATA, Declared, Recipe, text_of

if TYPE_CHECKING:
    from .spec import Entry

UP_TO_DATE, STALE, MISSING, UNMANAGED, BROKEN = "up to date", "stale", "missing", "not the catalog's", "cannot be built"


@dataclass(frozen=True)
class Recorded:
    """What the last build of a table wrote into catalog.tables."""

    entry: str
    schema: str
    table: str
    fingerprint: fp.Fingerprint
    file: fp.FileState | None
    build_id: int
    companions: tuple[fp.FileState, ...] = ()  # a shapefile's .dbf, .shx, .prj, .cpg
    columns: dict | None = None  # name -> type, as built

    @property
    def comment_mark(self) -> str:
        """What the table's COMMENT says while it is the table this build made (see provenance.comment)."""
        return f"analysis-lib build {self.build_id} (see catalog.current)"


@dataclass
class Step:
    name: str
    recipe: Recipe
    declared: Declared = field(repr=False)
    inputs: tuple[str, ...]  # entries it reads
    outside: tuple[str, ...]  # relations its SQL reads that the catalog does not make
    state: str = UP_TO_DATE
    reasons: list[str] = field(default_factory=list)
    fingerprint: fp.Fingerprint | None = None
    file: fp.FileState | None = None  # the source file as hashed now
    companions: tuple[fp.FileState, ...] = ()  # a shapefile's other files, as hashed now
    query: Query | None = None
    recorded: Recorded | None = None
    changed_outside: bool = False  # the table is not the one the catalog recorded (replaced, altered, another's)

    @property
    def schema(self) -> str:
        return self.recipe.schema

    @property
    def table(self) -> str:
        return self.recipe.table

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def entry(self) -> Entry:
        """The whole entry, as pydantic validates it: what making the table takes (planning does not)."""
        return self.declared.entries[self.name]

    @property
    def needs_build(self) -> bool:
        return self.state != UP_TO_DATE


@dataclass
class Plan:
    steps: dict[str, Step]  # in dependency order
    dependents: dict[str, set[str]]
    orphans: list[Recorded]  # tables the catalog made that no entry declares any more
    declared: Declared = field(repr=False)  # what was planned from

    def downstream(self, name: str) -> list[str]:
        seen, todo = [], [name]
        while todo:
            for child in sorted(self.dependents.get(todo.pop(), ())):
                if child not in seen:
                    seen.append(child)
                    todo.append(child)
        return [n for n in self.steps if n in seen]

    def selected(self, names: list[str], downstream_of: list[str]) -> list[str]:
        """Entry names, in order: ``names`` plus ``downstream_of`` and everything downstream of them
        (all entries when both are empty)."""
        unknown = [n for n in [*names, *downstream_of] if n not in self.steps]
        if unknown:
            raise CatalogError(f"no entry {', '.join(unknown)} in datasets.yml (entries: {', '.join(self.steps)})")
        if not names and not downstream_of:
            return list(self.steps)
        chosen = set(names) | set(downstream_of)
        for name in downstream_of:
            chosen.update(self.downstream(name))
        return [n for n in self.steps if n in chosen]

    def confirm(self) -> None:
        """Validate datasets.yml's text and parse each recipe's SQL again, as read for this plan but
        without the cache: CatalogError unless they give what the plan was made from. A build calls it
        before it makes anything."""
        self.declared.confirm()
        for step in self.steps.values():
            if step.query is not None and not _parses_as(step.query):
                raise CatalogError(f"{step.recipe.sql}: the cache in {cache.folder()} holds another reading of it than the"
                                   " file gives; delete that folder and build again")


def _parses_as(query: Query) -> bool:
    try:
        return parse_query(query.text) == query
    except QueryProblem:  # the cache said it parses
        return False


def make_plan(declared: Declared, root: Path, recorded: list[Recorded], existing: dict[tuple[str, str], tuple], *,
              verify: bool = False, hashes: dict[str, fp.FileState] | None = None) -> Plan:
    """``existing``: the tables and views in the database, with their COMMENT and columns;
    ``hashes``: files as last hashed (path -> state), so a file whose time alone changed is hashed once."""
    hashes = hashes or {}
    by_table = {(r.schema, r.table): r for r in recorded}
    recipes = declared.recipes
    tables = {(recipe.schema, recipe.table): name for name, recipe in recipes.items()}
    steps: dict[str, Step] = {}
    problems: dict[str, str] = {}
    for name, recipe in recipes.items():
        query, inputs, outside = None, (), ()
        try:
            query = _query_of(root, recipe) if recipe.sql else None
            inputs, outside = _inputs(recipe, query, tables, recipes, existing)
        except CatalogError as problem:  # this entry cannot be built; the others can (its query, if read, is confirmed)
            inputs, outside = (), ()
            problems[name] = str(problem)
        steps[name] = Step(name, recipe, declared, inputs, outside, query=query, recorded=by_table.get((recipe.schema, recipe.table)))
    order = _order(steps)
    dependents: dict[str, set[str]] = {name: set() for name in order}
    for step in steps.values():
        for parent in step.inputs:
            dependents[parent].add(step.name)
    ordered = {name: steps[name] for name in order}
    for step in ordered.values():
        if step.name in problems:
            step.state, step.reasons = BROKEN, [problems[step.name]]
        else:
            _judge(step, root, ordered, existing, verify, hashes)
    schemas = {schema for schema, _ in tables}
    orphans = [r for r in recorded if (r.schema, r.table) not in tables and (r.schema, r.table) in existing and r.schema in schemas]
    return Plan(ordered, dependents, orphans, declared)


def _query_of(root: Path, recipe: Recipe) -> Query:
    try:
        text = text_of(root / recipe.sql, recipe.sql)
    except OSError as error:
        raise CatalogError(f"{recipe.sql}: {error.strerror} (entry {recipe.name})") from None
    try:
        return read_query(text)
    except QueryProblem as problem:
        raise CatalogError(f"{recipe.sql}: {problem} (entry {recipe.name})") from None


def _inputs(recipe: Recipe, query: Query | None, tables: dict, recipes: dict[str, Recipe],
            existing: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The entries a recipe reads. A name without a schema is what PostgreSQL finds first on the
    recipe's search_path (<its schema>, public; see making): a table there that an entry makes (or
    will make, being built first) or that exists already, which then is not the catalog's."""
    name = recipe.name
    unknown = [n for n in recipe.depends_on if n not in recipes]
    if unknown:
        raise CatalogError(f"depends_on names {', '.join(unknown)}, which no entry is (entry {name})")
    inputs, outside = set(recipe.depends_on), set()
    for schema, table in sorted(query.reads, key=str) if query else ():
        candidates = [(schema, table)] if schema else [(recipe.schema, table), ("public", table)]
        found = next((c for c in candidates if c in tables or c in existing), candidates[0])
        made_by = tables.get(found)
        if made_by is None:
            outside.add(f"{found[0]}.{found[1]}")
        elif made_by == name:
            raise CatalogError(f"{recipe.sql}: entry {name} reads its own table {table}")
        else:
            inputs.add(made_by)
    return tuple(sorted(inputs)), tuple(sorted(outside))


def _order(steps: dict[str, Step]) -> list[str]:
    sorter = graphlib.TopologicalSorter({name: step.inputs for name, step in steps.items()})
    try:
        return list(sorter.static_order())
    except graphlib.CycleError as error:
        cycle = error.args[1]
        raise CatalogError(f"datasets.yml: entries read each other in a circle: {' -> '.join(cycle)}") from None


def _judge(step: Step, root: Path, steps: dict[str, Step], existing: dict, verify: bool, hashes: dict) -> None:
    try:
        step.fingerprint = _fingerprint(step, root, steps, verify, hashes)
    except (OSError, CatalogError) as problem:
        step.state, step.reasons = BROKEN, [str(problem) if isinstance(problem, CatalogError) else _file_problem(problem)]
        return
    recorded = step.recorded
    if (step.schema, step.table) not in existing:
        step.state = MISSING
        step.reasons = [f"dropped since build {recorded.build_id}" if recorded else "never built"]
    elif recorded is None:
        step.state, step.changed_outside = UNMANAGED, True
        step.reasons = [f"a table {step.qualified} exists that the catalog did not make (build --force replaces it)"]
    elif recorded.entry != step.name:
        step.state, step.changed_outside = UNMANAGED, True
        step.reasons = [f"{step.qualified} was made by entry {recorded.entry} (of this or another project's catalog;"
                        " build --force replaces it)"]
    elif (why := _changed_outside(recorded, existing[(step.schema, step.table)])) is not None:
        step.state, step.changed_outside = STALE, True
        step.reasons = [why]
    elif recorded.fingerprint != step.fingerprint:
        step.state, step.reasons = STALE, fp.reasons(recorded.fingerprint, step.fingerprint)
    if step.state == UP_TO_DATE and step.outside:
        step.reasons = [f"reads {', '.join(step.outside)}, which the catalog does not make: changes there go unseen"]


def _changed_outside(recorded: Recorded, found: tuple[str | None, dict]) -> str | None:
    """What says the table is no longer the one the build made: its COMMENT (a replace, a DROP and
    CREATE) or its columns (an ALTER). Rows appended or updated by hand leave both: see the README."""
    comment, columns = found
    if recorded.comment_mark not in (comment or ""):
        return f"replaced or changed outside the catalog since build {recorded.build_id} (its comment no longer names that build)"
    if recorded.columns is not None and columns != recorded.columns:
        return f"columns changed outside the catalog since build {recorded.build_id}"
    return None


def _file_problem(error: OSError) -> str:
    return f"{error.filename}: {error.strerror}" if error.filename else str(error)


def _fingerprint(step: Step, root: Path, steps: dict[str, Step], verify: bool, hashes: dict) -> fp.Fingerprint:
    recipe = step.recipe
    components: dict = {"kind": recipe.materialized if recipe.sql else "table", "options": recipe.options}
    if recipe.sql:
        components["sql"] = step.query.digest
    else:
        components["loader"] = fp.LOADER_VERSION
        components["file"] = _source_digest(step, root, verify, hashes)
        if recipe.amsterdam_schema:
            from .amsterdam_schema import read_definition

            components["schema_definition"] = read_definition(root / recipe.amsterdam_schema, recipe.amsterdam_schema).digest
    if recipe.sql or step.inputs:  # a file entry's inputs are its depends_on: what its checks read
        components["inputs"] = _inputs_seen(step, steps)
    return fp.Fingerprint(components, recipe.checks)


def _inputs_seen(step: Step, steps: dict[str, Step]) -> dict[str, str]:
    inputs = {}
    for name in step.inputs:
        parent = steps[name]
        if parent.fingerprint is None:
            raise CatalogError(f"input {name} cannot be built")
        # a recipe over a table changed by hand was made from that table, not from the entry's data
        inputs[name] = f"changed outside: {parent.fingerprint.data}" if parent.changed_outside else parent.fingerprint.data
    return inputs


def _source_digest(step: Step, root: Path, verify: bool, hashes: dict) -> str:
    recipe = step.recipe
    if recipe.url is not None:
        return recipe.sha256  # the pin: a download is checked against it before it is loaded
    relative = str(RAW_DATA / recipe.path)
    recorded = step.recorded
    step.file = fp.file_state(root / relative, relative, _last_known(relative, recorded.file if recorded else None, hashes),
                              verify=verify)
    before = {c.path: c for c in recorded.companions} if recorded else {}
    step.companions = tuple(fp.file_state(root / path, path, _last_known(path, before.get(path), hashes), verify=verify)
                            for path in companions(root, relative))
    if not step.companions:
        return step.file.sha256
    return fp.digest([step.file.sha256, *[(c.path, c.sha256) for c in step.companions]])


def _last_known(relative: str, recorded: fp.FileState | None, hashes: dict) -> fp.FileState | None:
    """The file at ``relative`` as last hashed (one of another path says nothing about it)."""
    if relative in hashes:
        return hashes[relative]
    return recorded if recorded is not None and recorded.path == relative else None


_SHAPEFILE_PARTS = (".dbf", ".shx", ".prj", ".cpg")


def companions(root: Path, relative: str) -> list[str]:
    """The files GDAL reads with this one: a shapefile's .dbf (its values), .shx, .prj and .cpg; a
    GeoPackage's -wal (edits QGIS has not yet written into it)."""
    path = Path(relative)
    folder = root / path.parent
    if path.suffix.lower() == ".shp":
        found = [other for other in folder.iterdir() if other.stem == path.stem and other.suffix.lower() in _SHAPEFILE_PARTS]
    elif path.suffix.lower() == ".gpkg":
        found = [other for other in folder.iterdir() if other.name == f"{path.name}-wal"]
    else:
        return []
    return sorted(str(path.parent / other.name) for other in found)


def source_path(root: Path, entry: Entry) -> Path:
    """Where an entry's file is (or a download goes)."""
    if entry.url is not None:
        from urllib.parse import urlparse

        return root / RAW_DATA / (entry.file or Path(urlparse(entry.url).path).name)
    return root / RAW_DATA / entry.path
