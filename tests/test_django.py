"""flystore.integrations.django.DiskStorage: Django's storage tests, ported, on local, memory, s3 and decorated disks.

What Django's own tests/file_storage assert of a storage (text and binary access, save without a
name, intermediate directories, save leaves the content open, URLs, listdir, traversal refused,
chunks() failing, delete without a name, time zones, duplicate names and truncation) runs here
against DiskStorage on every disk kind; then FileField/ImageField through models, collectstatic,
deconstruction for migrations, and the fake.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import django
import pytest
from django.conf import settings

from tests.drivers.test_s3 import CREDENTIALS, raw_client, remove_bucket

KEY = "base64:" + "QUJD" * 10 + "QUI="
SUFFIX = "[A-Za-z0-9]{7}"


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str) -> Iterator[str]:
    """A flystore config file with the disks the tests store on; one s3 bucket for the module."""
    root = tmp_path_factory.mktemp("django")
    bucket = f"flystore-django-{uuid.uuid4().hex[:12]}"
    client: Any = raw_client(s3_endpoint)
    client.create_bucket(Bucket=bucket)
    disks = {
        "media": {"driver": "local", "root": str(root / "media"), "url": "/media", "signing_key": KEY},
        "static": {"driver": "local", "root": str(root / "static"), "url": "/static"},
        "mem": {"driver": "memory"},
        "s3": {"driver": "s3", "bucket": bucket, "endpoint": s3_endpoint, **CREDENTIALS},
        "secret": {"driver": "encrypted", "disk": "mem", "key": KEY},
        "tenant": {"driver": "scoped", "disk": "s3", "prefix": "tenant-a"},
    }
    path = root / "filesystems.py"
    path.write_text(f"FILESYSTEMS = {{'default': 'media', 'disks': {disks!r}}}\n")
    yield str(path)
    remove_bucket(client, bucket)
    client.close()


@pytest.fixture(scope="module")
def django_ready(config_file: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Django configured once per process: default storage and staticfiles on flystore disks."""
    static_source = tmp_path_factory.mktemp("static-source")
    (static_source / "css").mkdir()
    (static_source / "css" / "site.css").write_text("body { color: teal }\n")
    (static_source / "app.js").write_text("console.log('hi')\n")
    if not settings.configured:
        settings.configure(
            INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.staticfiles", "tests.django_app"],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            STORAGES={
                "default": {"BACKEND": "flystore.integrations.django.DiskStorage",
                            "OPTIONS": {"disk": "s3", "config": config_file}},
                "staticfiles": {"BACKEND": "flystore.integrations.django.DiskStorage",
                                "OPTIONS": {"disk": "static", "config": config_file}},
            },
            STATIC_URL="/static/",
            STATICFILES_DIRS=[str(static_source)],
            USE_TZ=True,
            TIME_ZONE="UTC",
            DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        )
        django.setup()
        from django.core.management import call_command

        call_command("migrate", run_syncdb=True, verbosity=0)
    return config_file


def storage_on(disk: str, config: str, **options: Any) -> Any:
    from flystore.integrations.django import DiskStorage

    return DiskStorage(disk=disk, config=config, **options)


DISKS = ["media", "mem", "s3", "secret", "tenant"]


@pytest.fixture(params=DISKS)
def storage(request: pytest.FixtureRequest, django_ready: str) -> Iterator[Any]:
    store = storage_on(request.param, django_ready)
    folder = f"t-{uuid.uuid4().hex[:8]}"
    store.test_folder = folder
    yield store
    disk = store.disk
    if disk.directory_exists(folder):
        disk.delete_directory(folder)


def content_file(data: bytes | str, name: str | None = None) -> Any:
    from django.core.files.base import ContentFile

    return ContentFile(data, name=name)


# Ports of Django's FileStorageTests ------------------------------------------------------------


def test_text_and_binary_access(storage: Any) -> None:
    name = f"{storage.test_folder}/storage_test"
    assert not storage.exists(name)
    with storage.open(name, "w") as handle:
        handle.write("storage contents")
    assert storage.exists(name)
    with storage.open(name, "r") as handle:
        assert handle.read() == "storage contents"
    with storage.open(name, "rb") as handle:
        assert handle.read() == b"storage contents"
    storage.delete(name)
    assert not storage.exists(name)


