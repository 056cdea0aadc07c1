"""download_response(): headers, streaming and HTTP Range over a real ASGI round trip."""

from __future__ import annotations

import os

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from flystore import FileNotFound, StorageManager


@pytest.fixture
def client_and_data():  # type: ignore[no-untyped-def]
    manager = StorageManager({"disks": {"files": {"driver": "memory"}}})
    data = os.urandom(700_000)
    manager.disk("files").put("reports/Q3 résumé.pdf", data)

    async def download(request: Request):  # type: ignore[no-untyped-def]
        return manager.disk("files").download_response(
            request.path_params["path"], headers={"Cache-Control": "no-store"}
        )

    app = Starlette(routes=[Route("/files/{path:path}", download, methods=["GET", "HEAD"])])
    with TestClient(app) as client:
        yield client, data, manager


def test_the_whole_file_with_its_headers(client_and_data) -> None:  # type: ignore[no-untyped-def]
    client, data, _ = client_and_data
    response = client.get("/files/reports/Q3 résumé.pdf")
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["cache-control"] == "no-store"
    assert "filename*=UTF-8''Q3%20r%C3%A9sum%C3%A9.pdf" in response.headers["content-disposition"]
    assert response.headers["last-modified"].endswith("GMT")


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-99", 0, 99), ("bytes=500000-", 500000, 699999), ("bytes=-1000", 699000, 699999),
     ("bytes=699990-800000", 699990, 699999)],
)
def test_a_range_request_gets_206_and_exactly_those_bytes(client_and_data, header, start, end) -> None:  # type: ignore[no-untyped-def]
    client, data, _ = client_and_data
    response = client.get("/files/reports/Q3 résumé.pdf", headers={"Range": header})
    assert response.status_code == 206
    assert response.content == data[start : end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(data)}"
    assert response.headers["content-length"] == str(end - start + 1)


def test_an_unsatisfiable_range_gets_416(client_and_data) -> None:  # type: ignore[no-untyped-def]
    client, data, _ = client_and_data
    response = client.get("/files/reports/Q3 résumé.pdf", headers={"Range": "bytes=900000-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(data)}"


def test_head_sends_headers_only(client_and_data) -> None:  # type: ignore[no-untyped-def]
    client, data, _ = client_and_data
    response = client.head("/files/reports/Q3 résumé.pdf")
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-length"] == str(len(data))


def test_a_missing_file_fails_before_the_response_starts(client_and_data) -> None:  # type: ignore[no-untyped-def]
    _, _, manager = client_and_data
    with pytest.raises(FileNotFound):
        manager.disk("files").download_response("nope.pdf")


def test_a_custom_download_name(client_and_data) -> None:  # type: ignore[no-untyped-def]
    _, _, manager = client_and_data
    response = manager.disk("files").download_response("reports/Q3 résumé.pdf", name="report.pdf")
    assert 'filename="report.pdf"' in response.headers["content-disposition"]


def test_the_response_object_carries_the_real_length_before_it_is_served(client_and_data) -> None:  # type: ignore[no-untyped-def]
    _, data, manager = client_and_data
    response = manager.disk("files").download_response("reports/Q3 résumé.pdf")
    assert response.headers["content-length"] == str(len(data))
    assert response.headers.getlist("content-length") == [str(len(data))]
