"""A Hypothesis state machine that drives a disk and a plain-dict model side by side.

Random sequences of put/append/copy/move/delete/make_directory/delete_directory
run against the disk; after every step the disk's reads and listings must
agree with the model. Each run works inside its own fresh directory so it
needs no empty disk and leaves nothing behind.
"""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from ..disk import FilesystemAdapter
from ..errors import FileNotFound

__all__ = ["run_model_check"]

# Directory names never equal file names, so a path is always one or the other.
_DIRECTORIES = ["", "d1", "d1/d2", "d3"]
_NAMES = ["f1.txt", "f2.bin", "f 3.txt"]
_PATHS = st.builds(lambda d, n: f"{d}/{n}" if d else n, st.sampled_from(_DIRECTORIES), st.sampled_from(_NAMES))
_DIRS = st.sampled_from([d for d in _DIRECTORIES if d])
_DATA = st.binary(max_size=64)


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: index + 1]) for index in range(len(parts))]


def run_model_check(disk: FilesystemAdapter, *, examples: int = 12, steps: int = 15) -> None:
    """Run the state machine against ``disk``; raises AssertionError on any disagreement."""

    class DiskAgreesWithModel(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.base = f"model-{uuid.uuid4().hex[:10]}"
            self.files: dict[str, bytes] = {}
            self.made: set[str] = set()       # directories that must exist (made explicitly)
            self.possible: set[str] = set()   # directories that may exist (implied once, not deleted)

        def _at(self, path: str) -> str:
            return f"{self.base}/{path}"

        def _wrote(self, path: str, data: bytes) -> None:
            self.files[path] = data
            self.possible.update(_ancestors(path))

        @rule(path=_PATHS, data=_DATA)
        def put(self, path: str, data: bytes) -> None:
            disk.put(self._at(path), data)
            self._wrote(path, data)

        @rule(path=_PATHS, data=_DATA)
        def append(self, path: str, data: bytes) -> None:
            disk.append(self._at(path), data)
            old = self.files.get(path, b"")
            self._wrote(path, old + b"\n" + data if old else data)

        @rule(source=_PATHS, destination=_PATHS)
        def copy(self, source: str, destination: str) -> None:
            if source not in self.files:
                try:
                    disk.copy(self._at(source), self._at(destination))
                except FileNotFound:
                    return
                raise AssertionError(f"copying missing {source} did not raise FileNotFound")
            disk.copy(self._at(source), self._at(destination))
            self._wrote(destination, self.files[source])

        @rule(source=_PATHS, destination=_PATHS)
        def move(self, source: str, destination: str) -> None:
            if source not in self.files:
                try:
                    disk.move(self._at(source), self._at(destination))
                except FileNotFound:
                    return
                raise AssertionError(f"moving missing {source} did not raise FileNotFound")
            disk.move(self._at(source), self._at(destination))
            data = self.files.pop(source)
            self._wrote(destination, data)

        @rule(path=_PATHS)
        def delete(self, path: str) -> None:
            assert disk.delete(self._at(path)) is (path in self.files)
            self.files.pop(path, None)

        @rule(directory=_DIRS)
        def make_directory(self, directory: str) -> None:
            disk.make_directory(self._at(directory))
            self.made.add(directory)
            self.possible.update(_ancestors(directory + "/x"))

        @rule(directory=_DIRS)
        def delete_directory(self, directory: str) -> None:
            existed = disk.delete_directory(self._at(directory))
            required = any(d == directory or d.startswith(directory + "/") for d in self.made) or any(
                path.startswith(directory + "/") for path in self.files
            )
            if required:
                assert existed, f"delete_directory({directory!r}) said nothing was there"

            def under(path: str) -> bool:
                return path == directory or path.startswith(directory + "/")

            self.files = {path: data for path, data in self.files.items() if not under(path)}
            self.made = {path for path in self.made if not under(path)}
            self.possible = {path for path in self.possible if not under(path)}

        @invariant()
        def reads_and_listings_agree(self) -> None:
            expected_files = sorted(self._at(path) for path in self.files)
            assert disk.all_files(self.base) == expected_files
            for path, data in self.files.items():
                assert disk.get(self._at(path)) == data, path
            listed = set(disk.all_directories(self.base))
            required: set[str] = set()
            for path in [*self.files, *(f"{d}/x" for d in self.made)]:
                required.update(self._at(d) for d in _ancestors(path))
            possible = {self._at(d) for d in self.possible} | required
            assert required <= listed, f"directories missing from the listing: {sorted(required - listed)}"
            assert listed <= possible, f"directories that should not exist: {sorted(listed - possible)}"

        def teardown(self) -> None:
            disk.delete_directory(self.base)

    run_state_machine_as_test(  # type: ignore[no-untyped-call]  # hypothesis leaves it unannotated
        DiskAgreesWithModel,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
