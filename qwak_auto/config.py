"""Project configuration: where things run, as opposed to what runs.

The cascade, lowest first: built-in defaults, ``auto.yaml`` (found beside the automation
files, else in the working directory), ``AUTO_*`` environment variables, then command-line
flags (applied by the caller with :func:`dataclasses.replace`). Resolved once, at the edge.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qwak_auto.errors import ConfigError

CONFIG_NAMES = ("auto.yaml", "auto.yml")
TOP_KEYS = (
    "state",
    "analytics",
    "builder",
    "secrets",
    "default_environment",
    "environments",
    "home",
    "predictions_sample_rate",
    "ui_url",
    "secrets_dir",
    "vault",
)
ENV_KEYS = ("deployer", "kube_context", "namespace", "image_registry", "prometheus_url")


@dataclass(frozen=True, slots=True, kw_only=True)
class Environment:
    name: str
    deployer: str = "local"  # local | kubernetes
    kube_context: str | None = None
    namespace: str = "default"
    image_registry: str | None = None
    prometheus_url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    home: Path  # the .auto directory: state, cache, builds, logs, predictions
    state_url: str
    analytics_url: str
    builder: str = "local"
    secrets: tuple[str, ...] = ("env", "file")
    secrets_dir: Path | None = None
    default_environment: str = "dev"
    environments: Mapping[str, Environment] = field(default_factory=dict)
    environments_declared: bool = False  # True when auto.yaml lists environments
    predictions_sample_rate: float = 1.0
    ui_url: str | None = None
    vault: Mapping[str, str] = field(default_factory=dict)
    source: Path | None = None  # the auto.yaml that was read, if any
    origins: Mapping[str, str] = field(default_factory=dict)  # key -> where its value came from

    def environment(self, name: str | None) -> Environment:
        """The named environment ('' or None: the default one)."""
        key = name or self.default_environment
        if key in self.environments:
            return self.environments[key]
        return Environment(name=key)


def find_config(paths: tuple[Path, ...], cwd: Path) -> Path | None:
    for start in (*paths, cwd):
        folder = start if start.is_dir() else start.parent
        for name in CONFIG_NAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None


def _suggest(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f"did you mean `{close[0]}`?"
    return "known keys: " + ", ".join(known)


def _read_yaml(path: Path) -> Mapping[str, Any]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read project config: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the project config must be a mapping of keys to values")
    return data


def _environments(path: Path, raw: Any) -> dict[str, Environment]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: environments: must be a mapping of name to settings")
    out: dict[str, Environment] = {}
    for name, settings in raw.items():
        settings = settings or {}
        if not isinstance(settings, dict):
            raise ConfigError(f"{path}: environments.{name}: must be a mapping")
        for key in settings:
            if key not in ENV_KEYS:
                raise ConfigError(
                    f"{path}: environments.{name}.{key}: unknown key", _suggest(key, ENV_KEYS)
                )
        deployer = settings.get("deployer", "local")
        if deployer not in ("local", "kubernetes"):
            raise ConfigError(
                f"{path}: environments.{name}.deployer: {deployer!r} is not a deployer",
                "use `local` or `kubernetes`",
            )
        out[str(name)] = Environment(name=str(name), **dict(settings.items()))
    return out


def load_config(
    paths: tuple[Path, ...] = (),
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    config_file: Path | None = None,
) -> Config:
    env = env or {}
    cwd = cwd or Path.cwd()
    origins: dict[str, str] = {}
    if config_file is None and env.get("AUTO_CONFIG"):
        config_file = Path(env["AUTO_CONFIG"])
    source = config_file or find_config(paths, cwd)
    raw: Mapping[str, Any] = {}
    if source is not None:
        if not source.is_file():
            raise ConfigError(f"project config not found: {source}")
        raw = _read_yaml(source)
        for key in raw:
            if key not in TOP_KEYS:
                raise ConfigError(f"{source}: {key}: unknown key", _suggest(str(key), TOP_KEYS))
    base = source.parent if source is not None else cwd

    def pick(key: str, env_name: str, default: Any) -> Any:
        if env.get(env_name):
            origins[key] = f"environment variable {env_name}"
            return env[env_name]
        if key in raw:
            origins[key] = str(source)
            return raw[key]
        origins[key] = "default"
        return default

    home = Path(pick("home", "AUTO_HOME", ".auto"))
    if not home.is_absolute():
        home = base / home
    state_url = pick("state", "AUTO_STATE_URL", "")
    if not state_url:
        state_url = f"sqlite:///{home / 'state.db'}"
    analytics_url = pick("analytics", "AUTO_ANALYTICS_URL", "")
    if not analytics_url:
        analytics_url = f"duckdb:///{home / 'analytics.duckdb'}"
    builder = pick("builder", "AUTO_BUILDER", "local")
    if builder not in ("local", "docker"):
        raise ConfigError(f"builder: {builder!r} is not a builder", "use `local` or `docker`")
    secrets = pick("secrets", "AUTO_SECRETS", ("env", "file"))
    if isinstance(secrets, str):
        secrets = tuple(s.strip() for s in secrets.split(",") if s.strip())
    secrets_dir = pick("secrets_dir", "AUTO_SECRETS_DIR", None)
    environments = _environments(source or base, raw.get("environments") or {})
    raw_sample = pick("predictions_sample_rate", "AUTO_PREDICTIONS_SAMPLE_RATE", 1.0)
    try:
        sample = float(raw_sample)
    except (TypeError, ValueError):
        sample = -1.0
    if not 0.0 <= sample <= 1.0:
        raise ConfigError(
            f"predictions_sample_rate: {raw_sample!r} is not a fraction between 0 and 1",
            f"set it to e.g. 0.1 (it came from {origins['predictions_sample_rate']})",
        )
    return Config(
        home=home,
        state_url=str(state_url),
        analytics_url=str(analytics_url),
        builder=str(builder),
        secrets=tuple(secrets),
        secrets_dir=Path(base / secrets_dir) if secrets_dir else None,
        default_environment=str(pick("default_environment", "AUTO_ENVIRONMENT", "dev")),
        environments=environments,
        environments_declared=bool(environments),
        predictions_sample_rate=sample,
        ui_url=pick("ui_url", "AUTO_UI_URL", None),
        vault={str(k): str(v) for k, v in (raw.get("vault") or {}).items()},
        source=source,
        origins=origins,
    )
