"""The docker builder against a real (private) Docker engine: few container tests, each
checked thoroughly. The session's engine starts empty, so the first build installs the
dependency image; the failing build reuses it (same requirements)."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest

from qwak_auto.builders.docker import DockerBuilder
from qwak_auto.errors import BuildError
from qwak_auto.source import GitSource
from tests.integration.build_docker.conftest import Engine, commit_repo
from tests.integration.iam.moto import ROLE, RUNNER_SECRET, runner_environ

pytestmark = [pytest.mark.docker, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[3]
CHURN = REPO_ROOT / "examples" / "model-repos" / "churn"
ENV_CANARY = "envvar-canary-7f3a91c2"

SLOW_MODEL = """\
import time

from qwak_auto.runtime import Model


class Slow(Model):
    def build(self):
        print("sleeping past the timeout", flush=True)
        time.sleep(600)

    def predict(self, df):
        return df
"""

FAILING_MODEL = """\
import os

from qwak_auto.runtime import Model


class Failing(Model):
    def build(self):
        # Proves what the container was handed: the role's credentials and the env_vars.
        if not os.environ.get("AWS_SESSION_TOKEN"):
            raise RuntimeError("no AWS credentials in the build")
        if os.environ.get("AUTO_CANARY") != "%s":
            raise RuntimeError("env_vars missing in the build")
        raise ValueError("boom in build")

    def predict(self, df):
        return df
"""


def _found_in_image(engine: Engine, image: str, needles: list[bytes], tmp: Path) -> set[bytes]:
    """Which ``needles`` occur in the image's history, configuration or any layer's bytes
    (``docker save``: layers are plain tar, so file contents appear verbatim)."""
    meta = engine.docker("history", "--no-trunc", image) + engine.docker("image", "inspect", image)
    found = {n for n in needles if n in meta.encode()}
    archive = tmp / "image.tar"
    engine.docker("save", "-o", str(archive), image, timeout=600)
    overlap = max(len(n) for n in needles)
    with tarfile.open(archive) as outer:
        for member in outer:
            stream = outer.extractfile(member) if member.isfile() else None
            if stream is None:
                continue
            tail = b""
            while chunk := stream.read(1 << 20):
                window = tail + chunk
                found |= {n for n in needles if n in window}
                tail = window[-overlap:]
    archive.unlink()
    return found


def test_churn_builds_into_a_serving_image_with_no_secret_in_it(
    tmp_path: Path, docker_engine: Engine, base_image: str, sts_url: str, make_ctx, store
) -> None:
    if not (CHURN / "main" / "model.py").is_file():
        pytest.skip("the churn example repository is not there yet")
    uri = commit_repo(tmp_path / "repo", source=CHURN)
    environ = {**os.environ, **runner_environ(sts_url)}
    ctx = make_ctx(
        uri,
        environ=environ,
        parameters={"n_estimators": "30"},
        env_vars=(f"AUTO_CANARY={ENV_CANARY}",),
        assumed_iam_role=ROLE,
    )
    checkout = GitSource().fetch(ctx.automation.action.build_spec, ctx)
    result = DockerBuilder(echo=False).build(checkout, ctx)

    # The result and its record.
    assert result.builder == "docker"
    assert result.image == f"auto/churn:{result.build_id}"
    assert set(result.metrics) == {"f1_score", "accuracy"}
    assert result.params["n_estimators"] == "30"
    record = store.build(result.build_id)
    assert record.status == "succeeded"
    assert record.image == result.image
    art = result.artifact_dir
    for name in ("model.pkl", "provenance.json", "metrics.json", "build.log", "code/main/model.py"):
        assert (art / name).exists(), name
    assert not (art / "request.json").exists()
    prov = json.loads((art / "provenance.json").read_text())
    assert prov["builder"] == "docker"
    assert prov["docker"]["image"] == result.image
    assert prov["docker"]["assumed_iam_role"] == ROLE
    assert "--cpus" in prov["docker"]["resources"]
    assert prov["tests"]["it"] == "passed"

    log = result.log_path.read_text()
    assert f"assumed {ROLE}" in log
    assert RUNNER_SECRET not in log

    # The image serves the model from /opt/model by default.
    config = json.loads(engine_inspect(docker_engine, result.image))
    cmd = config["Config"]["Cmd"]
    assert cmd[:5] == ["python", "-m", "qwak_auto.serve", "--artifact", "/opt/model"]
    assert not config["Config"].get("Entrypoint")  # `docker run IMAGE` runs that command
    listing = docker_engine.docker(
        "run", "--rm", "--network", "none", "--entrypoint", "ls", result.image, "/opt/model"
    )
    assert {"model.pkl", "code", "provenance.json", "metrics.json"} <= set(listing.split())
    probe = (
        "import pickle, sys; sys.path.insert(0, '/opt/model/code'); import qwak, cloudpickle;"
        "m = pickle.load(open('/opt/model/model.pkl', 'rb')); print(type(m).__name__)"
    )
    shown = docker_engine.docker(
        "run", "--rm", "--network", "none", "--entrypoint", "python", result.image, "-c", probe
    )
    assert shown.strip() == "ChurnModel"

    # No secret, credential or env_var value in the image's history, config or layers.
    canaries = [c.encode() for c in (ENV_CANARY, RUNNER_SECRET, *_temporary_credentials(log))]
    assert _found_in_image(docker_engine, result.image, canaries, tmp_path) == set()
    # The host's CA bundle and pip configuration were mounted, never copied: what is left of
    # those mounts in the dependency layer is empty mount points.
    sizes = docker_engine.docker(
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "sh",
        result.image,
        "-c",
        "cat /run/auto/ca-certificates.crt 2>/dev/null | wc -c; ls -A /etc/xdg/pip 2>/dev/null | wc -l",
    ).split()
    assert sizes == ["0", "0"]
    # Only the final image (and its dependency image) remain: no stage tag, no containers.
    tags = docker_engine.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").split()
    assert not [t for t in tags if t.startswith("auto-stage/")]
    assert docker_engine.docker("ps", "-aq").strip() == ""


def engine_inspect(engine: Engine, image: str) -> str:
    return engine.docker("image", "inspect", "--format", "{{json .}}", image)


def _temporary_credentials(log: str) -> tuple[str, ...]:
    """The role's temporary credentials: the redactor knows them, the log masks them."""
    from qwak_auto import redact

    values = tuple(v for v in redact._values if len(v) > 12)
    for value in values:
        assert value not in log
    return values


