"""Random operations with hostile names against a model of every path's history (Hypothesis, stateful)."""

from __future__ import annotations

import shutil
import tempfile
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from flystore import StorageManager, VersionNotFound

STORE = ".flystore-versions"

# Names a user may legally write that look like the layout's own: tildes, record-shaped names, the
# store's name below the root, ".deleted" endings, dots and spaces, percent-escapes, non-ASCII.
_RECORD_SHAPED = "~20261202T002500.123456Z-0123456789abcdef"
_NAMES = st.one_of(
    st.sampled_from(["~", "~~", "~a", "a~", _RECORD_SHAPED, f"{_RECORD_SHAPED}.deleted", "x.deleted",
                     "%2Eflystore-versions", "flystore-versions", "..a", "a.", " a", "é", "日本"]),
    st.text(alphabet="ab~.-% é", min_size=1, max_size=6).filter(lambda name: name.strip(".") != ""),
)
_PATHS = st.tuples(st.sampled_from(["", "d/", f"d/{STORE}/"]), _NAMES).map("".join)


class VersionedModel(RuleBasedStateMachine):
    """Every path's history, oldest first: ``bytes`` for a version with content, ``None`` for a delete."""

    driver = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.root = tempfile.mkdtemp(prefix="flystore-versioned-model-")
        base = {"driver": "memory"} if self.driver == "memory" else {"driver": "local", "root": self.root}
        self.disk: Any = StorageManager({"disks": {"base": base, "v": {"driver": "versioned", "disk": "base"}}}
                                        ).disk("v")
        self.history: dict[str, list[bytes | None]] = {}
        self.counter = 0

    def teardown(self) -> None:
        self.disk.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def _content(self) -> bytes:
        self.counter += 1
        return f"content {self.counter}".encode()

    def _exists(self, path: str) -> bool:
        versions = self.history.get(path)
        return bool(versions) and versions[-1] is not None  # type: ignore[index]

    @rule(path=_PATHS)
    def put(self, path: str) -> None:
        content = self._content()
        self.disk.put(path, content)
        self.history.setdefault(path, []).append(content)

    @rule(path=_PATHS)
    def delete(self, path: str) -> None:
        assert self.disk.delete(path) == self._exists(path)
        if self._exists(path):
            self.history[path].append(None)

    @precondition(lambda self: any(any(kept) for kept in self.history.values()))
    @rule(data=st.data())
    def restore(self, data: st.DataObject) -> None:
        path = data.draw(st.sampled_from(sorted(path for path, kept in self.history.items() if any(kept))))
        index = data.draw(st.sampled_from([i for i, kept in enumerate(self.history[path]) if kept is not None]))
        version = self.disk.versions(path)[len(self.history[path]) - 1 - index]
        self.disk.restore_version(path, version.id)
        self.history[path].append(self.history[path][index])

    @precondition(lambda self: any(self.history.values()))
    @rule(data=st.data())
    def delete_version(self, data: st.DataObject) -> None:
        path = data.draw(st.sampled_from(sorted(path for path, kept in self.history.items() if kept)))
        index = data.draw(st.integers(0, len(self.history[path]) - 1))
        version = self.disk.versions(path)[len(self.history[path]) - 1 - index]
        self.disk.delete_version(path, version.id)
        del self.history[path][index]

    @rule(keep=st.integers(0, 3), everything=st.booleans())
    def prune(self, keep: int, everything: bool) -> None:
        expected = 0
        for path, kept in self.history.items():
            if not everything and not path.startswith("d/"):
                continue
            survivors = kept[::-1][: max(keep, 1)]  # newest first; the latest always stays
            if all(content is None for content in survivors):
                survivors = []  # nothing left to restore: the markers go too
            expected += len(kept) - len(survivors)
            self.history[path] = survivors[::-1]
        assert self.disk.prune(None if everything else "d", keep=keep) == expected

    @rule(path=_PATHS)
    def a_foreign_id_is_refused(self, path: str) -> None:
        for other, kept in self.history.items():
            if other != path and kept:
                foreign = self.disk.versions(other)[0].id
                if all(version.id != foreign for version in self.disk.versions(path)):
                    with pytest.raises(VersionNotFound):
                        self.disk.get_version(path, foreign)
                return

    @invariant()
    def every_history_is_listed_newest_first(self) -> None:
        for path, kept in self.history.items():
            versions = self.disk.versions(path)
            assert [None if version.is_deleted else self.disk.get_version(path, version.id)
                    for version in versions] == kept[::-1], path
            assert all(version.is_latest == (index == 0) for index, version in enumerate(versions)), path

    @invariant()
    def the_files_are_the_current_contents(self) -> None:
        current = {path: kept[-1] for path, kept in self.history.items() if kept and kept[-1] is not None}
        assert self.disk.all_files() == sorted(current)
        for path, content in current.items():
            assert self.disk.get(path) == content
        assert STORE not in self.disk.directories()


class LocalVersionedModel(VersionedModel):
    driver = "local"


_SETTINGS = settings(max_examples=12, stateful_step_count=14, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@pytest.mark.parametrize("machine", [VersionedModel, LocalVersionedModel], ids=["memory", "local"])
def test_random_histories_with_hostile_names_match_the_model(machine: type[VersionedModel]) -> None:
    run_state_machine_as_test(machine, settings=_SETTINGS)
