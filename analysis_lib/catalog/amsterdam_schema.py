"""Amsterdam Schema table definitions (``<dataset>/<table>/vN.json``, the city's JSON format for its
datasets) as the columns, key, required fields and enums a table must have.

The mapping follows the city's schema-tools: field names camelCase -> snake_case; string -> text
(``format`` date, time, date-time -> date, time, timestamp), integer -> bigint, number -> double
precision (numeric when it has ``multipleOf``), boolean -> boolean, a GeoJSON ``$ref`` ->
geometry(<Type>, <SRID of the crs>), ``identifier`` -> primary key. Not (yet) taken: relations to
other tables and temporal dimensions — a field that is an object (a relation by a composite key) or
an array is not checked, and the file's columns that start with its name are kept as they are.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .sql import run
from ..identifiers import snake_case
from ..errors import CatalogError

_GEOJSON_REF = re.compile(r"geojson\.org/schema/(\w+)\.json$")
_STRING_FORMATS = {"date": "date", "time": "time", "date-time": "timestamp"}
# the types the loader reads a file's column as, so the values arrive as the schema means them
LOADER_TYPES = {"text": "text", "bigint": "integer", "double precision": "float", "numeric": "numeric", "boolean": "boolean",
                "date": "date", "timestamp": "timestamp"}


@dataclass(frozen=True)
class Field:
    name: str  # in the schema (camelCase)
    column: str  # in the table (snake_case)
    type: str  # PostgreSQL
    required: bool = False
    enum: tuple = ()
    geometry: tuple[str, int] | None = None  # (type, srid)


@dataclass(frozen=True)
class Definition:
    path: str
    id: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]  # columns
    digest: str
    not_checked: tuple[str, ...] = field(default=())  # object relations: columns starting with these are kept

    @property
    def columns(self) -> dict[str, Field]:
        return {f.column: f for f in self.fields}


def read_definition(path: Path, shown: str | None = None) -> Definition:
    """The definition at ``path``; messages name it ``shown`` (as datasets.yml does) if given."""
    shown = shown or str(path)
    try:
        table = json.loads(path.read_bytes())
    except OSError as error:
        raise CatalogError(f"{shown}: cannot read the Amsterdam Schema definition ({error.strerror})") from None
    except json.JSONDecodeError as error:
        raise CatalogError(f"{shown}:{error.lineno}: not valid JSON ({error.msg})") from None
    if not isinstance(table, dict) or table.get("type") != "table" or not isinstance(table.get("schema"), dict):
        raise CatalogError(f"{shown}: not an Amsterdam Schema table definition (no \"type\": \"table\" with a \"schema\")")
    schema = table["schema"]
    srid = _srid(table.get("crs") or _dataset_crs(path), shown)
    required = set(schema.get("required", []))
    fields, not_checked = [], []
    for name, spec in schema.get("properties", {}).items():
        if name == "schema" and "$ref" in spec:
            continue  # the metaschema's version, not data
        if spec.get("type") in ("object", "array"):
            not_checked.append(snake_case(name))
            continue
        fields.append(_field(name, spec, name in required, srid, shown))
    columns = {f.name: f.column for f in fields}
    identifier = schema.get("identifier") or []
    identifier = [identifier] if isinstance(identifier, str) else list(identifier)
    unknown = [name for name in identifier if name not in columns]
    if unknown:
        raise CatalogError(f"{shown}: identifier names {', '.join(unknown)}, which is not one of its fields")
    key = tuple(columns[n] for n in identifier)
    # what the table is made of, not the titles and descriptions (or the dataset.json's other fields) around it
    meaning = json.dumps([[f.__dict__ for f in fields], key, not_checked], sort_keys=True, default=list)
    return Definition(shown, str(table.get("id", path.parent.name)), tuple(fields), key,
                      hashlib.sha256(meaning.encode()).hexdigest(), tuple(not_checked))


def _field(name: str, spec: dict, required: bool, srid: int | None, path: str) -> Field:
    column = snake_case(name)
    reference = _GEOJSON_REF.search(spec.get("$ref", ""))
    if reference:
        field_srid = _srid(spec["crs"], path) if "crs" in spec else srid
        if field_srid is None:
            raise CatalogError(f"{path}: field {name}: a geometry without a crs (none on the field, table or dataset)")
        return Field(name, column, f"geometry({reference.group(1)}, {field_srid})", required, geometry=(reference.group(1), field_srid))
    kind = spec.get("type")
    if kind == "string":
        pg_type = _STRING_FORMATS.get(spec.get("format"), "text")
    elif kind == "integer":
        pg_type = "bigint"
    elif kind == "number":
        pg_type = "numeric" if "multipleOf" in spec else "double precision"
    elif kind == "boolean":
        pg_type = "boolean"
    else:
        raise CatalogError(f"{path}: field {name}: type {kind or spec.get('$ref')!r} is not one the workbench maps")
    return Field(name, column, pg_type, required, tuple(spec.get("enum", ())))


def _srid(crs: str | None, path: str) -> int | None:
    if crs is None:
        return None
    match = re.fullmatch(r"EPSG:(\d+)", str(crs).strip(), re.IGNORECASE)
    if not match:
        raise CatalogError(f"{path}: crs {crs!r}: give it as EPSG:<code>")
    return int(match.group(1))


def _dataset_crs(path: Path) -> str | None:
    """The crs of the dataset.json two folders up (<dataset>/<table>/vN.json), if there is one."""
    dataset = path.parent.parent / "dataset.json"
    try:
        return json.loads(dataset.read_text(encoding="utf-8")).get("crs")
    except (OSError, json.JSONDecodeError):
        return None


@dataclass
class Conformance:
    """How a file is made to fit a definition: the loader's options (types, columns), what is done to
    the loaded table (names, types, the key, missing fields) and the checks (required, enums)."""

    definition: Definition
    loader_options: dict
    checks: list
    add_missing: list[Field]
    source: str
    geometry_inputs: set[str]
    notes: list[str]

    def apply(self, conn, relation: str) -> None:
        columns = _columns(conn, relation)
        for column in self.geometry_inputs:
            if column in columns and column not in self.definition.columns:  # x and y, now the geometry
                run(conn, f'ALTER TABLE {relation} DROP COLUMN "{column}"')
        columns = _columns(conn, relation)
        geometry_fields = [f for f in self.definition.fields if f.geometry]
        absent = [f for f in geometry_fields if f.column not in columns]
        loaded = [c for c, t in columns.items() if t.startswith("geometry") and c not in self.definition.columns]
        if absent and len(absent) == 1 and len(loaded) == 1:
            run(conn, f'ALTER TABLE {relation} RENAME COLUMN "{loaded[0]}" TO "{absent[0].column}"')
            columns = _columns(conn, relation)
        missing = [f for f in self.definition.fields if f.column not in columns]
        refused = [f for f in missing if f not in self.add_missing]
        if refused:
            raise CatalogError(f"{self.source}: fields of {self.definition.path} that the file lacks: {', '.join(f.name for f in refused)}"
                               " (schema_fields_missing: null makes them columns of NULLs)")
        for f in missing:
            run(conn, f'ALTER TABLE {relation} ADD COLUMN "{f.column}" {f.type}')
        for f in self.definition.fields:
            if f.column in columns and not _same_type(columns[f.column], f.type):
                try:
                    with conn.begin_nested():
                        run(conn, f'ALTER TABLE {relation} ALTER COLUMN "{f.column}" TYPE {f.type} USING "{f.column}"::{f.type}')
                except Exception as error:  # the server says which value does not fit
                    reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
                    raise CatalogError(f"{self.source}: column {f.column} ({columns[f.column]}) cannot be {f.type} as"
                                       f" {self.definition.path} says: {reason}") from None

    def add_key(self, conn, relation: str) -> None:
        """The identifier as primary key, once the checks (required fields among them) have passed."""
        if self.definition.key:
            listed = ", ".join(f'"{k}"' for k in self.definition.key)
            run(conn, f"ALTER TABLE {relation} ADD PRIMARY KEY ({listed})")


def conformance(definition: Definition, present: list[str], entry, source: str) -> Conformance:
    """``present``: the file's attribute columns by their names in the file."""
    from .spec import Check

    by_column = {snake_case(name): name for name in present}
    geometry_inputs = {snake_case(n) for n in (entry.geometry, entry.x, entry.y) if n}
    wanted = set(definition.columns)

    def kept(column: str) -> bool:
        return column in wanted or column in geometry_inputs or any(column.startswith(p + "_") or column == p for p in definition.not_checked)

    extra = [by_column[c] for c in by_column if not kept(c)]
    if entry.columns is not None:
        extra = [name for name in extra if name in entry.columns]
    options: dict = {}
    if extra and entry.columns_not_in_schema == "error":
        raise CatalogError(f"{source}: columns that {definition.path} does not define: {', '.join(extra)}"
                           " (columns_not_in_schema: drop leaves them out)")
    if extra:
        options["columns"] = [name for name in (entry.columns or present) if name not in extra]
    missing = [f for f in definition.fields if not f.geometry and f.column not in by_column]
    if missing and entry.schema_fields_missing == "error":
        raise CatalogError(f"{source}: fields of {definition.path} that the file lacks: {', '.join(f.name for f in missing)}"
                           " (schema_fields_missing: null makes them columns of NULLs)")
    types = {f.column: LOADER_TYPES[f.type] for f in definition.fields if f.column in by_column and f.type in LOADER_TYPES}
    options["column_types"] = {**types, **entry.column_types}
    checks = []
    required = [f.column for f in definition.fields if f.required]  # geometries too: apply() has named that column
    if required:
        checks.append(Check(not_null=required))
    for f in definition.fields:
        if f.enum:
            allowed = ", ".join("'" + str(v).replace("'", "''") + "'" for v in f.enum)
            checks.append(Check(sql=f'SELECT "{f.column}" FROM {{this}} WHERE "{f.column}"::text NOT IN ({allowed})'))
    add = list(definition.fields) if entry.schema_fields_missing == "null" else []
    notes = [f"left out (columns_not_in_schema: drop): {', '.join(extra)}"] if extra else []
    if missing and add:
        notes.append(f"columns of NULLs (schema_fields_missing: null): {', '.join(f.column for f in missing)}")
    return Conformance(definition, options, checks, add, source, geometry_inputs, notes)


_SPELLED_OUT = {"timestamp": "timestamp without time zone", "time": "time without time zone"}


def _same_type(loaded: str, wanted: str) -> bool:
    """``wanted`` as format_type spells it; a timestamp with time zone is kept: making it one without
    would shift every value to the session's clock."""
    if loaded == "timestamp with time zone" and wanted == "timestamp":
        return True
    return loaded.replace(" ", "") == _SPELLED_OUT.get(wanted, wanted).replace(" ", "")


def _columns(conn, relation: str) -> dict[str, str]:
    return dict(run(
        conn,
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = %s::regclass"
        " AND attnum > 0 AND NOT attisdropped ORDER BY attnum", (relation,)).all())
