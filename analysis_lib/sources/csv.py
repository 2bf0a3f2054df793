"""CSV and other delimited text (``,`` ``;`` tab ``|``), read with pyarrow in two streaming passes.

The first pass decides, over every row, what each column is (see ``text_types``: ``0363`` stays text,
a column empty for its first million rows takes its type from the values after) and checks the file
parses; the second reads the batches. Memory stays flat: neither pass keeps more than a batch.
The encoding, separator and decimal mark are detected unless given.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from ..errors import InputFileError
from ..identifiers import unique_names
from . import encoding as encodings
from .source import Column, RawBatch, Source
from .text_types import TextEvidence

SUFFIXES = {".csv", ".tsv", ".txt"}
_SAMPLE_BYTES = 1 << 16
_CHUNK_BYTES = 1 << 22


def open_csv(
    path: Path,
    *,
    encoding: str | None,
    separator: str | None,
    decimal: str | None,
    skip_rows: int,
    skip_rows_after_header: int,
    skip_bad_lines: bool,
    null_values: tuple,
    batch_size: int,
) -> Source:
    name = str(path)
    dialect, found, decimal = _dialect(path, encoding, separator, decimal, (skip_rows, skip_rows_after_header), skip_bad_lines,
                                       null_values, batch_size)
    columns = [Column(n, pa.string(), TextEvidence(decimal=decimal)) for n in dialect.names]
    skipped, rows = dialect.scan(columns)
    notes = ["decimal comma"] if decimal == "," else []
    if skipped:
        first = skipped[0]
        notes.append(
            f"skipped {len(skipped)} malformed line(s), the first: {first.text[:60]!r}"
            f" ({first.actual_columns} fields where {first.expected_columns} were expected)"
        )

    def read(names: list[str], make_valid: bool):
        return dialect.batches(names)

    return Source(
        name=name, columns=columns, read=read, total=rows, encoding=found, decimal=decimal, tabular=True,
        types_from_values=True, notes=notes,
    )


class _Dialect:
    """How to read the file: the same options for the header, the typing pass and the batches."""

    def __init__(self, path: Path, encoding: str, separator: str, skips: tuple[int, int], skip_bad_lines: bool, batch_size: int, null_values):
        self.path, self.name = path, str(path)
        self.encoding, self.separator, (self.skip_rows, self.skip_after_header) = encoding, separator, skips
        self.skip_bad_lines, self.block_size = skip_bad_lines, max(batch_size * 64, 1 << 20)
        # cells given as null_values are no evidence of a type; in the batches they are still there, so the
        # plan makes them NULL and counts them
        self.typing_nulls = [""] + [v for v in null_values if isinstance(v, str)]
        self.header = self._read_header()
        self.names = unique_names(self.header)  # every column can be chosen, repeated names too

    def _read_header(self) -> list[str]:
        options = pa_csv.ReadOptions(encoding=self.encoding, skip_rows=self.skip_rows, block_size=self.block_size, use_threads=False)
        try:
            return pa_csv.open_csv(self.path, read_options=options, parse_options=self._parse_options([])).schema.names
        except pa.ArrowInvalid as error:
            raise InputFileError(f"{self.name}: {_explained(str(error))}") from None

    def scan(self, columns: list[Column]) -> tuple[list, int]:
        """Feed every column's values to its evidence; the malformed lines skipped, and the rows."""
        skipped, rows = [], 0
        for table in self._tables(skipped, self.typing_nulls):
            self._refuse_repeated_header(table, rows + 1)
            for column, values in zip(columns, table.columns, strict=True):
                column.evidence.add(values.combine_chunks())
            rows += table.num_rows
        return skipped, rows

    def _refuse_repeated_header(self, table: pa.Table, first_row: int) -> None:
        """A row that is the header again (two exports pasted together) would make every column text."""
        header = self.header
        repeats = None
        for values, name in zip(table.columns, header, strict=True):
            if name.strip():
                same = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(values), name.strip()), False)
            else:  # an unnamed column (a row index): its cell in a repeated header is empty, so NULL
                same = pc.is_null(values)
            repeats = same if repeats is None else pc.and_(repeats, same)
        if repeats is not None and len(header) > 1 and pc.any(repeats).as_py():
            row = pc.index(repeats, True).as_py() + first_row
            raise InputFileError(
                f"{self.name}: row {row:,} repeats the header ({', '.join(header[:3])}{', …' if len(header) > 3 else ''}):"
                " two files pasted together? Import the parts one after the other (if_exists='append') or remove that line"
            )

    def batches(self, names: list[str]):
        first_row = 1
        for table in self._tables([], [""]):
            yield RawBatch(table=table.select(names), geometries=None, first_row=first_row)
            first_row += table.num_rows

    def _tables(self, skipped: list, null_values: list[str]):
        read_options = pa_csv.ReadOptions(
            encoding=self.encoding, skip_rows=self.skip_rows + 1 + self.skip_after_header, column_names=self.names,
            block_size=self.block_size,
            use_threads=False,  # rows are numbered only in a single-threaded read, and errors can name them
        )
        convert_options = pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in self.names}, strings_can_be_null=True,
            null_values=null_values, quoted_strings_can_be_null=True,
        )
        try:
            reader = pa_csv.open_csv(self.path, read_options=read_options, parse_options=self._parse_options(skipped),
                                     convert_options=convert_options)
            for batch in reader:
                yield pa.Table.from_batches([batch])
        except pa.ArrowInvalid as error:
            raise InputFileError(f"{self.name}: {_explained(str(error))}") from None

    def _parse_options(self, skipped: list) -> pa_csv.ParseOptions:
        def handle(row) -> str:
            if not self.skip_bad_lines:
                return "error"
            skipped.append(row)
            return "skip"

        return pa_csv.ParseOptions(delimiter=self.separator, invalid_row_handler=handle)


