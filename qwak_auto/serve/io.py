"""Request bodies in, response bodies out.

Accepted inputs (``/predict`` and Qwak's ``/v1/.../predict``): pandas JSON in the ``split``,
``records`` and ``columns`` orients (``DataFrame.to_json()`` defaults to ``columns``), a dict
of lists, a single record (Qwak's client sends a dict), and a JSON string holding any of
these (a client that sends ``df.to_json()`` through ``json.dumps``). ``/invocations`` takes
MLflow's ``dataframe_split`` / ``dataframe_records`` / ``instances`` / ``inputs``. Every route
also takes ``text/csv`` (a header line, then one line per row), as MLflow's server does.

Every payload is first normalised into a :class:`Payload` (columns + rows, or records), so
the batch size is known before a DataFrame is built and the prediction log can turn the
input back into records without touching the (possibly mutated) frame the model saw.
Only stdlib, numpy and pandas: this runs in the build environment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")


class BadRequest(Exception):
    """The body cannot be read as a batch of records (answered 400 with this message)."""


@dataclass(frozen=True, slots=True)
class Payload:
    """A batch of input rows: either ``records`` (dicts) or ``columns`` + ``rows`` (lists)."""

    records: Sequence[Mapping[str, Any]] | None = None
    columns: Sequence[Any] | None = None
    rows: Sequence[Sequence[Any]] | None = None
    named: bool = True  # False: rows that came without column names (lists, not records)

    @property
    def size(self) -> int:
        if self.records is not None:
            return len(self.records)
        return len(self.rows or ())

    def frame(self) -> Any:
        import pandas as pd

        if self.records is not None:
            return pd.DataFrame.from_records(list(self.records)) if self.records else pd.DataFrame()
        return pd.DataFrame(list(self.rows or ()), columns=self.columns)

    def as_records(self) -> list[dict[str, Any]]:
        if self.records is not None:
            return [dict(r) for r in self.records]
        cols = [str(c) for c in (self.columns or ())]
        if not cols and self.rows:
            cols = [str(i) for i in range(len(self.rows[0]))]
        return [dict(zip(cols, row, strict=False)) for row in self.rows or ()]


def decode(body: bytes) -> Any:
    if not body.strip():
        raise BadRequest("empty request body: send a JSON batch of records")
    try:
        value = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest("request body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if isinstance(value, str):
        # A client that json.dumps() the output of df.to_json() sends JSON inside a string.
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise BadRequest(f"malformed JSON inside the JSON string: {exc.msg}") from None
    return value


def is_csv(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "text/csv"


def parse_csv(body: bytes) -> Payload:
    """A CSV body (``DataFrame.to_csv(index=False)``): the first line names the columns."""
    import io

    import pandas as pd

    if not body.strip():
        raise BadRequest("empty request body: send a CSV header line and one line per row")
    try:
        frame = pd.read_csv(io.BytesIO(body))
    except UnicodeDecodeError:
        raise BadRequest("request body is not UTF-8 text") from None
    except (ValueError, pd.errors.ParserError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadRequest(f"malformed CSV: {first}") from None
    rows = frame.astype(object).where(frame.notna(), None).values.tolist()
    return Payload(columns=[str(c) for c in frame.columns], rows=rows)


def parse_predict(body: bytes, content_type: str = "", orient: str | None = None) -> Payload:
    """Parse a ``/predict`` body (pandas orients, records, a single record, CSV).
    ``orient="index"`` (a DataFrameInputAdapter's ``input_orient``) reads an object of
    objects as rows keyed by index label instead of columns."""
    if is_csv(content_type):
        return parse_csv(body)
    value = decode(body)
    if "format=pandas-split" in content_type and not _is_split(value):
        raise BadRequest("content type says pandas-split but the body has no columns/data")
    if orient == "index" and _is_index(value):
        return _records(list(value.values()), "body")
    return _payload(value, "body")


def parse_invocations(body: bytes, content_type: str = "") -> Payload:
    """Parse an MLflow ``/invocations`` body (JSON with one of MLflow's keys, or CSV)."""
    if is_csv(content_type):
        return parse_csv(body)
    key, inner = mlflow_input(body)
    if key == "dataframe_split":
        if not _is_split(inner):
            raise BadRequest("dataframe_split must be an object with `columns` and `data`")
        return _split(inner, key)
    if key == "dataframe_records":
        if not isinstance(inner, list):
            raise BadRequest("dataframe_records must be a list of objects")
        return _records(inner, key)
    return _payload(inner, key)


def mlflow_input(body: bytes) -> tuple[str, Any]:
    """The one MLflow key of an ``/invocations`` JSON body and its value."""
    value = decode(body)
    if not isinstance(value, dict):
        raise BadRequest(f"expected a JSON object with one of the keys {', '.join(MLFLOW_KEYS)}")
    keys = [k for k in MLFLOW_KEYS if k in value]
    if len(keys) != 1:
        found = ", ".join(sorted(str(k) for k in value)) or "none"
        raise BadRequest(f"expected exactly one of {', '.join(MLFLOW_KEYS)} (found keys: {found})")
    return keys[0], value[keys[0]]


def _is_index(value: Any) -> bool:
    """``{"0": {"a": 1}, "1": {"a": 2}}``: pandas' ``index`` orient (rows keyed by label)."""
    return (
        isinstance(value, dict) and bool(value) and all(isinstance(v, dict) for v in value.values())
    )


def _is_split(value: Any) -> bool:
    return isinstance(value, dict) and "data" in value and "columns" in value


def _payload(value: Any, where: str) -> Payload:
    if isinstance(value, list):
        if all(isinstance(item, dict) for item in value):
            return _records(value, where)
        if all(isinstance(item, list) for item in value):
            return Payload(columns=None, rows=value, named=False)
        # A flat list of scalars: one column, one row per value (MLflow `instances`).
        if not any(isinstance(item, dict | list) for item in value):
            return Payload(columns=["0"], rows=[[item] for item in value], named=False)
        raise BadRequest(f"{where}: a list must hold only objects (records) or only lists (rows)")
    if isinstance(value, dict):
        if _is_split(value):
            return _split(value, where)
        if not value:
            raise BadRequest(f"{where}: empty object: send at least one record")
        values = list(value.values())
        if all(isinstance(v, dict) for v in values):
            return _columns_orient(value, where)
        if all(isinstance(v, list) for v in values):
            return _column_lists(value, where)
        if not any(isinstance(v, dict | list) for v in values):
            return Payload(records=[value])  # one record (Qwak's client sends a dict)
        raise BadRequest(f"{where}: mixed object: use the records, split or columns orient")
    raise BadRequest(f"{where}: expected a JSON object or list, got {type(value).__name__}")


def _records(items: list[Any], where: str) -> Payload:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadRequest(f"{where}[{i}]: expected an object (one record)")
    return Payload(records=items)


def _split(value: Mapping[str, Any], where: str) -> Payload:
    columns, data = value.get("columns"), value.get("data")
    if not isinstance(columns, list) or not isinstance(data, list):
        raise BadRequest(f"{where}: `columns` and `data` must be lists")
    for i, row in enumerate(data):
        if not isinstance(row, list):
            raise BadRequest(f"{where}.data[{i}]: expected a list (one row)")
        if len(row) != len(columns):
            raise BadRequest(f"{where}.data[{i}]: {len(row)} values for {len(columns)} columns")
    return Payload(columns=columns, rows=data)


def _columns_orient(value: Mapping[str, Mapping[str, Any]], where: str) -> Payload:
    """``{"col": {"0": v, "1": v}}``: rows keyed by index label, kept in first-column order."""
    index: list[str] = []
    seen: set[str] = set()
    for inner in value.values():
        for label in inner:
            if label not in seen:
                seen.add(label)
                index.append(label)
    columns = list(value)
    rows = [[value[c].get(label) for c in columns] for label in index]
    del where
    return Payload(columns=columns, rows=rows)


def _column_lists(value: Mapping[str, list[Any]], where: str) -> Payload:
    lengths = {len(v) for v in value.values()}
    if len(lengths) != 1:
        raise BadRequest(f"{where}: columns have different lengths {sorted(lengths)}")
    columns = list(value)
    rows = [list(r) for r in zip(*value.values(), strict=True)]
    return Payload(columns=columns, rows=rows)


def to_frame_json(result: Any) -> str:
    """The model's output as a JSON list of records (``pandas.DataFrame(json)`` reads it)."""
    import numpy as np
    import pandas as pd

    frame: Any
    if isinstance(result, pd.DataFrame):
        frame = result
    elif isinstance(result, pd.Series):
        frame = result.to_frame(name=result.name if result.name is not None else "prediction")
    elif isinstance(result, np.ndarray):
        if result.ndim <= 1:
            frame = pd.DataFrame({"prediction": np.atleast_1d(result)})
        else:
            frame = pd.DataFrame(result.reshape(result.shape[0], -1))
    elif isinstance(result, dict):
        if result and all(isinstance(v, list | tuple | np.ndarray) for v in result.values()):
            frame = pd.DataFrame(result)
        else:
            return json.dumps([result], default=jsonable)
    elif isinstance(result, list | tuple):
        if all(isinstance(item, dict) for item in result):
            return json.dumps(list(result), default=jsonable)
        if all(isinstance(item, list | tuple) for item in result):
            frame = pd.DataFrame(list(result))
        else:
            frame = pd.DataFrame({"prediction": list(result)})
    elif result is None:
        return "[]"
    else:
        return json.dumps([{"prediction": result}], default=jsonable)
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    text: str = frame.to_json(orient="records", date_format="iso")
    return text


def jsonable(value: Any) -> Any:
    """json.dumps fallback for numpy scalars/arrays, timestamps and anything else."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
