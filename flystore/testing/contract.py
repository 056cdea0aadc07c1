"""``DiskContract``: the behaviour every disk promises, as a reusable pytest suite.

Subclass it in a class whose name starts with ``Test`` and provide a ``disk``
fixture that yields an empty disk::

    class TestMyDriver(DiskContract):
        @pytest.fixture
        def disk(self):
            yield Storage.build({"driver": "mydriver", ...})

Every test below then runs against your driver. The suite is
capability-aware: features the backend lists in ``backend.unsupported``
(``"visibility"``, ``"metadata"``, ``"mimetype"``) are expected to fail with
the documented error instead of being skipped. Tune the property-based test
for slow backends with ``stateful_examples`` and ``stateful_steps``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ..disk import FilesystemAdapter
from ..errors import (
    FileNotFound,
    PathTraversalDetected,
    StorageError,
    UnableToWriteFile,
    UnsupportedOperation,
)
from .contract_edges import EdgeCaseContract

__all__ = ["DiskContract"]


class _Boom(Exception):
    """Raised by a test stream half-way through."""


class DiskContract(EdgeCaseContract):
    """The behavioural contract of a flystore disk. Provide a ``disk`` fixture."""

    stateful_examples: int = 12
    stateful_steps: int = 15
    #: How far the backend's clock may be from ours when checking ``last_modified``.
    clock_tolerance: timedelta = timedelta(minutes=5)

    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        raise NotImplementedError("provide a 'disk' fixture that yields an empty disk")

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

    # -- missing things ----------------------------------------------------------------

    def test_reading_a_missing_file_raises_file_not_found(self, disk: FilesystemAdapter) -> None:
        for read in (disk.get, disk.size, disk.last_modified, disk.mime_type, disk.checksum, disk.metadata):
            with pytest.raises(FileNotFound) as caught:
                read("missing/file.txt")
            assert isinstance(caught.value, FileNotFoundError)
            assert caught.value.path == "missing/file.txt"
            assert caught.value.disk == disk.name
            assert "missing/file.txt" in str(caught.value) and disk.name in str(caught.value)
        with pytest.raises(FileNotFound):
            disk.read_stream("missing/file.txt")

    def test_reading_a_directory_raises_file_not_found(self, disk: FilesystemAdapter) -> None:
        disk.put("folder/inside.txt", "x")
        readers: list[Any] = [
            disk.get, disk.size, disk.read_stream, disk.checksum, disk.metadata, disk.last_modified,
            lambda p: disk.open(p, "rb"),
            lambda p: disk.copy(p, "copied.txt"),
            lambda p: disk.move(p, "moved.txt"),
        ]
        for read in readers:
            with pytest.raises(FileNotFound) as caught:
                read("folder")
            # The same words on every driver, so users can tell a directory from nothing.
            assert caught.value.reason == "this path is a directory, not a file", (read, caught.value)
            assert (caught.value.path, caught.value.disk) == ("folder", disk.name)
            with pytest.raises(FileNotFound) as missing:
                read("nothing-here")
            assert missing.value.reason == "no file exists at this path", (read, missing.value)

    def test_existence_checks_tell_files_from_directories(self, disk: FilesystemAdapter) -> None:
        disk.put("dir/file.txt", "x")
        assert disk.exists("dir/file.txt") and disk.exists("dir")
        assert disk.file_exists("dir/file.txt") and not disk.file_exists("dir")
        assert disk.directory_exists("dir") and not disk.directory_exists("dir/file.txt")
        assert disk.missing("nope") and disk.file_missing("nope") and disk.directory_missing("nope")
        assert not disk.missing("dir")
        assert disk.file_missing("dir") and disk.directory_missing("dir/file.txt")

    def test_the_root_exists_and_cannot_be_written(self, disk: FilesystemAdapter) -> None:
        assert disk.exists("") and disk.directory_exists("/")
        assert disk.files("") == []
        with pytest.raises(UnableToWriteFile):
            disk.put("/", "nothing")

    # -- deleting ------------------------------------------------------------------------

    def test_delete_says_whether_something_was_deleted(self, disk: FilesystemAdapter) -> None:
        disk.put("gone.txt", "x")
        assert disk.delete("gone.txt") is True
        assert disk.file_missing("gone.txt")
        assert disk.delete("gone.txt") is False

    def test_delete_takes_several_paths(self, disk: FilesystemAdapter) -> None:
        disk.put("one.txt", "1")
        disk.put("two.txt", "2")
        assert disk.delete(["one.txt", "two.txt", "three.txt"]) is True
        assert disk.all_files() == []

    def test_delete_does_not_delete_a_directory(self, disk: FilesystemAdapter) -> None:
        disk.put("kept/file.txt", "x")
        assert disk.delete("kept") is False
        assert disk.get("kept/file.txt") == b"x"

    def test_make_directory_makes_an_empty_listed_directory(self, disk: FilesystemAdapter) -> None:
        assert disk.make_directory("empty/nested") is True
        assert disk.directory_exists("empty/nested")
        assert disk.directory_exists("empty")
        assert disk.directories("") == ["empty"]
        assert disk.all_directories() == ["empty", "empty/nested"]
        assert disk.all_files() == []
        assert disk.files("empty/nested") == []
        disk.make_directory("empty/nested")  # again: not an error

    def test_delete_directory_removes_everything_under_it(self, disk: FilesystemAdapter) -> None:
        disk.put("tree/a.txt", "a")
        disk.put("tree/sub/b.txt", "b")
        disk.put("treehouse.txt", "not under tree/")
        disk.make_directory("tree/empty")
        assert disk.delete_directory("tree") is True
        assert disk.directory_missing("tree")
        assert disk.all_files() == ["treehouse.txt"]
        assert disk.delete_directory("tree") is False

    # -- copy and move ----------------------------------------------------------------------

    def test_copy_overwrites_and_creates_parents(self, disk: FilesystemAdapter) -> None:
        disk.put("src.txt", "source")
        disk.put("deep/dst.txt", "old")
        assert disk.copy("src.txt", "deep/dst.txt") == "deep/dst.txt"
        assert disk.copy("src.txt", "new/parent/dst.txt") == "new/parent/dst.txt"
        assert disk.get("deep/dst.txt") == b"source"
        assert disk.get("new/parent/dst.txt") == b"source"
        assert disk.get("src.txt") == b"source"

    def test_move_overwrites_and_removes_the_source(self, disk: FilesystemAdapter) -> None:
        disk.put("from.txt", "moving")
        disk.put("to/there.txt", "old")
        assert disk.move("from.txt", "to/there.txt") == "to/there.txt"
        assert disk.file_missing("from.txt")
        assert disk.get("to/there.txt") == b"moving"

    def test_moving_onto_itself_changes_nothing(self, disk: FilesystemAdapter) -> None:
        disk.put("same.txt", "stays")
        disk.move("same.txt", "/same.txt")
        assert disk.get("same.txt") == b"stays"

    def test_copying_or_moving_a_missing_file_raises_file_not_found(self, disk: FilesystemAdapter) -> None:
        with pytest.raises(FileNotFound):
            disk.copy("nothing.txt", "x.txt")
        with pytest.raises(FileNotFound):
            disk.move("nothing.txt", "x.txt")
        assert disk.file_missing("x.txt")

    # -- metadata -------------------------------------------------------------------------

    def test_size_time_mime_type_and_metadata(self, disk: FilesystemAdapter) -> None:
        before = datetime.now(timezone.utc)
        disk.put("report.pdf", b"%PDF-1.4 fake")
        modified = disk.last_modified("report.pdf")
        assert modified.tzinfo is not None and modified.utcoffset() == timedelta(0)
        assert before - self.clock_tolerance <= modified <= datetime.now(timezone.utc) + self.clock_tolerance
        assert disk.size("report.pdf") == 13
        assert disk.mime_type("report.pdf") == "application/pdf"
        details = disk.metadata("report.pdf")
        assert {"path", "size", "last_modified", "mime_type", "visibility", "metadata"} <= set(details)
        assert details["path"] == "report.pdf" and details["size"] == 13

    def test_checksums_match_the_bytes(self, disk: FilesystemAdapter) -> None:
        data = os.urandom(100_000)
        disk.put("sum.bin", data)
        assert disk.checksum("sum.bin") == hashlib.md5(data).hexdigest()
        assert disk.checksum("sum.bin", "sha256") == hashlib.sha256(data).hexdigest()

    def test_a_given_mime_type_is_kept(self, disk: FilesystemAdapter) -> None:
        disk.put("noext", b"{}", mimetype="application/json")
        if self._supports(disk, "mimetype"):
            assert disk.mime_type("noext") == "application/json"
        else:
            assert disk.mime_type("noext") == "application/octet-stream"

    def test_custom_metadata_round_trips(self, disk: FilesystemAdapter) -> None:
        if not self._supports(disk, "metadata"):
            with pytest.raises(UnsupportedOperation):
                disk.put("meta.txt", "x", metadata={"owner": "ada"})
            assert disk.file_missing("meta.txt")
            return
        disk.put("meta.txt", "x", metadata={"owner": "ada", "purpose": "test"})
        assert disk.metadata("meta.txt")["metadata"] == {"owner": "ada", "purpose": "test"}

    def test_visibility(self, disk: FilesystemAdapter) -> None:
        disk.put("seen.txt", "x", visibility="private")
        if not self._supports(disk, "visibility"):
            with pytest.raises(UnsupportedOperation):
                disk.set_visibility("seen.txt", "public")
            with pytest.raises(UnsupportedOperation):
                disk.get_visibility("seen.txt")
            return
        assert disk.get_visibility("seen.txt") == "private"
        disk.set_visibility("seen.txt", "public")
        assert disk.get_visibility("seen.txt") == "public"
        assert disk.metadata("seen.txt")["visibility"] == "public"
        with pytest.raises(FileNotFound):
            disk.set_visibility("absent.txt", "public")

    # -- listing ---------------------------------------------------------------------------

    def test_listings_are_sorted_relative_and_exclude_the_directory_itself(self, disk: FilesystemAdapter) -> None:
        for path in ("b.txt", "a.txt", "d/c.txt", "d/e/f.txt", "g/h.txt"):
            disk.put(path, path)
        assert disk.files() == ["a.txt", "b.txt"]
        assert disk.files("d") == ["d/c.txt"]
        assert disk.all_files() == ["a.txt", "b.txt", "d/c.txt", "d/e/f.txt", "g/h.txt"]
        assert disk.files("d", recursive=True) == ["d/c.txt", "d/e/f.txt"]
        assert disk.directories() == ["d", "g"]
        assert disk.all_directories() == ["d", "d/e", "g"]
        assert disk.all_directories("d") == ["d/e"]
        assert disk.files("/d/") == ["d/c.txt"]

    def test_list_gives_entries_with_details(self, disk: FilesystemAdapter) -> None:
        disk.put("dir/file.txt", "12345")
        disk.put("dir/sub/x.txt", "x")
        entries = disk.list("dir")
        assert [entry.path for entry in entries] == ["dir/file.txt", "dir/sub"]
        file_entry, folder_entry = entries
        assert (file_entry.name, file_entry.is_folder, file_entry.size) == ("file.txt", False, 5)
        assert file_entry.last_modified is not None
        assert (folder_entry.name, folder_entry.is_folder) == ("sub", True)

    def test_listing_a_missing_directory_is_empty(self, disk: FilesystemAdapter) -> None:
        assert disk.files("nowhere") == []
        assert disk.directories("nowhere") == []
        assert disk.list("nowhere") == []

    def test_find_files_older_than(self, disk: FilesystemAdapter) -> None:
        disk.put("old/one.txt", "1")
        future = datetime.now(timezone.utc) + self.clock_tolerance + timedelta(minutes=1)
        past = datetime.now(timezone.utc) - self.clock_tolerance - timedelta(minutes=1)
        assert disk.find_files_older_than(future) == ["old/one.txt"]
        assert disk.find_files_older_than(past) == []

    # -- paths -----------------------------------------------------------------------------

    def test_paths_are_normalised_once(self, disk: FilesystemAdapter) -> None:
        assert disk.put("/x//y/./z.txt", "n") == "x/y/z.txt"
        assert disk.get("x\\y\\z.txt") == b"n"
        assert disk.get("x/q/../y/z.txt") == b"n"

    def test_climbing_above_the_root_is_refused(self, disk: FilesystemAdapter) -> None:
        for bad in ("../escape.txt", "a/../../escape.txt"):
            with pytest.raises(PathTraversalDetected) as caught:
                disk.put(bad, "x")
            assert caught.value.disk == disk.name
            with pytest.raises(PathTraversalDetected):
                disk.get(bad)
        assert disk.all_files() == []

    def test_control_characters_are_refused(self, disk: FilesystemAdapter) -> None:
        for bad in ("nul\x00byte.txt", "line\nbreak.txt", "bell\x07.txt"):
            with pytest.raises(PathTraversalDetected):
                disk.put(bad, "x")
        assert disk.all_files() == []

    def test_percent_escapes_spaces_and_unicode_are_literal(self, disk: FilesystemAdapter) -> None:
        names = ["a%2Fb.txt", "with space.txt", "ünï ✓.txt", "%2e%2e"]
        for name in names:
            disk.put(name, name)
        assert disk.files() == sorted(names)
        for name in names:
            assert disk.get_text(name) == name

    # -- events and fsspec ---------------------------------------------------------------------

    def test_events_report_every_write_and_delete(self, disk: FilesystemAdapter) -> None:
        updated: list[str] = []
        deleted: list[str] = []
        disk.on("file_updated", updated.append)
        disk.on("file_deleted", deleted.append)
        disk.put("e/a.txt", "a")
        disk.append("e/a.txt", "b")
        disk.copy("e/a.txt", "e/b.txt")
        disk.move("e/b.txt", "e/c.txt")
        disk.delete("e/a.txt")
        disk.delete_directory("e")
        assert updated == ["e/a.txt", "e/a.txt", "e/b.txt", "e/c.txt"]
        assert deleted == ["e/b.txt", "e/a.txt", "e/c.txt"]
        disk.off("file_updated", updated.append)
        disk.put("quiet.txt", "q")
        assert updated == ["e/a.txt", "e/a.txt", "e/b.txt", "e/c.txt"]

    def test_the_disk_is_an_fsspec_filesystem(self, disk: FilesystemAdapter) -> None:
        fs = disk.fs
        fs.pipe_file("via-fsspec/a.txt", b"from fsspec")
        assert disk.get("via-fsspec/a.txt") == b"from fsspec"
        assert fs.cat_file("via-fsspec/a.txt") == b"from fsspec"
        assert fs.ls("via-fsspec", detail=False) == ["via-fsspec/a.txt"]
        assert fs.info("via-fsspec")["type"] == "directory"
        with fs.open("via-fsspec/b.txt", "wb") as handle:
            handle.write(b"written")
        assert fs.find("") == ["via-fsspec/a.txt", "via-fsspec/b.txt"]

    # -- the model-checked property ------------------------------------------------------------

    def test_random_operation_sequences_agree_with_a_model(self, disk: FilesystemAdapter) -> None:
        try:
            from .stateful import run_model_check
        except ModuleNotFoundError as missing:
            if missing.name != "hypothesis":
                raise
            pytest.fail(
                'the stateful contract test needs Hypothesis: pip install "flystore[testing]"', pytrace=False
            )

        run_model_check(disk, examples=self.stateful_examples, steps=self.stateful_steps)
