from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from qwak_auto.serve.io import BadRequest, parse_invocations, parse_predict, to_frame_json

DF = pd.DataFrame({"x": [1, 2], "name": ["a", "b"]})


@pytest.mark.parametrize("orient", ["split", "records", "columns"])
def test_pandas_orients(orient: str) -> None:
    payload = parse_predict(DF.to_json(orient=orient).encode())
    assert payload.size == 2
    assert payload.frame().to_dict("records") == [{"x": 1, "name": "a"}, {"x": 2, "name": "b"}]
    assert payload.as_records() == [{"x": 1, "name": "a"}, {"x": 2, "name": "b"}]


def test_default_to_json_is_columns_orient() -> None:
    assert parse_predict(DF.to_json().encode()).size == 2


@pytest.mark.parametrize(
    ("body", "rows"),
    [
        ({"x": 1, "name": "a"}, 1),  # Qwak's client sends a single dict
        ({"x": [1, 2, 3]}, 3),  # dict of lists
        ([[1, 2], [3, 4]], 2),  # rows without columns
        (json.dumps([{"x": 1}]), 1),  # JSON inside a JSON string
    ],
)
def test_other_shapes(body: object, rows: int) -> None:
    assert parse_predict(json.dumps(body).encode()).size == rows


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty request body"),
        (b"[{", "malformed JSON"),
        (b"\xff\xfe", "UTF-8"),
        (b"3", "expected a JSON object or list"),
        (b'[{"x": 1}, 2]', "only objects"),
        (b'{"columns": ["x"], "data": [[1, 2]]}', "2 values for 1 columns"),
        (b'{"x": [1], "y": [1, 2]}', "different lengths"),
        (b"{}", "empty object"),
    ],
)
def test_bad_bodies_say_why(body: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_predict(body)


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": {"columns": ["x"], "data": [[1], [2]]}},
        {"dataframe_records": [{"x": 1}, {"x": 2}]},
        {"instances": [{"x": 1}, {"x": 2}]},
        {"inputs": {"x": [1, 2]}},
    ],
)
def test_mlflow_shapes(body: object) -> None:
    payload = parse_invocations(json.dumps(body).encode())
    assert payload.frame()["x"].tolist() == [1, 2]


def test_mlflow_needs_exactly_one_key() -> None:
    with pytest.raises(BadRequest, match="exactly one of"):
        parse_invocations(b'{"instances": [], "inputs": []}')
    with pytest.raises(BadRequest, match="dataframe_split must be"):
        parse_invocations(b'{"dataframe_split": [1]}')


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (pd.DataFrame({"score": [0.5]}), [{"score": 0.5}]),
        (pd.Series([1, 2], name="p"), [{"p": 1}, {"p": 2}]),
        (pd.Series([1]), [{"prediction": 1}]),
        (np.array([0.1, 0.2]), [{"prediction": 0.1}, {"prediction": 0.2}]),
        (np.array([[1, 2]]), [{"0": 1, "1": 2}]),
        ([1, 2], [{"prediction": 1}, {"prediction": 2}]),
        ([{"a": np.int64(1)}], [{"a": 1}]),
        ({"a": [1, 2]}, [{"a": 1}, {"a": 2}]),
        ({"a": 1}, [{"a": 1}]),
        (3.5, [{"prediction": 3.5}]),
        (None, []),
        (pd.DataFrame({"v": [float("nan")]}), [{"v": None}]),
    ],
)
def test_outputs_become_records(result: object, expected: list[dict[str, object]]) -> None:
    text = to_frame_json(result)
    assert json.loads(text) == expected
    pd.DataFrame(json.loads(text))  # what Qwak's client does with it
