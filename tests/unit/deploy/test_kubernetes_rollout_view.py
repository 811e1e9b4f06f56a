"""What one look at an Argo Rollout says (the deployer's reading of ``kubectl get rollout``)."""

from __future__ import annotations

from typing import Any

from qwak_auto.deploy.kubernetes_rollout import view

STEPS = [
    {"setWeight": 10},
    {"pause": {"duration": "60s"}},
    {"setWeight": 50},
    {"pause": {"duration": "60s"}},
    {"setWeight": 100},
    {"pause": {"duration": "300s"}},
]


def rollout(generation: int = 2, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "churn-default", "generation": generation},
        "spec": {"strategy": {"canary": {"steps": STEPS}}},
        "status": {"observedGeneration": "2", **status},
    }


def test_the_weight_is_the_last_set_weight_reached():
    assert view(rollout(currentStepIndex=0)).weight == 10
    assert view(rollout(currentStepIndex=1)).weight == 10
    assert view(rollout(currentStepIndex=3)).weight == 50
    assert view(rollout(currentStepIndex=5)).phase_name() == "bake"
    assert view(rollout(currentStepIndex=6)).weight == 100


def test_a_status_from_before_the_apply_is_not_current():
    assert view(rollout()).current
    assert not view(rollout(generation=3)).current


def test_promoted_when_the_new_pods_are_stable():
    done = view(rollout(phase="Healthy", currentPodHash="abc", stableRS="abc"))
    assert done.promoted
    assert done.phase_name() == "promoted"
    assert not view(rollout(phase="Paused", currentPodHash="abc", stableRS="old")).promoted
    assert not view(rollout(phase="Healthy")).promoted  # no hash yet


def test_the_background_analysis_is_named():
    now = view(
        rollout(
            abort=True,
            phase="Degraded",
            canary={"currentBackgroundAnalysisRunStatus": {"name": "r-1", "status": "Failed"}},
        )
    )
    assert now.aborted
    assert (now.analysis_run, now.analysis_status) == ("r-1", "Failed")
