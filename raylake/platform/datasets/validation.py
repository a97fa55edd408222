"""Validation of one uploaded file against a template (or an inferred schema), lazily with polars.

Nothing here materialises the file: the checks are aggregations over a lazy scan, and the typed
(silver) and raw (bronze) outputs are lazy frames the caller sinks straight to Parquet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from raylake.platform.datasets.sniff import Sniffed, to_utf8
from raylake.platform.errors import Invalid

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
_BOOLEANS = {
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "yes": True,
    "no": False,
}  # = templates.types
_NAIVE_DATETIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)


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
    bronze: pl.LazyFrame
    extra_paths: list[Path] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return self.valid_records > 0


def parse_expr(data_type: str, text: pl.Expr) -> pl.Expr:
    """A string expression parsed as a template type; unparseable values become null."""
    if data_type == "String":
        return text
    if data_type in ("Integer", "Float"):
        return text.cast(POLARS_TYPES[data_type], strict=False)
    if data_type == "Boolean":
        return text.str.to_lowercase().replace_strict(_BOOLEANS, default=None, return_dtype=pl.Boolean)
    if data_type == "Date":
        return text.str.to_date("%Y-%m-%d", strict=False)
    if data_type == "DateTime":
        aware = text.str.to_datetime(
            "%Y-%m-%dT%H:%M:%S%.f%z", strict=False, time_unit="us", time_zone="UTC"
        ).dt.replace_time_zone(None)
        naive = [text.str.to_datetime(fmt, strict=False, time_unit="us") for fmt in _NAIVE_DATETIME_FORMATS]
        return pl.coalesce([*naive, aware])
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
    mapping: dict[str, str | None] = {}
    for spec in specs:
        if spec.name in header:
            mapping[spec.name] = spec.name
        else:
            mapping[spec.name] = (folded.get(spec.name.casefold()) or [None])[0]
    missing = [s.name for s in specs if mapping[s.name] is None and s.default is None]
    if missing:
        raise Invalid(f"{file_name}: missing columns: {', '.join(missing)}")
    used = {v for v in mapping.values() if v}
    return mapping, [h for h in header if h not in used]


def _scan(path: Path, sniffed: Sniffed) -> tuple[pl.LazyFrame, list[str], list[Path]]:
    if sniffed.format == "parquet":
        frame = pl.scan_parquet(path)
        header = frame.collect_schema().names()
        return frame.select(pl.all().cast(pl.String)), header, []
    utf8 = to_utf8(path, sniffed.encoding)
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
    path: Path, sniffed: Sniffed, *, file_name: str, file_id: int, specs: list[ColumnSpec] | None
) -> Validated:
    frame, header, extra_paths = _scan(path, sniffed)
    if specs is None:
        _match_header(header, [], file_name)
        specs = _infer_specs(frame, header)
    mapping, extra = _match_header(header, specs, file_name)
    frame = frame.with_row_index(ROW, offset=1)

    typed, bad, filled = [], [], []
    for i, spec in enumerate(specs):
        source = mapping[spec.name]
        text = pl.col(source).str.strip_chars() if source else pl.lit(None, dtype=pl.String)
        empty = text.is_null() | (text == "")
        value = pl.when(empty).then(pl.lit(spec.default, dtype=pl.String)).otherwise(text)
        parsed = parse_expr(spec.data_type, value)
        typed.append(parsed.alias(spec.name))
        bad.append((value.is_not_null() & parsed.is_null()).alias(f"_bad{i}"))
        filled.append((empty & pl.lit(spec.default is not None)).alias(f"_filled{i}"))

    try:
        counts = (
            frame.select([pl.len().alias("_total"), *[b.sum() for b in bad], *[f.sum() for f in filled]])
            .collect(engine="streaming")
            .row(0, named=True)
        )
    except pl.exceptions.PolarsError as exc:
        raise Invalid(
            f"{file_name}: the file could not be parsed as {sniffed.format}: {str(exc)[:300]}"
        ) from exc
    total = int(counts["_total"])
    if total == 0:
        raise Invalid(f"{file_name}: the file has a header but no data rows")

    columns: dict[str, Any] = {}
    for i, spec in enumerate(specs):
        n_bad = int(counts[f"_bad{i}"] or 0)
        entry: dict[str, Any] = {"data_type": spec.data_type, "bad_values": n_bad}
        if counts[f"_filled{i}"]:
            entry["defaults_filled"] = int(counts[f"_filled{i}"])
        if n_bad:
            source = mapping[spec.name]
            rows = frame.filter(bad[i]).select(ROW, pl.col(source)).head(SAMPLES).collect(engine="streaming")
            entry["first_bad_rows"] = rows[ROW].to_list()
            entry["sample_values"] = [str(v)[:100] for v in rows[source].to_list()]
        columns[spec.name] = entry

    any_bad = pl.any_horizontal(bad) if bad else pl.lit(False)
    valid = total - int(frame.filter(any_bad).select(pl.len()).collect(engine="streaming").item())
    silver = frame.filter(~any_bad).select(pl.lit(file_id, dtype=pl.Int64).alias(FILE_ID), *typed)
    bronze = frame.select(
        pl.lit(file_id, dtype=pl.Int64).alias(FILE_ID),
        pl.col(ROW).cast(pl.Int64),
        *[pl.col(h) for h in header],
    )
    report: dict[str, Any] = {
        "format": sniffed.format,
        "encoding": sniffed.encoding,
        "delimiter": sniffed.delimiter,
        "extra_columns": extra,
        "missing_columns_filled": [s.name for s in specs if mapping[s.name] is None],
        "invalid_rows": total - valid,
        "columns": columns,
    }
    return Validated(
        specs=specs,
        report=report,
        total_fields=len(header),
        total_records=total,
        valid_records=valid,
        silver=silver,
        bronze=bronze,
        extra_paths=extra_paths,
    )
