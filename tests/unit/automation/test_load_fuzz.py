"""The loader never raises: arbitrary text, arbitrary bytes, arbitrary YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qwak_auto.automation.load import careful_build, fast_build, load_text, read_text
from qwak_auto.automation.problems import Problem

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
YAML_CHARS = st.sampled_from([*"ab:-[]{},'\"#&*!|>?%@` \t\n\\.01~", "  ", "\n  ", ": ", "- "])


def assert_loads(text: str) -> None:
    docs, problems = load_text(text, "f.yaml")
    assert all(isinstance(p, Problem) for p in problems)
    for doc in docs:
        assert isinstance(doc.data, dict)
        assert doc.line >= 1
        # positions never fail either, even for paths that do not exist
        assert doc.positions.value(("nope", 0)) >= (1, 1)


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    assert_loads(text)


@FUZZ
@given(st.lists(YAML_CHARS, max_size=120).map("".join))
def test_yaml_looking_noise(text: str) -> None:
    assert_loads(text)


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes(tmp_path_factory: Any, data: bytes) -> None:
    path = Path(tmp_path_factory.mktemp("fuzz")) / "f.yaml"
    path.write_bytes(data)
    text, problem = read_text(str(path))
    assert (text is None) != (problem is None)
    if text is not None:
        assert_loads(text)


KEYS = st.text(alphabet="abcxyz_<-1 ", min_size=1, max_size=6)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
    st.sampled_from(
        ["1.10", "010", "0x1F", ".inf", "~", "yes", "- x", "a: b", "'", '"', "&a", "*a"]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=20,
)


def dump(value: Any, style: str) -> str:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = style == "flow"
    import io

    out = io.StringIO()
    yaml.dump(value, out)
    return out.getvalue()


@FUZZ
@given(st.dictionaries(KEYS, VALUES, min_size=1, max_size=5), st.sampled_from(["block", "flow"]))
def test_arbitrary_yaml_loads_like_ruamel(value: dict[str, Any], style: str) -> None:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    text = dump(value, style)
    try:
        expected = YAML(typ="safe").load(text)  # the oracle: ruamel's own libyaml loader
    except YAMLError:
        expected = None
    docs, problems = load_text(text, "f.yaml")
    if expected is None or problems:
        # ruamel refuses it too, or it is a hazard we refuse by design (`<<` is a merge key)
        assert expected is None or {p.code for p in problems} <= {"yaml.merge"}, problems
        assert problems
        return
    assert len(docs) == 1
    assert _normalise(docs[0].data) == _normalise(expected)
    careful: list[Any] = []
    careful_build(text, "f", careful, [])
    fast = fast_build(text, "f")
    if fast is not None:
        assert _normalise([d.data for d in fast]) == _normalise([d.data for d in careful])


def _normalise(value: Any) -> Any:
    """Keys are text in our data (JSON semantics); NaN never equals itself."""
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, float) and value != value:
        return "nan"
    if hasattr(value, "isoformat"):
        return value.isoformat()  # ruamel reads timestamps; YAML 1.2 core keeps them text
    return value


AUTOMATION_KEYS = st.sampled_from(
    [
        "name",
        "model_id",
        "trigger",
        "scheduled",
        "cron",
        "interval",
        "action",
        "build_deploy",
        "build_spec",
        "git_uri",
        "threshold",
        "env_vars",
        "memory",
        "deployment_spec",
        "slack",
    ]
)
AUTOMATION_LIKE = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(AUTOMATION_KEYS, inner, max_size=4)
    ),
    max_leaves=25,
)


@FUZZ
@given(st.dictionaries(AUTOMATION_KEYS, AUTOMATION_LIKE, min_size=1, max_size=6))
def test_schema_and_checks_never_raise_on_loaded_yaml(value: dict[str, Any]) -> None:
    from qwak_auto.automation.checks import Context, check_document
    from qwak_auto.automation.schema import schema_problems

    docs, _ = load_text(dump(value, "block"), "f.yaml")
    for doc in docs:
        found = schema_problems(doc) + check_document(doc, Context(environments=("dev",)))
        assert all(p.line >= 1 and p.column >= 1 for p in found)
