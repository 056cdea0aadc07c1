"""The contract's attributes and listings: size, time, MIME type, metadata, visibility, sorted lists.

A part of ``DiskContract`` (which inherits these tests); kept apart so each
module holds one concern. Not collected on its own: the class name does not
start with ``Test``.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest

from ..disk import FilesystemAdapter
from ..errors import FileNotFound, UnsupportedOperation

__all__ = ["AttributesContract"]


class AttributesContract:
    """What a disk tells about its files, and how it lists them."""

    #: How far the backend's clock may be from ours (``DiskContract`` sets it; subclasses tune it).
    clock_tolerance: timedelta

    if TYPE_CHECKING:  # EdgeCaseContract provides it in DiskContract (a subclass may override it there)

        @staticmethod
        def _supports(disk: FilesystemAdapter, feature: str) -> bool: ...

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
