"""Files that other processes read while we write them: written whole or not at all.

A reader (another runner, a build harness starting up, the dashboard) that opens the file
while it is being written must never see it empty or half-written, so it is written to a
temporary file beside it and renamed over the old one (``rename`` is atomic within a
directory): a reader sees the old content or the new, and a writer killed half-way leaves
only a stray temporary file (issue 14).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_whole(path: Path, text: str, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``text`` atomically (created with ``mode``)."""
    data = text.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)  # noqa: PTH101 - on the path we hold, before the rename
        os.replace(tmp, path)  # noqa: PTH105 - atomic rename within the directory
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)  # noqa: PTH108 - the temporary file of a failed write
        raise


def write_if_changed(path: Path, text: str, *, mode: int = 0o600) -> bool:
    """:func:`write_whole` unless ``path`` already holds exactly ``text``; True if written.

    A file that is read often (a ``.pth`` read by every interpreter start) is then never
    touched when nothing changed."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    write_whole(path, text, mode=mode)
    return True
