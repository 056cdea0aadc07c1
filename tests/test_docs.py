"""Every ```python example in README.md and docs/ runs (blocks of one page share a namespace)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from flystore import Storage

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


@pytest.fixture(autouse=True)
def _fresh_global_storage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLYSTORE_CONFIG", raising=False)
    monkeypatch.setenv("APP_KEY", "base64:" + "B" * 44)
    Storage.restore()
    Storage._config = None
    Storage._disks.clear()
    yield
    Storage.restore()
    Storage._config = None
    Storage._disks.clear()


def test_there_are_documented_examples() -> None:
    assert sum(len(_BLOCK.findall(page.read_text())) for page in PAGES) >= 20


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(ROOT)) for page in PAGES])
def test_the_examples_of_a_page_run(page: Path) -> None:
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for number, block in enumerate(_BLOCK.findall(page.read_text()), start=1):
        code = compile(block, f"{page.relative_to(ROOT)} (python block {number})", "exec")
        exec(code, namespace)  # the docs are ours; running them is the point
