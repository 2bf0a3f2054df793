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
from ..defaults import TYPE_NAMES

# narrowest first: a column takes the first of these that all its values are
_INFERRED = ("boolean", "integer", "float", "date", "timestamp", "timestamptz")
MISSING_MARKERS = ("NA", "N/A", "n/a", "NULL", "null", "NaN", "nan", "#N/A", ".")
_MARKERS = pa.array(MISSING_MARKERS)
_EMPTY_OR_MARKER = pa.array(["", *MISSING_MARKERS])
# No '+': a leading plus is kept as written (+31 20 …, a telephone number), not dropped from a number.
_INTEGER = r"^-?(0|[1-9][0-9]{0,17})$"
_BOOLEAN = r"^(?i:true|false)$"
_TRUE = ("true", "t", "1", "yes", "y", "ja", "j", "waar")
_FALSE = ("false", "f", "0", "no", "n", "nee", "onwaar")
_OFFSET = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
_ANY_NUMBER = r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$"  # a number where the user chose the type


def _float_pattern(decimal: str) -> str:
    """A number a float holds: whole numbers of at most 15 digits (longer ones, ids mostly, would lose
    digits), decimals, and exponents of at most two digits (1e400 would be infinity)."""
    mark = "\\" + decimal
    number = rf"(0|[1-9][0-9]{{0,14}}|(0|[1-9][0-9]*){mark}[0-9]+|{mark}[0-9]+|(0|[1-9][0-9]*){mark})"
    return rf"^-?{number}([eE][+-]?[0-9]{{1,2}})?$"


# Text that holds geometries: WKT or EWKT, GeoJSON, or (E)WKB as hex.
GEOMETRY_TEXT = {
    "WKT": r"^\s*(?i:SRID=[0-9]+;\s*)?(?i:POINT|LINESTRING|POLYGON|MULTIPOINT|MULTILINESTRING|MULTIPOLYGON|"
    r"GEOMETRYCOLLECTION|CIRCULARSTRING|COMPOUNDCURVE|CURVEPOLYGON|MULTICURVE|MULTISURFACE|TRIANGLE|TIN|"
    r"POLYHEDRALSURFACE)\s*(?i:ZM|Z|M)?\s*(\(|(?i:EMPTY))",
    "GeoJSON": r'^\s*\{.*"type"\s*:\s*"(Point|LineString|Polygon|MultiPoint|MultiLineString|MultiPolygon|GeometryCollection)"',
    "WKB (hex)": r"^(\\x)?(00|01)([0-9A-Fa-f]{2}){20,}$",  # a byte order and at least the 20 bytes of a point; \x as bytea prints
}


# Each chain runs from narrow to wide: values that are all of one kind are all of the kinds after it.
_CHAINS = (("boolean",), ("integer", "float"), ("date", "timestamp"), ("timestamptz",))
_SAMPLE = 64  # values tried first: most columns show what they are not within a few rows
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TIMESTAMP = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?)?$"
_TIMESTAMPTZ = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?" + _OFFSET


@dataclass
class TextEvidence:
    """What every value of one text column seen so far could be."""

    decimal: str = "."
    possible: set[str] = field(default_factory=lambda: set(_INFERRED))
    geometry: set[str] = field(default_factory=lambda: set(GEOMETRY_TEXT))
    values: int = 0  # values that are neither empty nor a missing-value marker
    decimal_comma: bool | None = None  # True: every value is a number, some with a decimal comma, in a file whose mark is '.'
    first_value: str | None = None
    shadow: set[str] = field(default_factory=set)  # what the column could be without its first value

    def add(self, values: pa.Array) -> None:
        """Narrow what the column could be by a batch of its values."""
        if self.values and not self.possible and not self.geometry and not self.shadow and self.decimal_comma is not None:
            return  # text, and nothing else left to learn
        trimmed = pc.utf8_trim_whitespace(values)
        candidates = trimmed.filter(pc.and_(pc.is_valid(trimmed), pc.invert(pc.is_in(trimmed, _EMPTY_OR_MARKER))))
        if len(candidates) == 0:
            return  # empty cells and markers only: no evidence either way
        first_batch = self.values == 0
        self.values += len(candidates)
        self.geometry = {kind for kind in self.geometry if _holds_geometries(candidates, kind)}
        self.possible = _narrowed(self.possible, candidates, self.decimal)
        if first_batch and not self.possible and len(candidates) > 1:
            self.first_value, self.shadow = candidates[0].as_py(), _narrowed(set(_INFERRED), candidates.slice(1), self.decimal)
        elif not first_batch and self.shadow:
            self.shadow = _narrowed(self.shadow, candidates, self.decimal)
        if not self.possible:
            self._check_decimal_comma(candidates)

    @property
    def text_for_its_first_value(self) -> str | None:
        """The first value, when it alone keeps the column from being a number or date (a row of units
        under a statistics export's header); else None."""
        return self.first_value if not self.possible and self.shadow else None

    def _check_decimal_comma(self, candidates: pa.Array) -> None:
        """Numbers written with a decimal comma ("3,2") in a file whose mark is '.': text, and worth saying."""
        if self.decimal == "," or self.decimal_comma is False:
            return
        if not _all_match_sampled(candidates, _float_pattern(",")):
            self.decimal_comma = False
        elif pc.any(pc.match_substring_regex(candidates, r",([0-9]{1,2}|[0-9]{4,})([eE]|$)")).as_py():
            self.decimal_comma = True  # a comma not followed by three digits: no thousands separator

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


