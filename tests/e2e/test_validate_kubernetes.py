"""`auto validate` with a project whose environment deploys to Kubernetes: a builder that
makes no image is reported before any run fails on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwak_auto.cli import main

AUTOMATION = """\
name: retrain_churn
model_id: churn
trigger: {scheduled: {cron: "0 3 * * *"}}
action:
  build_deploy:
    build_spec: {git_uri: "https://github.com/org/models.git"}
    deployment_spec:
      environments: [prod]
"""


@pytest.mark.parametrize(("builder", "code"), [("local", 1), ("docker", 0), ("kubernetes", 0)])
def test_a_kubernetes_environment_needs_a_builder_that_makes_images(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], builder: str, code: int
) -> None:
    (tmp_path / "auto.yaml").write_text(
        f"builder: {builder}\nenvironments:\n  dev: {{}}\n"
        "  prod: {deployer: kubernetes, image_registry: registry.example.com/ml}\n",
        encoding="utf-8",
    )
    (tmp_path / "churn.yaml").write_text(AUTOMATION, encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", str(tmp_path)]) == code
    out = capsys.readouterr().out
    if code:
        assert "churn.yaml:8:22" in out
        assert "builder.no-image" in out
        assert "the environment `prod` deploys to Kubernetes" in out
    else:
        assert "no problems" in out


@pytest.mark.parametrize(
    ("field", "code", "says"),
    [
        ("traffic_weight: 10", "traffic.kubernetes-pods", "splits its requests by ready pods"),
        ("shadow: true", "traffic.kubernetes-shadow", "get no copies of the model's requests"),
    ],
)
def test_traffic_fields_on_kubernetes_say_what_plain_services_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str, code: str, says: str
) -> None:
    (tmp_path / "auto.yaml").write_text(
        "builder: docker\nenvironments:\n  dev: {}\n"
        "  prod: {deployer: kubernetes, image_registry: registry.example.com/ml}\n",
        encoding="utf-8",
    )
    challenger = AUTOMATION.replace(
        "      environments: [prod]\n",
        f"      environments: [dev, prod]\n      variation_name: challenger\n      {field}\n",
    )
    (tmp_path / "churn.yaml").write_text(challenger, encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", str(tmp_path)]) == 0  # a warning: the file is valid
    out = capsys.readouterr().out
    assert "churn.yaml:10:7: warning: action.build_deploy.deployment_spec." in out
    assert f"[{code}]" in out
    assert f"on Kubernetes (`prod`) {'a shadow' if 'shadow' in field else 'the model'}" in out
    assert says in out
    assert "docs/kubernetes.md" in out
    # A local environment alone: the local proxy honours both, nothing to say.
    (tmp_path / "churn.yaml").write_text(
        challenger.replace("[dev, prod]", "[dev]"), encoding="utf-8"
    )
    capsys.readouterr()
    assert main(["validate", str(tmp_path)]) == 0
    assert "no problems" in capsys.readouterr().out
