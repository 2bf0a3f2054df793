"""Detection of encodings, separators and decimal commas, on bytes and text made here."""

import codecs
import io

import pytest

from analysis_lib.errors import InputFileError
from analysis_lib.sources.csv import _sniff_decimal, _sniff_separator
from analysis_lib.sources.encoding import declared_conflict, detect, given


@pytest.mark.parametrize(
    ("raw", "name", "evidence"),
    [
        ("naam\nCafé 't Hoekje\n".encode(), "utf-8", "valid UTF-8"),
        (b"plain ascii\n", "utf-8", "plain ASCII, read as UTF-8"),
        (codecs.BOM_UTF8 + "naam\nCafé\n".encode(), "utf-8", "byte order mark"),
        ("naam;plaats\nCafé;Zoë\n".encode("utf-16"), "utf-16", "byte order mark"),
        ("naam;plaats\nCafé;Zoë\n".encode("utf-16-le"), "utf-16-le", "NUL bytes between ASCII letters"),
        ("naam\nCafé € 5 “groot”\n".encode("cp1252"), "cp1252", "charset-normalizer among cp1252 and latin-1"),
        ("naam\nCafé Zoë\n".encode("latin-1"), "cp1252", "cp1252 and latin-1 read it alike"),
        (b"naam\nabc\x81\x8d\n", "latin-1", "byte 0x81 has no character in cp1252"),
    ],
)
def test_the_encoding_and_what_says_so(raw, name, evidence):
    found = detect(io.BytesIO(raw), "f.csv")
    assert found.name == name and evidence in found.evidence
    assert 0 < found.confidence <= 1


def test_detection_reads_past_the_first_chunk():
    raw = b"a\n" * (3 << 20) + "é\n".encode("cp1252")
    assert detect(io.BytesIO(raw), "f.csv").name == "cp1252"


def test_a_utf8_file_with_a_few_cp1252_lines_names_them_instead_of_guessing():
    lines = ["naam"] + ["Zoë"] * 5 + ["Café"] + ["Noël"] * 3 + ["Crème"]
    raw = b"".join(line.encode("cp1252" if i in (6, 10) else "utf-8") + b"\n" for i, line in enumerate(lines))
    with pytest.raises(InputFileError, match=r"f\.csv: lines 7, 11 \(2 in all\) are not valid UTF-8, while the rest of the file is UTF-8"):
        detect(io.BytesIO(raw), "f.csv")


def test_dbf_records_are_named_by_record():
    records = b" " + "Zoë".ljust(9).encode() + b" " + "Café".ljust(9).encode("cp1252") + b" " + "Noël".ljust(8).encode()
    with pytest.raises(InputFileError, match=r"records 2 \(1 in all\)"):
        detect(io.BytesIO(b"H" * 32 + records), "f.dbf", start=32, unit="record", unit_bytes=11)


def test_utf8_text_under_a_single_byte_declaration_is_refused():
    with pytest.raises(InputFileError, match=r"its \.cpg file says cp1252, but the text is valid UTF-8 \('Гренада' would read as 'Ð"):
        declared_conflict(given("cp1252").__class__("cp1252", "its .cpg file"), io.BytesIO("Гренада\n".encode()), "gre.dbf",
                          start=0, unit="record", unit_bytes=None)


def test_a_latin1_label_over_windows_bytes_reads_as_cp1252_unless_cp1252_lacks_a_byte():
    from analysis_lib.sources.encoding import Encoding, windows_bytes_under_latin1

    label = Encoding("iso-8859-1", "its .cpg file")
    assert windows_bytes_under_latin1(label, io.BytesIO("€ 5".encode("cp1252")), start=0).name == "cp1252"
    assert windows_bytes_under_latin1(label, io.BytesIO(b"M\x81nster \x80"), start=0) is label  # 0x81 is no cp1252 character
    assert windows_bytes_under_latin1(label, io.BytesIO("Café".encode("latin-1")), start=0) is label


@pytest.mark.parametrize(
    ("sample", "separator"),
    [
        ("a,b,c\n1,2,3", ","),
        ("a;b;c\n1;2;3", ";"),
        ("a\tb\n1\t2", "\t"),
        ("a|b\n1|2", "|"),
        ("single\n1", ","),
        ('"Inkomen|personen|aantal";"Inkomen|huishoudens"\n"1,5";"2"', ";"),  # separators inside quotes do not count
    ],
)
def test_separator_splits_lines_into_equal_fields(sample, separator):
    assert _sniff_separator(sample) == separator


def test_decimal_comma_is_seen_in_semicolon_files_only():
    assert _sniff_decimal("naam;waarde\nA;1,5\n", ";") == ","
    assert _sniff_decimal("naam;waarde\nA;15\n", ";") == "."
    assert _sniff_decimal('naam,waarde\nA,"1,5"\n', ",") == "."