def test_failing_build_leaves_no_image_and_records_the_reason(
    tmp_path: Path, docker_engine: Engine, base_image: str, sts_url: str, make_ctx, store
) -> None:
    uri = commit_repo(
        tmp_path / "repo",
        {
            "main/__init__.py": "",
            "main/model.py": FAILING_MODEL % ENV_CANARY,
            "main/requirements.txt": _requirements(),
        },
    )
    ctx = make_ctx(
        uri,
        model_id="Failing_Model",
        environ={**os.environ, **runner_environ(sts_url)},
        env_vars=(f"AUTO_CANARY={ENV_CANARY}",),
        assumed_iam_role=ROLE,
    )
    checkout = GitSource().fetch(ctx.automation.action.build_spec, ctx)
    with pytest.raises(BuildError) as info:
        DockerBuilder(echo=False).build(checkout, ctx)

    assert "boom in build" in info.value.message  # so credentials and env_vars were there
    assert "\n" not in info.value.message
    record = store.builds(limit=1)[0]
    assert record.status == "failed"
    assert "boom in build" in record.reason
    assert record.image == ""
    log = Path(record.log_path).read_text()
    assert f"build failed: {record.reason}" in log
    builds = ctx.config.home / "builds"
    assert not builds.exists() or list(builds.iterdir()) == []
    tags = docker_engine.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").split()
    assert not [t for t in tags if t.startswith(("auto/failing-model", "auto-stage/"))]
    assert docker_engine.docker("ps", "-aq").strip() == ""


def test_missing_base_image_fails_before_anything_runs(
    tmp_path: Path, docker_engine: Engine, make_ctx, store
) -> None:
    uri = commit_repo(tmp_path / "repo", {"main/__init__.py": "", "main/model.py": "x = 1\n"})
    ctx = make_ctx(uri, model_id="nobase", base_image="local/absent:1")
    checkout = GitSource().fetch(ctx.automation.action.build_spec, ctx)
    with pytest.raises(BuildError) as info:
        DockerBuilder(echo=False).build(checkout, ctx)
    assert "base image local/absent:1" in info.value.message
    assert store.builds(limit=1)[0].status == "failed"
    assert docker_engine.docker("ps", "-aq").strip() == ""


def test_assumed_role_without_credentials_fails_before_anything_runs(
    tmp_path: Path, docker_engine: Engine, base_image: str, make_ctx, store, monkeypatch
) -> None:
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    uri = commit_repo(tmp_path / "repo", {"main/__init__.py": "", "main/model.py": "x = 1\n"})
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    ctx = make_ctx(uri, model_id="nocreds", environ=environ, assumed_iam_role=ROLE)
    checkout = GitSource().fetch(ctx.automation.action.build_spec, ctx)
    with pytest.raises(BuildError) as info:
        DockerBuilder(echo=False).build(checkout, ctx)
    assert "no AWS credentials" in info.value.message
    assert store.builds(limit=1)[0].status == "failed"
    log = Path(store.builds(limit=1)[0].log_path).read_text()
    assert "dependency image" not in log  # nothing started


def _requirements() -> str:
    # The churn example's requirements: the session's dependency image is reused.
    path = CHURN / "main" / "requirements.txt"
    return path.read_text() if path.is_file() else "pandas\n"


