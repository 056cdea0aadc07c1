"""The contract's edge cases: exact JSON metadata and names too long for the backend.

A part of ``DiskContract`` (which inherits these tests); kept apart so each
module holds one concern. Not collected on its own: the class name does not
start with ``Test``.
"""

from __future__ import annotations

import io
from datetime import datetime, timezone
from typing import Any

import pytest

from ..disk import FilesystemAdapter
from ..errors import InvalidMetadata, StorageError, UnableToWriteFile

__all__ = ["EdgeCaseContract"]


class EdgeCaseContract:
    """Metadata that must round-trip exactly, and over-long names on every verb."""

    @staticmethod
    def _supports(disk: FilesystemAdapter, feature: str) -> bool:
        return feature not in disk.backend.unsupported

    def test_metadata_values_are_json_values_that_round_trip_exactly(self, disk: FilesystemAdapter) -> None:
        if not self._supports(disk, "metadata"):
            return
        given = {
            "tags": ["important", "review-needed"],
            "processed": True,
            "pages": 3,
            "ratio": 0.5,
            "none": None,
            "text": "True",
            "marked": "json:[1]",
            "nested": {"by": "ada", "ids": [1, 2]},
        }
        disk.put("r.pdf", b"%PDF", metadata=given)
        stored = disk.metadata("r.pdf")["metadata"]
        assert stored == given
        assert stored["processed"] is True and stored["text"] == "True" and type(stored["pages"]) is int
        assert disk.stat("r.pdf").metadata == given

    def test_metadata_json_cannot_carry_is_refused_and_nothing_is_written(self, disk: FilesystemAdapter) -> None:
        if not self._supports(disk, "metadata"):
            return
        for bad in ({"when": datetime.now(timezone.utc)}, {"pair": (1, 2)}, {"nan": float("nan")}, {1: "x"}):
            with pytest.raises(InvalidMetadata) as caught:
                disk.put("refused.txt", "x", metadata=bad)  # type: ignore[arg-type]
            assert caught.value.path == "refused.txt" and caught.value.disk == disk.name
            assert isinstance(caught.value, UnableToWriteFile)
        assert disk.file_missing("refused.txt")
        limit = disk.backend.metadata_limit
        if limit is not None:
            with pytest.raises(InvalidMetadata):
                disk.put("big.txt", "x", metadata={"blob": "x" * (limit + 1)})
            assert disk.file_missing("big.txt")

    # -- names too long for the backend -------------------------------------------------------

    def test_names_too_long_raise_flystore_errors_from_every_verb(self, disk: FilesystemAdapter) -> None:
        disk.put("present.txt", "x")
        for long_path in ("d/" + "n" * 300 + ".txt", "/".join(["segment" * 10] * 70)):
            probes = [disk.exists, disk.missing, disk.file_exists, disk.file_missing,
                      disk.directory_exists, disk.directory_missing]
            for probe in probes:
                try:
                    assert isinstance(probe(long_path), bool)
                except StorageError:
                    pass
            verbs: list[Any] = [
                lambda p: disk.put(p, b"x"),
                lambda p: disk.write_stream(p, io.BytesIO(b"x")),
                lambda p: disk.put_json(p, {"a": 1}),
                lambda p: disk.append(p, "x"),
                lambda p: disk.prepend(p, "x"),
                lambda p: disk.open(p, "ab").close(),
                lambda p: disk.open(p, "wb").close(),
                lambda p: disk.get(p),
                lambda p: disk.read_stream(p).close(),
                lambda p: disk.open(p, "rb").close(),
                lambda p: disk.size(p),
                lambda p: disk.last_modified(p),
                lambda p: disk.mime_type(p),
                lambda p: disk.checksum(p),
                lambda p: disk.metadata(p),
                lambda p: disk.get_visibility(p),
                lambda p: disk.set_visibility(p, "public"),
                lambda p: disk.copy("present.txt", p),
                lambda p: disk.copy(p, "elsewhere.txt"),
                lambda p: disk.move(p, "elsewhere.txt"),
                lambda p: disk.delete(p),
                lambda p: disk.make_directory(p),
                lambda p: disk.delete_directory(p),
                lambda p: disk.files(p),
                lambda p: disk.all_files(p),
                lambda p: disk.directories(p),
                lambda p: disk.list(p),
            ]
            for number, verb in enumerate(verbs):
                try:
                    verb(long_path)
                except StorageError as error:
                    assert error.disk == disk.name, (number, error)
                # A backend that holds such names may succeed: what it must not do is leak a raw error.
        assert disk.get("present.txt") == b"x"

