from __future__ import annotations

import ast
from pathlib import Path

from qwak_auto.qwak_import.convert import convert
from qwak_auto.qwak_import.evaluate import Evaluator, SdkCall, Unknown, scan

FIXTURES = Path(__file__).parents[2] / "fixtures" / "qwak"
UNCONVERTIBLE = Path(__file__).parents[2] / "fixtures" / "qwak_unconvertible"


def automations(source: str, file: str = "m.py"):
    module = scan(file, ast.parse(source))
    evaluator = Evaluator(module)
    out = []
    for _name, node in module.automations:
        call = evaluator.value(node)
        assert isinstance(call, SdkCall)
        out.append(convert(call))
    return out


def test_realistic_module_converts_field_by_field():
    first, second = automations((FIXTURES / "churn_automations.py").read_text())
    assert first.issues == []
    doc = first.doc
    assert doc["name"] == "retrain_churn_weekly"
    assert doc["trigger"] == {"scheduled": {"cron": "0 0 * * 0"}}
    build = doc["action"]["build_deploy"]["build_spec"]
    # module-level constants and string concatenation are followed
    assert build["git_uri"] == "https://github.com/acme/ml-models.git#models/churn"
    assert build["parameters"] == {"n_estimators": "300", "max_depth": "6"}
    assert build["resources"] == {"cpu": {"cpu_fraction": 4, "memory": "8Gi"}}
    # a numeric threshold keeps its meaning as the string the format requires
    gate = doc["action"]["build_deploy"]["deployment_condition"]["build_metric"]
    assert gate == {"metric_name": "f1_score", "direction": "ABOVE", "threshold": "0.65"}
    spec = doc["action"]["build_deploy"]["deployment_spec"]
    assert spec["deployment_process_timeout_limit"] == 900  # the SDK's deployment_timeout
    assert spec["number_of_pods"] == 3
    # stated in the file, so written though they equal the defaults: a port reads line by line
    assert spec["cpu_fraction"] == 2.0
    assert (build["git_branch"], build["main_dir"]) == ("main", "main")
    assert spec["memory"] == "1024Mi"  # Qwak's "1024Mib", in the spelling validate accepts
    trig = spec["auto_scale_config"]["triggers"][0]["prometheus_trigger"]
    assert trig == {
        "query_spec": {"metric_type": "latency", "aggregation_type": "max", "time_period": 4},
        "threshold": 60,
    }
    # the plaintext Slack URL becomes a secret name; the URL is nowhere in the document
    assert doc["on_error"] == {
        "slack": {"webhook_secret": "retrain_churn_weekly_on_error_slack_webhook"}
    }
    assert "hooks.slack.com" not in repr(doc)
    assert [s.name for s in first.secrets] == ["retrain_churn_weekly_on_error_slack_webhook"]
    # Qwak's webhook default method is GET; ours is POST, so it is written explicitly
    assert doc["on_success"]["webhook"]["http_method"] == "GET"

    drift = second.doc
    assert drift["enabled"] is False
    assert drift["trigger"]["metric_based"] == {
        "name": "score_drift",
        "sql_query": "SELECT avg(score) FROM predictions WHERE ts > now() - INTERVAL 1 DAY",
        "direction": "BELOW",
        "threshold": "0.4",
        "override_cron": "*/15 * * * *",
    }
    assert drift["action"]["build_deploy"]["build_spec"]["resources"] == {
        "gpu": {"gpu_type": "NVIDIA_T4", "gpu_amount": 1}
    }


def test_values_that_need_running_code_are_reported_with_line_and_hint():
    (conversion,) = automations((UNCONVERTIBLE / "dynamic_values.py").read_text())
    by_path = {i.path: i for i in conversion.issues}
    assert by_path["name"].line == 13
    assert "f-string" in by_path["name"].message
    cron = by_path["trigger.scheduled.cron"]
    assert "schedule(...)" in cron.message
    assert cron.line == 15
    branch = by_path["action.build_deploy.build_spec.git_branch"]
    assert "os.environ" in branch.message
    assert "environment variables" in branch.hint


def test_name_bound_twice_is_not_guessed():
    source = """
from qwak.automations import Automation, ScheduledTrigger
CRON = "0 1 * * *"
CRON = "0 2 * * *"
a = Automation(name="a", model_id="m", trigger=ScheduledTrigger(cron=CRON))
"""
    (conversion,) = automations(source)
    issue = next(i for i in conversion.issues if i.path == "trigger.scheduled.cron")
    assert "more than once" in issue.message


def test_attribute_style_sdk_calls_and_positional_arguments():
    source = """
import qwak.automations as qa
a = qa.Automation("", "pos_name", "m", True, qa.ScheduledTrigger("", "Daily"),
    qa.QwakBuildDeploy(qa.BuildSpecifications({}, "https://github.com/o/r.git"), None, None))
"""
    (conversion,) = automations(source)
    assert conversion.issues == []
    assert conversion.doc["name"] == "pos_name"
    assert conversion.doc["execute_immediately"] is True
    assert conversion.doc["trigger"] == {"scheduled": {"interval": "Daily"}}


def test_unknown_is_a_value_not_an_exception():
    module = scan("m.py", ast.parse("x = foo(1)\n"))
    value = Evaluator(module).value(ast.parse("x", mode="eval").body)
    assert isinstance(value, Unknown)
    assert "foo" in value.what
