"""datasets.yml as the planner reads it: for each entry, its table, where its data comes from, what
it depends on, the options that change what is stored and its checks' digest, as plain data.

They come from the entries pydantic validates (spec), through the cache (see cache): a status or a
no-op build of an unchanged datasets.yml plans without importing pydantic. Making a table needs the
whole entry (``Declared.entries``, validated from the same text); a build first confirms that the
entries give the recipes it planned with (``Declared.confirm``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ..errors import CatalogError
from . import cache
from . import fingerprints as fp

if TYPE_CHECKING:
    from .spec import Catalog, Entry

CATALOG_FILE = "datasets.yml"
RAW_DATA = PurePosixPath("data/raw")


@dataclass(frozen=True)
class Recipe:
    name: str
    schema: str
    table: str
    kind: str  # file, download or derived (see spec.Entry.kind)
    materialized: str  # table, view or materialized view
    path: str | None
    url: str | None
    sha256: str | None
    sql: str | None
    amsterdam_schema: str | None
    depends_on: tuple[str, ...]
    options: dict  # what changes the stored table (fingerprints.options_of)
    checks: str  # their digest (fingerprints.checks_digest)


@dataclass(frozen=True)
class Declared:
    """What datasets.yml declares: its text and each entry's recipe, in the file's order."""

    path: Path
    text: str
    recipes: dict[str, Recipe]

    @property
    def entries(self) -> dict[str, Entry]:
        """The entries as pydantic validates them, from the same text (what making a table needs)."""
        return self._catalog.datasets

    def confirm(self) -> None:
        """CatalogError unless the text, validated in full, gives the recipes (which may come from the
        cache: one written by other code under the same key, or by hand)."""
        if _as_json(_recipes_of(self._catalog)) != _as_json(list(self.recipes.values())):  # 1 and 1.0 differ, as in fingerprints
            raise CatalogError(f"{self.path}: the cache in {cache.folder()} holds another reading of it than the file gives;"
                               " delete that folder and build again")

    @functools.cached_property
    def _catalog(self) -> Catalog:
        return _parsed(self.text, self.path)


def read_declared(root: Path) -> Declared:
    """The project's datasets.yml; CatalogError naming the file, line and field of its problems."""
    path = root / CATALOG_FILE
    text = catalog_text(path)
    recipes = cache.remembered("recipes", text, lambda: _recipes_of(_parsed(text, path)), _dump, _load)
    return Declared(path, text, {recipe.name: recipe for recipe in recipes})


def catalog_text(path: Path) -> str:
    try:
        return text_of(path, path)
    except OSError as error:
        raise CatalogError(f"{path}: cannot read the catalog ({error.strerror})") from None


def text_of(path: Path, shown: str | Path) -> str:
    """A file the catalog reads (datasets.yml, a recipe's SQL): UTF-8, a BOM allowed (as editors on
    Windows write it); CatalogError naming the line of a byte that is not UTF-8. OSError as it comes."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CatalogError(f"{shown}:{line}: not UTF-8 (byte 0x{data[error.start]:02x}); save the file as UTF-8") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _parsed(text: str, path: Path) -> Catalog:
    from .spec import parse_catalog

    return parse_catalog(text, path)


def _recipes_of(catalog: Catalog) -> list[Recipe]:
    return [_recipe_of(name, catalog) for name in catalog.datasets]


def _recipe_of(name: str, catalog: Catalog) -> Recipe:
    entry = catalog.datasets[name]
    schema, table = catalog.table_of(name)
    return Recipe(
        name=name, schema=schema, table=table, kind=entry.kind, materialized=entry.materialized, path=entry.path,
        url=entry.url, sha256=entry.sha256, sql=entry.sql, amsterdam_schema=entry.amsterdam_schema,
        depends_on=tuple(entry.depends_on), options=fp.options_of(entry), checks=fp.checks_digest(entry),
    )


def _as_json(recipes: list[Recipe]) -> str:
    return json.dumps(_dump(recipes), sort_keys=True)


def _dump(recipes: list[Recipe]) -> list[dict]:
    return [asdict(recipe) for recipe in recipes]


def _load(data: list[dict]) -> list[Recipe]:
    return [Recipe(**{**fields, "depends_on": tuple(fields["depends_on"])}) for fields in data]