def test_save_takes_the_name_of_the_content_when_none_is_given(storage: Any) -> None:
    saved = storage.save(None, content_file(b"custom contents", name=f"{storage.test_folder}/test.file"))
    assert saved == f"{storage.test_folder}/test.file"
    assert storage.disk.get(saved) == b"custom contents"


def test_save_with_a_path_makes_the_directories(storage: Any) -> None:
    folder = storage.test_folder
    assert not storage.exists(f"{folder}/path/to")
    storage.save(f"{folder}/path/to/test.file", content_file(b"file saved with path"))
    assert storage.exists(f"{folder}/path/to")
    with storage.open(f"{folder}/path/to/test.file") as handle:
        assert handle.read() == b"file saved with path"


def test_save_leaves_the_content_open(storage: Any) -> None:
    from django.core.files.uploadedfile import InMemoryUploadedFile, TemporaryUploadedFile

    with TemporaryUploadedFile("test", "text/plain", 1, "utf8") as upload:
        upload.write(b"1")
        upload.seek(0)
        storage.save(f"{storage.test_folder}/a.file", upload)
        assert not upload.closed and not upload.file.closed
    memory = InMemoryUploadedFile(io.BytesIO(b"1"), "", "test", "text/plain", 1, "utf8")
    with memory:
        storage.save(f"{storage.test_folder}/b.file", memory)
        assert not memory.closed and not memory.file.closed


def test_listdir_gives_directories_and_files_by_name(storage: Any) -> None:
    folder = storage.test_folder
    storage.save(f"{folder}/storage_test_1", content_file(b"x"))
    storage.save(f"{folder}/storage_test_2", content_file(b"y"))
    storage.save(f"{folder}/storage_dir_1/inner", content_file(b"z"))
    directories, files = storage.listdir(folder)
    assert set(directories) == {"storage_dir_1"}
    assert set(files) == {"storage_test_1", "storage_test_2"}
    assert storage.listdir(f"{folder}/never-made") == ([], [])


@pytest.mark.parametrize("name", ["..", "../x", "a/../../x", "/etc/passwd", "\\etc\\passwd"])
def test_names_that_leave_the_disk_are_refused_on_every_method(storage: Any, name: str) -> None:
    from django.core.exceptions import SuspiciousOperation

    calls = [
        lambda: storage.exists(name), lambda: storage.open(name), lambda: storage.size(name),
        lambda: storage.save(name, content_file(b"evil")), lambda: storage.delete(name),
        lambda: storage.listdir(name), lambda: storage.get_modified_time(name),
    ]
    for call in calls:
        with pytest.raises(SuspiciousOperation):
            call()


def test_a_failing_content_raises_and_leaves_nothing(storage: Any) -> None:
    from django.core.files.base import ContentFile

    def failing_chunks(chunk_size: int | None = None) -> Iterator[bytes]:
        yield b"first half "
        raise OSError("the upload broke")

    broken = ContentFile(b"whatever")
    broken.chunks = failing_chunks  # type: ignore[method-assign]
    name = f"{storage.test_folder}/error.file"
    with pytest.raises(OSError, match="the upload broke"):
        storage.save(name, broken)
    assert not storage.exists(name)
    assert storage.listdir(storage.test_folder) == ([], [])


def test_delete_without_a_name_fails_loudly(storage: Any) -> None:
    with pytest.raises(ValueError, match="name must be given"):
        storage.delete("")


def test_delete_of_a_missing_file_is_quiet(storage: Any) -> None:
    storage.delete(f"{storage.test_folder}/never-there")


def test_modified_time_is_aware_utc_with_use_tz_and_naive_local_without(storage: Any) -> None:
    from django.test import override_settings

    name = storage.save(f"{storage.test_folder}/test.file.tz", content_file(b"custom contents"))
    aware = storage.get_modified_time(name)
    assert aware.tzinfo is not None and aware.utcoffset() == timedelta(0)
    assert abs(datetime.now(timezone.utc) - aware) < timedelta(seconds=30)
    with override_settings(USE_TZ=False):
        naive = storage.get_modified_time(name)
    assert naive.tzinfo is None
    assert abs(naive - datetime.now()) < timedelta(seconds=30)


