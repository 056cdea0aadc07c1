"""What a ``disk.fs`` is: its disk (resolved or rebuilt on first use), its identity, its paths."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, TypeVar, cast

from fsspec.spec import AbstractFileSystem
from fsspec.utils import stringify_path

from . import hooks

if TYPE_CHECKING:
    from ..disk import FilesystemAdapter

__all__ = ["PREFIX", "DiskFileSystemBase"]

PREFIX = "flystore://"

_F = TypeVar("_F", bound="DiskFileSystemBase")


class DiskFileSystemBase(AbstractFileSystem):  # type: ignore[misc]  # fsspec is untyped
    """The disk behind a ``DiskFileSystem``, how it is named and tokenised, and how paths map to it.

    Args:
        disk: the disk, or the name of a disk of the process's manager (``flystore.Storage``).
        config: a configuration file (``FILESYSTEMS``) whose manager resolves ``disk`` instead.
        recipe: the configuration a pickled or JSON-serialised fs travelled as (internal).
    """

    def __init__(
        self,
        disk: FilesystemAdapter | str | None = None,
        *,
        config: str | None = None,
        recipe: dict[str, Any] | None = None,
        **storage_options: Any,
    ) -> None:
        super().__init__(**storage_options)
        self._disk: FilesystemAdapter | None = None
        self._disk_name: str | None = None
        self._config = config
        # from_json hands the recipe over still in its JSON form.
        self._recipe = hooks.recipe_from_json(recipe) if recipe is not None else None
        if isinstance(disk, str) or disk is None:
            self._disk_name = disk
        else:
            self._disk = disk

    # -- the disk, built on first use ------------------------------------------------

    @property
    def disk(self) -> FilesystemAdapter:
        """The disk behind this filesystem (resolved or rebuilt on first use).

        Raises:
            DiskNotConfigured: the named disk is not configured in the resolving manager.
        """
        if self._disk is None:
            if self._recipe is not None:
                self._disk = hooks.rebuild(self._recipe)
            else:
                self._disk = hooks.manager(self._config).disk(self._disk_name)
        return self._disk

    @property
    def disk_name(self) -> str:
        if self._disk is None and self._recipe is not None:
            return str(self._recipe["name"])
        if self._disk is None and self._disk_name is not None:
            return self._disk_name
        return self.disk.name

    def _travel_recipe(self) -> dict[str, Any] | None:
        if self._recipe is not None:
            return self._recipe
        if self._disk is None and self._disk_name is not None:
            return None
        return self.disk.recipe()

    # -- identity, pickling, JSON ---------------------------------------------------

    @property
    def _fs_token(self) -> str:
        recipe = self._travel_recipe()
        identity: Any = recipe if recipe is not None else {"name": self._disk_name, "config": self._config}
        return hashlib.md5(json.dumps(identity, sort_keys=True, default=repr).encode()).hexdigest()


    def to_dict(self, *, include_password: bool = True) -> dict[str, Any]:
        """``{"cls", "protocol", "args", "recipe"}``: the disk's configuration, as JSON values.

        Raises:
            TypeError: the disk was not built from a configuration, or an ``env()`` cast is not JSON-able.
        """
        recipe = self._travel_recipe()
        if recipe is not None:
            recipe = hooks.travelling(self.disk_name, recipe)
        body: dict[str, Any] = {"cls": f"{type(self).__module__}.{type(self).__name__}", "protocol": "flystore",
                                "args": []}
        if recipe is None:
            body.update(disk=self._disk_name, config=self._config)
        else:
            body["recipe"] = hooks.recipe_to_json(recipe)
        return body

    @classmethod
    def from_dict(cls: type[_F], dct: dict[str, Any]) -> _F:
        """The filesystem ``to_dict``/``to_json`` described."""
        recipe = dct.get("recipe")
        if recipe is not None:
            return cls(recipe=hooks.recipe_from_json(recipe))
        return cls(dct.get("disk"), config=dct.get("config"))

    # -- paths ------------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(item) for item in path]
        text = stringify_path(path)
        if text.startswith(PREFIX):
            text = text[len(PREFIX):].partition("/")[2]
        return text.strip("/")

    @staticmethod
    def _get_kwargs_from_urls(path: str) -> dict[str, Any]:
        text = stringify_path(path)
        if text.startswith(PREFIX):
            name = text[len(PREFIX):].partition("/")[0]
            if name:
                return {"disk": name}
        return {}

    def unstrip_protocol(self, name: str) -> str:
        if name.startswith(PREFIX):
            return name
        return f"{PREFIX}{self.disk_name}/{self._strip_protocol(name)}"

    def _path(self, path: Any) -> str:
        if type(path) is str and not path.startswith(PREFIX):  # the common case, without fsspec's helpers
            return path.strip("/")
        text = stringify_path(path)
        if text.startswith(PREFIX):
            named = text[len(PREFIX):].partition("/")[0]
            if named and named != self.disk_name:
                raise ValueError(f"{text!r} names disk {named!r}, but this filesystem is disk {self.disk_name!r}")
        return cast(str, self._strip_protocol(text))
