"""Column types for text cells (CSV), decided over every value of the column, and the conversion to them.

A column is the narrowest type that every one of its values is, losslessly: boolean (true/false),
integer, float, date, timestamp (with or without UTC offsets), else text. Digit strings with a
leading zero (``0363``, ``020``; not ``0`` itself) and integers of more than 18 digits are text, since
as numbers they would lose digits. Empty cells are NULL everywhere; in a column that is not text, the
usual missing-value markers (``NA``, ``NULL``, ``.`` …) are NULL too, and counted. A column with no
values at all is text.

The same functions convert a batch of text to the decided type, so a value that does not fit (possible
only where the user chose the type) is named by its row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputFileError

TYPE_NAMES = ("text", "integer", "float", "numeric", "boolean", "date", "timestamp")
# narrowest first: a column takes the first of these that all its values are
_INFERRED = ("boolean", "integer", "float", "date", "timestamp", "timestamptz")
MISSING_MARKERS = ("NA", "N/A", "n/a", "NULL", "null", "NaN", "nan", "#N/A", ".")
_INTEGER = r"^[+-]?(0|[1-9][0-9]{0,17})$"
_BOOLEAN = r"^(?i:true|false)$"
_TRUE = ("true", "t", "1", "yes", "y", "ja", "j", "waar")
_FALSE = ("false", "f", "0", "no", "n", "nee", "onwaar")
_OFFSET = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
_ANY_NUMBER = r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$"  # a number where the user chose the type


def _float_pattern(decimal: str) -> str:
    mark = "\\" + decimal
    number = rf"(0|[1-9][0-9]{{0,17}}|(0|[1-9][0-9]*){mark}[0-9]+|{mark}[0-9]+|(0|[1-9][0-9]*){mark})"
    return rf"^[+-]?{number}([eE][+-]?[0-9]+)?$"


# Text that holds geometries: WKT or EWKT, GeoJSON, or (E)WKB as hex.
GEOMETRY_TEXT = {
    "WKT": r"^\s*(?i:SRID=[0-9]+;\s*)?(?i:POINT|LINESTRING|POLYGON|MULTIPOINT|MULTILINESTRING|MULTIPOLYGON|"
    r"GEOMETRYCOLLECTION|CIRCULARSTRING|COMPOUNDCURVE|CURVEPOLYGON|MULTICURVE|MULTISURFACE|TRIANGLE|TIN|"
    r"POLYHEDRALSURFACE)\s*(?i:ZM|Z|M)?\s*(\(|(?i:EMPTY))",
    "GeoJSON": r'^\s*\{.*"type"\s*:\s*"(Point|LineString|Polygon|MultiPoint|MultiLineString|MultiPolygon|GeometryCollection)"',
    "WKB (hex)": r"^(00|01)([0-9A-Fa-f]{2}){8,}$",
}


@dataclass
class TextEvidence:
    """What every value of one text column seen so far could be."""

    decimal: str = "."
    possible: set[str] = field(default_factory=lambda: set(_INFERRED))
    geometry: set[str] = field(default_factory=lambda: set(GEOMETRY_TEXT))
    values: int = 0  # present (not empty) values
    max_scale: int = 0  # most digits after the decimal mark, for a numeric column

    def add(self, values: pa.Array) -> None:
        """Narrow what the column could be by a batch of its values."""
        present = _present(values, markers=False)
        if len(present) == 0:
            return
        self.values += len(present)
        self.geometry = {kind for kind in self.geometry if _all_match(present, GEOMETRY_TEXT[kind])}
        if not self.possible:
            return
        candidates = _present(values, markers=True)
        if len(candidates) == 0:  # markers only: not a number or date, so text
            self.possible.clear()
            return
        for kind in [k for k in _INFERRED if k in self.possible]:
            if not _fits(candidates, kind, self.decimal):
                self.possible.discard(kind)
        if self.possible & {"integer", "float"}:
            self.max_scale = max(self.max_scale, _scale(candidates, self.decimal))

    @property
    def type_name(self) -> str:
        """The narrowest type all values fit (timestamptz: timestamps with a UTC offset)."""
        if self.values == 0:
            return "text"
        return next((kind for kind in _INFERRED if kind in self.possible), "text")

    @property
    def geometry_kind(self) -> str | None:
        """'WKT', 'GeoJSON' or 'WKB (hex)' when every value is one, else None."""
        return next(iter(sorted(self.geometry)), None) if self.values else None


def arrow_type(type_name: str, evidence: TextEvidence | None = None) -> pa.DataType:
    """The Arrow type a text column of ``type_name`` becomes (numeric: decimal with the scale seen)."""
    if type_name == "numeric":
        scale = evidence.max_scale if evidence else 0
        return pa.decimal128(38, min(scale, 37))
    return {
        "text": pa.string(),
        "integer": pa.int64(),
        "float": pa.float64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us"),
        "timestamptz": pa.timestamp("us", tz="UTC"),
    }[type_name]


def convert(values: pa.Array, target: pa.DataType, *, decimal: str, where: str, column: str, first_row: int) -> tuple[pa.Array, int]:
    """``values`` (text) as ``target``, and how many missing-value markers became NULL.

    InputFileError names the row and value that does not fit (``where`` names the file).
    """
    where = (where, column)
    if pa.types.is_string(target) or pa.types.is_large_string(target):
        return values, 0
    present = _present(values, markers=True, keep_positions=True)
    markers = pc.sum(pc.and_(pc.is_null(present), pc.is_valid(_present(values, markers=False, keep_positions=True)))).as_py() or 0
    if pa.types.is_boolean(target):
        lowered = pc.utf8_lower(present)
        fits = pc.or_(pc.is_in(lowered, pa.array(_TRUE)), pc.is_in(lowered, pa.array(_FALSE)))
        _raise_at_first_misfit(values, present, fits, "true or false", where, first_row)
        return pc.is_in(lowered, pa.array(_TRUE)).cast(pa.bool_()), markers
    if pa.types.is_integer(target):
        _raise_at_first_misfit(values, present, pc.match_substring_regex(present, r"^[+-]?[0-9]+$"), "an integer", where, first_row)
        return _cast(present, target, values, "an integer of at most 18 digits", where, first_row), markers
    if pa.types.is_floating(target) or pa.types.is_decimal(target):
        numbers = pc.replace_substring(present, decimal, ".") if decimal != "." else present
        fits = pc.match_substring_regex(numbers, _ANY_NUMBER)
        _raise_at_first_misfit(values, present, fits, "a number", where, first_row)
        return _cast(numbers, target, values, f"a number of type {target}", where, first_row), markers
    if pa.types.is_timestamp(target) and target.tz is None:
        with_offset = pc.match_substring_regex(present, _OFFSET)
        _raise_at_first_misfit(values, present, pc.invert(with_offset), "a time without UTC offset", where, first_row)
    described = {pa.date32(): "a date (YYYY-MM-DD)"}.get(target, "a date and time (YYYY-MM-DD hh:mm:ss)")
    return _cast(present, target, values, described, where, first_row), markers


def _present(values: pa.Array, *, markers: bool, keep_positions: bool = False) -> pa.Array:
    """Trimmed values without empty cells (and missing-value markers): NULL there, or left out."""
    trimmed = pc.utf8_trim_whitespace(values)
    missing = pc.equal(trimmed, "")
    if markers:
        missing = pc.or_(missing, pc.is_in(trimmed, pa.array(MISSING_MARKERS)))
    blanked = pc.if_else(missing, pa.scalar(None, pa.string()), trimmed)
    return blanked if keep_positions else blanked.drop_null()


def _all_match(present: pa.Array, pattern: str) -> bool:
    return bool(pc.all(pc.match_substring_regex(present, pattern)).as_py())


def _fits(present: pa.Array, kind: str, decimal: str) -> bool:
    if kind == "boolean":
        return _all_match(present, _BOOLEAN)
    if kind == "integer":
        return _all_match(present, _INTEGER)
    if kind == "float":
        return _all_match(present, _float_pattern(decimal))
    if kind == "timestamptz" and not _all_match(present, _OFFSET):
        return False
    if kind == "timestamp" and pc.any(pc.match_substring_regex(present, _OFFSET)).as_py():
        return False
    try:
        pc.cast(present, arrow_type(kind))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _scale(present: pa.Array, decimal: str) -> int:
    fraction = pc.extract_regex(present, rf"\{decimal}(?P<digits>[0-9]+)")
    lengths = pc.utf8_length(pc.struct_field(fraction, "digits"))
    return int(pc.max(lengths).as_py() or 0)


def _cast(present: pa.Array, target: pa.DataType, values: pa.Array, described: str, where: tuple[str, str], first_row: int) -> pa.Array:
    try:
        return pc.cast(present, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for index, value in enumerate(present.to_pylist()):  # only when the batch holds a value that does not fit
        if value is not None:
            try:
                pc.cast(pa.array([value]), target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise _misfit(values, index, described, where, first_row) from None
    raise InputFileError(f"{where[0]}: column {where[1]}, rows {first_row}–{first_row + len(values) - 1}: cannot be read as {described}")


def _raise_at_first_misfit(values, present, fits, described: str, where: tuple[str, str], first_row: int) -> None:
    misfits = pc.and_(pc.is_valid(present), pc.invert(pc.fill_null(fits, True)))
    if pc.any(misfits).as_py():
        raise _misfit(values, pc.index(misfits, True).as_py(), described, where, first_row)


def _misfit(values: pa.Array, index: int, described: str, where: tuple[str, str], first_row: int) -> InputFileError:
    name, column = where
    return InputFileError(f"{name}: row {first_row + index}, column {column}: {values[index].as_py()!r} is not {described}")
