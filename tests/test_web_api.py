"""The storage browser's HTTP surface through Starlette's TestClient: routes, the lock, the authorize hook."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from flystore import StorageManager
from flystore.web import LOOPBACK_HOSTS, create_app, csrf_token

TOKEN = "test-token-0123456789"
CSRF = {"X-CSRF-Token": csrf_token(TOKEN)}
KEY = "k" * 32


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 10, 10)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def manager(tmp_path: Path) -> StorageManager:
    (tmp_path / "root").mkdir()
    return StorageManager(
        {
            "default": "local",
            "disks": {
                "local": {"driver": "local", "root": str(tmp_path / "root"), "signing_key": KEY},
                "mem": {"driver": "memory", "signing_key": KEY},
            },
        }
    )


def browser_client(app: Any, base_url: str = "http://testserver") -> TestClient:
    """A client that entered through the printed URL, so it holds the cookie like the page does."""
    client = TestClient(app, base_url=base_url)
    entered = client.get(f"/?token={TOKEN}", follow_redirects=False)
    assert entered.status_code == 303, entered.text
    return client


@pytest.fixture
def client(manager: StorageManager) -> TestClient:
    return browser_client(create_app(manager, token=TOKEN))


def upload(client: TestClient, name: str, data: bytes, folder: str = "", disk: str = "local", **params: Any) -> Any:
    return client.post(
        "/api/upload", params={"disk": disk, "folder": folder, "name": name, **params}, content=data, headers=CSRF
    )


# -- the lock -----------------------------------------------------------------------------------


ROUTES = [
    ("GET", "/", None),
    ("GET", "/static/app.js", None),
    ("GET", "/api/disks", None),
    ("GET", "/api/list?disk=local", None),
    ("GET", "/api/search?disk=local&q=a", None),
    ("GET", "/api/info?disk=local&path=a.txt", None),
    ("GET", "/api/file?disk=local&path=a.txt", None),
    ("HEAD", "/api/file?disk=local&path=a.txt", None),
    ("POST", "/api/upload?disk=local&name=b.txt", None),
    ("POST", "/api/folders", {"disk": "local", "path": "new"}),
    ("POST", "/api/move", {"disk": "local", "source": "a.txt", "destination": "c.txt"}),
    ("POST", "/api/delete", {"disk": "local", "paths": ["a.txt"]}),
    ("POST", "/api/temporary-url", {"disk": "local", "path": "a.txt"}),
]


@pytest.mark.parametrize(("method", "url", "body"), ROUTES, ids=[f"{m} {u}" for m, u, _ in ROUTES])
def test_every_route_refuses_a_request_without_the_right_token(
    manager: StorageManager, method: str, url: str, body: Any
) -> None:
    manager.disk("local").put("a.txt", "secret")
    app = create_app(manager, token=TOKEN)
    anonymous = TestClient(app)
    wrong = TestClient(app, cookies={"flystore_token": "x" + TOKEN[1:]})
    query_only = TestClient(app)
    for attempt, extra in ((anonymous, ""), (wrong, ""), (query_only, ("&" if "?" in url else "?") + f"token={TOKEN}")):
        if url == "/" and extra:
            continue  # the entry URL: covered below
        answer = attempt.request(method, url + extra, json=body, headers=CSRF)
        assert answer.status_code == 401, (url, answer.text)
        assert b"secret" not in answer.content
    assert manager.disk("local").get("a.txt") == b"secret" and manager.disk("local").files() == ["a.txt"]
    bearer = TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.request(method, url, json=body).status_code != 401


def test_the_printed_url_sets_an_httponly_strict_cookie_and_leaves_the_address_bar(manager: StorageManager) -> None:
    client = TestClient(create_app(manager, token=TOKEN))
    assert client.get("/?token=wrong-token-0123456789", follow_redirects=False).status_code == 401
    entered = client.get(f"/?token={TOKEN}", follow_redirects=False)
    assert entered.status_code == 303 and entered.headers["location"] == "/"
    cookie = entered.headers["set-cookie"]
    assert cookie.startswith(f"flystore_token={TOKEN};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    page = client.get("/")
    assert page.status_code == 200 and csrf_token(TOKEN) in page.text and TOKEN not in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["referrer-policy"] == "no-referrer"


def test_cookie_writes_need_the_page_origin_and_its_csrf_header(client: TestClient, manager: StorageManager) -> None:
    disk = manager.disk("local")
    forged = [
        {},  # a cross-site form: no custom header
        {"X-CSRF-Token": "0" * 64},
        {**CSRF, "Origin": "http://127.0.0.1:3000"},  # another port on the same host is the same *site*
        {**CSRF, "Origin": "null"},  # a sandboxed frame or a file:// page
        {**CSRF, "Origin": "http://testserver.evil.example"},
    ]
    for headers in forged:
        for method, url, body in ROUTES:
            if method != "POST":
                continue
            answer = client.request(method, url, json=body, content=None if body else b"x", headers=headers)
            assert answer.status_code == 403, (headers, url, answer.text)
    assert disk.files() == [] and disk.directories() == []
    same_origin = {**CSRF, "Origin": "http://testserver"}
    assert client.post("/api/folders", json={"disk": "local", "path": "ok"}, headers=same_origin).status_code == 201
    bearer = TestClient(client.app, headers={"Authorization": f"Bearer {TOKEN}"})  # scripts: no cookie, no CSRF
    assert bearer.post("/api/folders", json={"disk": "local", "path": "script"}).status_code == 201
    assert disk.directories() == ["ok", "script"]


def test_a_loopback_server_answers_only_loopback_host_names(manager: StorageManager) -> None:
    app = create_app(manager, token=TOKEN, allowed_hosts=LOOPBACK_HOSTS)
    rebinding = TestClient(app, base_url="http://attacker.example:8000", headers={"Authorization": f"Bearer {TOKEN}"})
    assert rebinding.get("/api/disks").status_code == 400
    for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000"):
        local = TestClient(app, base_url=f"http://{host}", headers={"Authorization": f"Bearer {TOKEN}"})
        assert local.get("/api/disks").status_code == 200, host


def test_a_short_or_cookie_unsafe_token_and_an_unknown_disk_are_refused(manager: StorageManager) -> None:
    from flystore import InvalidConfiguration

    for token in ("short", "has space in it 123", "semi;colon;0123456789"):
        with pytest.raises(InvalidConfiguration):
            create_app(manager, token=token)
    with pytest.raises(InvalidConfiguration, match="nope"):
        create_app(manager, token=TOKEN, disks=["nope"])


# -- browsing -----------------------------------------------------------------------------------


def test_a_10000_file_folder_is_listed_once_and_paged_sorted_and_filtered_on_the_server(
    manager: StorageManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = manager.disk("mem")
    for number in range(10_000):
        disk.put(f"big/file-{number:05}.txt", b"x" * (number % 97))
    disk.make_directory("big/sub")
    listings: list[str] = []
    real_list = disk.list
    monkeypatch.setattr(disk, "list", lambda path="", recursive=False: listings.append(path) or real_list(path))
    client = browser_client(create_app(manager, token=TOKEN))

    first = client.get("/api/list", params={"disk": "mem", "path": "big"}).json()
    assert first["total"] == 10_001 and len(first["entries"]) == 100
    assert first["entries"][0] == {**first["entries"][0], "name": "sub", "is_folder": True, "size": None}
    assert [entry["name"] for entry in first["entries"][1:3]] == ["file-00000.txt", "file-00001.txt"]
    last = client.get("/api/list", params={"disk": "mem", "path": "big", "offset": 9_950, "limit": 100}).json()
    assert len(last["entries"]) == 51 and last["entries"][-1]["path"] == "big/file-09999.txt"
    largest = client.get("/api/list", params={"disk": "mem", "path": "big", "sort": "size", "order": "desc"}).json()
    assert largest["entries"][0]["is_folder"] and largest["entries"][1]["size"] == 96
    found = client.get("/api/list", params={"disk": "mem", "path": "big", "q": "FILE-0999"}).json()
    assert found["total"] == 10 and {entry["name"] for entry in found["entries"]} == {
        f"file-0999{digit}.txt" for digit in range(10)
    }
    assert listings == ["big"]  # four pages, three orders, one filter: one backend listing
    client.get("/api/list", params={"disk": "mem", "path": "big", "fresh": "1"})
    assert listings == ["big", "big"]


def test_search_walks_the_tree_lazily_and_stops_at_the_limit(client: TestClient, manager: StorageManager) -> None:
    disk = manager.disk("local")
    for path in ("reports/2024/q1-report.csv", "reports/2025/Q2-Report.csv", "notes/report.txt", "other.txt"):
        disk.put(path, "x")
    found = client.get("/api/search", params={"disk": "local", "q": "report"}).json()
    assert [entry["path"] for entry in found["entries"]] == [
        "reports",
        "notes/report.txt",
        "reports/2024/q1-report.csv",
        "reports/2025/Q2-Report.csv",
    ]
    assert found["truncated"] is False and all(entry["size"] == 1 for entry in found["entries"][1:])
    within = client.get("/api/search", params={"disk": "local", "q": "report", "path": "reports/2025"}).json()
    assert [entry["path"] for entry in within["entries"]] == ["reports/2025/Q2-Report.csv"]
    capped = client.get("/api/search", params={"disk": "local", "q": "report", "limit": 2}).json()
    assert len(capped["entries"]) == 2 and capped["truncated"] is True


@pytest.mark.parametrize("disk_name", ["local", "mem"])
def test_upload_list_preview_download_rename_move_and_delete(
    client: TestClient, manager: StorageManager, disk_name: str
) -> None:
    disk = manager.disk(disk_name)
    stored = upload(client, "notes.txt", b"hello world\n", folder="docs", disk=disk_name)
    assert stored.status_code == 201 and stored.json()["path"] == "docs/notes.txt"
    assert disk.get("docs/notes.txt") == b"hello world\n"
    listed = client.get("/api/list", params={"disk": disk_name, "path": "docs"}).json()
    assert [(entry["name"], entry["size"]) for entry in listed["entries"]] == [("notes.txt", 12)]
    assert listed["entries"][0]["last_modified"]
    part = client.get("/api/file", params={"disk": disk_name, "path": "docs/notes.txt"}, headers={"Range": "bytes=0-4"})
    assert part.status_code == 206 and part.content == b"hello"
    whole = client.get("/api/file", params={"disk": disk_name, "path": "docs/notes.txt"})
    assert whole.content == b"hello world\n" and whole.headers["content-disposition"].startswith("attachment")
    info = client.get("/api/info", params={"disk": disk_name, "path": "docs/notes.txt"}).json()
    assert info["size"] == 12 and info["mime_type"] == "text/plain"

    assert (
        client.post("/api/folders", json={"disk": disk_name, "path": "archive/2026"}, headers=CSRF).status_code == 201
    )
    renamed = client.post(
        "/api/move",
        json={"disk": disk_name, "source": "docs/notes.txt", "destination": "docs/renamed.txt"},
        headers=CSRF,
    )
    assert renamed.status_code == 200 and disk.files("docs") == ["docs/renamed.txt"]
    moved = client.post(
        "/api/move", json={"disk": disk_name, "source": "docs", "destination": "archive/2026/docs"}, headers=CSRF
    )
    assert moved.json() == {"path": "archive/2026/docs", "moved": 1}
    assert disk.all_files() == ["archive/2026/docs/renamed.txt"] and not disk.directory_exists("docs")
    root = client.get("/api/list", params={"disk": disk_name}).json()  # the app forgot the folders it changed
    assert [entry["name"] for entry in root["entries"]] == ["archive"]
    deleted = client.post("/api/delete", json={"disk": disk_name, "paths": ["archive"]}, headers=CSRF)
    assert deleted.json() == {"deleted": 1} and disk.all_files() == []
    assert client.get("/api/list", params={"disk": disk_name, "path": "archive"}).status_code == 404


def test_an_existing_file_is_replaced_only_when_asked(client: TestClient, manager: StorageManager) -> None:
    disk = manager.disk("local")
    disk.put("a.txt", "old")
    disk.put("b.txt", "bee")
    assert upload(client, "a.txt", b"new").status_code == 409 and disk.get("a.txt") == b"old"
    assert upload(client, "a.txt", b"new", overwrite="1").status_code == 201 and disk.get("a.txt") == b"new"
    move = {"disk": "local", "source": "b.txt", "destination": "a.txt"}
    assert client.post("/api/move", json=move, headers=CSRF).status_code == 409 and disk.get("a.txt") == b"new"
    assert client.post("/api/move", json={**move, "overwrite": True}, headers=CSRF).status_code == 200
    assert disk.files() == ["a.txt"] and disk.get("a.txt") == b"bee"
    into_itself = {"disk": "local", "source": "x", "destination": "x/y"}
    disk.put("x/f.txt", "f")
    assert client.post("/api/move", json=into_itself, headers=CSRF).status_code == 400


def test_uploads_pass_the_upload_rules_and_a_refusal_leaves_nothing(manager: StorageManager, tmp_path: Path) -> None:
    from flystore.uploads import UploadConfig

    client = browser_client(create_app(manager, token=TOKEN, upload_config=UploadConfig(max_file_size=1024)))
    refused = [
        ("shell.php", b"<?php echo 1;", 415, "extension_not_allowed"),
        ("photo.php.jpg", png(), 415, "extension_not_allowed"),
        ("setup.txt", b"MZ" + b"\0" * 200, 400, "malicious_content"),
        ("polyglot.png", png() + b"<script>alert(1)</script>", 400, "malicious_content"),
        ("big.bin", b"\0" * 2048, 413, "too_large"),
    ]
    streamed = client.post(  # no Content-Length: the limit is enforced while the body streams in
        "/api/upload",
        params={"disk": "local", "folder": "in", "name": "chunked.bin"},
        headers=CSRF,
        content=iter([b"\0" * 700, b"\0" * 700]),
    )
    assert streamed.status_code == 413 and streamed.json()["detail"]["reason"] == "too_large"
    for name, data, status, reason in refused:
        answer = upload(client, name, data, folder="in")
        assert (answer.status_code, answer.json()["detail"]["reason"]) == (status, reason), name
    assert manager.disk("local").all_files() == []
    assert [path for path in (tmp_path / "root").rglob("*") if path.is_file()] == []  # no temp file left either
    name = upload(client, "../../evil\u202egpj.png", png(), folder="in")
    assert name.status_code == 201 and name.json()["path"] == "in/evilgpj.png"


def test_temporary_links_resolve_through_the_server_without_the_token(
    client: TestClient, manager: StorageManager
) -> None:
    manager.disk("local").put("share/report.txt", "for a colleague")
    manager.disk("mem").put("m.txt", "from memory")
    link = client.post("/api/temporary-url", json={"disk": "local", "path": "share/report.txt"}, headers=CSRF).json()
    assert link["url"].startswith("/storage/_signed/local/share/report.txt?")
    stranger = TestClient(client.app)
    assert stranger.get(link["url"]).content == b"for a colleague"
    assert stranger.get(link["url"].replace("signature=", "signature=0")).status_code == 403
    assert stranger.get(link["url"].replace("report.txt", "other.txt")).status_code == 403
    memory = client.post("/api/temporary-url", json={"disk": "mem", "path": "m.txt", "expires": 60}, headers=CSRF)
    assert stranger.get(memory.json()["url"]).content == b"from memory"
    # Only the signed download of the FastAPI router is exposed, and only it skips the token.
    assert stranger.put(link["url"], content=b"overwrite").status_code == 401
    assert client.put(link["url"] + "&method=PUT", content=b"x", headers=CSRF).status_code in (404, 405)
    assert client.get("/storage/local/download/share/report.txt").status_code == 404
    assert manager.disk("local").get("share/report.txt") == b"for a colleague"


def test_only_inert_types_are_shown_inline(client: TestClient, manager: StorageManager) -> None:
    disk = manager.disk("local")
    disk.put("p.png", png())
    disk.put("page.html", "<script>steal()</script>")
    disk.put("pic.svg", '<svg xmlns="http://www.w3.org/2000/svg"><script>steal()</script></svg>')
    disk.put("data.json", '{"a": 1}')
    disk.put("doc.pdf", b"%PDF-1.4\n")

    def inline(path: str) -> Any:
        return client.get("/api/file", params={"disk": "local", "path": path, "inline": "1"})

    assert inline("p.png").headers["content-disposition"].startswith("inline")
    assert inline("p.png").headers["content-type"] == "image/png"
    assert inline("doc.pdf").headers["content-disposition"].startswith("inline")
    html = inline("page.html")
    assert html.headers["content-disposition"].startswith("attachment") and html.content.startswith(b"<script>")
    svg = inline("pic.svg")
    assert "sandbox" in svg.headers["content-security-policy"] and svg.headers["x-content-type-options"] == "nosniff"
    json_text = inline("data.json")
    assert json_text.headers["content-type"] == "text/plain; charset=utf-8"
    assert "sandbox" in json_text.headers["content-security-policy"]


def test_only_the_served_disks_are_reachable(manager: StorageManager) -> None:
    client = browser_client(create_app(manager, token=TOKEN, disks=["mem"]))
    assert client.get("/api/disks").json() == {"disks": [{"name": "mem", "driver": "memory", "default": False}]}
    for url in ("/api/list?disk=local", "/api/file?disk=local&path=x", "/api/list?disk=nope"):
        assert client.get(url).status_code == 404
    assert upload(client, "x.txt", b"x", disk="local").status_code == 404
    assert manager.disk("local").files() == []


def test_a_disk_that_cannot_be_built_answers_503_and_the_others_still_work(tmp_path: Path) -> None:
    broken_options = {"driver": "local", "root": str(tmp_path), "rot": "typo of root"}
    manager = StorageManager({"disks": {"ok": {"driver": "memory"}, "broken": broken_options}})
    client = browser_client(create_app(manager, token=TOKEN))
    broken = client.get("/api/list", params={"disk": "broken"})
    assert broken.status_code == 503 and broken.json()["detail"]["reason"] == "disk_misconfigured"
    assert "broken" in broken.json()["detail"]["message"]
    assert client.get("/api/list", params={"disk": "ok"}).status_code == 200


def test_a_missing_file_is_404_naming_the_disk_and_path(client: TestClient) -> None:
    missing = client.get("/api/info", params={"disk": "local", "path": "nowhere/x.txt"})
    assert missing.status_code == 404
    assert "nowhere/x.txt" in missing.json()["detail"]["message"] and "local" in missing.json()["detail"]["message"]
    assert client.get("/api/file", params={"disk": "local", "path": "nowhere/x.txt"}).status_code == 404


# -- authorize, and paths that try to leave the disk ---------------------------------------------


def test_authorize_judges_the_normalised_path_of_every_action(manager: StorageManager) -> None:
    calls: list[tuple[str, str, str]] = []

    def authorize(request: Any, disk: str, path: str, action: str) -> bool:
        calls.append((disk, path, action))
        return not (path == "private" or path.startswith("private/"))

    disk = manager.disk("local")
    disk.put("private/salary.txt", "42")
    disk.put("public/a.txt", "a")
    client = browser_client(create_app(manager, token=TOKEN, authorize=authorize))
    disguises = [
        "private/salary.txt",
        "./private/salary.txt",
        "public/../private/salary.txt",
        "/private/salary.txt",
        "private//salary.txt",
        "\\private\\salary.txt",
        "public/./../private/salary.txt",
    ]
    for path in disguises:
        for answer in (
            client.get("/api/file", params={"disk": "local", "path": path}),
            client.get("/api/info", params={"disk": "local", "path": path}),
            client.post("/api/delete", json={"disk": "local", "paths": ["public/a.txt", path]}, headers=CSRF),
            client.post("/api/temporary-url", json={"disk": "local", "path": path}, headers=CSRF),
            client.post("/api/move", json={"disk": "local", "source": path, "destination": "public/x"}, headers=CSRF),
            client.post(
                "/api/move", json={"disk": "local", "source": "public/a.txt", "destination": path}, headers=CSRF
            ),
            client.get("/api/list", params={"disk": "local", "path": path.rsplit("/", 1)[0] or "private"}),
            client.get("/api/search", params={"disk": "local", "path": path.rsplit("/", 1)[0], "q": "s"}),
            upload(client, "salary.txt", b"0", folder=path.rsplit("/", 1)[0], overwrite="1"),
            upload(client, "new.txt", b"0", folder=path.rsplit("/", 1)[0]),
        ):
            assert answer.status_code == 403, (path, answer.request.url, answer.text)
            assert b"42" not in answer.content
    assert disk.get("private/salary.txt") == b"42" and disk.all_files() == ["private/salary.txt", "public/a.txt"]
    actions = {action for _, _, action in calls}
    assert actions == {"download", "info", "delete", "temporary_url", "move", "list", "search", "upload"}
    assert all("." not in path.split("/") and "\\" not in path and not path.startswith("/") for _, path, _ in calls)
    assert (
        client.post("/api/folders", json={"disk": "local", "path": "public/../private/x"}, headers=CSRF).status_code
        == 403
    )
    assert ("local", "private/x", "create_directory") in calls


@pytest.fixture
def jailed(manager: StorageManager, tmp_path: Path) -> tuple[TestClient, Path]:
    """A local disk whose root holds symlinks to a secret outside it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"TOPSECRET")
    root = tmp_path / "root"
    os.symlink(outside, root / "linked-dir")
    os.symlink(outside / "secret.txt", root / "linked-file.txt")
    manager.disk("local").put("inside/ok.txt", "fine")
    return browser_client(create_app(manager, token=TOKEN)), outside


