"""The ``real_time_client`` fixture: a client of the model the build is serving right now.

During a build, auto serves the freshly built model on a temporary local address and runs
``tests/it`` with ``AUTO_MODEL_URL`` and ``AUTO_MODEL_ID`` set (as Qwak does with its own
build-time deployment).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from qwak_inference import RealTimeClient  # type: ignore[import-not-found,unused-ignore]


@pytest.fixture
def real_time_client() -> Any:
    url = os.environ.get("AUTO_MODEL_URL")
    model_id = os.environ.get("AUTO_MODEL_ID") or os.environ.get("QWAK_MODEL_ID") or "model"
    if not url:
        pytest.fail(
            "real_time_client: no model is being served (AUTO_MODEL_URL is not set); "
            "tests/it run inside `auto build`, which serves the new model first"
        )
    return RealTimeClient(model_id=model_id, model_api=url)