def arrow_type(type_name: str) -> pa.DataType:
    """The Arrow type a text column of ``type_name`` travels as; numeric travels as its text (with a
    decimal point), which PostgreSQL reads exactly however many digits it has."""
    return {
        "text": pa.string(),
        "integer": pa.int64(),
        "float": pa.float64(),
        "numeric": pa.string(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us"),
        "timestamptz": pa.timestamp("us", tz="UTC"),
    }[type_name]


def convert(
    values: pa.Array, type_name: str, *, decimal: str, where: str, column: str, first_row: int, known_to_fit: bool = False,
    strict: bool = False,
) -> tuple[pa.Array, int]:
    """``values`` (text) as ``type_name``, and how many missing-value markers became NULL.

    ``known_to_fit``: every value was seen to fit (the type came from the values), so they are not
    checked again. ``strict``: values must fit as inference would have them (no leading zero in an
    integer, no 1e400 in a float), for a type given by a table rather than chosen by the user.
    Otherwise InputFileError names the row and value that does not fit (``where`` names the file).
    """
    if type_name == "text":
        return values, 0
    where = (where, column)
    trimmed = pc.utf8_trim_whitespace(values)
    markers = pc.sum(pc.is_in(trimmed, _MARKERS)).as_py() or 0
    present = pc.if_else(pc.is_in(trimmed, _EMPTY_OR_MARKER), pa.scalar(None, pa.string()), trimmed)  # NULL stays NULL
    target = arrow_type(type_name)
    if type_name == "boolean":
        lowered = pc.utf8_lower(present)
        if not known_to_fit:
            fits = pc.or_(pc.is_in(lowered, pa.array(_TRUE)), pc.is_in(lowered, pa.array(_FALSE)))
            _raise_at_first_misfit(values, present, fits, "true or false", where, first_row)
        truth = pc.is_in(lowered, pa.array(_TRUE))  # False for NULL: the NULLs are put back
        return pc.if_else(pc.is_valid(present), truth, pa.scalar(None, pa.bool_())), markers
    if type_name == "integer":
        if not known_to_fit:
            pattern, described = (_INTEGER, "an integer without a leading zero or plus") if strict else (r"^[+-]?[0-9]+$", "an integer")
            _raise_at_first_misfit(values, present, pc.match_substring_regex(present, pattern), described, where, first_row)
        return _cast(present, target, values, "an integer of at most 18 digits", where, first_row), markers
    if type_name in ("float", "numeric"):
        if strict and type_name == "float":
            _raise_at_first_misfit(values, present, pc.match_substring_regex(present, _float_pattern(decimal)), "a number a float holds", where, first_row)
        numbers = pc.replace_substring(present, decimal, ".") if decimal != "." else present
        if not known_to_fit:
            _raise_at_first_misfit(values, present, pc.match_substring_regex(numbers, _ANY_NUMBER), "a number", where, first_row)
        if type_name == "numeric":
            return numbers, markers  # PostgreSQL reads the digits exactly
        floats = _cast(numbers, target, values, "a number", where, first_row)
        _raise_at_first_misfit(values, present, pc.invert(pc.is_inf(floats)), "a number a float holds (it would be infinity)", where, first_row)
        return floats, markers
    if type_name == "timestamp" and not known_to_fit:
        with_offset = pc.match_substring_regex(present, _OFFSET)
        _raise_at_first_misfit(values, present, pc.invert(with_offset), "a time without UTC offset", where, first_row)
    described = {"date": "a date (YYYY-MM-DD)", "timestamptz": "a date and time with a UTC offset (YYYY-MM-DD hh:mm:ss+01:00)"}.get(
        type_name, "a date and time (YYYY-MM-DD hh:mm:ss)"
    )
    return _cast(present, target, values, described, where, first_row), markers


def check_scale(values: pa.Array, scale: int, *, where: str, column: str, first_row: int) -> None:
    """Numbers (as text, or numbers) with at most ``scale`` decimals: a numeric(p,s) column would round more."""
    text = values if pa.types.is_string(values.type) or pa.types.is_large_string(values.type) else pc.cast(values, pa.string())
    too_many = pc.match_substring_regex(text, rf"\.[0-9]{{{scale + 1},}}") if scale else pc.match_substring(text, ".")
    _raise_at_first_misfit(values, text, pc.invert(too_many), f"a number of at most {scale} decimals (the column's numeric would round it)",
                           (where, column), first_row)


def check_whole_days(values: pa.Array, *, where: str, column: str, first_row: int) -> None:
    """Timestamps for a date column must be midnight: a time of day would be cut off."""
    days = pc.cast(pc.cast(values, pa.date32()), values.type)
    _raise_at_first_misfit(values, values, pc.equal(days, values), "a date (it has a time of day, which a date column would cut off)",
                           (where, column), first_row)


def _narrowed(possible: set[str], candidates: pa.Array, decimal: str) -> set[str]:
    """The kinds in ``possible`` that every one of ``candidates`` is; a sample is tried before them all,
    and a kind that fits implies the wider ones of its chain."""
    remaining = set(possible)
    sample = candidates.slice(0, _SAMPLE)
    for chain in _CHAINS:
        for kind in (k for k in chain if k in remaining):
            if _fits(sample, kind, decimal) and (len(candidates) <= _SAMPLE or _fits(candidates, kind, decimal)):
                break
            remaining.discard(kind)
    return remaining


def without_markers(values: pa.Array) -> pa.Array:
    """Text with empty cells and missing-value markers as NULL (for columns geometries are made of)."""
    return pc.if_else(pc.is_in(pc.utf8_trim_whitespace(values), _EMPTY_OR_MARKER), pa.scalar(None, pa.string()), values)


def _holds_geometries(present: pa.Array, kind: str) -> bool:
    """Every value looks like a geometry of ``kind``; hex must also decode (long digit codes such as
    shipping numbers look like hex too)."""
    if not _all_match_sampled(present, GEOMETRY_TEXT[kind]):
        return False
    if kind == "WKB (hex)":
        return all(_wkb_header(value) for value in present.slice(0, _SAMPLE).to_pylist())
    return True


def _wkb_header(text: str) -> bool:
    """Whether hex text starts as WKB does: a byte order (0 or 1) and a geometry type code (ISO's 1-17,
    plus 1000s for Z, M, ZM; or EWKB's flags). Broken, curved and TIN geometries pass, to be read or
    named later; digit codes do not: 0012345678… has no such type."""
    try:
        header = bytes.fromhex(text.removeprefix("\\x")[:10])
    except ValueError:
        return False
    code = int.from_bytes(header[1:5], "little" if header[0] == 1 else "big")
    if code & 0x20000000 or code & 0x80000000 or code & 0x40000000:  # EWKB: SRID, Z and M flags
        code &= 0x0FFFFFFF
    return 1 <= code % 1000 <= 17 and code // 1000 <= 3


def _all_match_sampled(present: pa.Array, pattern: str) -> bool:
    """``_all_match``, trying the first values before all of them."""
    return _all_match(present.slice(0, _SAMPLE), pattern) and (len(present) <= _SAMPLE or _all_match(present, pattern))


def _all_match(present: pa.Array, pattern: str) -> bool:
    return bool(pc.all(pc.match_substring_regex(present, pattern)).as_py())


def _fits(present: pa.Array, kind: str, decimal: str) -> bool:
    if kind == "boolean":
        return _all_match(present, _BOOLEAN)
    if kind == "integer":
        return _all_match(present, _INTEGER)
    if kind == "float":
        return _all_match(present, _float_pattern(decimal))
    pattern = {"date": _DATE, "timestamp": _TIMESTAMP, "timestamptz": _TIMESTAMPTZ}[kind]
    if not _all_match(present, pattern):
        return False
    try:  # the pattern passes 2024-02-30; the cast does not
        pc.cast(present, arrow_type(kind))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


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
    value = values[index].as_py()
    return InputFileError(f"{name}: row {first_row + index}, column {column}: {value!r} is not {described}{header_again(value, column)}")


def header_again(value, column: str) -> str:
    """A hint when a cell holds its column's name: the header repeats, as in two exports pasted together."""
    return " (the header again: two files pasted together?)" if isinstance(value, str) and value.strip() == column else ""
