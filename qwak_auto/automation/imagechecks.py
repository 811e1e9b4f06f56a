"""Semantic rules that need the project config's builder and environments.

``builder.no-image``: an environment that deploys to Kubernetes runs an image, and the
``local`` builder makes none, so such a run would fail after its build; ``auto validate``
says so before. (Plugin builders are not judged: whether they make images is theirs to say.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from qwak_auto.automation.rulebase import Context, _Out, environments_of

BUILDERS_WITHOUT_IMAGE = ("local",)
IMAGE_DEPLOYERS = ("kubernetes",)


def check_builder_makes_image(out: _Out, data: Mapping[str, Any], ctx: Context) -> None:
    if ctx.builder not in BUILDERS_WITHOUT_IMAGE or not ctx.deployers:
        return
    for path, name in environments_of(data, ctx):
        deployer = ctx.deployers.get(name or ctx.default_environment)
        if deployer not in IMAGE_DEPLOYERS:
            continue
        where = f"`{name}`" if path != ("name",) else f"`{name}` (the default environment)"
        out.add(
            path,
            "builder.no-image",
            f"the environment {where} deploys to Kubernetes, which runs an image, and the "
            f"`{ctx.builder}` builder makes none: the run would fail after its build",
            "set `builder: kubernetes` (a Job in the cluster) or `builder: docker` in auto.yaml "
            "(or AUTO_BUILDER), or deploy this automation to an environment with "
            "`deployer: local`",
            at_key=path == ("name",),
        )


RULES: tuple[Callable[[_Out, Mapping[str, Any], Context], None], ...] = (check_builder_makes_image,)
