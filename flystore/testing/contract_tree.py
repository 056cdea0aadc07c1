"""The contract's file tree: missing files, existence checks, deleting, directories, copy and move.

A part of ``DiskContract`` (which inherits these tests); kept apart so each
module holds one concern. Not collected on its own: the class name does not
start with ``Test``.
"""

from __future__ import annotations

from typing import Any

import pytest

from ..disk import FilesystemAdapter
from ..errors import FileNotFound, UnableToWriteFile

__all__ = ["FileTreeContract"]


class FileTreeContract:
    """Files and directories come and go as the verbs say, with the same errors on every driver."""

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
