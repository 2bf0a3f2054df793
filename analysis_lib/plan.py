"""The one place that decides how an input becomes a table: which columns, of which types, where the
geometries come from, in which CRS, and the rules they must meet. Files and DataFrames alike go
source (``sources``) -> plan (here) -> batches (here) -> writer (``ingest``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyproj
import shapely

from . import extent
from . import geometry as geo
from .errors import InputFileError, LoadError
from .defaults import DEFAULT_LOCK_TIMEOUT
from .identifiers import checked_name, normalise_columns, snake_case
from .sources import geometries as geometry_input
from .sources.json_text import json_texts
from .sources.source import Column, RawBatch, Source
from .sources.text_types import TYPE_NAMES, arrow_type, check_scale, check_whole_days, convert, without_markers

IF_EXISTS = ("fail", "replace", "append")
MAX_LOCK_TIMEOUT = 86_400.0
GEOMETRY_COLUMN = "geom"
# x/y column pairs by name (after snake_case); the first of each pair is x
XY_NAMES = [
    ("x", "y"), ("x_coord", "y_coord"), ("xcoord", "ycoord"), ("coord_x", "coord_y"), ("x_coordinaat", "y_coordinaat"),
    ("rd_x", "rd_y"), ("x_rd", "y_rd"), ("lon", "lat"), ("lng", "lat"), ("long", "lat"), ("longitude", "latitude"),
    ("lengtegraad", "breedtegraad"),
]
LONLAT_NAMES = {"lon", "lng", "long", "longitude", "lengtegraad"}
_TEXT_GEOMETRY_CRS = {"GeoJSON": 4326}  # RFC 7946: GeoJSON coordinates are WGS 84


@dataclass
class Options:
    """What the caller asked for; ``decide`` turns it and the source into a Plan."""

    table: str
    schema: str = "public"
    if_exists: str = "fail"
    crs: object = None
    target_crs: object = None
    geometry: str | None = None  # a column holding WKT, EWKT, GeoJSON or hex WKB
    x: str | None = None
    y: str | None = None
    columns: list[str] | None = None
    column_types: Mapping[str, str] = field(default_factory=dict)
    null_values: tuple = ()
    make_valid: bool = False
    z: str = "keep"
    geometry_type: str | None = None
    primary_key: object = None
    spatial_index: bool = True
    check_extent: bool = True
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT  # seconds the writer waits for a lock another session holds

    def __post_init__(self):
        checked_name(self.table, "table name")
        checked_name(self.schema, "schema name")
        if self.if_exists not in IF_EXISTS:
            raise LoadError(f"if_exists={self.if_exists!r} is not one of {', '.join(IF_EXISTS)}")
        if self.z not in geo.Z_POLICIES:
            raise LoadError(f"z={self.z!r} is not one of {', '.join(geo.Z_POLICIES)}")
        if not 0 < self.lock_timeout < MAX_LOCK_TIMEOUT:
            raise LoadError(f"lock_timeout={self.lock_timeout!r}: give the seconds to wait for the table, more than 0 (and under a day)")
        for name, type_name in self.column_types.items():
            if type_name not in TYPE_NAMES:
                raise LoadError(f"column_types: {name!r}: {type_name!r} is not one of {', '.join(TYPE_NAMES)}")


@dataclass
class Attribute:
    """One attribute column: its name in the input and in the table, and the type it is stored as."""

    input_name: str
    name: str
    type: pa.DataType  # as it travels to the database
    conversion: str  # 'none', 'text' (text cells to type), 'cast' (the input's type to another), 'json' (nested to JSON text)
    type_name: str | None = None  # for 'text': the type the cells become (see text_types)
    known_to_fit: bool = False  # for 'text': the type came from the values, which all fit it
    strict: bool = False  # for 'text': the type came from a table; values must fit it as they would fit inference
    scale: int | None = None  # for numeric(p,s) columns: at most s decimals, which the server would otherwise round
    whole_days: bool = False  # timestamps for a date column: a time of day would be cut off
    stored_as: str | None = None  # a PostgreSQL type the column is cast to once loaded: jsonb, numeric


@dataclass
class GeometryPlan:
    """Where a load's geometries come from and the rules they meet on the way in."""

    name: str  # the column in the table
    origin: str  # 'own' (the format's geometry), 'text' (a column of WKT, GeoJSON, hex WKB) or 'xy'
    input_columns: tuple[str, ...]  # the text column, or the x and y columns
    text_kind: str | None
    source_crs: pyproj.CRS
    srid: int
    transformer: pyproj.Transformer | None
    typer: geo.ColumnTyper
    area: extent.Area | None  # where the source CRS is used; None: extent not checked
    stored_area: extent.Area | None  # where the target CRS is used, when reprojecting
    srid_from_values: int | None = None  # the SRID every value carries (EWKT, EWKB), if any


