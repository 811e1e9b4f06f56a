"""Echoing to a terminal or pipe that may go away.

Output on stdout/stderr is a courtesy to whoever watches; it must never change what a run
does. When the reader of a stream goes away (``auto trigger X . 2>&1 | head -3``, a closed
terminal), :func:`write` stops echoing to that stream instead of raising: the stream's file
descriptor is pointed at ``/dev/null``, so later writes by anyone (this module, rich, a
``print``, Python's final flush at exit, a child that inherited the descriptor) are dropped
quietly. Build logs and the state store are files, written elsewhere, and are unaffected.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import weakref
from typing import IO, Any

# EPIPE: the pipe's reader exited. EIO: the terminal was hung up / closed.
_GONE_ERRNOS = frozenset({errno.EPIPE, errno.EIO})
# Streams whose reader went away (weakly held: a stream's id() could be reused by another).
_gone: weakref.WeakSet[Any] = weakref.WeakSet()


def is_gone_error(exc: BaseException) -> bool:
    """Whether ``exc`` means "nobody reads this stream any more"."""
    return isinstance(exc, BrokenPipeError) or (
        isinstance(exc, OSError) and exc.errno in _GONE_ERRNOS
    )


def _reader_left(stream: IO[Any], exc: OSError) -> bool:
    # EIO from a regular file is a disk error, not a reader that left: only a terminal's counts.
    if exc.errno == errno.EIO:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            return bool(stream.isatty())
        return False
    return is_gone_error(exc)


def write(stream: IO[str] | None, text: str, *, flush: bool = True) -> bool:
    """Write ``text`` to ``stream`` (and flush). Returns False, and writes nothing more to
    ``stream`` from then on, once its reader has gone away; other errors propagate. A stream
    that is None (Python's stdout/stderr when the descriptor was closed at start) is gone."""
    if stream is None or stream in _gone:
        return False
    try:
        stream.write(text)
        if flush:
            stream.flush()
    except (OSError, ValueError) as exc:
        # ValueError: "I/O operation on closed file" (the stream was closed under us).
        if isinstance(exc, ValueError) and not getattr(stream, "closed", False):
            raise
        if isinstance(exc, OSError) and not _reader_left(stream, exc):
            raise
        silence(stream)
        return False
    return True


def silence(stream: IO[Any]) -> None:
    """Stop echoing to ``stream``: drop what it still buffers and point its descriptor at
    /dev/null, so nothing later fails writing to it (nor prints "Exception ignored ...")."""
    with contextlib.suppress(TypeError):  # not every stream can be weakly referenced
        _gone.add(stream)
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return  # not a real descriptor (a test's capture, an in-memory stream)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)
    with contextlib.suppress(OSError, ValueError):
        stream.flush()  # the buffered rest now goes to /dev/null


def reader_gone(stream: IO[Any]) -> bool:
    """Whether the reader of ``stream`` (a pipe or terminal) has gone away: the kernel then
    reports an error or hang-up for its descriptor without blocking."""
    import select

    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return False
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(event & (select.POLLERR | select.POLLHUP) for _, event in poller.poll(0))


def silence_gone_std_streams() -> bool:
    """Silence stdout/stderr if their reader went away; whether either had."""
    gone = [s for s in (sys.stdout, sys.stderr) if s is not None and reader_gone(s)]
    for stream in gone:
        silence(stream)
    return bool(gone)


class Guarded:
    """A text stream for rich consoles (their status lines refresh from a thread): writes go
    through :func:`write`, so a vanished reader stops the echo instead of raising."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        write(self._stream, text, flush=False)
        return len(text)

    def flush(self) -> None:
        write(self._stream, "")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
