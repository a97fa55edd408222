"""Validation of one uploaded file against a template (or an inferred schema), lazily with polars.

The text is parsed once: the streaming engine sinks the raw rows (all strings, plus ``file_id`` and
``_row``) to a Parquet file, which is the bronze output. Every check and the typed (silver) output are
then lazy scans of that columnar file, never of the CSV again, and nothing is held in memory whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from raylake.ml.times import iso_datetime
from raylake.platform.datasets.sniff import Sniffed, to_utf8
from raylake.platform.errors import Invalid
from raylake.platform.lake import ROW_GROUP

ROW = "_row"
FILE_ID = "file_id"
SAMPLES = 5
INFER_ROWS = 10_000

POLARS_TYPES: dict[str, pl.DataType] = {
    "String": pl.String(),
    "Integer": pl.Int64(),
    "Float": pl.Float64(),
    "Boolean": pl.Boolean(),
    "Date": pl.Date(),
    "DateTime": pl.Datetime("us"),
}
_TRUE = ["true", "1", "yes"]  # = core.types
_FALSE = ["false", "0", "no"]


_INVALID = "__rl_invalid"


def _typed(i: int) -> str:
    return f"__rl_typed_{i}"


def _value(i: int) -> str:
    return f"__rl_value_{i}"


def _bad(i: int) -> str:
    return f"__rl_bad_{i}"


def _filled(i: int) -> str:
    return f"__rl_filled_{i}"


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    data_type: str
    default: str | None = None


@dataclass
class Validated:
    specs: list[ColumnSpec]
    report: dict[str, Any]
    total_fields: int
    total_records: int
    valid_records: int
    silver: pl.LazyFrame
    bronze_path: Path
    scratch: list[Path]

    @property
    def is_valid(self) -> bool:
        """Whether any row passed validation."""
        return self.valid_records > 0


def parse_expr(data_type: str, text: pl.Expr) -> pl.Expr:
    """A string expression parsed as a template type; unparseable values become null."""
    if data_type == "String":
        return text
    if data_type in ("Integer", "Float"):
        return text.cast(POLARS_TYPES[data_type], strict=False)
    if data_type == "Boolean":
        lowered = text.str.to_lowercase()
        # when/then, not replace_strict: the latter leaves the streaming engine and holds the column.
        return (
            pl.when(lowered.is_in(_TRUE))
            .then(pl.lit(True))
            .when(lowered.is_in(_FALSE))
            .then(pl.lit(False))
            .otherwise(pl.lit(None, dtype=pl.Boolean))
        )
    if data_type == "Date":
        return text.str.to_date("%Y-%m-%d", strict=False)
    if data_type == "DateTime":
        return iso_datetime(text)
    raise ValueError(f"unknown data type {data_type!r}")


def _infer_specs(frame: pl.LazyFrame, header: list[str]) -> list[ColumnSpec]:
    """Types for a file without a template: the narrowest template type every sampled value parses as."""
    sample = frame.head(INFER_ROWS).collect()
    specs = []
    for name in header:
        values = sample[name].str.strip_chars()
        present = values.filter(values.is_not_null() & (values != ""))
        chosen = "String"
        if len(present):
            for data_type in ("Integer", "Float", "Boolean", "Date", "DateTime"):
                parsed = pl.select(parse_expr(data_type, pl.lit(present))).to_series()
                if parsed.null_count() == 0:
                    chosen = data_type
                    break
        specs.append(ColumnSpec(name=name, data_type=chosen))
    return specs


def absent_columns(specs: list[ColumnSpec], header: list[str]) -> list[str]:
    """Template columns a header lacks (compared whatever the case) that have no default to fill them."""
    have = {name.casefold() for name in header}
    return [s.name for s in specs if s.name.casefold() not in have and s.default is None]


def _match_header(
    header: list[str], specs: list[ColumnSpec], file_name: str
) -> tuple[dict[str, str | None], list[str]]:
    """Template column -> file column (exact, else case-insensitive); and the file's extra columns."""
    folded: dict[str, list[str]] = {}
    for name in header:
        folded.setdefault(name.casefold(), []).append(name)
    duplicated = sorted(names[0] for names in folded.values() if len(names) > 1)
    if duplicated:
        raise Invalid(f"{file_name}: duplicated columns: {', '.join(duplicated)}")
    reserved = sorted(
        {FILE_ID, ROW} & {h.casefold() for h in header} | {FILE_ID, ROW} & {s.name for s in specs}
    )
    if reserved:
        raise Invalid(f"{file_name}: column names reserved by the platform: {', '.join(reserved)}")
    mapping: dict[str, str | None] = {}
    for spec in specs:
        if spec.name in header:
            mapping[spec.name] = spec.name
        else:
            matches = folded.get(spec.name.casefold())
            mapping[spec.name] = matches[0] if matches else None
    missing = [s.name for s in specs if mapping[s.name] is None and s.default is None]
    if missing:
        raise Invalid(f"{file_name}: missing columns: {', '.join(missing)}")
    used = {v for v in mapping.values() if v}
    return mapping, [h for h in header if h not in used]


