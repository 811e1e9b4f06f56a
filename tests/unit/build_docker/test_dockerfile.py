"""The docker builder's pure parts: Dockerfiles, image names, docker argv, mounts."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from qwak_auto.automation.resources import CpuResources, GpuResources
from qwak_auto.builders import dockerfile, images
from qwak_auto.platform import docker as docker_cli

SECRET = "s3cr3t-value-canary-91ab"


def test_image_names_follow_docker_rules() -> None:
    assert dockerfile.image_tag("churn", "churn-20260101-abc") == "auto/churn:churn-20260101-abc"
    assert dockerfile.image_tag("Fraud_Model V2", "id") == "auto/fraud_model-v2:id"
    assert dockerfile.image_tag("__", "a/b:c") == "auto/model:a-b-c"
    assert dockerfile.stage_tag("churn", "b1") == "auto-stage/churn:b1"
    assert dockerfile.deps_tag("abc123") == "auto-deps:abc123"
    tag = dockerfile.image_tag("m", "x" * 300)
    assert len(tag.split(":", 1)[1]) == 128


def test_stage_dockerfile_copies_runtime_code_and_pth_without_running_anything() -> None:
    text = dockerfile.render_stage(
        deps_image="auto-deps:abc",
        site_packages="/opt/venv/lib/python3.11/site-packages",
        labels={"io.qwak-auto.build-id": "b1"},
    )
    lines = text.splitlines()
    assert "FROM auto-deps:abc" in lines
    assert "COPY auto/ /opt/auto/" in lines
    assert "COPY _qwak_auto.pth /opt/venv/lib/python3.11/site-packages/_qwak_auto.pth" in lines
    assert "COPY code/ /opt/model/code/" in lines
    assert "WORKDIR /opt/model" in lines
    assert not any(line.startswith(("RUN", "ARG", "ADD")) for line in lines)
    assert 'PATH="/opt/venv/bin:' in text
    assert '"io.qwak-auto.build-id"="b1"' in text
    assert dockerfile.pth_text() == "/opt/auto\n/opt/auto/qwak_auto/runtime/shim\n"
    with pytest.raises(ValueError, match="absolute"):
        dockerfile.render_stage(deps_image="x", site_packages="relative/site")


def test_final_dockerfile_serves_the_model_from_opt_model() -> None:
    text = dockerfile.render_final(
        stage_image="auto-stage/churn:b1",
        files=["model.pkl", "metrics.json", "provenance.json"],
        model_id="churn",
        build_id="b1",
    )
    assert text.splitlines()[1] == "FROM auto-stage/churn:b1"
    assert "COPY model.pkl metrics.json provenance.json /opt/model/" in text
    assert "EXPOSE 8080" in text
    assert text.splitlines()[-2] == "ENTRYPOINT []"
    cmd = text.splitlines()[-1]
    assert cmd.startswith('CMD ["python", "-m", "qwak_auto.serve", "--artifact", "/opt/model"')
    assert '"--model-id", "churn"' in cmd
    assert '"--build-id", "b1"' in cmd
    assert '"--bind", "0.0.0.0:8080"' in cmd


def test_cpu_resources_become_cpus_and_memory_in_bytes() -> None:
    flags, warnings = dockerfile.resource_flags(
        CpuResources(cpu_fraction=1.5, memory="512Mi"), host_cpus=4
    )
    assert flags == ["--cpus", "1.5", "--memory", str(512 * 1024 * 1024)]
    assert warnings == []


def test_more_cpus_than_the_host_has_are_capped_with_a_warning() -> None:
    flags, warnings = dockerfile.resource_flags(
        CpuResources(cpu_fraction=8, memory="2Gi"), host_cpus=2
    )
    assert flags[:2] == ["--cpus", "2"]
    assert "8" in warnings[0]
    assert "2 CPUs" in warnings[0]


def test_gpu_resources_become_gpus() -> None:
    flags, warnings = dockerfile.resource_flags(
        GpuResources(gpu_type="NVIDIA_T4", gpu_amount=2), host_cpus=2
    )
    assert flags == ["--gpus", "2"]
    assert warnings == []


def test_harness_argv_passes_env_by_name_only(tmp_path: Path) -> None:
    argv = dockerfile.harness_argv(
        name="auto-build-b1",
        image="auto-stage/churn:b1",
        resources=["--cpus", "2", "--memory", "1024"],
        env_names=["AWS_SESSION_TOKEN", "MY_VAR"],
        stage=tmp_path,
        user="1000:1000",
    )
    joined = " ".join(argv)
    assert argv[:3] == ["docker", "run", "--rm"]
    assert argv[argv.index("--network") + 1] == "none"
    assert "--cpus 2 --memory 1024" in joined
    assert "-e AWS_SESSION_TOKEN" in joined
    assert "-e MY_VAR" in joined
    for i, arg in enumerate(argv):
        if arg == "-e" and argv[i + 1] != "HOME=/tmp":
            assert "=" not in argv[i + 1]  # a value never travels on argv
    assert f"type=bind,source={tmp_path},target=/opt/build" in joined
    assert "readonly" not in joined  # the output directory is writable
    assert argv[-2:] == ["qwak_auto.builders.harness", "/opt/build/request.json"]
    assert argv[argv.index("--user") + 1] == "1000:1000"


def test_install_plan_mounts_certs_and_pip_config_read_only(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("CERT")
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\n")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    req = tmp_path / "req.txt"
    req.write_text("pandas\n")
    environ = {
        "SSL_CERT_FILE": str(ca),
        "PIP_CONFIG_FILE": str(conf),
        "PIP_INDEX_URL": f"https://user:{SECRET}@pypi.example/simple",
        "PIP_FIND_LINKS": str(wheels),
        "HTTPS_PROXY": "http://proxy:3128",
        "AWS_SECRET_ACCESS_KEY": SECRET + "aws",
    }
    plan = dockerfile.install_plan(environ, req)
    by_target = {m.target: m for m in plan.mounts}
    assert by_target["/run/auto/requirements.txt"].source == req
    assert by_target["/run/auto/ca-certificates.crt"].source == ca
    assert by_target["/run/auto/pip.conf"].source == conf
    assert by_target[str(wheels)].source == wheels
    assert all(m.read_only for m in plan.mounts)
    assert plan.settings["SSL_CERT_FILE"] == "/run/auto/ca-certificates.crt"
    assert plan.settings["PIP_CERT"] == "/run/auto/ca-certificates.crt"
    assert plan.settings["PIP_CONFIG_FILE"] == "/run/auto/pip.conf"
    assert plan.settings["HTTPS_PROXY"] == "http://proxy:3128"
    assert plan.settings["PIP_NO_CACHE_DIR"] == "1"
    assert "AWS_SECRET_ACCESS_KEY" not in plan.settings  # only installer settings

    argv = dockerfile.install_argv(name="auto-deps-x", base_image="base:1", plan=plan)
    assert SECRET not in " ".join(argv)  # settings go on stdin, never argv
    assert argv[argv.index("--network") + 1] == "host"
    assert "-i" in argv
    for i, arg in enumerate(argv):
        if arg == "--mount":
            assert argv[i + 1].endswith(",readonly")
    script = dockerfile.settings_script(plan.settings)
    assert f"export PIP_INDEX_URL={shlex.quote(environ['PIP_INDEX_URL'])}" in script
    assert ". /dev/stdin" in dockerfile.INSTALL_SCRIPT


def test_install_plan_passes_dependencies_as_of_on_stdin(tmp_path: Path) -> None:
    req = tmp_path / "req.txt"
    req.write_text("pandas\n")
    plain = dockerfile.install_plan({}, req)
    assert "AUTO_UPLOADED_BEFORE" not in plain.settings
    dated = dockerfile.install_plan({}, req, uploaded_before="2024-06-02T00:00:00Z")
    script = dockerfile.settings_script(dated.settings)
    assert "export AUTO_UPLOADED_BEFORE=2024-06-02T00:00:00Z" in script
    # the script brings a pip that knows the option before it installs anything
    install = dockerfile.INSTALL_SCRIPT
    assert install.index("pip>=26") < install.index('"$@" -r')
    assert '--uploaded-prior-to "$AUTO_UPLOADED_BEFORE"' in install


def test_settings_script_quotes_and_skips_bad_names() -> None:
    script = dockerfile.settings_script({"PIP_X": "a'b $(rm -rf /)", "BAD-NAME": "x"})
    assert script == "export PIP_X='a'\"'\"'b $(rm -rf /)'\n"


def test_commit_keeps_no_run_configuration() -> None:
    argv = dockerfile.commit_argv(
        name="c", tag="auto-deps:abc", site_packages="/opt/venv/lib/site", base="base:1"
    )
    changes = [argv[i + 1] for i, a in enumerate(argv) if a == "--change"]
    assert "LABEL io.qwak-auto.site-packages=/opt/venv/lib/site" in changes
    assert 'CMD ["python"]' in changes
    assert argv[-2:] == ["c", "auto-deps:abc"]


def test_build_argv_uses_no_network() -> None:
    argv = dockerfile.build_argv(tag="auto/m:1", context=Path("/ctx"))
    assert argv[:2] == ["docker", "build"]
    assert argv[argv.index("--network") + 1] == "none"
    assert argv[-3:] == ["-t", "auto/m:1", "/ctx"]


def test_docker_env_keeps_only_engine_settings() -> None:
    env = docker_cli.docker_env(
        {"PATH": "/bin", "DOCKER_HOST": "unix:///x.sock", "AWS_SECRET_ACCESS_KEY": SECRET},
        {"MY_VAR": "v"},
    )
    assert env == {
        "PATH": "/bin",
        "DOCKER_HOST": "unix:///x.sock",
        "DOCKER_BUILDKIT": "0",
        "DOCKER_CLI_HINTS": "false",
        "MY_VAR": "v",
    }


def test_apt_mirror_from_deb822_sources(tmp_path: Path) -> None:
    folder = tmp_path / "sources.list.d"
    folder.mkdir()
    (folder / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n"
    )
    assert images.apt_mirror(tmp_path) == "http://mirror.example/debian"


def test_apt_mirror_from_sources_list(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text(
        "# comment\ndeb [arch=amd64] http://old.example/debian bookworm main\n"
    )
    assert images.apt_mirror(tmp_path) == "http://old.example/debian"
    assert images.apt_mirror(tmp_path / "nothing") is None


def test_bootstrap_argv() -> None:
    argv = images.debootstrap_argv(Path("/r"), "http://m/debian")
    assert argv[:2] == ["debootstrap", "--variant=minbase"]
    assert "python3,python3-venv,python3-pip" in argv[2]
    assert argv[-3:] == ["bookworm", "/r", "http://m/debian"]
    imported = images.import_argv(Path("/t.tar"), "local/python:3.11-bookworm")
    assert imported[-2:] == ["/t.tar", "local/python:3.11-bookworm"]
    assert "LABEL io.qwak-auto=base" in imported
