"""The local builder says, in the build's log, which resources and base_image it cannot
honour (issue 19): a build on this machine is never silently "sized"."""

from __future__ import annotations

from pathlib import Path

from qwak_auto.automation.resources import CpuResources, GpuResources
from qwak_auto.state.base import StateStore
from tests.integration.builders.conftest import MakeCtx
from tests.integration.builders.test_local_builder import build, tiny_repo


def test_ignored_resources_and_base_image_are_warned_about(
    tmp_path: Path, home: Path, store: StateStore, make_ctx: MakeCtx
) -> None:
    uri = tiny_repo(tmp_path)
    result, _ctx = build(
        make_ctx,
        uri,
        base_image="python:3.12-slim",
        resources=CpuResources(cpu_fraction=8, memory="32Gi"),
    )
    log = result.log_path.read_text(encoding="utf-8")
    assert "warning: build_spec.base_image 'python:3.12-slim' has no effect with the local" in log
    assert "warning: build_spec.resources.cpu.cpu_fraction 8 has no effect" in log
    assert "warning: build_spec.resources.cpu.memory '32Gi' has no effect" in log
    assert "`builder: docker` or `builder: kubernetes` honour it" in log


def test_gpu_resources_are_warned_about(
    tmp_path: Path, home: Path, store: StateStore, make_ctx: MakeCtx
) -> None:
    uri = tiny_repo(tmp_path)
    result, _ctx = build(make_ctx, uri, resources=GpuResources(gpu_type="NVIDIA_A10G"))
    log = result.log_path.read_text(encoding="utf-8")
    assert "warning: build_spec.resources.gpu.gpu_type 'NVIDIA_A10G' has no effect" in log
    assert "warning: build_spec.resources.gpu.gpu_amount 1 has no effect" in log


def test_defaults_are_not_named(tmp_path: Path, home: Path, store: StateStore, make_ctx: MakeCtx):
    result, _ctx = build(make_ctx, tiny_repo(tmp_path))
    assert "has no effect with the local" not in result.log_path.read_text(encoding="utf-8")
