"""The four ways a pair can be synchronised."""

from __future__ import annotations

from enum import Enum

from ..errors import InvalidConfiguration

__all__ = ["SyncMode"]


class SyncMode(str, Enum):
    """Which side receives changes.

    Attributes:
        SOURCE_TO_DESTINATION: ``"copy"``: new and changed source files go to the
            destination; a destination file newer than its source is kept.
        DESTINATION_TO_SOURCE: ``"destination_to_source"``: the same, pulling.
        MIRROR: ``"mirror"``: the destination is made equal to the source, newer
            destination files included; extra destination files go only with ``delete=True``.
        TWO_WAY: ``"two_way"``: changes and deletions on either side reach the other;
            newest wins; a file changed on both sides since the last sync is a conflict.
    """

    SOURCE_TO_DESTINATION = "copy"
    DESTINATION_TO_SOURCE = "destination_to_source"
    MIRROR = "mirror"
    TWO_WAY = "two_way"

    @classmethod
    def of(cls, value: str | SyncMode) -> SyncMode:
        """The mode named by ``value`` (a member, its value or its name, any case).

        Raises:
            InvalidConfiguration: no mode has that name.
        """
        if isinstance(value, SyncMode):
            return value
        wanted = str(value).strip().lower().replace("-", "_")
        for member in cls:
            if wanted in (member.value, member.name.lower()):
                return member
        names = ", ".join(repr(member.value) for member in cls)
        raise InvalidConfiguration(f"unknown sync mode {value!r}; modes are {names}", option="mode")
