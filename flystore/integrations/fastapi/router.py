"""The FastAPI dependency and router; every flystore error becomes a JSON answer with the right status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse

from ...errors import FileNotFound, InvalidSignedUrl, PathTraversalDetected, StorageError, UploadRejected
from ...signing import verify_temporary_url
from ...uploads import UploadConfig, UploadHandler, UploadResult

__all__ = ["create_upload_dependency", "error_response", "storage_router"]

Authorize = Callable[[Request, str, str, str], Any]
_REJECTION_STATUS = {
    "too_large": 413,
    "type_not_allowed": 415,
    "extension_not_allowed": 415,
    "scanner_unavailable": 503,
}


def error_response(error: StorageError) -> HTTPException:
    """The HTTP error for a flystore error: 404, 400, 403, 413, 415 (reason and message in ``detail``)."""
    if isinstance(error, UploadRejected):
        status = _REJECTION_STATUS.get(error.reason, 400)
        return HTTPException(status, {"reason": error.reason, "message": str(error)})
    if isinstance(error, FileNotFound):
        return HTTPException(404, {"reason": "not_found", "message": str(error)})
    if isinstance(error, InvalidSignedUrl):
        return HTTPException(403, {"reason": "invalid_signature", "message": str(error)})
    if isinstance(error, PathTraversalDetected):
        return HTTPException(400, {"reason": "invalid_path", "message": str(error)})
    return HTTPException(500, {"reason": "storage_error", "message": str(error)})


def create_upload_dependency(manager: Any = None, **config: Any) -> Callable[..., Awaitable[UploadResult]]:
    """A dependency that validates and stores the form field ``file``; options as ``UploadConfig``.

    Refusals become HTTP errors (413/415/400 with ``{"reason", "message"}``).
    """
    upload_config = UploadConfig(**config)
    handler = UploadHandler(upload_config, manager=manager)

    async def dependency(file: UploadFile = File(...)) -> UploadResult:  # noqa: B008  # FastAPI's idiom
        try:
            return await handler.process_file(file)
        except StorageError as error:
            raise error_response(error) from error

    return dependency


def storage_router(
    manager: Any = None,
    authorize: Authorize | None = None,
    prefix: str = "/storage",
    upload_config: UploadConfig | None = None,
) -> APIRouter:
    """Routes under ``prefix``: ``POST /{disk}/upload``, ``GET /{disk}/download/{path}`` (Range),
    ``GET /{disk}/info/{path}`` and ``GET /_signed/{disk}/{path}`` (local/memory temporary URLs).

    ``authorize(request, disk, path, action)`` runs before every action (``upload``, ``download``,
    ``info``; not for signed URLs, whose signature is the grant); returning False refuses with 403.
    ``PUT {prefix}/_signed/{disk}/{path}`` accepts the body of a ``temporary_upload_url``, validated
    as any upload.
    """
    router = APIRouter(prefix=prefix.rstrip("/"))

    def storage() -> Any:
        if manager is not None:
            return manager
        from ...storage import Storage

        return Storage

    async def check(request: Request, disk: str, path: str, action: str) -> None:
        if authorize is None:
            return
        verdict = authorize(request, disk, path, action)
        if hasattr(verdict, "__await__"):
            verdict = await verdict
        if verdict is False:
            raise HTTPException(403, {"reason": "forbidden", "message": f"{action} of {path!r} is not allowed"})

    def disk_named(name: str) -> Any:
        try:
            return storage().disk(name)
        except StorageError as error:
            raise HTTPException(404, {"reason": "disk_not_found", "message": str(error)}) from error

    @router.api_route("/_signed/{disk}/{path:path}", methods=["GET", "HEAD"])
    async def signed(request: Request, disk: str, path: str) -> Any:
        try:
            target = verify_temporary_url(str(request.url), manager=storage(), method="GET")
            return storage().disk(target.disk).download_response(target.path)
        except StorageError as error:
            raise error_response(error) from error

    @router.put("/_signed/{disk}/{path:path}")
    async def signed_upload(request: Request, disk: str, path: str) -> Any:
        # temporary_upload_url(): the signature fixes disk and path; the body still passes every upload rule.
        try:
            target = verify_temporary_url(str(request.url), manager=storage(), method="PUT")
            folder, _, name = target.path.rpartition("/")
            config = upload_config or UploadConfig()
            handler = UploadHandler(
                UploadConfig(**{**config.__dict__, "disk": storage().disk(target.disk), "organize_by_date": False}),
                manager=storage(),
            )
            result = await handler.process_file(request.stream(), filename=name, folder=folder, name=name)
        except StorageError as error:
            raise error_response(error) from error
        return JSONResponse(result.to_dict(), status_code=201)

    @router.post("/{disk}/upload")
    async def upload(
        request: Request,
        disk: str,
        file: UploadFile = File(...),  # noqa: B008
        folder: str = Form("uploads"),
    ) -> Any:
        await check(request, disk, folder, "upload")
        config = upload_config or UploadConfig()
        handler = UploadHandler(config, manager=storage())
        handler.config = UploadConfig(**{**config.__dict__, "disk": disk_named(disk), "upload_path": folder})
        try:
            result = await handler.process_file(file)
        except StorageError as error:
            raise error_response(error) from error
        return JSONResponse(result.to_dict(), status_code=201)

    @router.api_route("/{disk}/download/{path:path}", methods=["GET", "HEAD"])
    async def download(request: Request, disk: str, path: str) -> Any:
        await check(request, disk, path, "download")
        try:
            return disk_named(disk).download_response(path)
        except StorageError as error:
            raise error_response(error) from error

    @router.get("/{disk}/info/{path:path}")
    async def info(request: Request, disk: str, path: str) -> Any:
        await check(request, disk, path, "info")
        try:
            details = disk_named(disk).metadata(path)
        except StorageError as error:
            raise error_response(error) from error
        return JSONResponse(
            {key: (value.isoformat() if hasattr(value, "isoformat") else value) for key, value in details.items()}
        )

    return router
