"""The backend chain: first hit wins, values are registered, failures are explained."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from qwak_auto import redact
from qwak_auto.config import Config, load_config
from qwak_auto.errors import BackendError, ConfigError
from qwak_auto.platform.plugins import Catalog, PluginFailure
from qwak_auto.platform.plugins import Plugin as BackendInfo
from qwak_auto.secrets.registry import SECRET_BACKENDS, Resolver, resolve, resolver
from qwak_auto.secrets.service import backends_report, check_secret


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(env={"AUTO_HOME": str(tmp_path / ".auto")}, cwd=tmp_path)


def test_builtins_are_listed_first() -> None:
    names = list(SECRET_BACKENDS.catalog().plugins)
    assert names[:4] == ["env", "file", "kubernetes", "vault"]


def test_env_backend_resolves_and_registers(config: Config) -> None:
    environ = {"AUTO_SECRET_GH_TOKEN_PROD": "ghp_canary_value"}
    assert resolve("gh-token.prod", config, environ) == ("ghp_canary_value", "env")
    assert redact.redact("token ghp_canary_value!") == f"token {redact.MASK}!"


def test_resolver_is_callable_and_raises_naming_backends(config: Config) -> None:
    secrets = resolver(config, {"AUTO_SECRET_A": "value-a"})
    assert secrets("a") == "value-a"
    with pytest.raises(BackendError) as info:
        secrets("missing_one")
    assert "env, file" in info.value.message
    assert "AUTO_SECRET_MISSING_ONE" in info.value.hint


def test_unresolved_gives_none_none(config: Config) -> None:
    assert resolve("nothing_here", config, {}) == (None, None)


def test_empty_value_is_not_a_hit(config: Config, tmp_path: Path) -> None:
    folder = tmp_path / ".auto" / "secrets"
    folder.mkdir(parents=True)
    (folder / "tok").write_text("from-the-file\n")
    (folder / "tok").chmod(0o600)
    assert resolve("tok", config, {"AUTO_SECRET_TOK": ""}) == ("from-the-file", "file")


def test_first_hit_wins(config: Config, tmp_path: Path) -> None:
    folder = tmp_path / ".auto" / "secrets"
    folder.mkdir(parents=True)
    (folder / "tok").write_text("from-the-file")
    (folder / "tok").chmod(0o600)
    environ = {"AUTO_SECRET_TOK": "from-the-env"}
    assert resolve("tok", config, environ) == ("from-the-env", "env")
    reordered = replace(config, secrets=("file", "env"))
    assert resolve("tok", reordered, environ) == ("from-the-file", "file")


def test_too_short_value_is_refused(config: Config) -> None:
    with pytest.raises(BackendError, match="shorter than 4"):
        resolve("tiny", config, {"AUTO_SECRET_TINY": "abc"})


def test_unknown_backend_in_chain_is_a_config_error(config: Config) -> None:
    with pytest.raises(ConfigError) as info:
        resolve("x_y", replace(config, secrets=("env", "nosuch")), {})
    assert "nosuch" in info.value.message
    assert "env" in info.value.hint


def test_invalid_name_is_refused(config: Config) -> None:
    with pytest.raises(BackendError, match="not a valid secret name"):
        resolve("../etc/passwd", config, {})


class _Broken:
    name = "broken"
    description = "always fails"

    def __init__(self, config: Config, environ: Any) -> None:
        pass

    def get(self, name: str) -> str | None:
        raise RuntimeError("backend exploded")


class _Holder:
    name = "holder"
    description = "holds everything"

    def __init__(self, config: Config, environ: Any) -> None:
        pass

    def get(self, name: str) -> str | None:
        return f"value-of-{name}"


def _catalog(*infos: BackendInfo[Any], failures: tuple[PluginFailure, ...] = ()) -> Catalog[Any]:
    return Catalog({i.name: i for i in infos}, failures)


def test_failing_backend_is_skipped_and_reported(config: Config) -> None:
    cat = _catalog(
        BackendInfo("broken", "", "plugin x 1", _Broken),
        BackendInfo("holder", "", "plugin y 1", _Holder),
    )
    chained = replace(config, secrets=("broken", "holder"))
    found = Resolver(chained, {}, cat).lookup("abc")
    assert (found.value, found.backend) == ("value-of-abc", "holder")
    assert "backend exploded" in found.errors["broken"]

    alone = Resolver(replace(config, secrets=("broken",)), {}, cat)
    with pytest.raises(BackendError, match="broken: RuntimeError: backend exploded"):
        alone("abc")


def test_plugin_that_failed_to_load_is_named_with_its_distribution(config: Config) -> None:
    cat = _catalog(failures=(PluginFailure("bad", "auto-bad-plugin 0.1", "ImportError: nope"),))
    with pytest.raises(ConfigError) as info:
        Resolver(replace(config, secrets=("bad",)), {}, cat)("abc")
    assert "auto-bad-plugin 0.1" in info.value.message


def test_check_never_returns_the_value(config: Config) -> None:
    report = check_secret("gh_token", config, {"AUTO_SECRET_GH_TOKEN": "super-secret-value"})
    assert report["resolved"] is True
    assert report["backend"] == "env"
    assert "super-secret-value" not in repr(report)


def test_backends_report_marks_the_chain(config: Config) -> None:
    report = backends_report(config)
    positions = {b["name"]: b["position"] for b in report["backends"]}
    assert positions["env"] == 1
    assert positions["file"] == 2
    assert positions["vault"] is None
    assert report["chain"] == ["env", "file"]
