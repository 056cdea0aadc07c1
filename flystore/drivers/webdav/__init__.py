"""The ``webdav`` driver: a collection on a WebDAV server, over webdav4.

- Existence and ``stat`` are one ``PROPFIND`` with ``Depth: 0`` (webdav4's
  own ``info`` asks for ``Depth: 1``, which lists a whole directory to
  describe it); listings are one ``Depth: 1`` request per directory.
- Writes stream the body to the server (chunked ``PUT``) under a hidden
  ``.flystore-tmp-*`` name, then ``MOVE`` it over the target; a failed upload
  deletes the temporary resource. Copies and moves are server-side ``COPY``
  and ``MOVE``.
- A given MIME type and custom metadata are stored as WebDAV dead properties
  (``PROPPATCH``, namespace ``urn:flystore``): they survive ``COPY``/``MOVE``
  and come back with ``PROPFIND``. Servers that refuse dead properties can
  turn this off with ``properties: false`` (then both are unsupported, and
  ``mime_type`` is the server's ``getcontenttype``).
- Visibility has no WebDAV equivalent: unsupported.
- Paths are percent-encoded segment by segment, so ``%``, spaces and
  non-ASCII names are stored literally.
- The HTTP client (httpx) is closed by ``disk.close()``.
"""


from __future__ import annotations

from .backend import WebdavBackend
from .build import create
from .properties import PROPERTY_NAMESPACE
from .transfer import destination_is_safe

__all__ = ["PROPERTY_NAMESPACE", "WebdavBackend", "create", "destination_is_safe"]
