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

from collections.abc import Iterator
from datetime import timedelta

import pytest

from ..disk import FilesystemAdapter
from ..errors import PathTraversalDetected
from .contract_attributes import AttributesContract
from .contract_edges import EdgeCaseContract
from .contract_io import ReadWriteContract
from .contract_tree import FileTreeContract

__all__ = ["DiskContract"]


class DiskContract(ReadWriteContract, FileTreeContract, AttributesContract, EdgeCaseContract):
    """The behavioural contract of a flystore disk. Provide a ``disk`` fixture.

    The tests live in mixins by concern (``contract_io``, ``contract_tree``,
    ``contract_attributes``, ``contract_edges``); pytest collects the inherited
    ones under this class, with the same names.
    """

    stateful_examples: int = 12
    stateful_steps: int = 15
    #: How far the backend's clock may be from ours when checking ``last_modified``.
    clock_tolerance: timedelta = timedelta(minutes=5)

    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        raise NotImplementedError("provide a 'disk' fixture that yields an empty disk")

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
