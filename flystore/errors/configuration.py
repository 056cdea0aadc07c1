"""Configuration errors: the configuration cannot produce the requested disk."""

from __future__ import annotations

from .base import StorageError


class ConfigurationError(StorageError, ValueError):
    """The configuration cannot produce the requested disk."""

    operation = "configure storage"

    def __str__(self) -> str:
        on_disk = f"Disk '{self.disk}': " if self.disk is not None else ""
        return f"{on_disk}{self.reason}"


class DiskNotConfigured(ConfigurationError):
    """No disk of that name is configured; the message lists the configured ones."""


class DriverNotInstalled(ConfigurationError, ImportError):
    """The driver's optional dependency is missing; the message says what to install.

    Attributes:
        extra: the ``flystore[extra]`` that provides the dependency.
    """

    def __init__(
        self,
        reason: str = "",
        *,
        extra: str | None = None,
        path: str | None = None,
        disk: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(reason, path=path, disk=disk, operation=operation)
        self.extra = extra

    @classmethod
    def for_extra(
        cls, extra: str, what: str, *, disk: str | None = None, cause: BaseException | None = None
    ) -> DriverNotInstalled:
        """The error for a missing extra: ``pip install "flystore[extra]"``."""
        error = cls(
            f"{what} needs an optional dependency that is not installed. "
            f'Install it with: pip install "flystore[{extra}]"',
            extra=extra,
            disk=disk,
        )
        if cause is not None:
            error.__cause__ = cause
        return error


class InvalidConfiguration(ConfigurationError):
    """An option is missing, unknown or has a bad value; names the disk and option.

    Attributes:
        option: the offending option's name, when there is one.
    """

    def __init__(
        self,
        reason: str = "",
        *,
        option: str | None = None,
        path: str | None = None,
        disk: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(reason, path=path, disk=disk, operation=operation)
        self.option = option

    def __str__(self) -> str:
        on_disk = f"Disk '{self.disk}'" if self.disk is not None else "Disk configuration"
        option = f", option '{self.option}'" if self.option else ""
        return f"{on_disk}{option}: {self.reason}"


class DriverNotFound(InvalidConfiguration):
    """The disk's ``driver`` names no built-in, extended or entry-point driver (option ``driver``)."""