ATTACKS = [
    "..",
    "../outside/secret.txt",
    "inside/../../outside/secret.txt",
    "..\\outside\\secret.txt",
    "inside\\..\\..\\outside\\secret.txt",
    "%2e%2e/outside/secret.txt",
    "..%2Foutside%2Fsecret.txt",
    "%252e%252e%252foutside",
    "inside/\x00secret.txt",
    "inside/%00secret.txt",
    "inside/\nsecret.txt",
    "linked-file.txt",
    "linked-dir/secret.txt",
    "linked-dir",
    str(Path("/etc/passwd")),
]


@pytest.mark.parametrize("attack", ATTACKS, ids=[repr(attack) for attack in ATTACKS])
def test_no_route_leaves_the_disk(jailed: tuple[TestClient, Path], attack: str, manager: StorageManager) -> None:
    client, outside = jailed
    answers = {
        "list": client.get("/api/list", params={"disk": "local", "path": attack}),
        "search": client.get("/api/search", params={"disk": "local", "path": attack, "q": "secret"}),
        "info": client.get("/api/info", params={"disk": "local", "path": attack}),
        "file": client.get("/api/file", params={"disk": "local", "path": attack}),
        "inline": client.get("/api/file", params={"disk": "local", "path": attack, "inline": "1"}),
        "link": client.post("/api/temporary-url", json={"disk": "local", "path": attack}, headers=CSRF),
        "replace": upload(client, "secret.txt", b"pwned", folder=attack, overwrite="1"),
        "upload": upload(client, "x.txt", b"pwned", folder=attack),
        "folder": client.post("/api/folders", json={"disk": "local", "path": attack + "/made"}, headers=CSRF),
        "move out": client.post(
            "/api/move", json={"disk": "local", "source": attack, "destination": "inside/stolen.txt"}, headers=CSRF
        ),
        "move onto": client.post(
            "/api/move",
            json={"disk": "local", "source": "inside/ok.txt", "destination": attack, "overwrite": True},
            headers=CSRF,
        ),
        "delete": client.post("/api/delete", json={"disk": "local", "paths": [attack]}, headers=CSRF),
    }
    # Percent-escapes are literal names and a leading "/" is the disk root: those stay inside the disk.
    literal = "%" in attack or attack.startswith("/")
    # A move onto a symlink's own name replaces the link in the root (rename never writes through a link).
    replaces_link = attack in ("linked-file.txt", "linked-dir")
    for route, answer in answers.items():
        assert b"TOPSECRET" not in answer.content and b"root:" not in answer.content, route
        allowed = literal or (route in ("move onto", "delete") and replaces_link)
        assert answer.status_code in (400, 404, 409) or (answer.status_code < 300 and allowed), (
            route,
            answer.status_code,
            answer.text,
        )
    if replaces_link and answers["move onto"].status_code == 200:
        assert not (outside.parent / "root" / attack).is_symlink()
    assert sorted(path.name for path in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_bytes() == b"TOPSECRET"
    assert sorted(path.name for path in outside.parent.iterdir()) == ["outside", "root"]
    assert literal or replaces_link or manager.disk("local").get("inside/ok.txt") == b"fine"


def test_listings_and_search_never_show_or_follow_symlinks(jailed: tuple[TestClient, Path]) -> None:
    client, _ = jailed
    root = client.get("/api/list", params={"disk": "local"}).json()
    assert [entry["name"] for entry in root["entries"]] == ["inside"]
    everything = client.get("/api/search", params={"disk": "local", "q": "e"}).json()
    assert all("linked" not in entry["path"] and "secret" not in entry["path"] for entry in everything["entries"])


def test_a_signed_link_through_a_symlink_serves_nothing(
    jailed: tuple[TestClient, Path], manager: StorageManager
) -> None:
    client, _ = jailed
    for link in ("linked-file.txt", "linked-dir/secret.txt"):
        signed = manager.disk("local").temporary_url(link, expires=60)  # signed by the app's own key
        answer = TestClient(client.app).get(signed)
        assert answer.status_code in (400, 404) and b"TOPSECRET" not in answer.content


def test_an_s3_disk_browses_uploads_moves_links_and_deletes_like_a_local_one(s3_endpoint: str) -> None:
    import urllib.request
    import uuid

    credentials = {"key": "testing", "secret": "testing", "region": "us-east-1"}
    bucket = f"flystore-web-{uuid.uuid4().hex[:12]}"
    manager = StorageManager(
        {
            "disks": {
                "s3": {"driver": "s3", "bucket": bucket, "endpoint": s3_endpoint, "create_bucket": True, **credentials}
            }
        }
    )
    client = browser_client(create_app(manager, token=TOKEN))
    disk = manager.disk("s3")
    assert upload(client, "q3.csv", b"a,b\n1,2\n", folder="reports/2026", disk="s3").status_code == 201
    assert client.post("/api/folders", json={"disk": "s3", "path": "empty"}, headers=CSRF).status_code == 201
    root = client.get("/api/list", params={"disk": "s3"}).json()
    assert [(entry["name"], entry["is_folder"]) for entry in root["entries"]] == [("empty", True), ("reports", True)]
    moved = client.post(
        "/api/move", json={"disk": "s3", "source": "reports", "destination": "archive/reports"}, headers=CSRF
    )
    assert moved.json()["moved"] == 1 and disk.all_files() == ["archive/reports/2026/q3.csv"]
    link = client.post("/api/temporary-url", json={"disk": "s3", "path": "archive/reports/2026/q3.csv"}, headers=CSRF)
    url = link.json()["url"]
    assert url.startswith(s3_endpoint) and "Signature" in url  # presigned by S3, not by this server
    with urllib.request.urlopen(url) as shared:
        assert shared.read() == b"a,b\n1,2\n"
    assert client.get("/api/file", params={"disk": "s3", "path": "../x"}).status_code == 400
    assert client.post("/api/delete", json={"disk": "s3", "paths": ["archive", "empty"]}, headers=CSRF).json() == {
        "deleted": 2
    }
    assert disk.all_files() == [] and client.get("/api/list", params={"disk": "s3"}).json()["total"] == 0
