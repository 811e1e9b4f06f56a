from __future__ import annotations

import os
from pathlib import Path

from qwak_auto.builders import env
from qwak_auto.builders.requirements import Dependencies, Requirement


def test_tool_env_keeps_only_what_installers_need() -> None:
    got = env.tool_env(
        {
            "PATH": "/bin",
            "PIP_INDEX_URL": "x",
            "UV_CACHE_DIR": "y",
            "AWS_SECRET_ACCESS_KEY": "z",
            "PYTHONPATH": "/p",
            "SSL_CERT_FILE": "c",
        }
    )
    assert got["PIP_INDEX_URL"] == "x"
    assert got["UV_CACHE_DIR"] == "y"
    assert got["SSL_CERT_FILE"] == "c"
    assert "AWS_SECRET_ACCESS_KEY" not in got
    assert "PYTHONPATH" not in got


def test_find_uv_on_path(tmp_path: Path) -> None:
    uv = tmp_path / "uv"
    uv.write_text("#!/bin/sh\n", encoding="utf-8")
    uv.chmod(0o755)
    assert env.find_uv({"PATH": str(tmp_path)}) == str(uv)


def test_link_runtime_writes_the_pth(tmp_path: Path) -> None:
    env.link_runtime(tmp_path)
    pth = (env.site_packages(tmp_path) / env.PTH_NAME).read_text(encoding="utf-8").splitlines()
    assert pth[0] == str(tmp_path / "auto-path")
    assert (tmp_path / "auto-path" / "qwak_auto" / "runtime" / "__init__.py").is_file()
    assert Path(pth[1], "qwak", "__init__.py").is_file()
    assert os.readlink(tmp_path / "auto-path" / "qwak_auto") == str(env.package_root())
    env.link_runtime(tmp_path)  # idempotent


def test_relax_drops_the_pins_the_installer_named() -> None:
    pinned = Requirement("pandas==0.0.1", "main/conda.yml:3", unpinned="pandas")
    other = Requirement("numpy==1.26.4", "main/conda.yml:4", unpinned="numpy")
    free = Requirement("scipy", "main/conda.yml:5")
    output = "Because there is no version of pandas==0.0.1 and you require pandas==0.0.1 ..."
    relaxed = env._relax([pinned, other, free], output, all_pins=False)
    assert relaxed == [(pinned, Requirement("pandas", "main/conda.yml:3"))]
    every = env._relax([pinned, other, free], output, all_pins=True)
    assert [new.spec for _, new in every] == ["pandas", "numpy"]


def test_specs_after_relaxing_keep_the_base_packages() -> None:
    deps = Dependencies(
        file=None, kind="requirements", requirements=(Requirement("x==1", "r:1", "x"),)
    )
    assert env._specs([Requirement("x", "r:1")], deps) == [
        "x",
        "pandas",
        "cloudpickle",
        "gunicorn",
        "pytest",
    ]


def test_install_argv_holds_the_installer_to_dependencies_as_of(tmp_path: Path) -> None:
    req = tmp_path / "r.txt"
    uv = env._install_argv(tmp_path, "/bin/uv", req, "2024-06-02T00:00:00Z")
    assert uv[uv.index("--exclude-newer") + 1] == "2024-06-02T00:00:00Z"
    pip = env._install_argv(tmp_path, None, req, "2024-06-02T00:00:00Z")
    assert pip[pip.index("--uploaded-prior-to") + 1] == "2024-06-02T00:00:00Z"
    for tool in ("/bin/uv", None):
        argv = env._install_argv(tmp_path, tool, req)
        assert "--exclude-newer" not in argv
        assert "--uploaded-prior-to" not in argv


def test_link_runtime_leaves_a_ready_environment_untouched(tmp_path: Path) -> None:
    """Other builds' harnesses start while a build reuses the environment: nothing they read
    is rewritten when nothing changed (issue 14)."""
    env.link_runtime(tmp_path)
    pth = env.site_packages(tmp_path) / env.PTH_NAME
    link = tmp_path / "auto-path" / "qwak_auto"
    before = (pth.stat().st_ino, pth.stat().st_mtime_ns, link.lstat().st_ino)
    env.link_runtime(tmp_path)
    assert (pth.stat().st_ino, pth.stat().st_mtime_ns, link.lstat().st_ino) == before


def test_link_runtime_replaces_a_stale_pth_whole(tmp_path: Path) -> None:
    """A .pth that must change is replaced by a rename (a new file), never truncated and
    written again in place, where a starting interpreter could read it empty."""
    pth = env.site_packages(tmp_path) / env.PTH_NAME
    pth.parent.mkdir(parents=True)
    pth.write_text("/somewhere/else\n", encoding="utf-8")
    old = pth.stat().st_ino
    env.link_runtime(tmp_path)
    assert pth.stat().st_ino != old
    assert pth.read_text(encoding="utf-8").splitlines()[0] == str(tmp_path / "auto-path")
    assert [p.name for p in pth.parent.iterdir()] == [env.PTH_NAME]  # no temporary file left
