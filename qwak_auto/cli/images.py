"""`auto images bootstrap` and `auto images list`: base images for the docker builder."""

from __future__ import annotations

from pathlib import Path

import typer

from qwak_auto.cli import command_group
from qwak_auto.cli.options import FORMAT, Format

images_app = command_group(
    "images", "Images of the docker builder: make the local base image, list what auto made."
)


@images_app.command("bootstrap")
def bootstrap_command(
    tag: str = typer.Option(
        "local/python:3.11-bookworm", "--tag", help="Name of the image to make."
    ),
    mirror: str | None = typer.Option(
        None, "--mirror", help="Debian mirror URL (default: the one apt uses here)."
    ),
    cache_dir: Path | None = typer.Option(
        None,
        "--cache-dir",
        help="Keep the root filesystem tarball here and reuse it next time (~300 MB).",
    ),
    force: bool = typer.Option(False, "--force", help="Make the root filesystem again."),
    output_format: Format = FORMAT,
) -> None:
    """Make the docker builder's default base image (debootstrap + docker import).

    Debian bookworm with python 3.11, venv and pip. Needs root and the Docker engine.
    """
    import os
    import sys

    from qwak_auto import console
    from qwak_auto.builders import images

    made = images.bootstrap(
        tag=tag,
        mirror=mirror,
        cache_dir=cache_dir,
        environ=os.environ,
        out=sys.stderr,
        force=force,
    )
    data = {
        "tag": made.tag,
        "image_id": made.image_id,
        "tarball": str(made.tarball) if made.tarball else None,
        "reused_tarball": made.reused_tarball,
        "seconds": round(made.seconds, 1),
    }
    if output_format == "json":
        console.emit_json(data)
        return
    console.out(f"made {made.tag} ({made.image_id[:19]}) in {made.seconds:.0f}s")
    if made.tarball:
        console.out(f"root filesystem kept in {made.tarball}")


@images_app.command("list")
def list_command(output_format: Format = FORMAT) -> None:
    """List the images auto made: base, dependency and model images."""
    import os

    from qwak_auto import console
    from qwak_auto.builders import images

    rows = images.list_images(os.environ)
    if output_format == "json":
        console.emit_json(
            [
                {
                    "repository": r.repository,
                    "tag": r.tag,
                    "image_id": r.image_id,
                    "created": r.created,
                    "size": r.size,
                    "kind": r.kind,
                }
                for r in rows
            ]
        )
        return
    if not rows:
        console.out("no images made by auto yet (run `auto images bootstrap`)")
        return
    console.table(
        "images",
        ["kind", "image", "id", "created", "size"],
        [[r.kind, f"{r.repository}:{r.tag}", r.image_id, r.created, r.size] for r in rows],
    )
