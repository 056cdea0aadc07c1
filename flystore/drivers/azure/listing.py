"""The azure driver's listings: pages of blobs and prefixes turned into flystore entries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ...attributes import DirectoryAttributes, Entry
from ...errors import UnableToListContents
from .blobs import _attributes, _is_folder_blob

if TYPE_CHECKING:
    from .backend import AzureBackend


def _list_contents(backend: AzureBackend, path: str, deep: bool) -> Iterator[Entry]:
    prefix = backend._children_prefix(path)
    container = backend._container_client
    with backend._errors(UnableToListContents, path, missing_is=UnableToListContents):
        if deep:
            pager = container.list_blobs(name_starts_with=prefix, include=["metadata"])
        else:
            pager = container.walk_blobs(name_starts_with=prefix, include=["metadata"], delimiter="/")
        pages = pager.by_page()
    seen: set[str] = set()
    while True:
        with backend._errors(UnableToListContents, path, missing_is=UnableToListContents):
            items = backend._call(backend._list_page, pages)
        if items is None:
            return
        for item in items:
            yield from _entries_for(backend, item, path, deep, seen)


def _entries_for(backend: AzureBackend, item: Any, listed: str, deep: bool, seen: set[str]) -> Iterator[Entry]:
    """The entries one listed blob or prefix stands for; ``seen`` holds the directories already yielded."""
    relative = backend._relative_blob(str(item.name))
    if not relative or relative == listed:
        return
    if deep:
        # Every directory between the listed one and the blob is implied by it.
        start = len(listed) + 1 if listed else 0
        index = relative.find("/", start)
        while index != -1:
            directory = relative[:index]
            if directory not in seen:
                seen.add(directory)
                yield DirectoryAttributes(directory)
            index = relative.find("/", index + 1)
    is_directory = not hasattr(item, "size") or _is_folder_blob(getattr(item, "metadata", None))
    if is_directory:
        if relative not in seen:
            seen.add(relative)
            yield DirectoryAttributes(relative)
        return
    if not backend._is_marker(relative):
        yield _attributes(relative, item)
