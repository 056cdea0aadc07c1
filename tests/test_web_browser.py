"""The storage browser end to end in Debian's headless Chromium (playwright; never `playwright install`).

A real uvicorn server on a port-0 socket serves a local and a memory disk; the page is driven like a
person would: open the printed URL, drop a file, pick one with the file input, preview, download,
copy a temporary link, rename, delete. The screenshots in docs/images/ come from this run: with
FLYSTORE_WEB_SCREENSHOTS=1 they are written there; otherwise to a temporary directory (the same code
runs, and a test run leaves the checkout as it was).
"""

from __future__ import annotations

import io
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from flystore import StorageManager
from flystore.web import create_app
from flystore.web.server import WebServer
from tests.services import require_executable, require_module

TOKEN = "browser-test-token-0123456789"
DOC_IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-default-browser-check",
    "--metrics-recording-only",
]
NOTES = "Quarterly notes\n\n- revenue up 12%\n- ship the storage browser\n" * 3


def shoot(page: Any, folder: Path, name: str) -> None:
    target = folder / name
    page.screenshot(path=str(target))
    assert target.read_bytes().startswith(b"\x89PNG")


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("FLYSTORE_WEB_SCREENSHOTS") == "1":
        return DOC_IMAGES
    return tmp_path_factory.mktemp("screenshots")


def picture() -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", (320, 200), (47, 111, 237))
    for x in range(0, 320, 40):
        image.paste((255, 255, 255), (x, 0, x + 20, 200))
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = require_executable("/usr/bin/chromium")
    sync_api = require_module("playwright.sync_api")
    playwright = sync_api.sync_playwright().start()
    launched = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
    yield launched
    launched.close()
    playwright.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("web-root")
    manager = StorageManager(
        {
            "default": "local",
            "disks": {
                "local": {"driver": "local", "root": str(root), "signing_key": "s" * 32},
                "scratch": {"driver": "memory"},
            },
        }
    )
    disk = manager.disk("local")
    disk.put("reports/2026/q1.csv", "month,revenue\njan,10\nfeb,12\nmar,15\n")
    disk.put("reports/2026/q2.csv", "month,revenue\napr,16\n")
    disk.put("photos/.keep", "")
    disk.put("README.md", "# Team share\n\nDrop files here.\n")
    disk.put("manual.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    for number in range(1, 241):
        disk.put(f"logs/app-{number:04}.log", f"line {number}\n" * number)
    server = WebServer(create_app(manager, token=TOKEN, cookie_name="flystore_token_test"), port=0).start()
    yield {"url": server.url, "manager": manager, "disk": disk}
    server.stop()


def test_a_person_uploads_previews_downloads_links_renames_and_deletes(
    browser: Any, site: dict[str, Any], screenshots: Path
) -> None:
    disk = site["disk"]
    context = browser.new_context(
        accept_downloads=True,
        viewport={"width": 1180, "height": 760},
        permissions=["clipboard-read", "clipboard-write"],
    )
    page = context.new_page()
    page.set_default_timeout(8000)
    page.goto(f"{site['url']}/?token={TOKEN}")
    assert page.url == f"{site['url']}/"  # the token left the address bar; the cookie keeps it
    page.wait_for_selector('tr[data-path="README.md"]')
    assert page.locator("#rows tr").count() == 5  # logs, photos, reports, manual.pdf, README.md

    # Drop a picture on the page (a real drop event carrying a File), then pick a text file.
    image = picture()
    page.evaluate(
        """([name, bytes]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name, { type: "image/png" }));
            document.dispatchEvent(new DragEvent("dragenter", { dataTransfer: transfer, bubbles: true }));
            const drop = new DragEvent("drop", { dataTransfer: transfer, bubbles: true });
            document.getElementById("main").dispatchEvent(drop);
        }""",
        ["stripes.png", list(image)],
    )
    page.set_input_files(
        "#file-input", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": NOTES.encode()}]
    )
    page.wait_for_selector('tr[data-path="notes.txt"]')
    page.wait_for_selector('tr[data-path="stripes.png"]')
    assert page.locator('.upload.done progress[value="100"], .upload.done').count() >= 1
    assert disk.get("stripes.png") == image and disk.get_text("notes.txt") == NOTES
    shoot(page, screenshots, "web-listing.png")

    # A slow link (the DevTools protocol throttles this page's uploads): the bar moves while the bytes go.
    network = context.new_cdp_session(page)
    network.send("Network.enable")
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 192 * 1024},
    )
    big = ("0123456789abcdef" * 4 + "\n") * 5000  # 325 KB of text: about 1.7 s at that speed
    page.set_input_files("#file-input", files=[{"name": "big.log", "mimeType": "text/plain", "buffer": big.encode()}])
    page.wait_for_function(
        "() => { const bar = document.querySelector('.upload[data-name=\"big.log\"] progress');"
        " return bar && bar.value > 0 && bar.value < 100; }"
    )
    shoot(page, screenshots, "web-upload.png")
    page.wait_for_selector('.upload.done[data-name="big.log"]')
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    assert disk.get_text("big.log") == big

    # Preview: the text as text, the picture as an image the browser decoded.
    page.click('tr[data-path="notes.txt"] td.actions button:has-text("Preview")')
    assert page.wait_for_selector("#preview-body pre").inner_text().startswith("Quarterly notes")
    shoot(page, screenshots, "web-preview-text.png")
    page.click("#preview-close")
    page.click('tr[data-path="stripes.png"] td.actions button:has-text("Preview")')
    page.wait_for_function(
        "() => { const i = document.querySelector('#preview-body img'); return i && i.naturalWidth }"
    )
    assert page.evaluate("document.querySelector('#preview-body img').naturalWidth") == 320
    shoot(page, screenshots, "web-preview-image.png")
    page.keyboard.press("Escape")

    # Download: the bytes that arrive are the bytes on the disk.
    with page.expect_download() as download:
        page.click('tr[data-path="notes.txt"] a:has-text("Download")')
    assert download.value.suggested_filename == "notes.txt"
    assert Path(download.value.path()).read_bytes() == NOTES.encode()

    # A temporary link: copied to the clipboard, and it opens for someone without the token.
    page.click('tr[data-path="notes.txt"] button:has-text("Link")')
    page.wait_for_selector("#toast:has-text('Link copied')")
    link = page.evaluate("navigator.clipboard.readText()")
    assert link.startswith(f"{site['url']}/storage/_signed/local/notes.txt?")
    with urllib.request.urlopen(link) as shared:  # our own loopback server
        assert shared.read() == NOTES.encode()

    # Rename through the page's prompt, then delete through its confirmation.
    page.once("dialog", lambda dialog: dialog.accept("minutes.txt"))
    page.click('tr[data-path="notes.txt"] button:has-text("Rename")')
    page.wait_for_selector('tr[data-path="minutes.txt"]')
    assert disk.file_missing("notes.txt") and disk.get_text("minutes.txt") == NOTES
    page.once("dialog", lambda dialog: dialog.accept())
    page.click('tr[data-path="minutes.txt"] button:has-text("Delete")')
    page.wait_for_selector('tr[data-path="minutes.txt"]', state="detached")
    assert disk.file_missing("minutes.txt")
    context.close()


