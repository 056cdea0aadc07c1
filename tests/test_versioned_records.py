"""The layout's names as pure functions: every path maps to its own records and back (Hypothesis)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from flystore.decorators.versioned.prune import plan_prune
from flystore.decorators.versioned.records import parse_record_name, record_directory, record_path, user_path_of
from flystore.decorators.versioned.version import Version, is_layout_id, new_version_id, stamp_of

_SEGMENT = st.text(alphabet="~a.-_ %é", min_size=1, max_size=8).filter(lambda segment: segment not in (".", ".."))
_PATH = st.lists(_SEGMENT, min_size=1, max_size=4).map("/".join)
_ID = st.builds(lambda: new_version_id())


@settings(max_examples=50)
@given(path=_PATH, version_id=_ID, deleted=st.booleans())
def test_a_record_names_its_path_and_version_and_nothing_else(path: str, version_id: str, deleted: bool) -> None:
    record = record_path(path, version_id, deleted=deleted)
    assert user_path_of(record) == path
    assert parse_record_name(record.rsplit("/", 1)[1]) == (version_id, deleted)
    assert record.startswith(record_directory(path) + "/")


@settings(max_examples=50)
@given(first=_PATH, second=_PATH, version_id=_ID)
def test_no_record_is_ever_a_directory_of_the_tree(first: str, second: str, version_id: str) -> None:
    # The collision that breaks a filesystem: one path's record where another path needs a directory.
    record = record_path(first, version_id)
    assert record != record_directory(second)
    assert not record_directory(second).startswith(record + "/")
    if first != second:
        assert record_directory(first) != record_directory(second)


@settings(max_examples=50)
@given(name=st.text(max_size=60))
def test_only_exact_record_names_parse(name: str) -> None:
    parsed = parse_record_name(name)
    if parsed is not None:
        assert name == f"~{parsed[0]}" + (".deleted" if parsed[1] else "") and is_layout_id(parsed[0])
        assert "/" not in parsed[0] and ".." not in parsed[0]


def test_ids_increase_and_carry_their_time() -> None:
    ids = [new_version_id() for _ in range(1000)]
    assert ids == sorted(ids) and len(set(ids)) == 1000
    assert abs(stamp_of(ids[-1]) - datetime.now(timezone.utc)) < timedelta(seconds=5)
    moment = datetime(2001, 2, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    assert stamp_of(new_version_id(at=moment)) == moment


def _version(index: int, *, deleted: bool = False, latest: bool = False, age_days: int = 0) -> Version:
    made = datetime(2026, 1, 1, tzinfo=timezone.utc) - timedelta(days=age_days)
    return Version(id=str(index), path="p", size=0, last_modified=made, is_deleted=deleted, is_latest=latest)


def test_the_prune_plan() -> None:
    history = [_version(0, latest=True), _version(1, age_days=1), _version(2, age_days=10), _version(3, age_days=20)]
    cutoff = datetime(2026, 1, 1, tzinfo=timezone.utc) - timedelta(days=5)
    assert [v.id for v in plan_prune(history, keep=2, cutoff=None)] == ["2", "3"]
    assert [v.id for v in plan_prune(history, keep=None, cutoff=cutoff)] == ["2", "3"]
    assert [v.id for v in plan_prune(history, keep=3, cutoff=cutoff)] == ["3"]  # beyond 3 *and* older
    assert [v.id for v in plan_prune(history, keep=0, cutoff=None)] == ["1", "2", "3"]  # never the latest
    deleted = [_version(0, deleted=True, latest=True), _version(1, age_days=30)]
    assert [v.id for v in plan_prune(deleted, keep=1, cutoff=None)] == ["1", "0"]  # nothing left to restore
    assert plan_prune(deleted, keep=2, cutoff=None) == []
