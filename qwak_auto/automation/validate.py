"""The validation service: paths in, (problems, valid documents / automations) out.

Steps, per document: load (YAML hazards refused) → JSON Schema → semantic checks; then, over
the whole set, names must be unique; given a ``secrets`` lookup (``--check-secrets``) every
secret name is resolved through it. Every file is checked even when others fail.

``auto validate --format json`` prints :func:`qwak_auto.automation.problems.render_json`'s shape::

    {"version": 1, "files_checked": N, "errors": E, "warnings": W,
     "problems": [{"file", "line", "column", "path", "code", "severity", "message", "hint"}]}

``line``/``column`` are 1-based (0 when unknown, e.g. a missing file); ``path`` is the dotted
field path (``action.build_deploy.build_spec.env_vars[0]``); ``code`` is a stable rule code
(``schema.*``, ``yaml.*``, ``file.*``, ``cron.*``, ``secret.*``, ...); ``severity`` is
``error`` or ``warning``. Problems are sorted by file, line, column, path, code.

Rule codes (stable; tests pin them):

- files: ``file.missing``, ``file.unreadable``, ``file.too-large``, ``file.encoding``
- YAML: ``yaml.syntax``, ``yaml.tab``, ``yaml.unclosed-quote``, ``yaml.duplicate-key``,
  ``yaml.empty``, ``yaml.not-mapping``, ``yaml.too-deep``, ``yaml.alias-bomb``,
  ``yaml.alias``, ``yaml.recursive-alias``, ``yaml.merge``, ``yaml.tag``,
  ``yaml.complex-key``, ``yaml.invalid``
- schema: ``schema.type``, ``schema.unknown-key``, ``schema.required``, ``schema.enum``,
  ``schema.pattern``, ``schema.length``, ``schema.range``, ``schema.one-of``,
  ``schema.invalid``
- semantics: ``cron.invalid``, ``cron.fields``, ``cron.never-fires``, ``interval.too-short``,
  ``duration.invalid``, ``timezone.unknown``, ``threshold.not-finite``, ``threshold.invalid``,
  ``sql.multiple-statements``, ``sql.write``, ``sql.not-select``, ``delta.invalid``,
  ``delta.both``, ``delta.without-compare-to``, ``git-uri.transport``, ``git-uri.option``,
  ``git-uri.credentials``, ``path.absolute``, ``path.parent``, ``secret.plaintext``,
  ``env.format``, ``env.key``, ``memory.invalid``, ``memory.legacy-unit`` (warning),
  ``replicas.range``, ``range.minimum``, ``qwak.no-effect`` (warning),
  ``compare-to.equals``, ``secret.both-spellings``, ``date.invalid``, ``date.future``
  (warning), ``webhook.header-twice``, ``secret.header-plaintext`` (warning),
  ``environment.unknown``, ``name.duplicate``, ``secret.unresolved`` (``--check-secrets``),
  ``rollout.steps-order``, ``rollout.error-rate``, ``traffic.shadow-weight``,
  ``traffic.shadow-default``, ``builder.no-image``
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qwak_auto.automation.load import Document, dotted, load_paths
from qwak_auto.automation.problems import Problem, Severity

if TYPE_CHECKING:
    from qwak_auto.automation.checks import Context
    from qwak_auto.automation.model import Automation
    from qwak_auto.config import Config


@dataclass(frozen=True, slots=True)
class Report:
    problems: list[Problem]
    documents: list[Document]  # documents without errors (warnings allowed)
    files_checked: int


def context_for(config: Config | None) -> Context:
    from qwak_auto.automation.checks import Context

    if config is None:
        return Context()
    # The default environment is a valid name whether or not auto.yaml lists it
    # (the same rule as Config.environment).
    envs = (
        tuple(dict.fromkeys([*config.environments, config.default_environment]))
        if config.environments_declared
        else None
    )
    deployers = {name: env.deployer for name, env in config.environments.items()}
    return Context(
        environments=envs,
        builder=config.builder,
        deployers=deployers if config.environments_declared else None,
        default_environment=config.default_environment,
    )


def validate_paths(
    paths: Sequence[str | Path],
    config: Config | None = None,
    *,
    secrets: SecretLookup | None = None,
) -> Report:
    from qwak_auto.automation.checks import check_document
    from qwak_auto.automation.schema import schema_problems

    loaded = load_paths(paths)
    problems = list(loaded.problems)
    ctx = context_for(config)
    failed: set[int] = set()
    for position, doc in enumerate(loaded.documents):
        found = _merge(schema_problems(doc), check_document(doc, ctx))
        if any(p.severity is Severity.ERROR for p in found):
            failed.add(position)
        problems.extend(found)
    for position, problem in _duplicate_names(loaded.documents):
        failed.add(position)
        problems.append(problem)
    if secrets is not None:
        problems.extend(secret_problems(loaded.documents, secrets))
    valid = [doc for i, doc in enumerate(loaded.documents) if i not in failed]
    problems.sort(key=Problem.sort_key)
    return Report(problems, valid, len(loaded.files))


def _merge(schema: list[Problem], checks: list[Problem]) -> list[Problem]:
    """Schema problems, plus check problems at paths the schema did not already flag.

    A credential found by the checks wins over the schema's complaint about the same value
    (the schema would only say "not a valid secret name")."""
    secret_paths = {p.path for p in checks if p.code == "secret.plaintext"}
    kept = [p for p in schema if p.path not in secret_paths]
    flagged = {p.path for p in kept}
    return kept + [p for p in checks if p.path not in flagged]


def _duplicate_names(documents: Sequence[Document]) -> list[tuple[int, Problem]]:
    first: dict[str, Document] = {}
    out: list[tuple[int, Problem]] = []
    for position, doc in enumerate(documents):
        name = doc.data.get("name")
        if not isinstance(name, str):
            continue
        earlier = first.get(name)
        if earlier is None:
            first[name] = doc
            continue
        where = earlier.positions.value(("name",))[0]
        line, column = doc.positions.value(("name",))
        out.append(
            (
                position,
                Problem(
                    file=doc.file,
                    line=line,
                    column=column,
                    path="name",
                    code="name.duplicate",
                    message=f"the name `{name}` is already used in {earlier.file}:{where}",
                    hint="names are unique within an automation set: rename one of them",
                ),
            )
        )
    return out


# ------------------------------------------------------------------ secrets

# `--check-secrets`: given a secret name, (resolved?, what was tried, how to fix it). The CLI
# passes one built on the configured backends (qwak_auto.secrets.service.secret_checker);
# the file format itself knows no backend.
SecretLookup = Callable[[str], tuple[bool, str, str]]


def secret_problems(documents: Sequence[Document], lookup: SecretLookup) -> list[Problem]:
    from qwak_auto.automation.checks import secret_names

    problems: list[Problem] = []
    cache: dict[str, tuple[bool, str, str]] = {}
    for doc in documents:
        for path, name in secret_names(doc.data):
            if name not in cache:
                cache[name] = lookup(name)
            resolved, detail, hint = cache[name]
            if resolved:
                continue
            line, column = doc.positions.value(path)
            problems.append(
                Problem(
                    file=doc.file,
                    line=line,
                    column=column,
                    path=dotted(path),
                    code="secret.unresolved",
                    message=f"the secret `{name}` cannot be resolved ({detail})",
                    hint=hint,
                )
            )
    return problems


# ------------------------------------------------------------------ for the runner


def load_automations(
    paths: Sequence[str | Path], config: Config | None = None
) -> tuple[list[Automation], list[Problem]]:
    """The valid automations of ``paths`` (typed, defaults applied) and every problem found.

    A document with errors is left out; the others still load."""
    from qwak_auto.automation.model import Origin, from_document

    report = validate_paths(paths, config)
    automations = [from_document(doc.data, Origin(doc.file, doc.line)) for doc in report.documents]
    return automations, report.problems
