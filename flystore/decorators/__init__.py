"""Decorator disks: backends that wrap backends."""

from .base import DecoratedBackend
from .prefixed import PrefixedBackend
from .read_only import ReadOnlyBackend

__all__ = ["DecoratedBackend", "PrefixedBackend", "ReadOnlyBackend"]
