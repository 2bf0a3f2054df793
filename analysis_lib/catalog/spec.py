"""``datasets.yml``: the project's tables and how each is made, validated with pydantic.

Errors name the file, the line and the field (``datasets.yml:12: datasets.buurten.crs: …``); the JSON
Schema of the format (``docs/datasets.schema.json``, made by ``json_schema()``) lets editors complete it.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from ..errors import CatalogError
from ..defaults import DEFAULT_LOCK_TIMEOUT, TYPE_NAMES
from .recipes import catalog_text
from .cache import loaded

loaded(__file__)  # imported when first needed, after the cache hashed the code

_NAME = r"^[a-z_][a-z0-9_]{0,62}$"
_ENV_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_RESERVED_SCHEMAS = {"catalog", "catalog_staging", "information_schema", "workbench_admin"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # .nan marks nothing, and jsonb holds no NaN


class RowCount(_Strict):
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)


class GeometryCheck(_Strict):
    column: str | None = Field(None, description="the geometry column; default: the table's only one")
    valid: bool = Field(False, description="every geometry is valid (ST_IsValid)")
    type: str | None = Field(None, description="every geometry is of this type, e.g. MultiPolygon")
    srid: int | None = None


class Check(_Strict):
    """One check; give exactly one of its fields."""

    not_null: list[str] | None = Field(None, description="columns that hold no NULL")
    unique: list[str] | None = Field(None, description="columns whose combination is unique")
    rows: RowCount | None = Field(None, description="the number of rows lies in [min, max]")
    geometry: GeometryCheck | None = None
    sql: str | None = Field(None, description="a query that returns the failing rows; {this} is the table checked")

    @model_validator(mode="after")
    def _one_kind(self) -> Check:
        given = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(type(self).model_fields)} per check, got {', '.join(given) or 'none'}")
        return self

    @property
    def kind(self) -> str:
        return next(name for name in type(self).model_fields if getattr(self, name) is not None)


ColumnType = Literal[TYPE_NAMES]  # type: ignore[valid-type]


class Entry(_Strict):
    """One table (or view) of the database and how it is made: from a file (``path``), a download
    (``url`` + ``sha256``) or a query over other tables (``sql``)."""

    # where the data comes from
    path: str | None = Field(None, description="a file under data/raw (a zip, GeoPackage, CSV, …)")
    url: str | None = Field(None, description="downloaded into data/raw; needs sha256")
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    file: str | None = Field(None, description="the name a download gets under data/raw; default: the URL's last part")
    headers: dict[str, str] = Field(default_factory=dict, description="request headers; secrets as ${env:VARIABLE}")
    member: str | None = Field(None, description="the file inside a zip to import")
    sql: str | None = Field(None, description="a file holding one SELECT, relative to the project")
    materialized: Literal["table", "view", "materialized view"] = "table"
    depends_on: list[str] = Field(default_factory=list, description="entries it reads that no parser can see (a function's"
                                  " body, an sql check of a file entry)")
    amsterdam_schema: str | None = Field(None, description="an Amsterdam Schema table definition (<table>/vN.json)")
    schema_fields_missing: Literal["error", "null"] = Field(
        "error", description="a field of the Amsterdam Schema that the file lacks: an error, or a column of NULLs")
    columns_not_in_schema: Literal["error", "drop"] = Field(
        "error", description="a column of the file that the Amsterdam Schema lacks: an error, or left out")
    # where it goes
    schema_: str = Field("public", alias="schema", pattern=_NAME)
    table: str | None = Field(None, pattern=_NAME, description="default: the entry's name")
    # the loader's options (see analysis_lib.import_file)
    layer: str | None = None
    crs: str | int | None = None
    target_crs: str | int | None = "EPSG:28992"
    encoding: str | None = None
    geometry: str | None = None
    x: str | None = None
    y: str | None = None
    columns: list[str] | None = None
    column_types: dict[str, ColumnType] = Field(default_factory=dict)
    null_values: list[str | int | float] = Field(default_factory=list)
    make_valid: bool = False
    z: Literal["keep", "drop"] = "keep"
    geometry_type: str | None = None
    primary_key: str | list[str] | None = None
    spatial_index: bool = True
    check_extent: bool = True
    separator: str | None = None
    decimal: str | None = None
    skip_rows: int = Field(0, ge=0)
    skip_rows_after_header: int = Field(0, ge=0)
    skip_bad_lines: bool = False
    lock_timeout: float = Field(DEFAULT_LOCK_TIMEOUT, gt=0, lt=86400)
    # run once the data is in, before it replaces anything
    checks: list[Check] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)  # and _Strict's (no NaN)

    @model_validator(mode="after")
    def _one_origin(self, info: ValidationInfo) -> Entry:
        origins = [name for name in ("path", "url", "sql") if getattr(self, name) is not None]
        if len(origins) != 1:
            raise ValueError(f"give exactly one of path, url or sql, got {' and '.join(origins) or 'none'}")
        if self.url is not None and self.sha256 is None and not (info.context or {}).get("unpinned"):
            raise ValueError("a url needs its sha256 (`analysis-lib fetch --update NAME` pins it)")
        if self.sql is None:
            if self.materialized != "table":
                raise ValueError("materialized is for sql entries")
        else:
            loader_options = sorted(name for name in _LOADER_OPTIONS if name in self.model_fields_set)
            if loader_options or self.amsterdam_schema or self.member:
                raise ValueError(f"an sql entry takes no file options ({', '.join(loader_options or ['amsterdam_schema/member'])})")
        if self.url is None and (self.file or self.headers or self.sha256):
            raise ValueError("file, headers and sha256 are for url entries")
        if self.url is not None and (re.search(r"(?i)[?&][^=&]*(token|key|secret|password|signature)[^=&]*=", self.url)
                                     or urlparse(self.url).username is not None):  # https://user:password@host/…
            raise ValueError("the url holds a secret: pass it in headers: as ${env:VARIABLE} (a url is written to provenance)")
        if self.url is not None and not self.file and urlparse(self.url).path.rpartition("/")[2] == "":
            raise ValueError("the url ends without a file name: give file: (the name it gets under data/raw)")
        return self

    @field_validator("schema_")
    @classmethod
    def _not_the_workbenchs(cls, schema: str) -> str:
        if schema in _RESERVED_SCHEMAS or schema.startswith("pg_"):
            raise ValueError(f"schema {schema} is the workbench's or PostgreSQL's own: choose another")
        return schema

    @field_validator("path", "file", "member", "sql", "amsterdam_schema")
    @classmethod
    def _relative(cls, value: str | None) -> str | None:
        if value is not None and (PurePosixPath(value).is_absolute() or ".." in PurePosixPath(value).parts):
            raise ValueError(f"{value!r}: give a path inside the project, without ..")
        return value

    @field_validator("sha256", mode="before")
    @classmethod
    def _hash_as_text(cls, value):
        if value is not None and not isinstance(value, str):
            raise ValueError("put the hash in quotes: YAML read it as a number")
        return value

    @field_validator("headers")
    @classmethod
    def _secrets_by_reference(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            secret = re.search(r"auth|key|token|secret|cookie|password", name, re.IGNORECASE)
            if secret and not _ENV_REFERENCE.search(value):
                raise ValueError(f"header {name}: give the secret as ${{env:VARIABLE}}, never its value")
        return headers

    @property
    def kind(self) -> str:
        return "derived" if self.sql is not None else "download" if self.url is not None else "file"

    @property
    def schema(self) -> str:  # noqa: D401 - the field is called schema in datasets.yml
        return self.schema_

    def loader_options(self) -> dict[str, Any]:
        """The keyword arguments of ``import_file`` this entry sets."""
        return {name: getattr(self, name) for name in _LOADER_OPTIONS}


_LOADER_OPTIONS = (
    "layer", "crs", "target_crs", "encoding", "geometry", "x", "y", "columns", "column_types", "null_values", "make_valid",
    "z", "geometry_type", "primary_key", "spatial_index", "check_extent", "separator", "decimal", "skip_rows",
    "skip_rows_after_header", "skip_bad_lines",
)


EntryName = Annotated[str, Field(pattern=_NAME)]


class Catalog(_Strict):
    """The whole of datasets.yml."""

    datasets: dict[EntryName, Entry] = Field(description="entry name -> how its table is made")

    model_config = ConfigDict(extra="forbid", frozen=True, title="datasets.yml of the Amsterdam data-analysis workbench")

    @model_validator(mode="before")
    @classmethod
    def _without_extension_fields(cls, data):
        """Top-level keys starting with x- are the author's (YAML anchors to merge with <<), as in compose files."""
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if not str(key).startswith("x-")}
        return data

    def table_of(self, name: str) -> tuple[str, str]:
        entry = self.datasets[name]
        return entry.schema, entry.table or name

    @model_validator(mode="after")
    def _distinct_tables(self) -> Catalog:
        seen: dict[tuple[str, str], str] = {}
        for name in self.datasets:
            table = self.table_of(name)
            if table in seen:
                raise ValueError(f"entries {seen[table]} and {name} both make {table[0]}.{table[1]}")
            seen[table] = name
        return self


