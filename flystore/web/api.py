"""The browser's JSON API under ``/api``: list, search, info, file, upload, folders, move, delete, links.

Disks and paths travel as query parameters or JSON fields, never as URL path segments, and
every path is normalised here, once, before ``authorize`` sees it: the hook judges exactly the
path the disk will touch (``a/../private/x`` reaches it as ``private/x``, ``..`` above the root
is refused with 400 before it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ..disk import FilesystemAdapter
from ..errors import StorageError
from ..paths import basename, join, normalize
from ..uploads import UploadConfig, UploadHandler
from ..uploads.filenames import clean_original_name
from .errors import web_error
from .listing import SORT_KEYS, Listings, search
from .preview import inline_headers

__all__ = ["Authorize", "api_router"]

Authorize = Callable[[Request, str, str, str], Any]


class FolderRequest(BaseModel):
    disk: str
    path: str


class MoveRequest(BaseModel):
    disk: str
    source: str
    destination: str
    overwrite: bool = False


class DeleteRequest(BaseModel):
    disk: str
    paths: list[str] = Field(min_length=1, max_length=1000)


class LinkRequest(BaseModel):
    disk: str
    path: str
    expires: int = Field(default=3600, ge=1, le=7 * 24 * 3600)


def api_router(
    manager: Any,
    *,
    disks: Iterable[str] | None = None,
    authorize: Authorize | None = None,
    upload_config: UploadConfig | None = None,
    listings: Listings | None = None,
) -> APIRouter:
    """The API; ``disks`` limits which disks are served (all configured ones by default).

    ``authorize(request, disk, path, action)`` (sync or async, the FastAPI router's hook) runs
    before every action with the normalised path; ``False`` answers 403. Actions: ``list``,
    ``search``, ``info``, ``download``, ``temporary_url`` (reads) and ``upload``,
    ``create_directory``, ``move`` (called for the source and for the destination), ``delete``.
    """
    router = APIRouter(prefix="/api")
    served = list(disks) if disks is not None else None
    cache = listings or Listings()
    uploads = upload_config or UploadConfig(max_file_size=1024**3)

    def names() -> list[str]:
        return served if served is not None else list(manager.disk_names())

    async def check(request: Request, disk: str, path: str, action: str) -> None:
        if authorize is None:
            return
        verdict = authorize(request, disk, path, action)
        if hasattr(verdict, "__await__"):
            verdict = await verdict
        if verdict is False:
            message = f"{action} of {path!r} on disk {disk!r} is not allowed"
            raise HTTPException(403, {"reason": "forbidden", "message": message})

    async def target(request: Request, disk: str, path: str, action: str | None) -> tuple[FilesystemAdapter, str]:
        if disk not in names():
            raise HTTPException(404, {"reason": "disk_not_found", "message": f"no disk {disk!r} is served here"})
        try:
            clean = normalize(path)
            found = await run_in_threadpool(manager.disk, disk)
        except StorageError as error:
            raise web_error(error, disk) from error
        if action is not None:
            await check(request, disk, clean, action)
        return found, clean

    async def call(disk: FilesystemAdapter, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await run_in_threadpool(function, *args, **kwargs)
        except StorageError as error:
            raise web_error(error, disk.name) from error

    @router.get("/disks")
    async def list_disks() -> Any:
        config = manager.config["disks"]
        default = manager.default_disk_name
        return {
            "disks": [
                {"name": name, "driver": str(config.get(name, {}).get("driver", "?")), "default": name == default}
                for name in names()
            ]
        }

    @router.get("/list")
    async def list_folder(
        request: Request,
        disk: str,
        path: str = "",
        offset: int = Query(0, ge=0),
        limit: int = Query(100, ge=1, le=1000),
        sort: str = Query("name", pattern="^(" + "|".join(SORT_KEYS) + ")$"),
        order: str = Query("asc", pattern="^(asc|desc)$"),
        q: str = Query("", max_length=200),
        fresh: bool = False,
    ) -> Any:
        found, clean = await target(request, disk, path, "list")
        page = await call(
            found,
            cache.page,
            found,
            clean,
            offset=offset,
            limit=limit,
            sort=sort,
            descending=order == "desc",
            query=q,
            fresh=fresh,
        )
        return page.to_dict()

    @router.get("/search")
    async def search_tree(
        request: Request,
        disk: str,
        q: str = Query(min_length=1, max_length=200),
        path: str = "",
        limit: int = Query(200, ge=1, le=1000),
    ) -> Any:
        found, clean = await target(request, disk, path, "search")
        return await call(found, search, found, clean, q, limit=limit)

    @router.get("/info")
    async def info(request: Request, disk: str, path: str) -> Any:
        found, clean = await target(request, disk, path, "info")
        details = await call(found, found.metadata, clean)
        return {key: _jsonable(value) for key, value in details.items()}

    @router.api_route("/file", methods=["GET", "HEAD"])
    async def file(request: Request, disk: str, path: str, inline: bool = False) -> Any:
        found, clean = await target(request, disk, path, "download")
        headers: dict[str, str] = {"Cache-Control": "no-store"}
        if inline:
            mime = await call(found, found.mime_type, clean)
            headers.update(inline_headers(basename(clean), mime))
        return await call(found, found.download_response, clean, headers=headers)

    @router.post("/upload", status_code=201)
    async def upload(
        request: Request,
        disk: str,
        name: str = Query(min_length=1, max_length=255),
        folder: str = "",
        overwrite: bool = False,
    ) -> Any:
        clean_name = clean_original_name(name)
        found, clean_folder = await target(request, disk, folder, None)
        path = normalize(join(clean_folder, clean_name))
        await check(request, disk, path, "upload")  # the file's own path: what the hook judges
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > uploads.max_file_size:  # refused before a byte is read
            message = f"the file has {declared} bytes; uploads may have at most {uploads.max_file_size}"
            raise HTTPException(413, {"reason": "too_large", "message": message})
        if not overwrite and await call(found, found.exists, path):
            raise HTTPException(409, {"reason": "exists", "message": f"{path!r} already exists on disk {disk!r}"})
        handler = UploadHandler(
            UploadConfig(**{**uploads.__dict__, "disk": found, "organize_by_date": False}), manager=manager
        )
        try:
            result = await handler.process_file(
                request.stream(), filename=clean_name, folder=clean_folder, name=clean_name
            )
        except StorageError as error:
            raise web_error(error, disk) from error
        cache.forget(disk, result.file_path)
        stored = {"path": result.file_path, **{key: result.metadata.get(key) for key in ("size", "mime_type")}}
        return JSONResponse(stored, status_code=201)

    @router.post("/folders", status_code=201)
    async def create_folder(request: Request, body: FolderRequest) -> Any:
        found, clean = await target(request, body.disk, body.path, "create_directory")
        if not clean:
            raise HTTPException(400, {"reason": "invalid_path", "message": "the root already exists"})
        await call(found, found.make_directory, clean)
        cache.forget(body.disk, clean)
        return {"path": clean}

    @router.post("/move")
    async def move(request: Request, body: MoveRequest) -> Any:
        found, source = await target(request, body.disk, body.source, "move")
        _, destination = await target(request, body.disk, body.destination, "move")
        if not source or not destination:
            raise HTTPException(400, {"reason": "invalid_path", "message": "the root cannot be moved or replaced"})
        if source == destination:
            return {"path": destination, "moved": 0}
        if destination.startswith(source + "/"):
            raise HTTPException(400, {"reason": "invalid_path", "message": "a folder cannot move into itself"})
        if not body.overwrite and await call(found, found.exists, destination):
            raise HTTPException(409, {"reason": "exists", "message": f"{destination!r} already exists"})
        moved = await call(found, _move, found, source, destination)
        cache.forget(body.disk, source, destination)
        return {"path": destination, "moved": moved}

    @router.post("/delete")
    async def delete(request: Request, body: DeleteRequest) -> Any:
        checked = [await target(request, body.disk, path, "delete") for path in body.paths]
        found = checked[0][0]
        if any(not path for _, path in checked):
            raise HTTPException(400, {"reason": "invalid_path", "message": "the root cannot be deleted"})
        deleted = 0
        for _, path in checked:
            deleted += int(await call(found, _delete, found, path))
        cache.forget(body.disk, *(path for _, path in checked))
        return {"deleted": deleted}

    @router.post("/temporary-url")
    async def temporary_url(request: Request, body: LinkRequest) -> Any:
        found, clean = await target(request, body.disk, body.path, "temporary_url")
        # Signing needs no file, but a link to nothing (or to a symlink the disk will not follow) helps nobody.
        if not await call(found, found.file_exists, clean):
            raise HTTPException(404, {"reason": "not_found", "message": f"no file {clean!r} on disk {body.disk!r}"})
        url = await call(found, found.temporary_url, clean, expires=body.expires)
        return {"url": url, "expires": body.expires}

    return router


def _move(disk: FilesystemAdapter, source: str, destination: str) -> int:
    """Move a file, or a folder file by file (not atomic on any backend: a failure stops mid-way)."""
    if disk.file_exists(source):
        disk.move(source, destination)
        return 1
    if not disk.directory_exists(source):
        disk.move(source, destination)  # raises FileNotFound naming the path
    moved = 0
    for path in disk.all_files(source):
        disk.move(path, destination + path[len(source) :])
        moved += 1
    for folder in disk.all_directories(source):
        disk.make_directory(destination + folder[len(source) :])
    disk.make_directory(destination)
    disk.delete_directory(source)
    return moved


def _delete(disk: FilesystemAdapter, path: str) -> bool:
    if disk.directory_exists(path):
        return disk.delete_directory(path)
    return disk.delete(path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
