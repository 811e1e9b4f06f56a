"""Runs against the model the build serves on a temporary local address (as in Qwak)."""

import pandas as pd
from qwak.testing.fixtures import real_time_client  # noqa: F401 (a pytest fixture)
from qwak_inference.realtime_client.client import InferenceOutputFormat


def test_realtime_churn(real_time_client):
    feature_vector = [
        {
            "Account_Length": 140.0,
            "Intl_Plan": 0.0,
            "VMail_Message": 0.0,
            "Day_Mins": 149.8,
            "Day_Calls": 134.0,
            "Eve_Mins": 164.4,
            "Night_Mins": 294.7,
            "Intl_Mins": 8.1,
            "CustServ_Calls": 4.0,
            "Agitation_Level": 80.0,
        }
    ]
    result = real_time_client.predict(feature_vector, output_format=InferenceOutputFormat.PANDAS)
    assert isinstance(result, pd.DataFrame)
    assert 0.0 <= result["churn_probability"].values[0] <= 1.0
