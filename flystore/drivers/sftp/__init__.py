"""The ``sftp`` driver: a directory on an SSH server, over sshfs and asyncssh.

- Connects on first use (building a disk never touches the network); the
  connection, its SFTP channels and flystore's own control channel are closed
  by ``disk.close()``.
- Host keys are verified by default against ``~/.ssh/known_hosts`` (or the
  ``known_hosts`` files given). Verification is off only when asked for
  explicitly: ``known_hosts: None`` or ``host_key_check: false``.
- Writes are atomic: bytes go to a hidden ``.flystore-tmp-*`` sibling that gets
  its mode and is then renamed over the target (``posix-rename@openssh.com``
  where the server has it). A failed write deletes the temporary file.
- Copies stream through the client: sshfs would run ``cp`` over an exec
  channel, which SFTP-only servers refuse. Moves are server-side renames.
- Visibility is the POSIX mode (public 0o644/0o755, private 0o600/0o700,
  overridable with ``permissions``), set with SFTP ``chmod`` and read back
  from ``stat``. Custom metadata and stored MIME types are unsupported.
"""


from __future__ import annotations

from .backend import SftpBackend
from .build import create
from .settings import DEFAULT_PERMISSIONS, SftpSettings

__all__ = ["DEFAULT_PERMISSIONS", "SftpBackend", "SftpSettings", "create"]