def header(path: Path, *, encoding: str | None, separator: str | None, skip_rows: int, skip_rows_after_header: int) -> list[str]:
    """The column names of a CSV, read from its header without reading its rows."""
    dialect, _, _ = _dialect(path, encoding, separator, None, (skip_rows, skip_rows_after_header), False, (), 1)
    return list(dialect.names)


def _dialect(path: Path, encoding, separator, decimal, skips: tuple[int, int], skip_bad_lines, null_values, batch_size):
    name = str(path)
    if path.stat().st_size == 0:
        raise InputFileError(f"{name}: the file is empty")
    with path.open("rb") as stream:
        if encoding is None:
            found = encodings.detect(stream, name)
        else:
            found = encodings.given(encoding)
            _check_declared(stream, found.name, name)
    skip_rows, skip_rows_after_header = skips
    lines = _decoded_sample(path, found.name).splitlines()
    sample = "\n".join(lines[skip_rows : skip_rows + 1] + lines[skip_rows + 1 + skip_rows_after_header :])
    if separator is not None:
        _check_separator(separator, sample, lines[skip_rows] if len(lines) > skip_rows else "", name)
    separator = separator or _sniff_separator(sample)
    decimal = decimal or _sniff_decimal(sample, separator)
    return _Dialect(path, found.name, separator, skips, skip_bad_lines, batch_size, null_values), found, decimal


def _check_separator(given: str, sample: str, header: str, name: str) -> None:
    """A separator that leaves the header in one piece while another splits it is a mistake, not a
    one-column file."""
    if given in header:
        return
    try:
        found = _sniff_separator(sample)
    except InputFileError:
        return
    if found != given and found in header:
        raise InputFileError(f"{name}: separator {given!r} leaves the header in one column ({header[:60]!r}); "
                             f"the file looks separated by {found!r}")


def _explained(message: str) -> str:
    """Arrow's parse error with the line named as an analyst counts it, and the way out."""
    message = re.sub(r"^CSV parse error: Row #(\d+): ", lambda m: f"line {m.group(1)}: ", message)
    if re.search(r"Expected 1 columns?, got \d+", message):
        return message + "; if the file starts with title lines, pass skip_rows=N (--skip-rows N) to start at the header"
    if re.search(r"Expected \d+ columns?, got \d+", message):
        return message + "; skip_bad_lines=True (--skip-bad-lines) skips such lines and reports them"
    return message


def _check_declared(stream, encoding: str, name: str) -> None:
    """A given encoding must decode the whole file; the first line it cannot is named."""
    stream.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    while chunk := stream.read(_CHUNK_BYTES):
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as error:
            bad_line = line + chunk[: error.start].count(b"\n")
            raise InputFileError(f"{name}: line {bad_line} is not valid {encoding} ({error.reason}); leave encoding unset to detect it") from None
        line += chunk.count(b"\n")


def _decoded_sample(path: Path, encoding: str) -> str:
    with path.open("rb") as stream:
        raw = stream.read(_SAMPLE_BYTES)
    text = raw.decode(encoding, errors="ignore").lstrip("\ufeff")
    return text.rsplit("\n", 1)[0] if "\n" in text else text


def _sniff_separator(sample: str) -> str:
    """The separator that splits the header into the most fields, with most lines agreeing.

    Quotes are respected, so a '|' or ',' inside quoted names does not count; a stray title or footer
    line does not outvote the rest.
    """
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    best, best_fields = ",", 1
    for separator in ",;\t|":
        counts = [len(row) for row in csv.reader(lines, delimiter=separator)]
        agreeing = sum(count == counts[0] for count in counts) if counts else 0
        if counts and agreeing * 2 > len(counts) and counts[0] > best_fields:
            best, best_fields = separator, counts[0]
    return best


_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")


def _sniff_decimal(sample: str, separator: str) -> str:
    if separator == ",":
        return "."
    rows = list(csv.reader(io.StringIO(sample), delimiter=separator))[1:]
    fields = [value.strip() for row in rows for value in row]
    return "," if any(_DECIMAL_COMMA.match(value) for value in fields) else "."