def json_schema() -> dict:
    return Catalog.model_json_schema(by_alias=True)


def read_catalog(path: str | Path, *, unpinned: bool = False) -> Catalog:
    """datasets.yml as a Catalog; CatalogError naming the file, line and field of the first problems.
    ``unpinned``: url entries may lack their sha256 (fetch --update pins them)."""
    path = Path(path)
    return parse_catalog(catalog_text(path), path, unpinned=unpinned)


def parse_catalog(text: str, path: Path, *, unpinned: bool = False) -> Catalog:
    """``text``, read from ``path``, as a Catalog (see read_catalog)."""
    try:
        data = yaml.load(text, Loader=_NoRepeatedKeys)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise CatalogError(f"{where}: not valid YAML ({getattr(error, 'problem', error)})") from None
    if not isinstance(data, dict):
        raise CatalogError(f"{path}:1: expected a mapping with 'datasets:', got {type(data).__name__}")
    try:
        return Catalog.model_validate(data, context={"unpinned": unpinned})
    except ValidationError as error:
        root = yaml.compose(text, Loader=_FAST_LOADER)  # the lines, only to say where the problems are
        lines = [f"{path}:{_line_of(root, problem['loc'])}: {_dotted(problem['loc']) or 'datasets.yml'}: {_message(problem)}"
                 for problem in error.errors()]
        raise CatalogError("\n".join(lines)) from None