def test_folders_page_and_search_on_the_server(browser: Any, site: dict[str, Any], screenshots: Path) -> None:
    context = browser.new_context(viewport={"width": 1180, "height": 760})
    page = context.new_page()
    page.set_default_timeout(8000)
    page.goto(f"{site['url']}/?token={TOKEN}")
    page.click('tr[data-path="logs"] a')
    page.wait_for_selector('tr[data-path="logs/app-0001.log"]')
    assert page.inner_text("#range") == "1\u2013100 of 240"
    page.click("#next")
    page.wait_for_selector('tr[data-path="logs/app-0101.log"]')
    assert page.inner_text("#range") == "101\u2013200 of 240"
    page.click('th[data-sort="size"]')
    page.click('th[data-sort="size"]')  # largest first
    page.wait_for_selector('#rows tr:first-child[data-path="logs/app-0240.log"]')
    page.fill("#search", "app-023")
    page.wait_for_selector('#range:has-text("of 10")')
    assert page.locator("#rows tr").count() == 10
    shoot(page, screenshots, "web-search.png")
    page.click('#crumbs a:has-text("local")')
    page.fill("#search", "q2")
    page.check("#deep")
    page.wait_for_selector('tr[data-path="reports/2026/q2.csv"]')
    assert page.locator("#rows tr").count() == 1

    # A PDF opens in the browser's own viewer: an iframe on the inline URL, served as application/pdf.
    page.fill("#search", "")
    page.uncheck("#deep")
    page.click('tr[data-path="manual.pdf"] button:has-text("Preview")')
    source = page.wait_for_selector("#preview-body iframe").get_attribute("src")
    assert source is not None and "inline=1" in source and "manual.pdf" in source
    served = page.evaluate(
        "async (url) => { const r = await fetch(url); return [r.headers.get('content-type'),"
        " r.headers.get('content-disposition')]; }",
        source,
    )
    assert served[0] == "application/pdf" and served[1].startswith("inline")
    context.close()


def test_without_the_token_nothing_is_served(browser: Any, site: dict[str, Any]) -> None:
    context = browser.new_context()
    page = context.new_page()
    for path in ("/", "/api/disks", "/api/file?disk=local&path=README.md", "/static/app.js"):
        answer = page.goto(site["url"] + path)
        assert answer is not None and answer.status == 401, path
        assert "Team share" not in page.content()
    assert page.goto(site["url"] + "/").status == 401 and "Access token needed" in page.content()
    assert page.goto(f"{site['url']}/?token=not-the-token-0123456789").status == 401
    context.close()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{site['url']}/api/list?disk=local")  # our own loopback server
    assert refused.value.code == 401
    refused.value.close()