@dataclass
class Plan:
    """Where and how a load writes: decided once, before the first row is written."""

    table: str
    schema: str
    if_exists: str
    source: str  # names the input in messages
    attributes: list[Attribute]
    geometry: GeometryPlan | None
    primary_key: tuple[str, ...]
    spatial_index: bool
    null_values: tuple  # the numbers number columns are checked for
    null_values_given: tuple  # as the user gave them, for messages
    make_valid: bool
    z: str
    columns: dict[str, str]  # input name -> column name in the table
    lock_timeout: float
    notes: list[str] = field(default_factory=list)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def cast_after_load(self) -> dict[str, str]:
        """Columns that travel as text and are stored as another type: column -> PostgreSQL type."""
        return {a.name: a.stored_as for a in self.attributes if a.stored_as}


@dataclass
class Batch:
    """A slice of the input ready for the writer: attribute columns as stored, and geometries."""

    attributes: pa.Table
    geometries: np.ndarray | None
    first_row: int  # 1-based number of the batch's first row in the input
    repaired_rows: list[int] = field(default_factory=list)  # repaired while reading (make_valid)
    nulled_rows: list[int] = field(default_factory=list)  # unreadable, stored as NULL (make_valid)
    markers: dict[str, int] = field(default_factory=dict)  # column -> missing-value markers stored as NULL
    sentinels: dict[str, int] = field(default_factory=dict)  # column -> cells given as null_values stored as NULL


def decide(source: Source, options: Options, *, existing: Mapping[str, str] | None = None) -> tuple[Plan, Iterator[Batch]]:
    """The plan for loading ``source`` as asked, and its batches (the first one read to decide).

    ``existing``: the columns (name -> PostgreSQL type) of the table an append goes into; their types
    decide the columns' types, so a value that does not fit is named instead of cast by the server
    (which would make 0363 363 and 3.5 4).
    """
    chosen = _chosen_columns(source, options)
    origin, input_columns, text_kind = _geometry_origin(source, options)
    if origin is None and (options.crs is not None or options.geometry_type is not None):
        given = "crs=" if options.crs is not None else "geometry_type="
        raise InputFileError(
            f"{source.name}: {given} was given, but no column holds geometries; its columns: {', '.join(c.name for c in source.columns)}."
            " Name them with geometry= (WKT, GeoJSON or hex WKB) or x=/y="
        )
    attribute_columns = [c for c in chosen if not (origin == "text" and c.name in input_columns)]
    geometry_name = _geometry_name(source, origin)
    geometry_column = snake_case(geometry_name) if geometry_name else None
    db_name = normalise_columns([c.name for c in attribute_columns], reserved=[geometry_column] if geometry_column else [])
    _check_column_types(source, options, db_name)
    attributes = [_attribute(source, c, db_name[c.name], options, (existing or {}).get(db_name[c.name])) for c in attribute_columns]
    read_columns = [c.name for c in attribute_columns] + [n for n in input_columns if origin != "own"]
    raw = (batch for batch in source.read(list(dict.fromkeys(read_columns)), options.make_valid) if batch.table.num_rows)
    first = next(raw, None)
    if first is None:
        raise InputFileError(f"{source.name}: no rows to import")
    notes = ([f"encoding: {source.encoding}"] if source.encoding is not None else []) + list(source.notes)
    notes += _decimal_comma_note(attributes, source) + _first_value_note(attributes, source)
    geometry, first_decoded = None, None
    if origin is not None:
        first_decoded = _decoded(first, origin, input_columns, text_kind, source, options.make_valid)
        geometry = _geometry_plan(source, options, origin, input_columns, text_kind, geometry_column, first_decoded, notes)
        if geometry.transformer is not None:
            attributes, db_name = _without_stale_bounds(source, attributes, db_name, notes)
    geometry_input_name = source.geometry.name if origin == "own" else input_columns[0] if origin == "text" else None
    columns = db_name | ({geometry_input_name: geometry_column} if geometry_input_name else {})
    plan = Plan(
        table=options.table, schema=options.schema, if_exists=options.if_exists, source=source.name, attributes=attributes,
        geometry=geometry, primary_key=_primary_key(options.primary_key, columns), spatial_index=options.spatial_index,
        null_values=_numbers_of(options.null_values), null_values_given=tuple(options.null_values), make_valid=options.make_valid, z=options.z,
        columns=columns, lock_timeout=options.lock_timeout, notes=notes,
    )
    return plan, _batches(plan, source, chain([(first, first_decoded)], ((batch, None) for batch in raw)), options)


