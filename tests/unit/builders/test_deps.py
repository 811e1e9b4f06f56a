from __future__ import annotations

from pathlib import Path

import pytest

from qwak_auto.builders import depfiles, deps, requirements
from qwak_auto.errors import BuildError


def project(tmp_path: Path, files: dict[str, str]) -> tuple[Path, Path]:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (tmp_path / "main").mkdir(parents=True, exist_ok=True)
    return tmp_path, tmp_path / "main"


def test_requirements_with_comments_includes_and_options(tmp_path: Path) -> None:
    root, main = project(
        tmp_path,
        {
            "main/requirements.txt": "# models\nscikit-learn>=1.3  # fast\n\n-r extra.txt\n"
            "--index-url https://example.invalid/simple\nqwak-sdk==0.5\npandas\n",
            "main/extra.txt": "numpy==1.26.4\n",
        },
    )
    found = deps.detect(root, main, None)
    assert found.kind == "requirements"
    assert [r.spec for r in found.requirements] == ["scikit-learn>=1.3", "numpy==1.26.4", "pandas"]
    assert [r.origin for r in found.requirements] == [
        "main/requirements.txt:2",
        "main/extra.txt:1",
        "main/requirements.txt:7",
    ]
    assert found.requirements[1].unpinned == "numpy"
    assert found.requirements[2].unpinned is None
    assert any("main/requirements.txt:5" in w and "--index-url" in w for w in found.warnings)
    assert any("main/requirements.txt:6" in w and "qwak-sdk" in w for w in found.warnings)


def test_specs_add_the_base_packages_once(tmp_path: Path) -> None:
    root, main = project(tmp_path, {"main/requirements.txt": "pandas>=2\n"})
    specs = deps.detect(root, main, None).specs()
    assert specs == ("pandas>=2", "cloudpickle", "gunicorn", "pytest")


def test_no_dependency_file_gives_base_packages(tmp_path: Path) -> None:
    root, main = project(tmp_path, {})
    found = deps.detect(root, main, None)
    assert found.kind == "none"
    assert found.specs() == requirements.BASE_PACKAGES


def test_digest_is_stable_and_depends_on_requirements(tmp_path: Path) -> None:
    root, main = project(tmp_path, {"main/requirements.txt": "pandas\n"})
    one = deps.detect(root, main, None)
    assert one.digest() == deps.detect(root, main, None).digest()
    (main / "requirements.txt").write_text("pandas\nnumpy\n", encoding="utf-8")
    assert deps.detect(root, main, None).digest() != one.digest()
    assert one.digest(python="3.12:/x") != one.digest(python="3.11:/x")


def test_dependencies_as_of_cut_off_digest_and_record(tmp_path: Path) -> None:
    from dataclasses import replace

    root, main = project(tmp_path, {"main/requirements.txt": "pandas\n"})
    plain = deps.detect(root, main, None)
    dated = replace(plain, as_of="2024-06-01")
    # what was published on the day itself still counts
    assert dated.uploaded_before == "2024-06-02T00:00:00Z"
    assert replace(plain, as_of="2024-12-31").uploaded_before == "2025-01-01T00:00:00Z"
    assert plain.uploaded_before is None
    assert dated.digest() != plain.digest()
    assert dated.digest() != replace(plain, as_of="2024-06-02").digest()
    assert dated.as_of_record() == {
        "as_of": "2024-06-01",
        "uploaded_before": "2024-06-02T00:00:00Z",
    }
    assert plain.as_of_record() == {}


def test_pep621(tmp_path: Path) -> None:
    root, main = project(
        tmp_path,
        {"main/pyproject.toml": '[project]\nname = "m"\ndependencies = [\n  "xgboost>=2",\n]\n'},
    )
    found = deps.detect(root, main, None)
    assert found.kind == "pep621"
    assert [(r.spec, r.origin) for r in found.requirements] == [
        ("xgboost>=2", "main/pyproject.toml:4")
    ]


def test_poetry(tmp_path: Path) -> None:
    text = (
        "[tool.poetry]\nname = 'm'\n\n[tool.poetry.dependencies]\npython = '^3.9'\n"
        "catboost = '^1.2.5'\npandas = {version = '~2.1', extras = ['performance']}\n"
        "numpy = '*'\nlocal = {path = '../x'}\n"
    )
    root, main = project(tmp_path, {"pyproject.toml": text})
    found = deps.detect(root, main, None)
    assert found.kind == "poetry"
    assert [r.spec for r in found.requirements] == [
        "catboost>=1.2.5,<2",
        "pandas[performance]>=2.1,<2.2",
        "numpy",
    ]
    assert found.requirements[0].origin == "pyproject.toml:6"
    assert any("pyproject.toml:9" in w and "local" in w for w in found.warnings)


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ("^1.2.3", ">=1.2.3,<2"),
        ("^0.2.3", ">=0.2.3,<0.3"),
        ("^0.0.3", ">=0.0.3,<0.0.4"),
        ("~1.2.3", ">=1.2.3,<1.3"),
        ("~1", ">=1,<2"),
        ("1.4.2", "==1.4.2"),
        (">=1.2,<2.0", ">=1.2,<2.0"),
        ("*", ""),
    ],
)
def test_poetry_constraints(constraint: str, expected: str) -> None:
    assert depfiles.poetry_constraint(constraint) == expected


CONDA = """\
name: churn
channels:
  - defaults
  - conda-forge
dependencies:
  - python=3.7
  - pip
  - pandas=1.5
  - scikit-learn>=1.3
  - pytorch
  - cudatoolkit=11.8
  - conda-forge::py-xgboost=2.0.3=cuda_1
  - numpy 1.26|1.25
  - pip:
      - requests==2.31.0
      - qwak-sdk
"""


def test_conda_mapping_and_warnings_name_the_line(tmp_path: Path) -> None:
    root, main = project(tmp_path, {"main/conda.yml": CONDA})
    found = deps.detect(root, main, None)
    assert found.kind == "conda"
    assert [(r.spec, r.origin) for r in found.requirements] == [
        ("pandas==1.5.*", "main/conda.yml:8"),
        ("scikit-learn>=1.3", "main/conda.yml:9"),
        ("torch", "main/conda.yml:10"),
        ("xgboost==2.0.3", "main/conda.yml:12"),
        ("numpy", "main/conda.yml:13"),
        ("requests==2.31.0", "main/conda.yml:15"),
    ]
    assert found.requirements[0].unpinned == "pandas"
    text = "\n".join(found.warnings)
    assert "main/conda.yml:6: python=3.7 ignored" in text
    assert "main/conda.yml:11: cudatoolkit is a conda-only package" in text
    assert "main/conda.yml:13" in text  # the `|` pin is not understood
    assert "main/conda.yml:16: qwak-sdk is provided by auto" in text


def test_dependency_file_path_is_relative_to_the_project(tmp_path: Path) -> None:
    root, main = project(tmp_path, {"deps/reqs.txt": "pandas\n"})
    found = deps.detect(root, main, "deps/reqs.txt")
    assert found.file == (root / "deps" / "reqs.txt").resolve()
    with pytest.raises(BuildError, match="not found"):
        deps.detect(root, main, "nope.txt")


def test_dependency_file_outside_the_project_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("pandas\n", encoding="utf-8")
    root, main = project(tmp_path / "repo", {})
    (main / "link.txt").symlink_to(outside)
    with pytest.raises(BuildError, match="outside"):
        deps.detect(root, main, "main/link.txt")
    (main / "requirements.txt").write_text("-r ../../outside.txt\n", encoding="utf-8")
    with pytest.raises(BuildError, match="outside"):
        deps.detect(root, main, None)