def _scan(path: Path, sniffed: Sniffed, file_name: str) -> tuple[pl.LazyFrame, list[str], list[Path]]:
    if sniffed.format == "parquet":
        frame = pl.scan_parquet(path)
        return frame.select(pl.all().cast(pl.String)), sniffed.header, []
    utf8 = to_utf8(path, sniffed.encoding, file_name)
    frame = pl.scan_csv(
        utf8,
        separator=sniffed.delimiter,
        has_header=True,
        infer_schema=False,
        quote_char='"',
        raise_if_empty=True,
        new_columns=sniffed.header,
    )
    return frame, sniffed.header, [utf8] if utf8 != path else []


def validate_file(
    path: Path,
    sniffed: Sniffed,
    *,
    file_name: str,
    file_id: int,
    specs: list[ColumnSpec] | None,
    raw_target: Path,
) -> Validated:
    """Validate one file; its raw rows are written to ``raw_target`` (the caller owns that file)."""
    text_frame, header, extra_paths = _scan(path, sniffed, file_name)
    try:
        mapping, extra = _match_header(header, specs or [], file_name)
        raw = text_frame.with_row_index(ROW, offset=1).select(
            pl.lit(file_id, dtype=pl.Int64).alias(FILE_ID),
            pl.col(ROW).cast(pl.Int64),
            *[pl.col(h) for h in header],
        )
        raw.sink_parquet(raw_target, compression="zstd", compression_level=1, row_group_size=ROW_GROUP)
    except pl.exceptions.PolarsError as exc:
        raise Invalid(
            f"{file_name}: the file could not be parsed as {sniffed.format}: {str(exc)[:300]}"
        ) from exc
    finally:
        for extra_path in extra_paths:
            extra_path.unlink(missing_ok=True)
    frame = pl.scan_parquet(raw_target)
    if specs is None:
        specs = _infer_specs(frame, header)
        mapping, extra = _match_header(header, specs, file_name)

    # Parse every column once, into a typed scratch file with a bad/filled flag per column; the counts,
    # the samples and the silver rows are then cheap columnar reads of that file.
    # Staged so each step is computed once per column: cleaned text, then the parsed value, then flags.
    values, typed, flags = [], [], []
    for i, spec in enumerate(specs):
        source = mapping[spec.name]
        text = pl.col(source).str.strip_chars() if source else pl.lit(None, dtype=pl.String)
        values.append(
            pl.when(text != "").then(text).otherwise(pl.lit(spec.default, dtype=pl.String)).alias(_value(i))
        )
        flags.append((text.is_null() | (text == "")) & pl.lit(spec.default is not None))
        typed.append(parse_expr(spec.data_type, pl.col(_value(i))).alias(_typed(i)))
    bad = [
        (pl.col(_value(i)).is_not_null() & pl.col(_typed(i)).is_null()).alias(_bad(i))
        for i in range(len(specs))
    ]
    typed_target = raw_target.with_name(f"{raw_target.name}.typed.parquet")
    (
        frame.select(
            pl.col(FILE_ID), pl.col(ROW), *values, *[f.alias(_filled(i)) for i, f in enumerate(flags)]
        )
        .with_columns(typed)
        .with_columns(bad)
        .with_columns(
            pl.any_horizontal([_bad(i) for i in range(len(specs))]).alias(_INVALID)
            if specs
            else pl.lit(False).alias(_INVALID)
        )
        .drop([_value(i) for i in range(len(specs))])
        .sink_parquet(typed_target, compression="lz4", row_group_size=ROW_GROUP)
    )
    checked = pl.scan_parquet(typed_target)
    counts = (
        checked.select(
            pl.len().alias("_total"),
            pl.col(_INVALID).sum(),
            *[pl.col(n).sum() for i in range(len(specs)) for n in (_bad(i), _filled(i))],
        )
        .collect(engine="streaming")
        .row(0, named=True)
    )
    total = int(counts["_total"])
    if total == 0:
        typed_target.unlink(missing_ok=True)
        raise Invalid(f"{file_name}: the file has a header but no data rows")
    invalid = int(counts[_INVALID] or 0)

    columns: dict[str, Any] = {}
    for i, spec in enumerate(specs):
        n_bad = int(counts[_bad(i)] or 0)
        entry: dict[str, Any] = {"data_type": spec.data_type, "bad_values": n_bad}
        if counts[_filled(i)]:
            entry["defaults_filled"] = int(counts[_filled(i)])
        if n_bad:
            source = mapping[spec.name]
            assert source is not None  # a default is never bad: it parses (templates/service.py)
            first = checked.filter(pl.col(_bad(i))).select(ROW).head(SAMPLES).collect()[ROW].to_list()
            bad_values = frame.filter(pl.col(ROW).is_in(first)).sort(ROW).select(pl.col(source)).collect()
            entry["first_bad_rows"] = first
            entry["sample_values"] = [str(v)[:100] for v in bad_values[source].to_list()]
        columns[spec.name] = entry

    silver = checked.filter(~pl.col(_INVALID)).select(
        pl.col(FILE_ID), *[pl.col(_typed(i)).alias(spec.name) for i, spec in enumerate(specs)]
    )
    report: dict[str, Any] = {
        "format": sniffed.format,
        "encoding": sniffed.encoding,
        "delimiter": sniffed.delimiter,
        "extra_columns": extra,
        "missing_columns_filled": [s.name for s in specs if mapping[s.name] is None],
        "invalid_rows": invalid,
        "columns": columns,
    }
    return Validated(
        specs=specs,
        report=report,
        total_fields=len(header),
        total_records=total,
        valid_records=total - invalid,
        silver=silver,
        bronze_path=raw_target,
        scratch=[typed_target],
    )