# --- columns and their types ----------------------------------------------------------------------


def _chosen_columns(source: Source, options: Options) -> list[Column]:
    if options.columns is None:
        return list(source.columns)
    known = [c.name for c in source.columns]
    unknown = [name for name in options.columns if name not in known]
    if unknown:
        raise InputFileError(f"{source.name}: columns: no column {', '.join(map(repr, unknown))}; its columns: {', '.join(known)}")
    return [source.column(name) for name in dict.fromkeys(options.columns)]


def _attribute(source: Source, column: Column, name: str, options: Options, existing_type: str | None) -> Attribute:
    chosen = options.column_types.get(column.name) or options.column_types.get(name)
    evidence = column.evidence if source.types_from_values else None
    if chosen is not None:
        return _chosen(column, name, chosen, evidence)
    table_type = _type_name_of(existing_type)
    if table_type is not None:
        return _for_the_table(column, name, table_type, evidence, _scale_of(existing_type))
    if evidence is not None:
        return Attribute(column.name, name, arrow_type(evidence.type_name), "text", type_name=evidence.type_name, known_to_fit=True)
    if column.json:
        return Attribute(column.name, name, pa.string(), "none", stored_as="jsonb")
    if _is_nested(column.type):
        return Attribute(column.name, name, pa.string(), "json", stored_as="jsonb")
    if pa.types.is_dictionary(column.type):
        return Attribute(column.name, name, column.type.value_type, "cast")
    if pa.types.is_null(column.type):
        return Attribute(column.name, name, pa.string(), "cast")
    return Attribute(column.name, name, column.type, "none")


def _chosen(column: Column, name: str, chosen: str, evidence) -> Attribute:
    """The type the user chose (column_types): values are read as that type as far as they can be."""
    type_name = "timestamptz" if chosen == "timestamp" and evidence and evidence.type_name == "timestamptz" else chosen
    stored_as = "numeric" if type_name == "numeric" else None
    if evidence is not None:
        return Attribute(column.name, name, arrow_type(type_name), "text", type_name=type_name, stored_as=stored_as)
    target = column.type if type_name == "numeric" and pa.types.is_decimal(column.type) else arrow_type(type_name)
    stored_as = stored_as if pa.types.is_string(target) else None
    return Attribute(column.name, name, target, "none" if column.type.equals(target) else "cast", stored_as=stored_as)


