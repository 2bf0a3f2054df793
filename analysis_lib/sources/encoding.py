"""Text encodings decided by evidence: a byte order mark, the whole file being valid UTF-8, a shapefile's
.cpg or DBF language byte, and otherwise charset-normalizer choosing among the single-byte encodings
Dutch files come in. A file that is UTF-8 but for a few lines is refused with those lines named: read as
a whole in any one encoding, part of it would become mojibake.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from charset_normalizer import from_bytes

from ..errors import InputFileError

_CHUNK_BYTES = 1 << 22
_SAMPLE_BYTES = 1 << 18  # of lines with non-ASCII bytes, for charset-normalizer
_SINGLE_BYTE_CANDIDATES = ["cp1252", "latin_1"]  # Windows' Western encoding, and ISO-8859-1
_BOMS = [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")]
_SHOWN_LINES = 5


@dataclass(frozen=True)
class Encoding:
    """The encoding a file is read with, what says so, and how sure that is (1.0: certain)."""

    name: str  # a Python codec name
    evidence: str
    confidence: float = 1.0

    def __str__(self) -> str:
        sureness = "" if self.confidence == 1.0 else f", confidence {self.confidence:.2f}"
        return f"{self.name} ({self.evidence}{sureness})"


def given(name: str) -> Encoding:
    """An encoding the user named; InputFileError if Python does not know it."""
    try:
        codecs.lookup(name)
    except LookupError:
        raise InputFileError(f"encoding={name!r} is not a known encoding") from None
    return Encoding(name, "given")


def detect(stream, name: str, *, start: int = 0, unit: str = "line", unit_bytes: int | None = None) -> Encoding:
    """The encoding of ``stream`` from ``start`` on (a .dbf's records start after its header).

    ``unit`` is what a problem is reported by: 'line' (counted by newlines) or, with ``unit_bytes``,
    fixed-size records such as a .dbf's.
    """
    stream.seek(start)
    head = stream.read(4)
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return Encoding(codec, "byte order mark")
    if _looks_like_utf16(head + stream.read(1020)):
        stream.seek(start)
        return Encoding(_utf16_byte_order(stream.read(1024)), "NUL bytes between ASCII letters (UTF-16 without byte order mark)", 0.9)
    scan = _Utf8Scan(unit, unit_bytes)
    stream.seek(start)
    while chunk := stream.read(_CHUNK_BYTES):
        scan.feed(chunk)
    scan.finish()
    if not scan.bad:
        return Encoding("utf-8", "valid UTF-8" if scan.non_ascii else "plain ASCII, read as UTF-8")
    if scan.non_ascii_valid:
        shown = ", ".join(map(str, scan.bad[:_SHOWN_LINES])) + (", …" if len(scan.bad) > _SHOWN_LINES else "")
        raise InputFileError(
            f"{name}: {unit}s {shown} ({len(scan.bad)} in all) are not valid UTF-8, while the rest of the file is UTF-8"
            f" (the first: {scan.first_bad!r}); the file mixes encodings: fix those {unit}s,"
            " or pass encoding= to read the whole file in one encoding"
        )
    return _single_byte(scan.sample)


def declared_conflict(declared: Encoding, stream, name: str, *, start: int, unit: str, unit_bytes: int | None) -> None:
    """InputFileError when the bytes contradict a declared encoding: UTF-8 text labelled single-byte
    (it would read as mojibake, 'Ã©' for 'é'), or text labelled UTF-8 that is not."""
    scan = _Utf8Scan(unit, unit_bytes)
    stream.seek(start)
    while chunk := stream.read(_CHUNK_BYTES):
        scan.feed(chunk)
    scan.finish()
    known = _codec(declared.name)
    declared_utf8 = known == "utf-8"
    if declared_utf8 and scan.bad:
        raise InputFileError(
            f"{name}: {declared.evidence} says UTF-8, but {unit} {scan.bad[0]} is not ({scan.first_bad!r});"
            " pass encoding= with the file's real encoding (e.g. encoding='cp1252')"
        )
    if not declared_utf8 and scan.non_ascii_valid and not scan.bad:
        example = scan.example
        misread = f" would read as {example.encode().decode(known, errors='replace')!r}" if known else " would become mojibake"
        follow = f", or encoding={declared.name!r} to follow the declaration" if known else ""
        raise InputFileError(
            f"{name}: {declared.evidence} says {declared.name}, but the text is valid UTF-8 ({example!r}{misread});"
            f" pass encoding='utf-8'{follow}"
        )


def _codec(name: str) -> str | None:
    """Python's name for the codec ``name`` (None when Python does not know it)."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def windows_bytes_under_latin1(declared: Encoding, stream, *, start: int) -> Encoding:
    """``declared``, or cp1252 when it says ISO-8859-1 but the bytes hold 0x80-0x9F: control characters in
    ISO-8859-1, and in cp1252 the € ‘ ’ “ ” – that Windows programs write (and label ISO-8859-1)."""
    if _codec(declared.name) != "iso8859-1":
        return declared
    stream.seek(start)
    found = False
    while chunk := stream.read(_CHUNK_BYTES):
        found = found or len(chunk.translate(None, _C1_BYTES)) < len(chunk)
        try:
            chunk.decode("cp1252")
        except UnicodeDecodeError:
            return declared  # a byte cp1252 has no character for (0x81, 0x8D, …): ISO-8859-1 it is
    if not found:
        return declared
    return Encoding("cp1252", f"{declared.evidence} says {declared.name}, but bytes 0x80-0x9F, control characters there, are € ‘ ’ “ ” – in cp1252")


_C1_BYTES = bytes(range(0x80, 0xA0))


def _single_byte(sample: bytes) -> Encoding:
    """cp1252 or latin-1, by charset-normalizer's reading of the lines that hold non-ASCII bytes."""
    try:
        sample.decode("cp1252")
    except UnicodeDecodeError as error:
        byte = sample[error.start : error.start + 1].hex()
        return Encoding("latin-1", f"byte 0x{byte} has no character in cp1252")
    match = from_bytes(sample, cp_isolation=_SINGLE_BYTE_CANDIDATES).best()
    if match is None:
        return Encoding("cp1252", "not UTF-8; charset-normalizer found no better single-byte encoding", 0.5)
    codec = codecs.lookup(match.encoding).name
    codec = "latin-1" if codec == "iso8859-1" else codec
    alike = sample.decode("cp1252") == sample.decode("latin-1")
    how = "not UTF-8; cp1252 and latin-1 read it alike" if alike else "not UTF-8; charset-normalizer among cp1252 and latin-1"
    return Encoding("cp1252" if alike else codec, how, round(1 - match.chaos, 2))


def _records(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _looks_like_utf16(head: bytes) -> bool:
    """Plain text in UTF-16 without a BOM: every other byte of ASCII letters is NUL."""
    if len(head) < 8:
        return False
    even_nuls, odd_nuls = head[0::2].count(0), head[1::2].count(0)
    half = len(head) // 2
    return max(even_nuls, odd_nuls) > 0.8 * half and min(even_nuls, odd_nuls) < 0.1 * half


def _utf16_byte_order(head: bytes) -> str:
    return "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"


class _Utf8Scan:
    """Whole-file UTF-8 check in chunks: which lines (or records) fail, and whether the others hold
    non-ASCII UTF-8 (then the file is UTF-8 with a few foreign lines, not a single-byte file)."""

    def __init__(self, unit: str, unit_bytes: int | None):
        self.unit_bytes = unit_bytes
        self.position = 0  # bytes before the carried-over partial line
        self.line = 1  # number of the first line in the carry
        self.carry = b""
        self.bad: list[int] = []
        self.first_bad = b""
        self.non_ascii = False
        self.non_ascii_valid = False
        self.example = ""
        self.sample = bytearray()

    def feed(self, chunk: bytes) -> None:
        """Check ``chunk`` up to its last whole line (record); the rest waits for the next chunk."""
        data = self.carry + chunk
        cut = len(data) - len(data) % self.unit_bytes if self.unit_bytes else data.rfind(b"\n") + 1
        self.carry = data[cut:]
        self._check(data[:cut])

    def finish(self) -> None:
        self._check(self.carry)
        self.carry = b""

    def _check(self, data: bytes) -> None:
        if not data:
            return
        if data.isascii():
            self._advance(data)
            return
        self.non_ascii = True
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            units = _records(data, self.unit_bytes) if self.unit_bytes else data.splitlines(keepends=True)
            for unit in units:
                self._check_line(unit)
            return
        self._valid_non_ascii(text)
        self._advance(data)

    def _check_line(self, line: bytes) -> None:
        if not line.isascii():
            try:
                self._valid_non_ascii(line.decode("utf-8"))
            except UnicodeDecodeError as error:
                self.bad.append(self._unit_number(error.start))
                if len(self.bad) == 1:
                    self.first_bad = line[max(0, error.start - 20) : error.end + 20].strip()
                if len(self.sample) < _SAMPLE_BYTES:
                    self.sample += line
        self._advance(line)

    def _valid_non_ascii(self, text: str) -> None:
        if not text.isascii():
            self.non_ascii_valid = True
            if not self.example:
                word = next((w for w in text.split() if not w.isascii()), "")
                self.example = word[:40]

    def _unit_number(self, offset: int) -> int:
        if self.unit_bytes:
            return (self.position + offset) // self.unit_bytes + 1
        return self.line

    def _advance(self, data: bytes) -> None:
        self.position += len(data)
        self.line += data.count(b"\n")
