"""A unit test that runs inside `auto build` (and `pytest` in a Qwak environment)."""

import json

import pandas as pd
from qwak.model.tools import run_local

from main import load_model
from main.model import FEATURES, HERE


def test_predicts_a_probability_per_row():
    model = load_model()
    rows = pd.read_csv(f"{HERE}/data.csv").head(3)[FEATURES]
    result = json.loads(run_local(model, rows.to_json()))
    assert len(result) == 3
    assert all(0.0 <= row["churn_probability"] <= 1.0 for row in result)
