"""The loader: plain data with positions; YAML hazards become Problems, never exceptions."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from qwak_auto.automation import load
from qwak_auto.automation.load import (
    MAX_BYTES,
    careful_build,
    collect_files,
    fast_build,
    load_paths,
    load_text,
    read_text,
)
from qwak_auto.automation.yamldoc import resolve_plain


def codes(text: str) -> list[str]:
    return [p.code for p in load_text(text, "f.yaml")[1]]


def only_problem(text: str) -> tuple[int, int, str, str]:
    docs, problems = load_text(text, "f.yaml")
    assert not docs
    assert len(problems) == 1, problems
    p = problems[0]
    return p.line, p.column, p.code, p.message


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("010", 10),
        ("0o17", 15),
        ("0x1F", 31),
        ("0b101", 5),
        ("1_000", 1000),
        ("+1", 1),
        ("-3", -3),
        ("1.10", 1.1),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("+.5", 0.5),
        ("1.", 1.0),
        ("true", True),
        ("False", False),
        ("NULL", None),
        ("~", None),
        ("", None),
        ("yes", "yes"),
        ("on", "on"),
        ("2024-01-01", "2024-01-01"),
        ("12:30", "12:30"),
        ("0x", "0x"),
        ("-.inf", -math.inf),
        ("main", "main"),
    ],
)
def test_plain_scalars_resolve_like_ruamel_yaml_1_2(raw: str, value: object) -> None:
    got = resolve_plain(raw)
    assert got == value
    assert type(got) is type(value)


def test_nan_resolves_to_nan() -> None:
    assert math.isnan(resolve_plain(".nan"))


def test_quoted_and_tagged_scalars_stay_strings() -> None:
    docs, problems = load_text("a: '1.10'\nb: \"010\"\nc: !!str 1.10\nd: !!int '7'\n")
    assert problems == []
    assert docs[0].data == {"a": "1.10", "b": "010", "c": "1.10", "d": 7}


def test_keys_are_text_as_written() -> None:
    docs, _ = load_text("1: a\ntrue: b\nnull: c\n")
    assert docs[0].data == {"1": "a", "true": "b", "null": "c"}


def test_positions_of_values_keys_and_raw_text() -> None:
    text = "name: x\naction:\n  build_spec:\n    git_branch: 1.10\n    tags: [a, b]\n"
    doc = load_text(text)[0][0]
    pos = doc.positions
    assert pos.value(("action", "build_spec", "git_branch")) == (4, 17)
    assert pos.key(("action", "build_spec", "git_branch")) == (4, 5)
    assert pos.value(("action", "build_spec", "tags", 1)) == (5, 15)
    assert pos.raw(("action", "build_spec", "git_branch")) == "1.10"
    # a path that does not exist falls back to its nearest ancestor
    assert pos.value(("action", "build_spec", "missing")) == (4, 5)
    assert pos.raw(("action",)) is None


def test_several_documents_with_their_start_lines() -> None:
    docs, problems = load_text("# c\na: 1\n---\nb: 2\n---\n\n c: 3\n")
    assert problems == []
    assert [(d.index, d.line, d.data) for d in docs] == [
        (0, 2, {"a": 1}),
        (1, 4, {"b": 2}),
        (2, 7, {"c": 3}),
    ]
    assert docs[2].positions.value(("c",)) == (7, 5)


def test_tab_indentation() -> None:
    line, column, code, _ = only_problem("a:\n  b: 1\n\tc: 2\n")
    assert (line, column, code) == (3, 1, "yaml.tab")


def test_duplicate_key_points_at_the_second() -> None:
    line, column, code, message = only_problem("a: 1\nb:\n  c: 1\n  c: 2\n")
    assert (line, column, code) == (4, 3, "yaml.duplicate-key")
    assert "first on line 3" in message


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('a: "abc\nb: 2\nc: 3\n', (1, 4)),
        ("a: 'abc\nb: 2\n", (1, 4)),
        ('a: [x, "y]\nb: 1\n', (1, 8)),
    ],
)
def test_unclosed_quote_points_at_the_opening_quote(text: str, where: tuple[int, int]) -> None:
    line, column, code, _ = only_problem(text)
    assert (line, column, code) == (*where, "yaml.unclosed-quote")


def test_other_syntax_errors_have_a_position() -> None:
    line, column, code, message = only_problem("a: b\nc: d: e\n")
    assert (line, code) == (2, "yaml.syntax")
    assert column > 1
    assert "invalid YAML" in message


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("- a\n- b\n", "yaml.not-mapping"),
        ("just text\n", "yaml.not-mapping"),
        ("", "yaml.empty"),
        ("# only a comment\n", "yaml.empty"),
        ("   \n\n", "yaml.empty"),
        ("a: !custom 1\n", "yaml.tag"),
        ("a: *nowhere\n", "yaml.alias"),
        ("a: &x [1, *x]\n", "yaml.recursive-alias"),
        ("? [a, b]\n: c\n", "yaml.complex-key"),
        ("a: &s 1\nb:\n  <<: *s\n", "yaml.merge"),
    ],
)
def test_refusals(text: str, code: str) -> None:
    assert codes(text) == [code]


def test_empty_document_among_others() -> None:
    docs, problems = load_text("a: 1\n---\n---\nb: 2\n")
    assert [d.data for d in docs] == [{"a": 1}, {"b": 2}]
    assert [(p.line, p.code) for p in problems] == [(3, "yaml.empty")]


def test_anchors_aliases_and_merge_keys_within_limits() -> None:
    text = "base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\nd: *b\n"
    docs, problems = load_text(text)
    assert problems == []
    assert docs[0].data["c"] == {"y": 3, "x": 1}
    assert docs[0].data["d"] == {"x": 1, "y": 2}


@pytest.mark.timeout(60)  # a safety net against a blow-up, not a speed test (see benchmarks/)
def test_alias_bomb_is_refused_before_expansion() -> None:
    levels = ["a: &a [" + ", ".join(["lol"] * 10) + "]"]
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    problems = load_text("\n".join(levels) + "\n")[1]
    assert [p.code for p in problems] == ["yaml.alias-bomb"]


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        "- " * 100_000 + "x\n",
        "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 200)),
    ],
)
@pytest.mark.timeout(60)  # libyaml's cost grows with open nesting: the parse must stop early
def test_deep_nesting_is_refused_while_parsing(text: str) -> None:
    problems = load_text(text)[1]
    assert [p.code for p in problems] == ["yaml.too-deep"]


def test_nesting_up_to_the_limit_is_fine() -> None:
    depth = load.MAX_DEPTH
    text = "a: " + "[" * (depth - 1) + "]" * (depth - 1) + "\n"
    assert load_text(text)[1] == []


EXAMPLE_FILES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_fast_and_careful_builders_agree(path: Path) -> None:
    source = path.read_text()
    careful: list[load.Document] = []
    careful_build(source, str(path), careful, [])
    fast = fast_build(source, str(path))
    assert fast is not None
    assert [(d.index, d.line, d.data) for d in fast] == [(d.index, d.line, d.data) for d in careful]
    for quick, slow in zip(fast, careful, strict=True):
        assert quick.positions._tables() == slow.positions._tables()


def test_files_over_the_cap_are_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" + b"#" * (MAX_BYTES + 10))
    text, problem = read_text(str(big))
    assert text is None
    assert problem is not None
    assert problem.code == "file.too-large"


def test_non_utf8_bytes(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"name: x\ndescription: caf\xe9\n")
    _, problem = read_text(str(bad))
    assert problem is not None
    assert (problem.line, problem.column, problem.code) == (2, 17, "file.encoding")


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    f = tmp_path / "bom.yaml"
    f.write_bytes(b"\xef\xbb\xbfa: 1\n")
    text, problem = read_text(str(f))
    assert problem is None
    assert text == "a: 1\n"


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stdin:
        buffer = io.BytesIO(b"a: 1\n")

    monkeypatch.setattr("sys.stdin", Stdin)
    loaded = load_paths(["-"])
    assert loaded.files == ["-"]
    assert loaded.documents[0].data == {"a": 1}


def test_folders_are_walked_recursively(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for name in ("a.yaml", "sub/b.yml", "sub/deeper/c.yaml", "auto.yaml", "sub/auto.yml"):
        (tmp_path / name).write_text("x: 1\n")
    (tmp_path / ".hidden" / "d.yaml").write_text("x: 1\n")
    (tmp_path / "notes.txt").write_text("x")
    given = [str(tmp_path), str(tmp_path / "a.yaml"), str(tmp_path / "auto.yaml")]
    files, problems = collect_files(given)
    assert problems == []
    names = [Path(f).relative_to(tmp_path).as_posix() for f in files]
    assert names == ["a.yaml", "sub/b.yml", "sub/deeper/c.yaml"]


def test_missing_path_is_a_problem(tmp_path: Path) -> None:
    files, problems = collect_files([str(tmp_path / "nope.yaml")])
    assert files == []
    assert [p.code for p in problems] == ["file.missing"]


def test_every_file_is_read_even_after_a_bad_one(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("a: [\n")
    (tmp_path / "b.yaml").write_text("b: 1\n")
    loaded = load_paths([str(tmp_path)])
    assert [d.data for d in loaded.documents] == [{"b": 1}]
    assert [p.code for p in loaded.problems] == ["yaml.syntax"]


def test_a_folder_without_automation_files_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi", encoding="utf-8")
    (tmp_path / "auto.yaml").write_text("builder: local\n", encoding="utf-8")
    files, problems = collect_files([tmp_path])
    assert files == []
    (problem,) = problems
    assert (problem.code, problem.severity.value) == ("file.no-automations", "warning")
    assert problem.file == str(tmp_path)


def test_an_unreadable_folder_is_a_problem_and_the_rest_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (tmp_path / "a.yaml").write_text("name: a\n", encoding="utf-8")
    real = Path.iterdir

    def iterdir(self: Path) -> Iterator[Path]:
        if self == locked:
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    files, problems = collect_files([tmp_path])
    assert files == [str(tmp_path / "a.yaml")]
    (problem,) = problems
    assert (problem.file, problem.code) == (str(locked), "file.unreadable")
    assert "Permission denied" in problem.message


def test_a_symlink_loop_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: a\n", encoding="utf-8")
    (tmp_path / "loop").symlink_to(tmp_path)
    files, problems = collect_files([tmp_path])
    assert files == [str(tmp_path / "a.yaml")]
    assert problems == []
