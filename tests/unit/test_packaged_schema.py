from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_packaged_schema_matches_the_published_one():
    published = (ROOT / "schemas" / "automation.schema.json").read_bytes()
    packaged = (ROOT / "qwak_auto" / "data" / "automation.schema.json").read_bytes()
    assert packaged == published, (
        "qwak_auto/data/automation.schema.json is stale: "
        "cp schemas/automation.schema.json qwak_auto/data/"
    )
