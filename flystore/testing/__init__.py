"""Testing tools: the fake disk, the contract suite every driver passes, the pytest plugin."""

from typing import TYPE_CHECKING

from .fake import FakeDisk

if TYPE_CHECKING:
    from .contract import DiskContract

__all__ = ["DiskContract", "FakeDisk"]


def __getattr__(name: str) -> object:
    # DiskContract imports pytest and hypothesis: load them only when asked for.
    if name == "DiskContract":
        from .contract import DiskContract

        return DiskContract
    raise AttributeError(name)
