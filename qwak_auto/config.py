"""Project configuration: where things run, as opposed to what runs.

The cascade, lowest first: built-in defaults, ``auto.yaml``, ``AUTO_*`` environment
variables, then command-line flags (applied by the caller with :func:`dataclasses.replace`).
Resolved once, at the edge.

``auto.yaml`` marks the project: it is looked for beside the automation files and in the
folders above them, then in the working directory and the folders above it (as git finds
``.git``), never above a repository root. Its folder holds the project's state home
``.auto/``, so `auto run --once automations/` from the root and `auto status` from any
sub-folder find the same state (issue 18). Without an ``auto.yaml`` the working directory
is the project folder; ``AUTO_HOME`` always wins.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qwak_auto.errors import ConfigError
from qwak_auto.platform.kubernetes import GpuNodes, parse_gpu_nodes
from qwak_auto.platform.plugins import Kind
from qwak_auto.registry import BUILDERS, DEPLOYERS, NOTIFIERS
from qwak_auto.secrets.registry import SECRET_BACKENDS

CONFIG_NAMES = ("auto.yaml", "auto.yml")
TOP_KEYS = (
    "state",
    "analytics",
    "builder",
    "secrets",
    "notifiers",
    "default_environment",
    "environments",
    "home",
    "predictions_sample_rate",
    "ui_url",
    "secrets_dir",
    "vault",
    "runner_image",
)
ENV_KEYS = (
    "deployer",
    "kube_context",
    "namespace",
    "image_registry",
    "prometheus_url",
    "build_image",
    "kaniko_image",
    "registry_secret",
    "gpu_nodes",
)
# The executor that builds serving images in the cluster (builder: kubernetes). Upstream
# kaniko was archived in June 2025; a maintained fork's executor image can be set instead.
DEFAULT_KANIKO_IMAGE = "gcr.io/kaniko-project/executor:v1.23.2"


@dataclass(frozen=True, slots=True, kw_only=True)
class Environment:
    name: str
    deployer: str = "local"  # a name of qwak_auto.registry.DEPLOYERS: local | kubernetes | plugins
    kube_context: str | None = None
    namespace: str = "default"
    image_registry: str | None = None
    prometheus_url: str | None = None
    build_image: str | None = None  # builder: kubernetes: the build's image without base_image
    kaniko_image: str = DEFAULT_KANIKO_IMAGE  # builder: kubernetes: the image builder
    registry_secret: str | None = None  # a dockerconfigjson Secret: kaniko's push, pods' pull
    gpu_nodes: Mapping[str, GpuNodes] = field(default_factory=dict)  # GPU type -> placement


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    home: Path  # the .auto directory: state, cache, builds, logs, predictions
    state_url: str
    analytics_url: str
    builder: str = "local"  # a name of qwak_auto.registry.BUILDERS
    secrets: tuple[str, ...] = ("env", "file")
    notifiers: tuple[str, ...] = ("automation",)  # each gets every run event
    secrets_dir: Path | None = None
    default_environment: str = "dev"
    environments: Mapping[str, Environment] = field(default_factory=dict)
    environments_declared: bool = False  # True when auto.yaml lists environments
    predictions_sample_rate: float = 1.0
    ui_url: str | None = None
    vault: Mapping[str, str] = field(default_factory=dict)
    runner_image: str | None = None  # the image of `auto` for `auto render --runner`
    source: Path | None = None  # the auto.yaml that was read, if any
    origins: Mapping[str, str] = field(default_factory=dict)  # key -> where its value came from

    def environment(self, name: str | None) -> Environment:
        """The named environment ('' or None: the default one)."""
        key = name or self.default_environment
        if key in self.environments:
            return self.environments[key]
        if self.environments_declared and key != self.default_environment:
            # auto.yaml lists its environments: any other name given is a typo, not a new
            # place (the default environment stays usable, named or not, listed or not).
            raise ConfigError(
                f"environment {key!r} is not in the project config ({self.source})",
                "environments in the project config: " + ", ".join(self.environments),
            )
        return Environment(name=key)


# The shape each top-level key must have in auto.yaml (default: a string).
_SHAPES: dict[str, type | tuple[type, ...]] = {
    "secrets": (list, str),
    "notifiers": (list, str),
    "environments": dict,
    "vault": dict,
    "predictions_sample_rate": (int, float, str),
}
_SHAPE_NAMES: dict[type | tuple[type, ...], str] = {
    str: "a string",
    (list, str): "a list of names",
    dict: "a mapping",
    (int, float, str): "a number",
}


def _upward(folder: Path) -> Iterator[Path]:
    """``folder``, then each folder above it, up to the repository root (the first folder
    holding ``.git``) or the filesystem root."""
    yield folder
    if (folder / ".git").exists():
        return
    for parent in folder.resolve().parents:
        yield parent
        if (parent / ".git").exists():
            return


def find_config(paths: tuple[Path, ...], cwd: Path) -> Path | None:
    """The ``auto.yaml`` of the project: beside or above the first path that has one, else
    in or above the working directory (see the module docstring)."""
    for start in (*paths, cwd):
        folder = start if start.is_dir() else start.parent
        for place in _upward(folder):
            for name in CONFIG_NAMES:
                candidate = place / name
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
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: the project config is not UTF-8 (byte {exc.start})", "save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read project config: {exc.strerror or exc}",
            "check that the file exists and is readable",
        ) from None
    try:
        # Round-trip loading keeps each key's line and column for the error messages.
        data = YAML(typ="rt", pure=True).load(text)
    except YAMLError as exc:
        mark = exc.problem_mark if isinstance(exc, MarkedYAMLError) else None
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        what = (exc.problem if isinstance(exc, MarkedYAMLError) else None) or str(exc)
        raise ConfigError(
            f"{where}: the project config is not valid YAML: {what}",
            "check indentation, colons and quotes around this place",
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the project config must be a mapping of keys to values",
            "write `key: value` lines, e.g. `builder: local`",
        )
    return data


def _at(path: Path, node: Any, key: Any, *, value: bool = True) -> str:
    """``file:line:col`` of ``node[key]`` (its value, or the key itself) when known."""
    try:
        line, column = node.lc.value(key) if value else node.lc.key(key)
    except (AttributeError, KeyError, TypeError):
        return str(path)
    return f"{path}:{line + 1}:{column + 1}"


def _environments(path: Path, raw: Any, where: str) -> dict[str, Environment]:
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{where}: environments: must be a mapping of name to settings",
            "e.g. `environments: {dev: {deployer: local}}`",
        )
    out: dict[str, Environment] = {}
    for name, settings in raw.items():
        settings = settings or {}
        if not isinstance(settings, dict):
            raise ConfigError(
                f"{_at(path, raw, name)}: environments.{name}: must be a mapping",
                f"e.g. `{name}: {{deployer: local}}`",
            )
        for key, value in settings.items():
            if key not in ENV_KEYS:
                raise ConfigError(
                    f"{_at(path, settings, key, value=False)}: environments.{name}.{key}: "
                    "unknown key",
                    _suggest(str(key), ENV_KEYS),
                )
            if key == "gpu_nodes":
                continue
            if not isinstance(value, str):
                raise ConfigError(
                    f"{_at(path, settings, key)}: environments.{name}.{key}: must be a string, "
                    f"not {value!r}",
                    "quote it if it is meant as text",
                )
        deployer = settings.get("deployer", "local")
        _known(
            DEPLOYERS, deployer, f"{_at(path, settings, 'deployer')}: environments.{name}.deployer"
        )
        plain = {str(k): v for k, v in settings.items() if k != "gpu_nodes"}
        gpu = parse_gpu_nodes(
            settings.get("gpu_nodes"),
            lambda node, key: _at(path, node, key),
            _at(path, settings, "gpu_nodes"),
            f"environments.{name}.gpu_nodes",
        )
        out[str(name)] = Environment(name=str(name), gpu_nodes=gpu, **plain)
    return out


def _known(kind: Kind[Any], name: str, where: str) -> None:
    if name not in kind.names():
        raise kind.unknown(name, where)


def _names(value: Any, key: str, what: str, where: str) -> tuple[str, ...]:
    """A list of names, or a comma-separated string of them (from an environment variable)."""
    if isinstance(value, str):
        value = [s.strip() for s in value.split(",") if s.strip()]
    if not all(isinstance(name, str) for name in value):
        raise ConfigError(
            f"{where}: {key}: every {what} must be a name, not {list(value)!r}",
            f"e.g. `{key}: [{', '.join(n for n in value if isinstance(n, str)) or 'name'}]`",
        )
    return tuple(value)


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
        if source.is_dir():
            raise ConfigError(
                f"project config {source} is a folder", f"give the file: {source / 'auto.yaml'}"
            )
        if not source.is_file():
            raise ConfigError(
                f"project config not found: {source}",
                "check the path (--config or AUTO_CONFIG), or leave it out to use the defaults",
            )
        raw = _read_yaml(source)
        for key in raw:
            if key not in TOP_KEYS:
                raise ConfigError(
                    f"{_at(source, raw, key, value=False)}: {key}: unknown key",
                    _suggest(str(key), TOP_KEYS),
                )
    base = source.parent if source is not None else cwd

    def where(key: str) -> str:
        if origins.get(key, "").startswith("environment variable"):
            return origins[key]
        return _at(source, raw, key) if source is not None else key

    def pick(key: str, env_name: str, default: Any) -> Any:
        if env.get(env_name):
            origins[key] = f"environment variable {env_name}"
            return env[env_name]
        if key in raw:
            origins[key] = str(source)
            value = raw[key]
            expected = _SHAPES.get(key, str)
            if value is not None and not isinstance(value, expected):
                raise ConfigError(
                    f"{where(key)}: {key}: must be {_SHAPE_NAMES[expected]}, not {value!r}",
                    "see the project config in docs/reference (every key is optional)",
                )
            return value
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
    builder = str(pick("builder", "AUTO_BUILDER", "local"))
    _known(BUILDERS, builder, f"{where('builder')}: builder")
    secrets = _names(
        pick("secrets", "AUTO_SECRETS", ("env", "file")), "secrets", "backend", where("secrets")
    )
    for name in secrets:
        _known(SECRET_BACKENDS, name, f"{where('secrets')}: secrets")
    notifiers = _names(
        pick("notifiers", "AUTO_NOTIFIERS", ("automation",)),
        "notifiers",
        "notifier",
        where("notifiers"),
    )
    for name in notifiers:
        _known(NOTIFIERS, name, f"{where('notifiers')}: notifiers")
    secrets_dir = pick("secrets_dir", "AUTO_SECRETS_DIR", None)
    environments = _environments(
        source or base, raw.get("environments") or {}, where("environments")
    )
    raw_sample = pick("predictions_sample_rate", "AUTO_PREDICTIONS_SAMPLE_RATE", 1.0)
    try:
        sample = float(raw_sample)
    except (TypeError, ValueError):
        sample = -1.0
    if not 0.0 <= sample <= 1.0:
        raise ConfigError(
            f"{where('predictions_sample_rate')}: predictions_sample_rate: {raw_sample!r} "
            "is not a fraction between 0 and 1",
            f"set it to e.g. 0.1 (it came from {origins['predictions_sample_rate']})",
        )
    default_environment = str(pick("default_environment", "AUTO_ENVIRONMENT", "dev"))
    chosen = origins["default_environment"] != "default"  # set by the user, not built in
    if chosen and environments and default_environment not in environments:
        raise ConfigError(
            f"{where('default_environment')}: default_environment: {default_environment!r} "
            "is not one of the environments",
            "environments in the project config: " + ", ".join(environments),
        )
    return Config(
        home=home,
        state_url=str(state_url),
        analytics_url=str(analytics_url),
        builder=builder,
        secrets=secrets,
        notifiers=notifiers,
        secrets_dir=Path(base / secrets_dir) if secrets_dir else None,
        default_environment=default_environment,
        environments=environments,
        environments_declared=bool(environments),
        predictions_sample_rate=sample,
        ui_url=pick("ui_url", "AUTO_UI_URL", None),
        vault={str(k): str(v) for k, v in (pick("vault", "", None) or {}).items()},
        runner_image=pick("runner_image", "AUTO_RUNNER_IMAGE", None),
        source=source,
        origins=origins,
    )
