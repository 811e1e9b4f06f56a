"""Read Qwak automation files (never executing them) and write automation YAML files."""

from __future__ import annotations

import ast
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qwak_auto.automation.problems import Problem, Severity
from qwak_auto.errors import UsageError
from qwak_auto.qwak_import.convert import SecretNotice, convert
from qwak_auto.qwak_import.evaluate import Evaluator, SdkCall, scan


@dataclass(frozen=True, slots=True)
class Written:
    name: str
    source: str
    line: int
    path: Path | None  # None when printed to stdout
    text: str


@dataclass
class ImportResult:
    written: list[Written] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    secrets: list[SecretNotice] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # automations that could not be converted
    suggestions: list[str] = field(default_factory=list)  # notices that change nothing written


def _problem(
    file: str, line: int, column: int, path: str, message: str, hint: str, warning: bool = False
) -> Problem:
    return Problem(
        file=file,
        line=line,
        column=column,
        path=path,
        code="import.not-written" if warning else "import",
        message=message,
        hint=hint,
        severity=Severity.WARNING if warning else Severity.ERROR,
    )


def in_schema_order(value: Any, node: Mapping[str, Any], root: Mapping[str, Any]) -> Any:
    """``value`` with every mapping's keys in the order the schema (and the reference) lists
    them, so that an imported file reads like the documentation."""
    for ref in [node.get("$ref")] + [item.get("$ref") for item in node.get("allOf", ())]:
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            node = {**root["definitions"][ref.removeprefix("#/definitions/")], **node}
    if isinstance(value, list):
        items = node.get("items", {})
        return [in_schema_order(v, items if isinstance(items, dict) else {}, root) for v in value]
    if not isinstance(value, dict):
        return value
    props = node.get("properties", {})
    order = {key: index for index, key in enumerate(props)}
    keys = sorted(value, key=lambda k: order.get(k, len(order)))
    return {k: in_schema_order(value[k], props.get(k, {}), root) for k in keys}


def _dump(doc: dict[str, Any], source: str) -> str:
    from ruamel.yaml import YAML

    from qwak_auto.automation.schema import load_schema

    yaml = YAML()
    yaml.default_flow_style = False
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    buffer = io.StringIO()
    schema = load_schema()
    yaml.dump(in_schema_order(doc, schema, schema), buffer)
    header = (
        "# yaml-language-server: $schema=https://raw.githubusercontent.com/qwak-auto/auto/main/"
        "schemas/automation.schema.json\n"
        f"# Imported from {source} by `auto import-qwak`.\n"
    )
    return header + buffer.getvalue()


def import_file(path: Path, out_dir: Path | None, result: ImportResult) -> None:
    file = str(path)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=file)
    except UnicodeDecodeError as exc:
        result.problems.append(
            _problem(file, 0, 0, "", f"cannot read: {exc}", "save the file as UTF-8")
        )
        result.failed.append(file)
        return
    except OSError as exc:
        result.problems.append(
            _problem(file, 0, 0, "", f"cannot read: {exc.strerror or exc}", "check the path")
        )
        result.failed.append(file)
        return
    except SyntaxError as exc:
        result.problems.append(
            _problem(file, exc.lineno or 0, exc.offset or 0, "", f"not valid Python: {exc.msg}", "")
        )
        result.failed.append(file)
        return
    module = scan(file, tree)
    if not module.automations:
        result.problems.append(
            Problem(
                file=file,
                code="import.none",
                message="no Automation(...) found at module level",
                hint="auto import-qwak converts module-level Automation(...) objects",
                severity=Severity.WARNING,
            )
        )
        return
    evaluator = Evaluator(module)
    for _binding, node in module.automations:
        call = evaluator.value(node)
        assert isinstance(call, SdkCall)
        conversion = convert(call)
        problems = [
            _problem(file, i.line, i.column, i.path, i.message, i.hint, i.warning)
            for i in conversion.issues
        ]
        name = str(conversion.doc.get("name") or f"line{call.line}")
        if any(w.name == name for w in result.written):
            problems.append(
                _problem(
                    file,
                    call.line,
                    call.column,
                    "name",
                    f"the automation name `{name}` is used twice",
                    "names are unique in an automation set: rename one of them",
                )
            )
        result.problems += problems
        if any(p.severity is Severity.ERROR for p in problems):
            result.failed.append(f"{file}:{call.line} ({name})")
            continue
        result.secrets += conversion.secrets
        text = _dump(conversion.doc, path.name)
        target = None
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            target = out_dir / f"{name}.yaml"
            target.write_text(text, encoding="utf-8")
        result.written.append(Written(name, file, call.line, target, text))


def import_qwak(paths: list[Path], out_dir: Path | None) -> ImportResult:
    result = ImportResult()
    if out_dir is not None:
        _make_output(out_dir)
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.py") if p.is_file())
            if not found:
                result.problems.append(
                    Problem(
                        file=str(path),
                        code="import.none",
                        message="the folder holds no Python files (*.py)",
                        hint="give the Qwak automation .py files or the folder that has them",
                        severity=Severity.WARNING,
                    )
                )
            files += found
        else:
            files.append(path)
    for file in files:
        import_file(file, out_dir, result)
    _check_written(result)
    _suggest(result)
    return result


def _suggest(result: ImportResult) -> None:
    """dependencies_as_of for a model repository with floating requirements around the files
    that were converted (once per repository)."""
    from qwak_auto.qwak_import.suggest import unpinned_notice

    for source in dict.fromkeys(item.source for item in result.written):
        notice = unpinned_notice(Path(source))
        if notice is not None and notice not in result.suggestions:
            result.suggestions.append(notice)


def _make_output(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--output: {out_dir} is a file", "give a folder (made if missing)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"--output: cannot make the folder {out_dir}: {exc.strerror or exc}",
            "give a folder you can write to",
        ) from None


def _check_written(result: ImportResult) -> None:
    """Every written file must pass `auto validate`; a failure is reported against it, and so
    is a warning (a Qwak field the default builder cannot honour), so nothing surprises later.
    """
    import dataclasses
    import tempfile

    from qwak_auto.automation.validate import load_automations
    from qwak_auto.config import load_config

    with tempfile.TemporaryDirectory() as tmp:
        for item in list(result.written):
            path = item.path or Path(tmp) / f"{item.name}.yaml"
            if item.path is None:
                path.write_text(item.text, encoding="utf-8")
            _automations, problems = load_automations([path], load_config((path,), env={}))
            if item.path is None:  # printed: name the document, not a temporary file
                problems = [dataclasses.replace(p, file=f"<stdout>:{item.name}") for p in problems]
            result.problems += [p for p in problems if p.severity is Severity.WARNING]
            errors = [p for p in problems if p.severity is Severity.ERROR]
            if errors:
                result.problems += errors
                result.failed.append(f"{item.source}:{item.line} ({item.name})")
                result.written.remove(item)
                if item.path is not None:
                    item.path.unlink(missing_ok=True)