def test_a_taken_name_gets_a_random_suffix_and_truncation_respects_max_length(storage: Any) -> None:
    from django.core.exceptions import SuspiciousFileOperation

    folder = storage.test_folder
    first = storage.save(f"{folder}/multiple_files.txt", content_file(b"Same Content"))
    second = storage.save(f"{folder}/multiple_files.txt", content_file(b"Other Content"))
    assert first == f"{folder}/multiple_files.txt"
    assert re.fullmatch(rf"{folder}/multiple_files_{SUFFIX}\.txt", second)
    assert storage.disk.get(first) == b"Same Content" and storage.disk.get(second) == b"Other Content"
    limit = len(f"{folder}/fi_0000000.ext")  # room for two letters of the root and the suffix, as Django's test
    storage.save(f"{folder}/filename.ext", content_file(b"a"), max_length=limit)
    truncated = storage.save(f"{folder}/filename.ext", content_file(b"b"), max_length=limit)
    assert len(truncated) <= limit and re.fullmatch(rf"{folder}/fi_{SUFFIX}\.ext", truncated)
    short = f"{folder}/short.longext"
    storage.save(short, content_file(b"c"), max_length=len(short))
    with pytest.raises(SuspiciousFileOperation, match="can not find an available filename"):
        storage.save(short, content_file(b"d"), max_length=len(short))


def test_overwrite_keeps_the_name(django_ready: str) -> None:
    store = storage_on("mem", django_ready, overwrite=True)
    assert store.save("over/x.txt", content_file(b"one")) == "over/x.txt"
    assert store.save("over/x.txt", content_file(b"two")) == "over/x.txt"
    assert store.disk.get("over/x.txt") == b"two"


def test_size_and_missing_files(storage: Any) -> None:
    name = storage.save(f"{storage.test_folder}/sized", content_file(b"12345"))
    assert storage.size(name) == 5
    with pytest.raises(FileNotFoundError):
        storage.size(f"{storage.test_folder}/absent")
    with pytest.raises(FileNotFoundError):
        storage.open(f"{storage.test_folder}/absent")


# URLs and paths ---------------------------------------------------------------------------------


def test_urls_quote_like_django_and_never_become_protocol_relative(django_ready: str) -> None:
    store = storage_on("media", django_ready, base_url="/test_media_url")
    assert store.url("test.file") == "/test_media_url/test.file"
    assert store.url(r"~!*()'@#$%^&*abc`+ =.file") == "/test_media_url/~!*()'%40%23%24%25%5E%26*abc%60%2B%20%3D.file"
    for evil in ["/evil.com", r"\evil.com", "///evil.com", r"\\\evil.com"]:
        assert store.url(evil) == "/test_media_url/evil.com"
    assert storage_on("media", django_ready).url("a b.txt") == "/media/a%20b.txt"


def test_temporary_urls_are_signed_by_the_disk(django_ready: str) -> None:
    from flystore import verify_temporary_url
    from flystore.fs import hooks

    store = storage_on("media", django_ready, temporary_urls=60)
    store.save("signed.txt", content_file(b"x"))
    target = verify_temporary_url(store.url("signed.txt"), manager=hooks.manager(django_ready))
    assert (target.disk, target.path) == ("media", "signed.txt")


def test_path_is_local_only(django_ready: str) -> None:
    local = storage_on("media", django_ready)
    name = local.save("p/local.txt", content_file(b"here"))
    assert Path(local.path(name)).read_bytes() == b"here"
    assert local.get_accessed_time(name).tzinfo is not None
    assert abs(local.get_created_time(name) - datetime.now(timezone.utc)) < timedelta(seconds=30)
    remote = storage_on("s3", django_ready)
    with pytest.raises(NotImplementedError):
        remote.path("anything")
    with pytest.raises(NotImplementedError):
        remote.get_created_time("anything")


