"""What kind of file an upload is: format, text encoding and CSV delimiter, from its first bytes.

UTF-8 (with or without BOM) and UTF-16 with a BOM are recognised directly, at no detection cost. Any
other text is handed to charset-normalizer, among the 8-bit code pages CSV files are written in; a
guess it cannot back with confidence is refused rather than misread (one wrong code page turns every
accented letter into another letter, silently).
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer
import pyarrow as pa
import pyarrow.parquet as pq

from raylake.platform.errors import Invalid

SAMPLE_BYTES = 256 * 1024
DELIMITERS = ",;\t|"
MAX_COLUMNS = 2000
_CONTROL = {chr(c) for c in range(32)} - {"\t", "\n", "\r"}
_C1_CONTROL = {chr(c) for c in range(0x80, 0xA0)}  # text decoded with the wrong ISO-8859 page has these
# The 8-bit code pages detection chooses among: Windows and ISO-8859 pages of the Latin, Cyrillic,
# Greek, Turkish, Baltic and Vietnamese scripts, and KOI8. DOS and Mac pages are left out: they decode
# almost any bytes into something, so a guess among them says little.
CODE_PAGES = [
    *(f"cp{n}" for n in range(1250, 1259)),
    "koi8_r",
    "koi8_u",
    *(f"iso8859_{n}" for n in (2, 4, 5, 7, 9, 13, 15)),
]
# A guess whose text shows no language is refused unless it reads exactly as Windows-1252 would
# (what raylake always accepted); coherence is charset-normalizer's 0..1 language fit.
MIN_COHERENCE = 0.1
UTF8_ENCODINGS = ("utf-8", "utf-8-sig")


@dataclass(frozen=True)
class Sniffed:
    format: str  # "csv" | "parquet"
    encoding: str  # "utf-8" | "utf-8-sig" | "utf-16" | a detected code page ("cp1250", ...) | "binary"
    delimiter: str
    header: list[str]


def _detect(raw: bytes, file_name: str) -> str:
    """The 8-bit code page of text that is not UTF-8, or a 422 saying why none can be trusted."""
    advice = "save it as UTF-8 and upload it again"
    best = charset_normalizer.from_bytes(raw, cp_isolation=CODE_PAGES).best()
    if best is None:
        raise Invalid(f"{file_name}: the text is not UTF-8 and its encoding cannot be determined; {advice}")
    if "cp1252" in best.could_be_from_charset:  # the same text as Windows-1252 would give
        return "cp1252"
    if best.coherence < MIN_COHERENCE:
        raise Invalid(
            f"{file_name}: the text is not UTF-8 and its encoding cannot be told with confidence "
            f"(it might be {best.encoding}, but no language is recognisable in it); {advice}"
        )
    return best.encoding


def _decode_sample(raw: bytes, file_name: str) -> tuple[str, str]:
    if raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8"
    try:  # the fast path: no detection for UTF-8 (final=False: the sample may end inside a character)
        return encoding, codecs.getincrementaldecoder(encoding)().decode(raw, final=False)
    except UnicodeDecodeError:
        pass
    encoding = _detect(raw, file_name)
    text = raw.decode(encoding)
    if any(ch in _C1_CONTROL for ch in text):
        raise Invalid(f"{file_name}: the text is not UTF-8 and does not read as {encoding} either")
    return encoding, text


def _parquet_header(path: Path, file_name: str) -> list[str]:
    """The column names from a Parquet file's footer; a 422 for anything that is not a readable one."""
    try:
        header = list(pq.read_schema(path).names)
    except (pa.ArrowException, OSError) as exc:
        raise Invalid(f"{file_name}: not a readable Parquet file ({str(exc)[:200]})") from exc
    if not header:
        raise Invalid(f"{file_name}: the Parquet file has no columns")
    if len(header) > MAX_COLUMNS:
        raise Invalid(f"{file_name}: {len(header)} columns; at most {MAX_COLUMNS} are supported")
    return header


def sniff(path: Path, file_name: str) -> Sniffed:
    """What a staged file is: Parquet or CSV, its encoding, delimiter and header."""
    with path.open("rb") as fh:
        raw = fh.read(SAMPLE_BYTES)
    if raw.startswith(b"PAR1"):
        header = _parquet_header(path, file_name)
        return Sniffed(format="parquet", encoding="binary", delimiter="", header=header)
    if not raw.strip():
        raise Invalid(f"{file_name}: the file is empty")
    encoding, text = _decode_sample(raw, file_name)
    text = text.lstrip("\ufeff")
    if not text.strip():  # a byte-order mark and nothing else
        raise Invalid(f"{file_name}: the file is empty")
    if any(ch in _CONTROL for ch in text):
        raise Invalid(f"{file_name}: the file is not CSV text (binary content)")
    first_lines = "\n".join(text.splitlines()[:50])
    try:
        delimiter = csv.Sniffer().sniff(first_lines, delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","
    header_line = next(csv.reader([text.splitlines()[0]], delimiter=delimiter), [])
    header = [h.strip() for h in header_line]
    if len(header) > MAX_COLUMNS:
        raise Invalid(f"{file_name}: {len(header)} columns; at most {MAX_COLUMNS} are supported")
    if not any(header):
        raise Invalid(f"{file_name}: the header row is empty")
    return Sniffed(format="csv", encoding=encoding, delimiter=delimiter, header=header)


def to_utf8(path: Path, encoding: str, file_name: str) -> Path:
    """A UTF-8 copy of a text file in another encoding (streamed), or the file itself when it is UTF-8."""
    if encoding in (*UTF8_ENCODINGS, "binary"):
        return path
    target = path.with_suffix(".utf8.csv")
    try:
        with (
            path.open("r", encoding=encoding, newline="") as src,
            target.open("w", encoding="utf-8", newline="") as dst,
        ):
            while chunk := src.read(1024 * 1024):
                dst.write(chunk)
    except UnicodeDecodeError as exc:
        target.unlink(missing_ok=True)
        raise Invalid(
            f"{file_name}: part of the file does not read as {encoding}, the encoding its start was "
            "detected as; save it as UTF-8 and upload it again"
        ) from exc
    return target
