"""The FastAPI integration driven through the real app with TestClient."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi import Depends, FastAPI, File, UploadFile
from fastapi.testclient import TestClient
from PIL import Image

from flystore import StorageManager
from flystore.integrations.fastapi import create_upload_dependency, storage_router
from flystore.uploads import UploadLimitMiddleware, UploadResult

KEY = "k" * 32


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (9, 9, 9)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def manager(tmp_path: Path) -> StorageManager:
    return StorageManager(
        {
            "default": "local",
            "disks": {
                "local": {"driver": "local", "root": str(tmp_path / "root"), "signing_key": KEY},
                "mem": {"driver": "memory", "signing_key": KEY},
                "other": {"driver": "memory", "signing_key": "o" * 32},
            },
        }
    )


def app_for(manager: StorageManager, authorize: Any = None) -> TestClient:
    app = FastAPI()
    app.include_router(storage_router(manager=manager, authorize=authorize))
    image_dep = create_upload_dependency(
        allowed_extensions=[".jpg", ".png", ".gif", ".webp"],
        max_file_size=5 * 1024 * 1024,
        generate_thumbnails=True,
        disk="mem",
        manager=manager,
    )

    @app.post("/upload/image")
    async def upload_image(result: UploadResult = Depends(image_dep)) -> dict[str, Any]:  # noqa: B008
        return result.to_dict()

    return TestClient(app)


def test_seed_dependency_stores_and_refuses(manager: StorageManager) -> None:
    client = app_for(manager)
    ok = client.post("/upload/image", files={"file": ("../../me.jpg", jpeg(), "image/jpeg")})
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert manager.disk("mem").file_exists(body["file_path"]) and set(body["thumbnails"]) == {"150x150", "300x300"}
    assert body["metadata"]["original_filename"] == "me.jpg"
    bad = client.post("/upload/image", files={"file": ("x.jpg", b"MZ" + b"\0" * 100, "image/jpeg")})
    assert bad.status_code == 400 and bad.json()["detail"]["reason"] == "malicious_content"
    ext = client.post("/upload/image", files={"file": ("x.pdf", b"%PDF-1.4", "application/pdf")})
    assert ext.status_code == 415 and ext.json()["detail"]["reason"] == "extension_not_allowed"
    big = client.post("/upload/image", files={"file": ("x.jpg", jpeg() + b"\0" * (6 * 1024 * 1024), "image/jpeg")})
    assert big.status_code == 413 and big.json()["detail"]["reason"] == "too_large"


def test_router_upload_download_range_info(manager: StorageManager) -> None:
    client = app_for(manager)
    up = client.post(
        "/storage/local/upload", files={"file": ("n.txt", b"0123456789", "text/plain")}, data={"folder": "docs"}
    )
    assert up.status_code == 201, up.text
    path = up.json()["file_path"]
    assert path.startswith("docs/")
    whole = client.get(f"/storage/local/download/{path}")
    assert whole.status_code == 200 and whole.content == b"0123456789"
    part = client.get(f"/storage/local/download/{path}", headers={"Range": "bytes=2-4"})
    assert part.status_code == 206 and part.content == b"234"
    info = client.get(f"/storage/local/info/{path}")
    assert info.status_code == 200 and info.json()["size"] == 10
    assert client.get("/storage/local/download/missing.txt").status_code == 404
    assert client.get("/storage/local/info/a/%2E%2E/%2E%2E/x").status_code in (400, 404)
    assert client.get("/storage/nope/info/x").status_code == 404


def test_authorize_runs_before_every_action(manager: StorageManager) -> None:
    calls: list[tuple[str, str, str]] = []

    def authorize(request: Any, disk: str, path: str, action: str) -> bool:
        calls.append((disk, path, action))
        return path != "secret.txt"

    manager.disk("local").put("secret.txt", "s")
    manager.disk("local").put("open.txt", "o")
    client = app_for(manager, authorize)
    assert client.get("/storage/local/download/secret.txt").status_code == 403
    assert client.get("/storage/local/info/secret.txt").status_code == 403
    assert client.get("/storage/local/download/open.txt").content == b"o"
    assert ("local", "secret.txt", "download") in calls and ("local", "secret.txt", "info") in calls
    denied = client.post("/storage/local/upload", files={"file": ("a.txt", b"x")}, data={"folder": "secret.txt"})
    assert denied.status_code == 403 and manager.disk("local").files("secret.txt") == []


def test_signed_urls(manager: StorageManager) -> None:
    client = app_for(manager)
    manager.disk("mem").put("a/b.txt", "signed body")
    manager.disk("other").put("a/b.txt", "other body")
    url = manager.disk("mem").temporary_url("a/b.txt", expires=60)
    assert client.get(url).content == b"signed body"
    assert client.get(url, headers={"Range": "bytes=0-5"}).content == b"signed"
    assert client.get(url.replace("signature=", "signature=0")).status_code == 403
    assert client.get(url.replace("a/b.txt", "a/c.txt")).status_code == 403
    assert client.get(url.replace("/mem/", "/other/")).status_code == 403
    expires = int(url.split("expires=")[1].split("&")[0])
    assert client.get(url.replace(f"expires={expires}", f"expires={expires + 100}")).status_code == 403
    short = manager.disk("mem").temporary_url("a/b.txt", expires=1)
    time.sleep(1.1)
    assert client.get(short).status_code == 403


def _streaming_app(received: list[int]) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            received.append(len(message.get("body", b"")))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def test_middleware_413_while_streaming_whatever_content_length_says() -> None:
    received: list[int] = []
    client = TestClient(UploadLimitMiddleware(_streaming_app(received), max_file_size=1024 * 1024))

    def body() -> Any:
        for _ in range(50):
            yield b"x" * 256 * 1024

    refused = client.post("/", content=body(), headers={"Content-Length": "10"})
    assert refused.status_code == 413 and refused.json()["detail"]["reason"] == "too_large"
    assert sum(received) <= 1024 * 1024
    assert client.post("/", content=b"x" * 1000).status_code == 200
    declared = client.post("/", content=b"x", headers={"Content-Length": str(10 * 1024 * 1024)})
    assert declared.status_code == 413


def test_middleware_415_for_a_disallowed_part_type() -> None:
    client = TestClient(UploadLimitMiddleware(_streaming_app([]), max_file_size=1024 * 1024, allowed_types=["image/*"]))
    refused = client.post("/", files={"file": ("a.exe", b"MZ", "application/x-msdownload")})
    assert refused.status_code == 415 and refused.json()["detail"]["reason"] == "type_not_allowed"
    assert client.post("/", files={"file": ("a.png", b"png", "image/png")}, data={"n": "1"}).status_code == 200


def test_signed_upload_urls_store_validated_bodies(manager: StorageManager) -> None:
    client = app_for(manager)
    url, headers = manager.disk("mem").temporary_upload_url("inbox/report.txt", expires=60)
    stored = client.put(url, content=b"quarterly numbers", headers=headers)
    assert stored.status_code == 201, stored.text
    assert manager.disk("mem").get("inbox/report.txt") == b"quarterly numbers"
    assert client.put(url.replace("report", "other"), content=b"x").status_code == 403
    get_url = manager.disk("mem").temporary_url("inbox/report.txt", expires=60)
    assert client.put(get_url, content=b"x").status_code == 403  # signed for GET, not PUT
    evil_url, _ = manager.disk("mem").temporary_upload_url("inbox/evil.txt", expires=60)
    refused = client.put(evil_url, content=b"MZ" + b"\0" * 100)
    assert refused.status_code == 400 and refused.json()["detail"]["reason"] == "malicious_content"
    assert not manager.disk("mem").file_exists("inbox/evil.txt")


def test_middleware_in_front_of_a_real_fastapi_form_endpoint(tmp_path: Path) -> None:
    app = FastAPI()

    @app.post("/form")
    async def form(file: UploadFile = File(...)) -> dict[str, int]:  # noqa: B008
        return {"size": len(await file.read())}

    client = TestClient(UploadLimitMiddleware(app, max_file_size=256 * 1024, allowed_types=["image/*"]))
    big = client.post("/form", files={"file": ("a.png", b"x" * 1024 * 1024, "image/png")})
    assert big.status_code == 413 and big.json()["detail"]["reason"] == "too_large"
    typed = client.post("/form", files={"file": ("a.exe", b"MZ", "application/octet-stream")})
    assert typed.status_code == 415
    assert client.post("/form", files={"file": ("a.png", b"png!", "image/png")}).json() == {"size": 4}