def _for_the_table(column: Column, name: str, type_name: str, evidence, scale: int | None) -> Attribute:
    """The type of the column an append goes into. Values must be that type without losing anything:
    the checks of the values' own typing apply (0363 is no integer, 1e400 no float), a numeric(p,s)
    takes at most s decimals, a date no time of day. What Arrow does not convert losslessly (times and
    their zones) is left to the server's assignment casts, as a load of the same data would be."""
    if evidence is not None:
        return Attribute(column.name, name, arrow_type(type_name), "text", type_name=type_name, strict=True, scale=scale)
    if type_name in ("integer", "float", "boolean", "text", "numeric"):
        target = arrow_type(type_name)
        return Attribute(column.name, name, target, "none" if column.type.equals(target) else "cast", scale=scale)
    if type_name == "date" and pa.types.is_timestamp(column.type):
        return Attribute(column.name, name, pa.date32(), "cast", whole_days=True)
    return Attribute(column.name, name, column.type, "none")


def _scale_of(pg_type: str | None) -> int | None:
    """s of numeric(p,s): the decimals a value may have (None: any number)."""
    if pg_type is None or not pg_type.startswith("numeric("):
        return None
    return int(pg_type.rstrip(")").split(",")[1]) if "," in pg_type else 0


_PG_TYPE_NAMES = {
    "bigint": "integer", "integer": "integer", "smallint": "integer", "double precision": "float", "real": "float",
    "boolean": "boolean", "date": "date", "timestamp without time zone": "timestamp", "timestamp with time zone": "timestamptz",
    "text": "text",
}


def _type_name_of(pg_type: str | None) -> str | None:
    """The column_types name for a column of the table appended to (None: its own rules)."""
    if pg_type is None:
        return None
    if pg_type.startswith(("character varying", "character(")):
        return "text"
    if pg_type.startswith("numeric"):
        return "numeric"
    return _PG_TYPE_NAMES.get(pg_type)


def _decimal_comma_note(attributes: list[Attribute], source: Source) -> list[str]:
    """Text columns whose every value is a number with a decimal comma, in a file read with '.'."""
    commas = [a.name for a in attributes if a.type_name == "text" and a.known_to_fit and source.column(a.input_name).evidence.decimal_comma]
    if not commas:
        return []
    shown = ", ".join(commas[:8]) + (f" and {len(commas) - 8} more" if len(commas) > 8 else "")
    return [f"columns {shown} hold numbers with a decimal comma, stored as text; decimal=',' (--decimal ,) reads them as numbers"]


def _first_value_note(attributes: list[Attribute], source: Source) -> list[str]:
    """Text columns that would be numbers or dates but for their first value: a row of units?"""
    found = [(a.name, source.column(a.input_name).evidence.text_for_its_first_value) for a in attributes if a.type_name == "text" and a.known_to_fit]
    found = [(name, value) for name, value in found if value is not None]
    if not found:
        return []
    shown = ", ".join(f"{name} ({value!r})" for name, value in found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
    return [
        f"columns {shown} are text only because of their first value: a row of units under the header?"
        " skip_rows_after_header=1 (--skip-rows-after-header 1) reads them as numbers or dates"
    ]


def _check_column_types(source: Source, options: Options, db_name: dict[str, str]) -> None:
    """Every key of column_types must name an imported column, by its name in the file or in the table:
    a misspelt one would leave the column as its values decide, silently."""
    unknown = [key for key in options.column_types if key not in db_name and key not in db_name.values()]
    if unknown:
        raise InputFileError(
            f"{source.name}: column_types: no column {', '.join(map(repr, unknown))} to import; its columns: {', '.join(db_name)}"
        )


def _is_nested(arrow_type: pa.DataType) -> bool:
    """Struct, map, JSON text, and lists of such (lists of plain values become arrays)."""
    if isinstance(arrow_type, pa.BaseExtensionType):
        return True  # arrow.json (GDAL's JSON fields) and other annotated types
    if pa.types.is_struct(arrow_type) or pa.types.is_map(arrow_type):
        return True
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type):
        return _is_nested(arrow_type.value_type) or pa.types.is_list(arrow_type.value_type)
    return False