_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when PyYAML was built with it


class _NoRepeatedKeys(_FAST_LOADER):
    """YAML keeps the last of two equal keys; a copied entry must not silently replace the first."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # <<: *defaults
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key!r} is given twice (first on line {seen[key] + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def _message(problem: dict) -> str:
    message = problem["msg"].removeprefix("Value error, ")
    if problem["type"] == "extra_forbidden":
        location = problem["loc"]
        model = Check if "checks" in location else GeometryCheck if "geometry" in location[-2:-1] else Entry
        known = [f.alias or name for name, f in model.model_fields.items()]
        close = difflib.get_close_matches(str(location[-1]), known, n=1)
        if close:
            return f"unknown field; did you mean {close[0]}?"
        what = "a check" if model is Check else "a geometry check" if model is GeometryCheck else "an entry"
        return f"unknown field (the fields {what} takes: {', '.join(known)})"
    return message


def _dotted(location: tuple) -> str:
    return ".".join(str(part) for part in location if part not in ("function-after", "[key]"))


def _line_of(node: yaml.Node | None, location: tuple) -> int:
    """The line of the YAML node at ``location`` (pydantic's path), or of its deepest existing parent."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in location:
        if isinstance(node, yaml.MappingNode):
            match = next((value for key, value in node.value if key.value == str(part)), None)
            key = next((key for key, _ in node.value if key.value == str(part)), None)
            if match is None:
                break
            node, line = match, (key or match).start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def published_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def with_environment(text: str, environ) -> str:
    """``text`` with each ${env:VAR} replaced by its value; CatalogError naming a variable that is not set."""
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name not in environ:
            raise CatalogError(f"environment variable {name} is not set (named in a header of datasets.yml)")
        return environ[name]
    return _ENV_REFERENCE.sub(value, text)
