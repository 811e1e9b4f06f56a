"""Churn prediction in Qwak's layout: unmodified Qwak SDK imports, sklearn, a local CSV."""

import os

import pandas as pd
import qwak
from qwak.model.base import QwakModel
from qwak.model.schema import ExplicitFeature, InferenceOutput, ModelSchema
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
FEATURES = [
    "Account_Length",
    "Intl_Plan",
    "VMail_Message",
    "Day_Mins",
    "Day_Calls",
    "Eve_Mins",
    "Night_Mins",
    "Intl_Mins",
    "CustServ_Calls",
    "Agitation_Level",
]


class ChurnModel(QwakModel):
    def __init__(self):
        # Build parameters arrive as environment variables, as in Qwak (-P n_estimators=...).
        self.params = {
            "n_estimators": int(os.getenv("n_estimators", 60)),
            "max_depth": int(os.getenv("max_depth", 6)),
            "random_state": 7,
        }
        self.model = RandomForestClassifier(**self.params)
        qwak.log_param(self.params)

    def build(self):
        df = pd.read_csv(os.path.join(HERE, "data.csv"))
        y = df["churn"]
        X = df[FEATURES]
        X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, random_state=42)
        self.model.fit(X_train, y_train)
        predicted = self.model.predict(X_val)
        qwak.log_metric({"f1_score": f1_score(y_val, predicted)})
        qwak.log_metric({"accuracy": accuracy_score(y_val, predicted)})
        qwak.log_data(dataframe=X, tag="train_data")

    def schema(self):
        return ModelSchema(
            inputs=[ExplicitFeature(name=name, type=float) for name in FEATURES],
            outputs=[InferenceOutput(name="churn_probability", type=float)],
        )

    @qwak.api(analytics=True)
    def predict(self, df):
        probabilities = self.model.predict_proba(df[FEATURES])[:, 1]
        return pd.DataFrame({"churn_probability": probabilities})
