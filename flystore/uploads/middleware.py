"""``UploadLimitMiddleware``: an ASGI middleware that refuses oversized bodies while they stream (413)
and multipart file parts of a disallowed declared type (415)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .content import mime_allowed

__all__ = ["UploadLimitMiddleware"]


class _Refused(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


class _PartTypes:
    """Feeds the body to python-multipart's streaming parser to see each part's Content-Type."""

    def __init__(self, boundary: bytes, allowed: frozenset[str]) -> None:
        from python_multipart.multipart import MultipartParser

        self.allowed = allowed
        self._field = bytearray()
        self._value = bytearray()
        self._headers: dict[str, str] = {}
        self.refused: str | None = None
        callbacks = {
            "on_header_field": lambda data, start, end: self._field.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
        }
        self.parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]

    def _header_end(self) -> None:
        self._headers[self._field.decode("latin-1").lower()] = self._value.decode("latin-1").strip()
        self._field.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        disposition = self._headers.get("content-disposition", "")
        kind = self._headers.get("content-type", "application/octet-stream").split(";")[0].strip().lower()
        if "filename" in disposition and not mime_allowed(kind, self.allowed) and self.refused is None:
            self.refused = kind
        self._headers = {}

    def feed(self, chunk: bytes) -> None:
        self.parser.write(chunk)


class UploadLimitMiddleware:
    """Wrap an ASGI app: bodies over ``max_file_size`` bytes get 413 (counted as they stream, whatever
    Content-Length claims); multipart file parts whose type is not in ``allowed_types`` get 415.
    ``allowed_types`` may hold ``image/*`` wildcards; ``None`` allows every type."""

    def __init__(
        self, app: Any, max_file_size: int = 10 * 1024 * 1024, allowed_types: Iterable[str] | None = None
    ) -> None:
        self.app = app
        self.max_file_size = max_file_size
        self.allowed = frozenset(t.lower() for t in allowed_types) if allowed_types is not None else None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_file_size:
            await self._answer(send, _Refused(413, "too_large", f"the body is over {self.max_file_size} bytes"))
            return
        parts = None
        content_type = headers.get("content-type", "")
        if self.allowed is not None and content_type.lower().startswith("multipart/form-data"):
            boundary = content_type.partition("boundary=")[2].split(";")[0].strip().strip('"')
            if boundary:
                parts = _PartTypes(boundary.encode("latin-1"), self.allowed)
        seen = 0
        started = False
        answered = False
        refusal: _Refused | None = None

        async def counted_receive() -> Any:
            nonlocal seen, refusal
            if refusal is not None:
                raise refusal
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                seen += len(body)
                if seen > self.max_file_size:
                    refusal = _Refused(413, "too_large", f"the body is over {self.max_file_size} bytes")
                elif parts is not None and body:
                    parts.feed(body)
                    if parts.refused:
                        refusal = _Refused(415, "type_not_allowed", f"{parts.refused} parts are not allowed")
                if refusal is not None:
                    raise refusal
            return message

        async def tracked_send(message: Any) -> None:
            # Frameworks may turn the refusal raised from receive() into their own error page
            # (FastAPI answers 400): once refused, whatever the app sends is replaced by our answer.
            nonlocal started, answered
            if refusal is not None and not started:
                if not answered:
                    answered = True
                    await self._answer(send, refusal)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _Refused:
            if started:
                raise
        if refusal is not None and not answered and not started:
            await self._answer(send, refusal)

    @staticmethod
    async def _answer(send: Any, refused: _Refused) -> None:
        body = json.dumps({"detail": {"reason": refused.reason, "message": refused.message}}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": refused.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
