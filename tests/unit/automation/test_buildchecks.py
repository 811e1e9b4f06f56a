"""``builder.no-image``: an environment that deploys to Kubernetes with a builder that makes
no image is reported by `auto validate`, at the place that names the environment."""

from __future__ import annotations

from qwak_auto.automation.checks import Context
from qwak_auto.automation.problems import Severity
from tests.unit.automation.test_checks import check

DEPLOYERS = {"dev": "local", "prod": "kubernetes"}


def ctx(builder: str = "local", default: str = "dev") -> Context:
    return Context(
        environments=("dev", "prod"),
        builder=builder,
        deployers=DEPLOYERS,
        default_environment=default,
    )


def test_listed_environments_that_deploy_to_kubernetes():
    problems = check("    deployment_spec:\n      environments: [dev, prod]\n", ctx=ctx())
    assert [(p.code, p.path, p.severity) for p in problems] == [
        ("builder.no-image", "action.build_deploy.deployment_spec.environments[1]", Severity.ERROR)
    ]
    assert "`prod` deploys to Kubernetes" in problems[0].message
    assert "`local` builder makes none" in problems[0].message
    assert "builder: kubernetes" in problems[0].hint


def test_the_automations_environment_and_the_default_one():
    own = check("environment: prod\n", ctx=ctx())
    assert [(p.code, p.path) for p in own] == [("builder.no-image", "environment")]
    default = check(ctx=ctx(default="prod"))
    assert [(p.code, p.path) for p in default] == [("builder.no-image", "name")]
    assert "(the default environment)" in default[0].message


def test_builders_that_make_images_and_local_deployments_are_fine():
    prod = "    deployment_spec:\n      environments: [prod]\n"
    assert check(prod, ctx=ctx("docker")) == []
    assert check(prod, ctx=ctx("kubernetes")) == []
    assert check(prod, ctx=ctx("my_plugin")) == []  # a plugin's images are its own business
    assert check("    deployment_spec:\n      environments: [dev]\n", ctx=ctx()) == []
    # without environments in auto.yaml everything deploys locally
    assert check(prod, ctx=Context(builder="local")) == []
