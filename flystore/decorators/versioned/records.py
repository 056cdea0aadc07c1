"""Where the layout keeps its records: path arithmetic of the ``.flystore-versions`` tree.

The tree mirrors the disk. The versions of ``reports/2024.csv`` live in the
directory ``.flystore-versions/reports/2024.csv/``, one file per version::

    .flystore-versions/reports/2024.csv/~20261202T002500.123456Z-1f2e3d4c5b6a7980          content
    .flystore-versions/reports/2024.csv/~20261202T003000.654321Z-0a1b2c3d4e5f6a7b.deleted  delete marker

Record names start with one ``~`` and a digit. A user's path segment that
starts with ``~`` is stored as ``~~...`` in the tree, so a record name and a
directory of the tree can never be the same name (``a/~2026...`` as a user path
cannot collide with a version of ``a``).
"""

from __future__ import annotations

from .version import DELETED_SUFFIX, STORE_DIRECTORY, is_layout_id

__all__ = ["parse_record_name", "record_directory", "record_path", "user_path_of"]


def _escape(segment: str) -> str:
    return "~" + segment if segment.startswith("~") else segment


def _unescape(segment: str) -> str:
    return segment[1:] if segment.startswith("~~") else segment


def record_directory(path: str) -> str:
    """The tree directory holding the records of ``path`` (and the directories of paths below it)."""
    if not path:
        return STORE_DIRECTORY
    return f"{STORE_DIRECTORY}/" + "/".join(_escape(segment) for segment in path.split("/"))


def record_path(path: str, version_id: str, *, deleted: bool = False) -> str:
    """The record of one version of ``path``."""
    return f"{record_directory(path)}/~{version_id}{DELETED_SUFFIX if deleted else ''}"


def parse_record_name(name: str) -> tuple[str, bool] | None:
    """``(version id, is a delete marker)`` for a record's file name, None for anything else."""
    if not name.startswith("~") or name.startswith("~~"):
        return None
    deleted = name.endswith(DELETED_SUFFIX)
    version_id = name[1 : -len(DELETED_SUFFIX)] if deleted else name[1:]
    return (version_id, deleted) if is_layout_id(version_id) else None


def user_path_of(record: str) -> str | None:
    """The user path a record (a path in the tree) belongs to, None when it is no record."""
    head, _, name = record.rpartition("/")
    if parse_record_name(name) is None or not head.startswith(STORE_DIRECTORY + "/"):
        return None
    return "/".join(_unescape(segment) for segment in head[len(STORE_DIRECTORY) + 1 :].split("/"))