def test_build_over_its_timeout_stops_its_container(
    tmp_path: Path, docker_engine: Engine, base_image: str, make_ctx, store
) -> None:
    uri = commit_repo(
        tmp_path / "repo",
        {
            "main/__init__.py": "",
            "main/model.py": SLOW_MODEL,
            "main/requirements.txt": _requirements(),
        },
    )
    ctx = make_ctx(uri, model_id="slow")
    checkout = GitSource().fetch(ctx.automation.action.build_spec, ctx)
    with pytest.raises(BuildError) as info:
        DockerBuilder(echo=False, timeout=45).build(checkout, ctx)
    assert "timeout (45s)" in info.value.message
    record = store.builds(limit=1)[0]
    assert record.status == "failed"
    assert "timeout" in record.reason
    assert docker_engine.docker("ps", "-aq").strip() == ""  # the container was stopped
    tags = docker_engine.docker("image", "ls", "--format", "{{.Repository}}").split()
    assert not [t for t in tags if t in ("auto/slow", "auto-stage/slow")]


def test_images_list_shows_what_auto_made(docker_engine: Engine, base_image: str, capsys) -> None:
    from qwak_auto.cli import main

    assert main(["images", "list", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"repository": "local/python", "tag": "3.11-bookworm", "kind": "base"}.items() <= {
        k: v for r in rows if r["repository"] == "local/python" for k, v in r.items()
    }.items()


def test_images_bootstrap_command_reuses_the_cached_root_filesystem(
    docker_engine: Engine, base_image: str, capsys
) -> None:
    from qwak_auto.cli import main
    from tests.integration.build_docker.conftest import CACHE, _cache_lock

    with _cache_lock(CACHE):
        rc = main(
            [
                "images", "bootstrap", "--tag", "local/bootstrap-test:1",
                "--cache-dir", str(CACHE), "--format", "json",
            ]
        )  # fmt: skip
    assert rc == 0
    made = json.loads(capsys.readouterr().out)
    assert made["tag"] == "local/bootstrap-test:1"
    assert made["reused_tarball"] is True
    version = docker_engine.docker(
        "run", "--rm", "--network", "none", "local/bootstrap-test:1", "python3", "-c",
        "import sys, venv, ensurepip; print(sys.version_info[:2])",
    )  # fmt: skip
    assert version.strip() == "(3, 11)"
    docker_engine.docker("image", "rm", "local/bootstrap-test:1")


def test_dependency_that_fails_to_install_is_a_failed_build(
    tmp_path: Path, docker_engine: Engine, base_image: str, make_ctx, store
) -> None:
    uri = commit_repo(
        tmp_path / "repo",
        {
            "main/__init__.py": "",
            "main/model.py": "x = 1\n",
            "main/requirements.txt": "auto-no-such-package-3f9c==1.0\n",
        },
    )
    ctx = make_ctx(uri, model_id="baddeps")
    checkout = GitSource().fetch(ctx.automation.action.build_spec, ctx)
    images_before = docker_engine.docker("image", "ls", "-q", "--no-trunc").split()
    with pytest.raises(BuildError) as info:
        DockerBuilder(echo=False).build(checkout, ctx)
    assert "dependencies failed to install" in info.value.message
    assert "auto-no-such-package-3f9c" in info.value.message
    record = store.builds(limit=1)[0]
    assert record.status == "failed"
    log = Path(record.log_path).read_text()
    assert "main/requirements.txt:1" in log  # the dropped pin is named by its line
    assert docker_engine.docker("ps", "-aq").strip() == ""
    # No half-made dependency image (nor any other) was left behind.
    assert docker_engine.docker("image", "ls", "-q", "--no-trunc").split() == images_before


TINY_MODEL = """\
from qwak_auto.runtime import Model, log_metric


class Tiny(Model):
    def build(self):
        log_metric("score", 1.0)

    def predict(self, df):
        return df
"""


def test_dependencies_as_of_holds_the_dependency_image_to_the_date(
    tmp_path: Path, docker_engine: Engine, base_image: str, make_ctx
) -> None:
    """The dependency step inside the container ignores packages uploaded after the day
    (six 1.16.0 was the newest on 2023-06-01; 1.17.0 came in December 2024)."""
    uri = commit_repo(
        tmp_path / "repo",
        {"main/__init__.py": "", "main/model.py": TINY_MODEL, "main/requirements.txt": "six\n"},
    )
    ctx = make_ctx(uri, model_id="asof", dependencies_as_of="2023-06-01")
    checkout = GitSource().fetch(ctx.automation.action.build_spec, ctx)
    result = DockerBuilder(echo=False).build(checkout, ctx)
    dependencies = result.provenance["dependencies"]
    assert dependencies["as_of"] == "2023-06-01"
    assert dependencies["uploaded_before"] == "2023-06-02T00:00:00Z"
    resolved = dict(
        line.lower().split("==", 1) for line in dependencies["resolved"] if "==" in line
    )
    assert resolved["six"] == "1.16.0"
    assert resolved["pandas"] == "2.0.2"  # 2.0.3 came on 2023-06-28
    assert "as of 2023-06-01" in result.log_path.read_text()