def _without_stale_bounds(source: Source, attributes: list[Attribute], db_name: dict[str, str], notes: list[str]):
    """A GeoParquet's bounding-box column left out when the geometries are reprojected: it holds their
    bounds in the file's CRS, which no longer match (ST_Envelope(geom) gives them anew)."""
    stale = [a for a in attributes if source.column(a.input_name).bounds_of_geometry]
    for attribute in stale:
        notes.append(f"column {attribute.input_name} (the geometries' bounding boxes, in the file's CRS) left out: the geometries are reprojected")
    names = {a.input_name for a in stale}
    return [a for a in attributes if a.input_name not in names], {k: v for k, v in db_name.items() if k not in names}


def _numbers_of(null_values: tuple) -> tuple:
    """The sentinels number columns are checked for: the numbers given, and the texts that are numbers
    ("-99999999" on the command line or in a catalog means the number too)."""
    numbers = []
    for value in null_values:
        try:
            numbers.append(float(value) if isinstance(value, str) else value)
        except ValueError:
            continue
    return tuple(numbers)


def _primary_key(primary_key, names: dict[str, str]) -> tuple[str, ...]:
    if primary_key is None:
        return ()
    given = (primary_key,) if isinstance(primary_key, str) else tuple(primary_key)
    return tuple(names.get(name, name) for name in given)


# --- where the geometries come from ---------------------------------------------------------------


def _geometry_origin(source: Source, options: Options) -> tuple[str | None, tuple[str, ...], str | None]:
    named = {"geometry": options.geometry, "x": options.x, "y": options.y}
    known = [c.name for c in source.columns]
    for parameter, value in named.items():
        if value is not None and value not in known:
            raise InputFileError(f"{source.name}: {parameter}={value!r} is not a column; columns: {', '.join(known)}")
    if (options.x is None) != (options.y is None):
        raise InputFileError(f"{source.name}: give both x= and y= (got {'x' if options.x else 'y'} only)")
    if options.geometry and options.x:
        raise InputFileError(f"{source.name}: give geometry= or x=/y=, not both")
    if source.geometry is not None:
        if options.geometry or options.x:
            raise InputFileError(f"{source.name} has a geometry of its own ({source.geometry.name}); geometry=, x= and y= are for tables of cells (CSV, XLSX)")
        return "own", (), None
    if options.geometry:
        return "text", (options.geometry,), _text_kind(source.column(options.geometry))
    if options.x:
        return "xy", (options.x, options.y), None
    if not source.tabular:
        return None, (), None
    candidates = _candidates(source)
    if len(candidates) > 1:
        raise InputFileError(
            f"{source.name}: {len(candidates)} ways to make geometries: {'; '.join(c.description for c in candidates)}."
            f" Choose one: {' or '.join(c.choice for c in candidates)}"
        )
    if candidates:
        return candidates[0].origin, candidates[0].columns, candidates[0].kind
    return None, (), None


@dataclass(frozen=True)
class _Candidate:
    origin: str
    columns: tuple[str, ...]
    kind: str | None

    @property
    def description(self) -> str:
        return f"column {self.columns[0]} ({self.kind})" if self.origin == "text" else f"columns {self.columns[0]}/{self.columns[1]} (x/y)"

    @property
    def choice(self) -> str:
        return f"geometry={self.columns[0]!r}" if self.origin == "text" else f"x={self.columns[0]!r}, y={self.columns[1]!r}"


def _candidates(source: Source) -> list[_Candidate]:
    """Columns whose every value is a geometry (WKT, GeoJSON, hex WKB), and x/y pairs by their names."""
    found = [
        _Candidate("text", (c.name,), c.evidence.geometry_kind) for c in source.columns if c.evidence and c.evidence.geometry_kind
    ]
    by_snake = {}
    for column in source.columns:
        by_snake.setdefault(snake_case(column.name), column.name)
    for x_name, y_name in XY_NAMES:
        if x_name in by_snake and y_name in by_snake:
            pair = _Candidate("xy", (by_snake[x_name], by_snake[y_name]), None)
            if pair not in found:
                found.append(pair)
    return found


