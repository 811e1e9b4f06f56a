"""`auto validate` as a user types it: exit codes, stdin, folders, formats, --strict,
--check-secrets and --config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qwak_auto.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(str(p) for p in (ROOT / "examples").glob("*.yaml"))
AUTO = Path(sys.executable).parent / "auto"
GOOD = """name: {name}
model_id: churn
trigger:
  scheduled:
    cron: "0 3 * * *"
action:
  build_deploy:
    build_spec:
      git_uri: https://github.com/acme/churn.git
      git_access_token_secret: gh.token-1
    deployment_spec:
      memory: {memory}
      environments: [{env}]
"""


def write(folder: Path, name: str, memory: str = "2Gi", env: str = "prod") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(GOOD.format(name=name, memory=memory, env=env))
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["validate", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_examples_are_clean(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, *EXAMPLES)
    assert rc == 0
    assert out == f"{len(EXAMPLES)} files checked: no problems\n"


def test_folder_is_searched_recursively(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "team" / "a").mkdir(parents=True)
    write(tmp_path / "team" / "a", "one")
    write(tmp_path, "two")
    (tmp_path / "auto.yaml").write_text("builder: local\n")  # the project config is skipped
    rc, out, _ = run(capsys, str(tmp_path))
    assert (rc, out) == (0, "2 files checked: no problems\n")


def test_problems_exit_1_and_every_file_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.yaml").write_text("name: [\n")
    bad = write(tmp_path, "b")
    bad.write_text(bad.read_text().replace('"0 3 * * *"', '"0 0 31 2 *"'))
    write(tmp_path, "c")
    rc, out, _ = run(capsys, "--format", "json", str(tmp_path))
    assert rc == 1
    report = json.loads(out)
    assert report["files_checked"] == 3
    assert [(Path(p["file"]).name, p["code"]) for p in report["problems"]] == [
        ("a.yaml", "yaml.syntax"),
        ("b.yaml", "cron.never-fires"),
    ]


def test_text_output_is_plain_when_piped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "a")
    path.write_text(path.read_text().replace("git_uri:", "git_urii:"))
    rc, out, _ = run(capsys, str(path))
    assert rc == 1
    assert "\x1b[" not in out
    assert f"{path}:9:7: error: action.build_deploy.build_spec.git_urii: unknown key" in out
    assert "hint: did you mean `git_uri`?" in out
    assert out.endswith("1 file checked: 2 error(s), 0 warning(s)\n")


def test_github_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "a", memory="lots")
    rc, out, _ = run(capsys, "--format", "github", str(path))
    assert rc == 1
    assert out.splitlines()[0].startswith(
        f"::error file={path},line=12,col=15,title=memory.invalid::"
    )


def test_missing_path_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, str(tmp_path / "nope.yaml"))
    assert rc == 2
    assert "no such file or folder" in err
    assert out == ""


def test_unknown_option_and_format_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--bogus", EXAMPLES[0])[0] == 2
    rc, _, err = run(capsys, "--format", "xml", EXAMPLES[0])
    assert rc == 2
    assert "text, json, github" in err
    assert main(["validate"]) == 2


def test_warnings_pass_unless_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "a", memory="512Mib")
    rc, out, _ = run(capsys, str(path))
    assert rc == 0
    assert "warning" in out
    assert "memory.legacy-unit" in out
    assert run(capsys, "--strict", str(path))[0] == 1


def test_duplicate_names_across_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "a")
    (tmp_path / "b.yaml").write_text((tmp_path / "a.yaml").read_text())
    rc, out, _ = run(capsys, "--format", "json", str(tmp_path))
    problems = json.loads(out)["problems"]
    assert rc == 1
    assert [(Path(p["file"]).name, p["line"], p["code"]) for p in problems] == [
        ("b.yaml", 1, "name.duplicate")
    ]
    assert f"{tmp_path / 'a.yaml'}:1" in problems[0]["message"]


def test_check_secrets_with_the_env_backend(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "a")
    monkeypatch.delenv("AUTO_SECRET_GH_TOKEN_1", raising=False)
    assert run(capsys, str(path))[0] == 0  # not checked by default
    rc, out, _ = run(capsys, "--check-secrets", "--format", "json", str(path))
    assert rc == 1
    problem = json.loads(out)["problems"][0]
    assert (problem["code"], problem["line"]) == ("secret.unresolved", 10)
    assert "AUTO_SECRET_GH_TOKEN_1" in problem["hint"]
    monkeypatch.setenv("AUTO_SECRET_GH_TOKEN_1", "value-that-is-secret")
    rc, out, err = run(capsys, "--check-secrets", str(path))
    assert rc == 0
    assert "value-that-is-secret" not in out + err


def test_environments_from_the_project_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "a", env="staging")
    assert run(capsys, str(path))[0] == 0  # no config: not checked
    config = tmp_path / "auto.yaml"
    config.write_text("environments:\n  dev: {}\n  prod: {}\n")
    rc, out, _ = run(capsys, "--config", str(config), str(path))
    assert rc == 1
    assert "environment.unknown" in out
    assert "dev, prod" in out


def test_stdin_through_the_installed_command(tmp_path: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    good = GOOD.format(name="a", memory="2Gi", env="prod")
    done = subprocess.run(
        [str(AUTO), "validate", "-"],
        input=good,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "1 file checked: no problems\n")
    done = subprocess.run(
        [str(AUTO), "validate", "--format", "github", "-"],
        input="name: 010\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 1
    assert "::error file=-,line=1,col=7,title=schema.type::" in done.stdout
    assert 'quote it: name: \\"010\\"' not in done.stdout
    assert 'quote it: name: "010"' in done.stdout


def test_load_automations_for_the_runner(tmp_path: Path) -> None:
    from qwak_auto.automation.validate import load_automations

    write(tmp_path, "good", memory="512Mib")  # a warning does not keep it out
    bad = write(tmp_path, "bad")
    bad.write_text(bad.read_text().replace('"0 3 * * *"', '"0 0 31 2 *"'))
    automations, problems = load_automations([tmp_path])
    assert [a.name for a in automations] == ["good"]
    assert automations[0].action.deployment_spec.memory == "512Mi"
    assert automations[0].origin.file == str(tmp_path / "good.yaml")
    assert automations[0].origin.line == 1
    assert sorted(p.code for p in problems) == ["cron.never-fires", "memory.legacy-unit"]
    everything, none = load_automations(EXAMPLES)
    assert none == []
    assert len(everything) >= len(EXAMPLES)
