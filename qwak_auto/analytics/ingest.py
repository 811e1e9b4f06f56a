"""Loading predictions: prediction-log segments (the runner) and files (`auto ingest`).

Segments live at ``<home>/predictions/<model_id>/<variation>/<name>.jsonl``; one being written
ends in ``.jsonl.open`` and is renamed when closed. The table ``_ingested`` remembers, per
segment (named without ``.open``), how many bytes were loaded and whether it is done, in the
same transaction as the rows: a segment is never loaded twice, an open one is read up to its
last complete line and picked up from there next time.
"""

from __future__ import annotations

import csv
import json
import math
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qwak_auto import log
from qwak_auto.analytics.rows import Row, RowError, cell, column_type, normalise
from qwak_auto.analytics.store import LOCK_WAIT_SECONDS, PREDICTION_COLUMNS, writer
from qwak_auto.errors import UsageError

MAX_REPORTED_ERRORS = 50
FORMATS = ("jsonl", "csv", "parquet")


@dataclass(frozen=True, slots=True)
class IngestReport:
    file: str
    rows: int
    columns_added: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()  # "line N: reason", at most MAX_REPORTED_ERRORS
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0


def _plain(value: Any) -> Any:
    """JSON-ready: non-finite floats become null (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _existing_columns(conn: Any) -> dict[str, tuple[str, str]]:
    """lower-cased name -> (name as spelled, type): DuckDB names are case-insensitive."""
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'predictions'"
    ).fetchall()
    return {str(name).lower(): (str(name), str(kind)) for name, kind in rows}


def insert_rows(conn: Any, rows: Sequence[Row], tmp_dir: Path) -> tuple[str, ...]:
    """Insert rows into ``predictions`` (inside the caller's transaction), adding a column for
    each new output field first. Returns the columns added."""
    if not rows:
        return ()
    existing = _existing_columns(conn)
    added: list[str] = []
    for row in rows:
        for name, value in row.outputs.items():
            kind = column_type(value)
            if name.lower() in existing or kind is None:
                continue  # known already, or a null that says nothing of its type yet
            conn.execute(f'ALTER TABLE predictions ADD COLUMN "{name}" {kind}')
            existing[name.lower()] = (name, kind)
            added.append(name)
    out_cols: dict[str, str] = {}  # column as spelled in the table -> type
    for row in rows:
        for name in row.outputs:
            if name.lower() in existing:
                spelled, kind = existing[name.lower()]
                out_cols[spelled] = kind
    columns = {**PREDICTION_COLUMNS, **{n: out_cols[n] for n in sorted(out_cols)}}
    # DuckDB reads a JSON-lines file far faster than it binds parameters row by row.
    tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", suffix=".jsonl", dir=tmp_dir, delete=False, encoding="utf-8"
    ) as handle:
        tmp = Path(handle.name)
        for row in rows:
            record = dict(row.base)
            for name, value in row.outputs.items():
                if name.lower() in existing:
                    spelled, kind = existing[name.lower()]
                    record.setdefault(spelled, cell(value, kind))
            handle.write(json.dumps(_plain(record), allow_nan=False) + "\n")
    try:
        spec = ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
        conn.execute(
            "INSERT INTO predictions BY NAME SELECT * FROM read_json(?, "
            f"format = 'newline_delimited', columns = {{{spec}}})",
            [str(tmp)],
        )
    finally:
        tmp.unlink(missing_ok=True)
    return tuple(added)


# ---------------------------------------------------------------- segments


def _segments(root: Path) -> dict[str, Path]:
    """Segment name (relative, without .open) -> the file now on disk (closed wins)."""
    found: dict[str, Path] = {}
    if not root.is_dir():
        return found
    for path in sorted(root.rglob("*.jsonl.open")):
        found[path.relative_to(root).as_posix()[: -len(".open")]] = path
    for path in sorted(root.rglob("*.jsonl")):
        found[path.relative_to(root).as_posix()] = path
    return found


def _read_from(path: Path, offset: int, closed: bool) -> tuple[bytes, int] | None:
    """Complete lines from ``offset`` (all of a closed file), and the new offset."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return None  # renamed or removed meanwhile: picked up next time
    if not closed:
        end = data.rfind(b"\n") + 1
        data = data[:end]
    return data, offset + len(data)


def _segment_rows(name: str, data: bytes) -> Iterator[Row]:
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise RowError("not a JSON object")
            yield normalise(record)
        except (ValueError, RowError) as exc:
            # A serving process wrote it: report and go on, one bad line must not stop a gate.
            log.event(
                "skipped a bad prediction-log line", segment=name, line=number, error=str(exc)
            )


def ingest_segments(config: Any, wait_seconds: float = LOCK_WAIT_SECONDS) -> int:
    """Load new prediction-log lines into ``predictions``; returns the number of rows loaded.
    Opens the file for writing only when there are segments at all."""
    if not _segments(config.home / "predictions"):
        return 0
    with writer(config, wait_seconds) as conn:
        return load_segments(conn, config)


def load_segments(conn: Any, config: Any) -> int:
    """:func:`ingest_segments` inside the caller's write transaction."""
    segments = _segments(config.home / "predictions")
    if not segments:
        return 0
    now = datetime.now(UTC)
    state = {
        str(seg): (int(off), bool(done))
        for seg, off, done in conn.execute(
            'SELECT segment, "offset", done FROM _ingested'
        ).fetchall()
    }
    rows: list[Row] = []
    updates: list[tuple[str, int, bool, int]] = []
    for name, path in segments.items():
        offset, done = state.get(name, (0, False))
        if done:
            continue
        closed = not path.name.endswith(".open")
        read = _read_from(path, offset, closed)
        if read is None or (read[1] == offset and not closed):
            continue
        data, new_offset = read
        batch = list(_segment_rows(name, data))
        rows.extend(batch)
        updates.append((name, new_offset, closed, len(batch)))
    insert_rows(conn, rows, config.home / "tmp")
    for name, new_offset, closed, count in updates:
        conn.execute(
            "INSERT INTO _ingested VALUES (?, ?, ?, ?, ?) ON CONFLICT (segment) DO UPDATE "
            'SET "offset" = excluded."offset", done = excluded.done, '
            "rows = _ingested.rows + excluded.rows, updated_at = excluded.updated_at",
            [name, new_offset, closed, count, now],
        )
    return len(rows)


# ---------------------------------------------------------------- files (`auto ingest`)


def detect_format(path: Path, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise UsageError(f"--format-in: {fmt!r} is not one of {', '.join(FORMATS)}")
        return fmt
    suffix = path.name.lower()
    if suffix.endswith((".jsonl", ".ndjson", ".json", ".jsonl.open")):
        return "jsonl"
    if suffix.endswith(".csv"):
        return "csv"
    if suffix.endswith((".parquet", ".pq")):
        return "parquet"
    raise UsageError(
        f"{path}: cannot tell the file's format from its name",
        "name it .jsonl, .csv or .parquet, or pass --format-in jsonl|csv|parquet",
    )


def _jsonl_records(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, RowError(f"not valid JSON ({exc.msg} at column {exc.colno})")


def _csv_records(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        for record in reader:
            # reader.line_num is the line the record ended on (records may span lines).
            if None in record:
                yield reader.line_num, RowError("more cells than header columns")
                continue
            yield reader.line_num, dict(record)


def _parquet_records(path: Path) -> Iterator[tuple[int, Any]]:
    import duckdb

    conn = duckdb.connect(":memory:")
    try:
        cursor = conn.execute("SELECT * FROM read_parquet(?)", [str(path)])
        names = [d[0] for d in cursor.description]
        number = 0
        while batch := cursor.fetchmany(10_000):
            for values in batch:
                number += 1
                yield number, dict(zip(names, values, strict=True))
    except duckdb.Error as exc:
        raise UsageError(f"{path}: cannot read it as Parquet: {exc}") from None
    finally:
        conn.close()


def _records(path: Path, fmt: str) -> Iterable[tuple[int, Any]]:
    if fmt == "csv":
        return _csv_records(path)
    if fmt == "parquet":
        return _parquet_records(path)
    return _jsonl_records(path)


def ingest_file(
    config: Any, path: Path, *, model_id: str | None = None, fmt: str | None = None
) -> IngestReport:
    """Check every record of a file, then load all of them in one transaction, or none."""
    if path.is_dir():
        raise UsageError(f"{path}: is a folder", "give one file (.jsonl, .csv or .parquet)")
    if not path.is_file():
        raise UsageError(f"{path}: no such file", "check the path (.jsonl, .csv or .parquet)")
    kind = detect_format(path, fmt)
    unit = "row" if kind == "parquet" else "line"
    rows: list[Row] = []
    errors: list[str] = []
    count = 0
    try:
        for number, record in _records(path, kind):
            try:
                if isinstance(record, RowError):
                    raise record
                if not isinstance(record, dict):
                    raise RowError("not a JSON object")
                rows.append(normalise(record, model_id))
            except RowError as exc:
                count += 1
                if len(errors) < MAX_REPORTED_ERRORS:
                    errors.append(f"{unit} {number}: {exc}")
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(
            f"{path}: cannot read it as {kind}: {exc}", "save it as UTF-8, or check --format-in"
        ) from None
    if count:
        return IngestReport(file=str(path), rows=0, errors=tuple(errors), error_count=count)
    with writer(config) as conn:
        added = insert_rows(conn, rows, config.home / "tmp")
    return IngestReport(file=str(path), rows=len(rows), columns_added=added)