def _text_kind(column: Column) -> str:
    return (column.evidence.geometry_kind if column.evidence else None) or "WKT"


def _geometry_name(source: Source, origin: str | None) -> str | None:
    if origin is None:
        return None
    return source.geometry.name if origin == "own" else GEOMETRY_COLUMN


def _decoded(raw: RawBatch, origin: str, input_columns, text_kind, source: Source, make_valid: bool):
    if origin == "own":
        return raw.geometries
    if origin == "text":
        values = raw.table.column(input_columns[0]).combine_chunks()
        if pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type):  # WKB (plain Parquet, XLSX never)
            return geometry_input.from_wkb(values, where=f"{source.name} column {input_columns[0]}", first_row=raw.first_row,
                                           make_valid=make_valid)
        text = without_markers(values.cast(pa.string()))
        return geometry_input.from_text(text, text_kind, where=source.name, name=input_columns[0], first_row=raw.first_row,
                                        make_valid=make_valid)
    x, y = input_columns
    return geometry_input.from_xy(_numbers(raw.table.column(x), source), _numbers(raw.table.column(y), source), (x, y),
                                  where=source.name, first_row=raw.first_row)


def _numbers(column: pa.ChunkedArray, source: Source) -> pa.Array:
    values = column.combine_chunks()
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        values = without_markers(values)
        if source.decimal != ".":
            values = pc.replace_substring(values, source.decimal, ".")
    return values


def _geometry_plan(source, options, origin, input_columns, text_kind, name, first_decoded, notes) -> GeometryPlan:
    where_column = input_columns[0] if origin == "text" else "geometry" if origin == "xy" else name
    srid_from_values = _srid_from_values(first_decoded, source, where_column)
    source_crs = _source_crs(source, options, origin, input_columns, text_kind, srid_from_values, notes, first_decoded)
    final_crs = geo.resolve_crs(options.target_crs, "target_crs") if options.target_crs is not None else source_crs
    srid = geo.epsg_of(final_crs, "target_crs" if options.target_crs is not None else "the CRS")
    transformer = None if geo.same_crs(final_crs, source_crs) else pyproj.Transformer.from_crs(source_crs, final_crs, always_xy=True)
    declared = source.geometry.declared_type if origin == "own" else None
    fixed = options.geometry_type
    where = f"{source.name} column {name}" if origin != "text" else f"{source.name} column {input_columns[0]}"
    typer = geo.ColumnTyper(name, srid, z=options.z, make_valid=options.make_valid, declared=declared, fixed=fixed, where=where)
    whole = source.geometry.values if origin == "own" and source.geometry.values is not None else None
    if whole is not None:
        typer.add(geo.normalised(whole, z=options.z), 1)
    area = extent.area_of(source_crs) if options.check_extent else None
    stored_area = extent.area_of(final_crs) if options.check_extent and transformer is not None else None
    return GeometryPlan(
        name=name, origin=origin, input_columns=tuple(input_columns), text_kind=text_kind, source_crs=source_crs, srid=srid,
        transformer=transformer, typer=typer, area=area, stored_area=stored_area, srid_from_values=srid_from_values,
    )


def _srid_from_values(decoded, source: Source, column: str) -> int | None:
    if decoded is None or not decoded.srids:
        return None
    if len(decoded.srids) > 1:
        shown = ", ".join("none" if s == 0 else str(s) for s in sorted(decoded.srids))
        raise InputFileError(f"{source.name} column {column}: the values carry different SRIDs ({shown}); one CRS per column")
    return next(iter(decoded.srids))


