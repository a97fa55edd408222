"""What kind of file an upload is: format, text encoding and CSV delimiter, from its first bytes."""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from pathlib import Path

from raylake.platform.errors import Invalid

SAMPLE_BYTES = 256 * 1024
DELIMITERS = ",;\t|"
MAX_COLUMNS = 2000
_CONTROL = {chr(c) for c in range(32)} - {"\t", "\n", "\r"}


@dataclass(frozen=True)
class Sniffed:
    format: str  # "csv" | "parquet"
    encoding: str  # "utf-8" | "utf-8-sig" | "utf-16" | "cp1252" | "binary"
    delimiter: str
    header: list[str]


def _decode_sample(raw: bytes) -> tuple[str, str]:
    if raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8"
    try:
        return encoding, codecs.getincrementaldecoder(encoding)().decode(raw, final=False)
    except UnicodeDecodeError:
        pass
    try:
        return "cp1252", raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise Invalid("The file is neither UTF-8 nor Windows-1252 text") from exc


def sniff(path: Path, file_name: str) -> Sniffed:
    with path.open("rb") as fh:
        raw = fh.read(SAMPLE_BYTES)
    if raw.startswith(b"PAR1"):
        return Sniffed(format="parquet", encoding="binary", delimiter="", header=[])
    if not raw.strip():
        raise Invalid(f"{file_name}: the file is empty")
    encoding, text = _decode_sample(raw)
    if any(ch in _CONTROL for ch in text):
        raise Invalid(f"{file_name}: the file is not CSV text (binary content)")
    first_lines = "\n".join(text.splitlines()[:50])
    try:
        delimiter = csv.Sniffer().sniff(first_lines, delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","
    header_line = next(csv.reader([text.lstrip("\ufeff").splitlines()[0]], delimiter=delimiter), [])
    header = [h.strip() for h in header_line]
    if len(header) > MAX_COLUMNS:
        raise Invalid(f"{file_name}: {len(header)} columns; at most {MAX_COLUMNS} are supported")
    if not any(header):
        raise Invalid(f"{file_name}: the header row is empty")
    return Sniffed(format="csv", encoding=encoding, delimiter=delimiter, header=header)


def to_utf8(path: Path, encoding: str) -> Path:
    """A UTF-8 copy of a text file in another encoding (streamed), or the file itself when it is UTF-8."""
    if encoding in ("utf-8", "utf-8-sig", "binary"):
        return path
    target = path.with_suffix(".utf8.csv")
    with (
        path.open("r", encoding=encoding, newline="") as src,
        target.open("w", encoding="utf-8", newline="") as dst,
    ):
        while chunk := src.read(1024 * 1024):
            dst.write(chunk)
    return target
