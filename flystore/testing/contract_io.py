"""The contract's writing and reading: bytes, text, streams, open files, appends and JSON.

A part of ``DiskContract`` (which inherits these tests); kept apart so each
module holds one concern. Not collected on its own: the class name does not
start with ``Test``.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from ..disk import FilesystemAdapter
from ..errors import StorageError

__all__ = ["ReadWriteContract"]


class _Boom(Exception):
    """Raised by a test stream half-way through."""


class ReadWriteContract:
    """What is written reads back, whole or streamed; a failed write leaves nothing half-done."""

    # -- writing and reading ---------------------------------------------------------

    def test_writing_and_reading_bytes(self, disk: FilesystemAdapter) -> None:
        assert disk.put("file.bin", b"\x00\x01binary\xff") == "file.bin"
        assert disk.get("file.bin") == b"\x00\x01binary\xff"

    def test_a_str_is_stored_as_utf8(self, disk: FilesystemAdapter) -> None:
        disk.put("text.txt", "grüße ✓")
        assert disk.get("text.txt") == "grüße ✓".encode()
        assert disk.get_text("text.txt") == "grüße ✓"

    def test_writing_again_replaces_the_file(self, disk: FilesystemAdapter) -> None:
        disk.put("file.txt", "first version, longer")
        disk.put("file.txt", "second")
        assert disk.get("file.txt") == b"second"
        assert disk.size("file.txt") == 6

    def test_an_empty_file_exists_and_reads_empty(self, disk: FilesystemAdapter) -> None:
        disk.put("empty.txt", b"")
        assert disk.file_exists("empty.txt")
        assert disk.get("empty.txt") == b""
        assert disk.size("empty.txt") == 0

    def test_writing_creates_the_parent_directories(self, disk: FilesystemAdapter) -> None:
        disk.put("a/b/c.txt", "deep")
        assert disk.directory_exists("a")
        assert disk.directory_exists("a/b")
        assert disk.directories("") == ["a"]
        assert disk.directories("a") == ["a/b"]
        assert disk.get("a/b/c.txt") == b"deep"

    def test_writing_from_a_file_object(self, disk: FilesystemAdapter) -> None:
        disk.put("from-file.bin", io.BytesIO(b"x" * 300_000))
        assert disk.get("from-file.bin") == b"x" * 300_000

    def test_writing_from_an_iterable_of_chunks(self, disk: FilesystemAdapter) -> None:
        def chunks() -> Iterator[bytes]:
            for index in range(40):
                yield bytes([index]) * 100_000

        disk.write_stream("chunks.bin", chunks())
        expected = b"".join(bytes([index]) * 100_000 for index in range(40))
        assert disk.size("chunks.bin") == len(expected)
        assert disk.get("chunks.bin") == expected

    def test_reading_as_a_stream(self, disk: FilesystemAdapter) -> None:
        data = os.urandom(2_500_000)
        disk.put("stream.bin", data)
        with disk.read_stream("stream.bin", chunk_size=1_000_000) as stream:
            chunks = list(stream)
        assert b"".join(chunks) == data
        assert max(len(chunk) for chunk in chunks) <= 1_000_000
        with disk.read_stream("stream.bin") as stream:
            assert stream.read(10) == data[:10]
            assert stream.read(5) == data[10:15]

    def test_a_failing_stream_leaves_nothing_behind(self, disk: FilesystemAdapter) -> None:
        def broken() -> Iterator[bytes]:
            yield b"half of the data" * 1000
            raise _Boom("the source died")

        with pytest.raises((_Boom, StorageError)):
            disk.put("dir/broken.bin", broken())
        assert disk.file_missing("dir/broken.bin")
        assert disk.all_files() == []

    def test_a_failing_stream_keeps_the_old_file(self, disk: FilesystemAdapter) -> None:
        disk.put("keep.txt", "old content")

        def broken() -> Iterator[bytes]:
            yield b"new"
            raise _Boom("the source died")

        with pytest.raises((_Boom, StorageError)):
            disk.put("keep.txt", broken())
        assert disk.get("keep.txt") == b"old content"
        assert disk.all_files() == ["keep.txt"]

    def test_open_for_writing_publishes_on_close(self, disk: FilesystemAdapter) -> None:
        with disk.open("opened.txt", "wb") as handle:
            handle.write(b"part one, ")
            handle.write(b"part two")
        assert disk.get("opened.txt") == b"part one, part two"
        with disk.open("opened.txt", "ab") as handle:
            handle.write(b", part three")
        assert disk.get("opened.txt") == b"part one, part two, part three"
        with disk.open("opened.txt", "rb") as handle:
            assert handle.read() == b"part one, part two, part three"

    def test_open_for_writing_discards_on_error(self, disk: FilesystemAdapter) -> None:
        disk.put("opened.txt", "original")
        with pytest.raises(_Boom), disk.open("opened.txt", "wb") as handle:
            handle.write(b"half")
            raise _Boom("stop")
        assert disk.get("opened.txt") == b"original"
        with pytest.raises(_Boom), disk.open("never.txt", "wb") as handle:
            handle.write(b"half")
            raise _Boom("stop")
        assert disk.file_missing("never.txt")
        assert disk.all_files() == ["opened.txt"]

    def test_put_file_keeps_the_extension_and_makes_a_unique_name(
        self, disk: FilesystemAdapter, tmp_path: Any
    ) -> None:
        source = tmp_path / "photo.JPG"
        source.write_bytes(b"jpeg bytes")
        first = disk.put_file("photos", str(source))
        second = disk.put_file("photos", source)
        assert first != second
        assert first.startswith("photos/") and first.endswith(".jpg")
        assert disk.get(first) == b"jpeg bytes"
        assert disk.put_file_as("photos", io.BytesIO(b"abc"), "named.png") == "photos/named.png"
        assert disk.get("photos/named.png") == b"abc"

    def test_append_and_prepend_add_the_separator_only_between_contents(self, disk: FilesystemAdapter) -> None:
        disk.append("log.txt", "first")
        assert disk.get("log.txt") == b"first"
        disk.append("log.txt", "second")
        disk.prepend("log.txt", "zeroth")
        assert disk.get("log.txt") == b"zeroth\nfirst\nsecond"
        disk.append("log.txt", b"third", separator=b" | ")
        assert disk.get("log.txt") == b"zeroth\nfirst\nsecond | third"
        disk.put("blank.txt", "")
        disk.prepend("blank.txt", "only")
        assert disk.get("blank.txt") == b"only"

    def test_json_round_trip(self, disk: FilesystemAdapter) -> None:
        disk.put_json("data/settings.json", {"a": [1, 2], "b": "ü"})
        assert disk.json("data/settings.json") == {"a": [1, 2], "b": "ü"}
        assert json.loads(disk.get("data/settings.json")) == {"a": [1, 2], "b": "ü"}
        assert disk.mime_type("data/settings.json") == "application/json"
