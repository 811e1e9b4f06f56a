"""Echo that stops, instead of failing, when the reader of a pipe goes away."""

from __future__ import annotations

import errno
import io
import os

import pytest

from qwak_auto import streams


def test_a_pipe_whose_reader_went_away_stops_the_echo() -> None:
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    with os.fdopen(write_fd, "w") as stream:
        assert streams.reader_gone(stream)
        assert streams.write(stream, "first\n") is False
        assert streams.write(stream, "second\n") is False  # nothing more is tried
        stream.write("a stray write after the silence\n")
        stream.flush()  # the descriptor now points at /dev/null: no BrokenPipeError


def test_a_live_pipe_is_written() -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd) as reader, os.fdopen(write_fd, "w") as stream:
        assert not streams.reader_gone(stream)
        assert streams.write(stream, "hello\n") is True
        assert reader.readline() == "hello\n"


def test_missing_or_closed_streams_are_gone() -> None:
    assert streams.write(None, "x") is False
    closed = io.StringIO()
    closed.close()
    assert streams.write(closed, "x") is False


class _Full(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_other_errors_are_not_swallowed() -> None:
    with pytest.raises(OSError, match="No space"):
        streams.write(_Full(), "x")
