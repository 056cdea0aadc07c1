"""The ``ftp`` driver: a directory on an FTP (or explicit FTPS) server.

Built on fsspec's ``FTPFileSystem`` (no extra dependency) and ``ftplib``:

- One control connection (the fsspec filesystem) answers metadata calls:
  existence, listings, renames, deletes, ``mkdir``. An FTP control
  connection is strictly one command at a time, so it is guarded by a lock
  and the disk can be used from several threads. A connection the server
  dropped (idle timeout) is reopened once, transparently.
- Transfers run on their own connections from a small pool: a download and an
  upload can run at once (a same-disk copy streams from one to the other)
  without blocking metadata calls.
- Writes are atomic: bytes go to a hidden ``.flystore-tmp-*`` sibling that is
  renamed over the target when complete; a failed upload deletes it. Temporary
  names never appear in listings.
- Existence and ``stat`` use ``MLST`` (one command, whatever the directory
  size); servers without it fall back to listing the parent. Listings use
  ``MLSD`` (falling back to ``LIST`` parsing). A missing directory lists empty
  (pyftpdlib answers 501, others 550).
- FTP has no portable notion of visibility, custom metadata or stored MIME
  types: those raise ``UnsupportedOperation``.
"""


from __future__ import annotations

from .backend import FtpBackend
from .build import create
from .connection import MAX_COMMAND_PATH, FtpSettings

__all__ = ["MAX_COMMAND_PATH", "FtpBackend", "FtpSettings", "create"]
