"""The planner, property-tested on plain values: two-way plans converge and lose no version.

Each example starts from two sides that were in sync (with the state the last
sync left), changes both at random (new files, edits, deletions), plans,
carries the plan out on the values, and checks the promises of docs/sync.md.
"""

from __future__ import annotations

from itertools import count

from hypothesis import given, settings
from hypothesis import strategies as st

from flystore.sync.listing import Listed
from flystore.sync.plan import Action, hash_candidates, plan_one_way, plan_two_way
from flystore.sync.state import Synced

Side = dict[str, Listed]
_clock = count(1_000_000, 10)  # every write is newer than the one before, by more than the tolerance


def version(path: str, content: str) -> Listed:
    data = content.encode()
    return Listed(path, len(data), float(next(_clock)), content)  # the "md5" is the content itself


def apply(actions: list[Action], sides: dict[str, Side]) -> None:
    for action in actions:
        receiver, sender = sides[action.to], sides["source" if action.to == "destination" else "destination"]
        if action.kind == "delete":
            del receiver[action.path]
            continue
        if action.kind == "conflict":
            assert action.replaced is not None and action.conflict_path is not None
            kept = action.replaced.md5 or ""
            receiver[action.conflict_path] = version(action.conflict_path, kept)
            sender[action.conflict_path] = version(action.conflict_path, kept)
        receiver[action.path] = version(action.path, action.item.md5 or "")


def state_of(source: Side, destination: Side) -> dict[str, Synced]:
    return {path: Synced(item.size, item.mtime, destination[path].mtime)
            for path, item in source.items() if path in destination and destination[path].md5 == item.md5}


def contents(side: Side) -> dict[str, str | None]:
    return {path: item.md5 for path, item in side.items()}


paths = st.sampled_from(["a.txt", "b.txt", "d/c.txt", "d/e/f.md", "g"])
edits = st.lists(st.tuples(st.sampled_from(["source", "destination"]), paths,
                           st.one_of(st.none(), st.text("xyz", min_size=1, max_size=4))), max_size=8)


@settings(max_examples=150, deadline=None)
@given(start=st.dictionaries(paths, st.text("xyz", min_size=1, max_size=4)), changes=edits,
       method=st.sampled_from(["size_mtime", "checksum"]), lost=st.booleans())
def test_two_way_plans_converge_and_keep_every_changed_version(
    start: dict[str, str], changes: list[tuple[str, str, str | None]], method: str, lost: bool,
) -> None:
    sides: dict[str, Side] = {name: {path: version(path, text) for path, text in start.items()}
                              for name in ("source", "destination")}
    previous = None if lost else state_of(sides["source"], sides["destination"])
    touched: dict[str, set[str]] = {"source": set(), "destination": set()}
    for side, path, text in changes:
        touched[side].add(path)
        if text is None:
            sides[side].pop(path, None)
        else:
            sides[side][path] = version(path, text)
    surviving = {(side, item.md5) for side in sides for path, item in sides[side].items() if path in touched[side]}

    plan = plan_two_way(sides["source"], sides["destination"], previous, method=method)  # type: ignore[arg-type]
    assert len({action.path for action in plan.actions}) == len(plan.actions)  # one action per path
    for action in plan.actions:
        if action.kind == "delete":  # a deletion only ever follows one on the other side of an untouched file
            assert previous is not None, "a sync without state deleted a file"
            assert action.path not in touched[action.to] and action.path in previous
    apply(plan.actions, sides)

    assert contents(sides["source"]) == contents(sides["destination"])  # converged
    final = {item.md5 for item in sides["source"].values()}
    if previous is not None:  # (without a state the newest version wins, by design)
        assert {text for _, text in surviving} <= final  # no edit was lost: at its path or beside it
    again = plan_two_way(sides["source"], sides["destination"], state_of(sides["source"], sides["destination"]),
                         method=method)  # type: ignore[arg-type]
    assert again.actions == []


@settings(max_examples=80, deadline=None)
@given(source=st.dictionaries(paths, st.text("xyz", min_size=1, max_size=4)),
       destination=st.dictionaries(paths, st.text("xyz", min_size=1, max_size=4)), delete=st.booleans())
def test_mirror_plans_make_the_destination_equal_and_delete_only_when_asked(
    source: dict[str, str], destination: dict[str, str], delete: bool,
) -> None:
    sides: dict[str, Side] = {"destination": {path: version(path, text) for path, text in destination.items()},
                              "source": {path: version(path, text) for path, text in source.items()}}
    plan = plan_one_way(sides["source"], sides["destination"], to="destination", method="checksum",
                        mirror=True, delete=delete)
    assert delete or all(action.kind != "delete" for action in plan.actions)
    apply(plan.actions, sides)
    wanted = contents(sides["source"]) if delete else {**destination, **contents(sides["source"])}
    assert contents(sides["destination"]) == wanted


def test_only_same_size_files_on_both_sides_are_hashed() -> None:
    source = {"same": Listed("same", 3), "sized": Listed("sized", 3), "alone": Listed("alone", 1)}
    destination = {"same": Listed("same", 3), "sized": Listed("sized", 4)}
    assert hash_candidates(source, destination, "checksum") == ["same"]
    assert hash_candidates(source, destination, "size_mtime") == []