# Models, collectstatic, migrations, the fake ------------------------------------------------------


def test_file_field_saves_reads_in_pieces_and_rewrites(django_ready: str) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.django_app.models import Document

    document = Document.objects.create(upload=SimpleUploadedFile("assignment.txt", b"content"))
    assert document.upload.name.startswith("docs/assignment")
    disk = storage_on("s3", django_ready).disk
    assert disk.get(document.upload.name) == b"content"
    document.upload.open()
    assert document.upload.read(3) == b"con" and document.upload.read() == b"tent"
    assert list(document.upload.chunks(chunk_size=2)) == [b"co", b"nt", b"en", b"t"]
    document.upload.close()
    with document.upload as upload:
        upload.open("wb")
        upload.write(b"updated")
    document.refresh_from_db()
    assert document.upload.read() == b"updated"
    document.upload.close()
    assert document.upload.size == 7
    twin = Document.objects.create(upload=SimpleUploadedFile("assignment.txt", b"other"))
    assert twin.upload.name != document.upload.name and disk.get(document.upload.name) == b"updated"


def test_image_field_reads_dimensions_from_the_disk(django_ready: str) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from tests.django_app.models import Photo

    buffer = io.BytesIO()
    Image.new("RGB", (37, 21), "orange").save(buffer, "PNG")
    photo = Photo.objects.create(image=SimpleUploadedFile("dot.png", buffer.getvalue(), content_type="image/png"))
    fresh = Photo.objects.get(pk=photo.pk)
    assert (fresh.width, fresh.height) == (37, 21)
    assert (fresh.image.width, fresh.image.height) == (37, 21)
    disk = storage_on("s3", django_ready).disk
    assert disk.mime_type(fresh.image.name) == "image/png"


def test_collectstatic_copies_once_then_sees_nothing_modified(django_ready: str) -> None:
    from django.core.management import call_command

    out = io.StringIO()
    call_command("collectstatic", interactive=False, verbosity=1, stdout=out)
    assert "2 static files copied" in out.getvalue()
    static = storage_on("static", django_ready).disk
    assert static.get("css/site.css") == b"body { color: teal }\n"
    again = io.StringIO()
    call_command("collectstatic", interactive=False, verbosity=1, stdout=again)
    assert "0 static files copied" in again.getvalue() and "2 unmodified" in again.getvalue()


def test_default_storage_and_storages_use_the_disks(django_ready: str) -> None:
    from django.core.files.storage import default_storage, storages

    assert default_storage.disk_name == "s3"
    assert storages["staticfiles"].disk_name == "static"
    name = default_storage.save("via-default.txt", content_file(b"d"))
    assert storage_on("s3", django_ready).disk.get(name) == b"d"


def test_deconstructs_for_migrations_and_pickles(django_ready: str) -> None:
    store = storage_on("s3", django_ready, overwrite=True)
    path, args, kwargs = store.deconstruct()
    assert path == "flystore.integrations.django.DiskStorage"
    assert args == () and kwargs == {"disk": "s3", "config": django_ready, "overwrite": True}
    copy = pickle.loads(pickle.dumps(store))
    copy.save("pickled.txt", content_file(b"p"))
    assert store.disk.get("pickled.txt") == b"p"


def test_a_fake_of_the_process_storage_reaches_django(django_ready: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from flystore import Storage
    from flystore.integrations.django import DiskStorage

    monkeypatch.chdir(tmp_path)
    Storage.configure({"default": "local", "disks": {"local": {"driver": "local", "root": str(tmp_path / "real")}}})
    try:
        fake = Storage.fake("local")
        name = DiskStorage().save("avatars/me.png", content_file(b"png"))
        fake.assert_exists(name)
        assert not (tmp_path / "real" / "avatars").exists()
    finally:
        Storage.restore()
        Storage._config = None
        Storage._disks.clear()


def test_without_django_the_import_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['django'] = None\n"
        "try:\n    import flystore.integrations.django\n"
        "except Exception as error:\n    print(type(error).__name__, error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert result.stdout.startswith("DriverNotInstalled")
    assert 'pip install "flystore[django]"' in result.stdout