def _source_crs(source, options, origin, input_columns, text_kind, srid_from_values, notes, first_decoded) -> pyproj.CRS:
    given = geo.resolve_crs(options.crs, "crs") if options.crs is not None else None
    own = source.geometry.crs if origin == "own" else None
    if given is not None and own is not None and not geo.same_crs(own, given) and _coordinates_contradict(own, given, first_decoded):
        notes.append(f"CRS: crs={options.crs!r} used instead of the file's own {own.name!r}: the coordinates lie outside the area of the one, inside that of the other")
        return given
    if srid_from_values is not None:
        from_values = geo.resolve_crs(f"EPSG:{srid_from_values}", "the SRID in the values")
        own = own or from_values
        if not geo.same_crs(own, from_values):
            raise InputFileError(f"{source.name}: the geometries carry SRID {srid_from_values}, the file says {own.name!r}")
    if given is not None:
        if own is not None and not geo.same_crs(own, given):
            what = "the SRID in its values" if srid_from_values is not None else "its own CRS"
            fits = _fits_area(own, first_decoded)
            advice = "use target_crs to reproject" if fits is not False else "the coordinates fit neither; which CRS are they in?"
            raise InputFileError(f"{source.name}: crs={options.crs!r} contradicts {what} {own.name!r}; {advice}")
        return given
    if own is not None:
        if srid_from_values is not None and origin != "own":
            notes.append(f"CRS: EPSG:{srid_from_values}, from the SRID in the values")
        return own
    if origin == "text" and text_kind in _TEXT_GEOMETRY_CRS:
        notes.append(f"CRS: EPSG:{_TEXT_GEOMETRY_CRS[text_kind]} assumed for {text_kind} (its standard)")
        return pyproj.CRS.from_epsg(_TEXT_GEOMETRY_CRS[text_kind])
    if origin == "xy" and {snake_case(name) for name in input_columns} & (LONLAT_NAMES | {"lat", "latitude", "breedtegraad"}):
        notes.append(f"CRS: EPSG:4326 assumed from the column names {input_columns[0]}/{input_columns[1]}")
        return pyproj.CRS.from_epsg(4326)
    raise InputFileError(f"{source.name} has no coordinate reference system: pass crs={_likely_crs(first_decoded)!r} (or the right one)")


def _likely_crs(decoded) -> str:
    """EPSG:4326 for coordinates that can only be degrees, else RD New, the city's CRS."""
    present = decoded.geometries[~shapely.is_missing(decoded.geometries)] if decoded is not None else []
    if len(present):
        xmin, ymin, xmax, ymax = shapely.total_bounds(present)
        if -180 <= xmin and xmax <= 180 and -90 <= ymin and ymax <= 90:
            return "EPSG:4326"
    return "EPSG:28992"


def _coordinates_contradict(own: pyproj.CRS, given: pyproj.CRS, decoded) -> bool:
    """True when the first batch lies wholly outside the file's own CRS's area and inside that of the
    CRS the user gave: the file's label is wrong, and the user's explicit crs= can replace it."""
    return _fits_area(own, decoded, wholly=False) is False and _fits_area(given, decoded) is True


def _fits_area(crs: pyproj.CRS, decoded, *, wholly: bool = True) -> bool | None:
    """Whether the first batch's geometries lie in ``crs``'s area (all of them; with ``wholly=False``: True
    unless none does). None when there is nothing to tell by."""
    area = extent.area_of(crs)
    present = decoded.geometries[~shapely.is_missing(decoded.geometries)] if decoded is not None else []
    if area is None or not len(present):
        return None
    inside = area.inside(shapely.bounds(present))
    return bool(inside.all() if wholly else inside.any())


# --- batches --------------------------------------------------------------------------------------


def _batches(plan: Plan, source: Source, raw: Iterator[tuple[RawBatch, object]], options: Options) -> Iterator[Batch]:
    string_nulls = [v for v in options.null_values if isinstance(v, str)]
    for batch, decoded in raw:
        if plan.geometry is not None and decoded is None:
            decoded = _decoded(batch, plan.geometry.origin, plan.geometry.input_columns, plan.geometry.text_kind, source, plan.make_valid)
            _check_srids(decoded, plan.geometry, source, batch.first_row)
        attributes, markers, sentinels = _converted(plan, source, batch, string_nulls)
        for note in sorted(decoded.notes) if decoded is not None else ():
            if note not in plan.notes:
                plan.notes.append(note)
        yield Batch(
            attributes=attributes, geometries=decoded.geometries if decoded is not None else None, first_row=batch.first_row,
            repaired_rows=decoded.repaired_rows if decoded else [], nulled_rows=decoded.nulled_rows if decoded else [],
            markers=markers, sentinels=sentinels,
        )


def _check_srids(decoded, geometry: GeometryPlan, source: Source, first_row: int) -> None:
    if decoded.srids and decoded.srids != {geometry.srid_from_values}:
        found = ", ".join("none" if s == 0 else str(s) for s in sorted(decoded.srids))
        raise InputFileError(
            f"{source.name}: rows from {first_row:,} on carry SRID {found}, earlier rows {geometry.srid_from_values or 'none'};"
            " one CRS per column"
        )


def _converted(plan: Plan, source: Source, raw: RawBatch, string_nulls: list[str]) -> tuple[pa.Table, dict[str, int], dict[str, int]]:
    table, markers, sentinels = raw.table.select([]), {}, {}  # select([]) keeps the row count when there are no attributes
    for attribute in plan.attributes:
        values = raw.table.column(attribute.input_name).combine_chunks()
        if string_nulls and (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            given = pc.is_in(values, pa.array(string_nulls))
            if found := pc.sum(given).as_py():
                sentinels[attribute.name] = found
                values = pc.if_else(given, pa.scalar(None, values.type), values)
        if attribute.conversion == "text":
            values, count = convert(values, attribute.type_name, decimal=source.decimal, where=source.name, column=attribute.input_name,
                                    first_row=raw.first_row, known_to_fit=attribute.known_to_fit, strict=attribute.strict)
            if count:
                markers[attribute.name] = count
        elif attribute.conversion == "json":
            values = _as_json(values, source.name, attribute.input_name, raw.first_row)
        elif attribute.conversion == "cast":
            if attribute.whole_days:
                check_whole_days(values, where=source.name, column=attribute.input_name, first_row=raw.first_row)
            values = _cast(values, attribute.type, source.name, attribute.input_name, raw.first_row)
        if attribute.scale is not None:
            check_scale(values, attribute.scale, where=source.name, column=attribute.input_name, first_row=raw.first_row)
        table = table.append_column(attribute.name, values)
    return table, markers, sentinels


def _as_json(values: pa.Array, where: str, column: str, first_row: int) -> pa.Array:
    if isinstance(values.type, pa.BaseExtensionType):
        storage = values.storage
        if pa.types.is_string(storage.type) or pa.types.is_large_string(storage.type):
            return _json_or_string(storage.cast(pa.string()))  # GDAL's JSON fields
        values = storage
    # maps as dicts: to_pylist would give them as key-value pairs, indistinguishable from lists of pairs
    python = values.to_pylist(maps_as_pydicts="strict")
    return pa.array(json_texts(python, where=where, column=column, first_row=first_row), pa.string())


def _json_or_string(values: pa.Array) -> pa.Array:
    """GDAL's JSON text, where a property mixes kinds (house numbers 12 and "12a") giving the strings
    unquoted: those become JSON strings, so every value is stored as the file has it."""
    texts = []
    for value in values.to_pylist():
        try:
            json.loads(value) if value is not None else None
            texts.append(value)
        except ValueError:
            texts.append(json.dumps(value, ensure_ascii=False))
    return pa.array(texts, pa.string())


def _cast(values: pa.Array, target: pa.DataType, where: str, column: str, first_row: int) -> pa.Array:
    try:
        return values.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for index in range(len(values)):
        try:
            values[index : index + 1].cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise InputFileError(f"{where}: row {first_row + index}, column {column}: {values[index].as_py()!r} is not of type {target}") from None
    raise InputFileError(f"{where}: column {column} cannot be stored as {target}")
