"""Tenant disks: a prefix or a bucket per tenant, quotas checked before anything is stored, usage."""

from __future__ import annotations

import io
import pickle
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flystore import FilesystemAdapter, StorageManager, verify_temporary_url
from flystore.errors import (
    InvalidConfiguration,
    PathTraversalDetected,
    QuotaExceeded,
    UnableToGenerateTemporaryUrl,
    UnableToWriteFile,
)
from flystore.tenants import TenantDisk, TenantUsage, tenants_of, validate_tenant_name
from flystore.testing import DiskContract
from tests.drivers.test_s3 import CREDENTIALS, MiB, raw_client, remove_bucket


def tenancy(**tenants: Any) -> StorageManager:
    return StorageManager({"disks": {"files": {"driver": "memory"}}, "tenants": {"disk": "files", **tenants}},
                          app_key="base64:" + "A" * 44)


def stored(manager: StorageManager) -> list[str]:
    return manager.disk("files").all_files()


class _Boom(Exception):
    pass


# -- the contract, on a tenant's disk ---------------------------------------------------------------


class TestTenantDiskWithQuotas(DiskContract):
    @pytest.fixture
    def disk(self) -> Iterator[FilesystemAdapter]:
        manager = tenancy(max_bytes=50_000_000, max_files=10_000)
        manager.disk("files").put("tenants/other/kept.txt", "another tenant's file")
        yield manager.tenant("acme")


# -- where files go ----------------------------------------------------------------------------------


def test_each_tenant_lives_under_its_prefix_and_sees_only_its_files() -> None:
    manager = tenancy()
    acme, globex = manager.tenant("acme"), manager.for_tenant("globex")
    assert isinstance(acme, TenantDisk) and acme.tenant == "acme" and acme.base == "files"
    acme.put("reports/q3.csv", "a")
    globex.put("reports/q3.csv", "g")
    assert stored(manager) == ["tenants/acme/reports/q3.csv", "tenants/globex/reports/q3.csv"]
    assert acme.get("reports/q3.csv") == b"a" and globex.get("reports/q3.csv") == b"g"
    assert acme.all_files() == ["reports/q3.csv"]
    assert manager.tenant("acme") is acme  # one disk per tenant, one quota ledger
    assert acme.name == "files@acme"


def test_the_prefix_template_and_the_disk_are_configurable() -> None:
    manager = StorageManager({"disks": {"files": {"driver": "memory"}, "other": {"driver": "memory"}},
                              "tenants": {"prefix": "orgs/{tenant}/data"}})
    manager.tenant("acme").put("a.txt", "x")
    manager.tenant("acme", disk="other").put("b.txt", "y")
    assert stored(manager) == ["orgs/acme/data/a.txt"]
    assert manager.disk("other").all_files() == ["orgs/acme/data/b.txt"]


def test_a_tenant_disk_inherits_the_url_and_its_signed_links_verify() -> None:
    manager = StorageManager({"disks": {"public": {"driver": "memory", "url": "https://cdn.test/files"}},
                              "tenants": {"disk": "public"}}, app_key="base64:" + "A" * 44)
    acme = manager.tenant("acme")
    acme.put("logo.png", b"png")
    assert acme.url("logo.png") == "https://cdn.test/files/tenants/acme/logo.png"
    link = acme.temporary_url("logo.png", expires=60)
    target = verify_temporary_url(link, manager=manager)
    assert (target.disk, target.path) == ("public@acme", "logo.png")


# -- tenant names -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [
    "", ".", "..", "a/b", "../acme", "a\\b", "acme/..", "..acme", "a\x00b", "tab\there", "new\nline", "\x7f",
    " acme", "acme ", "zero\u200bwidth", "bidi\u202eemca", "{tenant}", "x" * 129, "\ud800",
])
def test_hostile_tenant_names_are_refused(name: str) -> None:
    manager = tenancy()
    with pytest.raises(PathTraversalDetected):
        manager.tenant(name)
    assert stored(manager) == []


@pytest.mark.parametrize("name", ["acme", "ACME-2", "tenant_42", "müller", "a.b", "x" * 128, "100%", "a b"])
def test_ordinary_tenant_names_are_accepted(name: str) -> None:
    assert validate_tenant_name(name) == name


def test_a_non_string_tenant_is_refused() -> None:
    with pytest.raises(PathTraversalDetected):
        validate_tenant_name(42)


# -- quotas -----------------------------------------------------------------------------------------


def test_a_write_past_max_bytes_is_refused_before_anything_is_stored() -> None:
    manager = tenancy(max_bytes=10)
    acme = manager.tenant("acme")
    acme.put("a.txt", "12345")
    with pytest.raises(QuotaExceeded) as caught:
        acme.put("b.txt", "123456")
    error = caught.value
    assert isinstance(error, UnableToWriteFile)
    assert (error.tenant, error.quota, error.limit, error.usage) == ("acme", "max_bytes", 10, 11)
    assert (error.disk, error.path) == ("files@acme", "b.txt")
    assert stored(manager) == ["tenants/acme/a.txt"]
    acme.put("b.txt", "12345")  # exactly at the limit is allowed
    assert acme.usage() == TenantUsage("acme", 2, 10, None, 10)


def test_a_write_past_max_files_is_refused_and_overwrites_do_not_count_as_new_files() -> None:
    manager = tenancy(max_files=2)
    acme = manager.tenant("acme")
    acme.put("a.txt", "1")
    acme.put("b.txt", "2")
    acme.put("a.txt", "replaced")
    with pytest.raises(QuotaExceeded) as caught:
        acme.put("c.txt", "3")
    assert (caught.value.quota, caught.value.limit, caught.value.usage) == ("max_files", 2, 3)
    acme.delete("b.txt")
    acme.put("c.txt", "3")
    assert acme.all_files() == ["a.txt", "c.txt"]


def test_overwriting_counts_only_the_growth() -> None:
    acme = tenancy(max_bytes=10).tenant("acme")
    acme.put("a.txt", "1234567890")
    acme.put("a.txt", "0987654321")  # same size: allowed when full
    acme.put("a.txt", "123")
    acme.put("b.txt", "1234567")
    assert acme.usage().bytes == 10


def test_a_stream_past_the_quota_aborts_and_leaves_no_partial_object() -> None:
    manager = tenancy(max_bytes=1_000_000)
    acme = manager.tenant("acme")
    consumed: list[int] = []

    def chunks() -> Iterator[bytes]:
        for index in range(50):
            consumed.append(index)
            yield b"x" * 100_000

    with pytest.raises(QuotaExceeded) as caught:
        acme.write_stream("huge.bin", chunks())
    assert caught.value.usage > 1_000_000
    assert len(consumed) < 50  # stopped as soon as the quota was passed, not after reading everything
    assert stored(manager) == [] and acme.usage().bytes == 0
    with pytest.raises(QuotaExceeded), acme.open("handle.bin", "wb") as handle:
        handle.write(b"y" * 1_000_001)
    assert stored(manager) == []
    acme.put("fits.bin", io.BytesIO(b"z" * 1_000_000))
    assert acme.size("fits.bin") == 1_000_000


def test_a_native_writer_past_the_quota_publishes_nothing_even_when_closed_anyway(tmp_path: Path) -> None:
    manager = StorageManager({"disks": {"local": {"driver": "local", "root": str(tmp_path)}},
                              "tenants": {"disk": "local", "max_bytes": 100, "max_files": 2}})
    acme = manager.tenant("acme")
    with acme.open("fits.bin", "wb") as handle:  # the local disk's own atomic writer
        handle.write(b"x" * 60)
    assert acme.usage().bytes == 60
    with pytest.raises(QuotaExceeded), acme.open("big.bin", "wb") as handle:
        handle.write(b"y" * 30)
        handle.write(b"y" * 30)
    handle = acme.open("sneaky.bin", "wb")
    handle.write(b"z" * 30)
    with pytest.raises(QuotaExceeded) as caught:
        handle.write(b"z" * 30)
    assert (caught.value.disk, caught.value.path) == ("local@acme", "sneaky.bin")
    with pytest.raises(QuotaExceeded):
        handle.close()  # closing a refused writer discards it instead of publishing 30 bytes
    assert [path.name for path in tmp_path.rglob("*") if path.is_file()] == ["fits.bin"]
    with acme.open("second.bin", "wb") as handle:
        handle.write(b"w" * 40)  # everything the refused writers claimed was given back
    with pytest.raises(QuotaExceeded) as caught:
        acme.open("third.bin", "wb")  # a third file is refused before it is opened
    assert caught.value.quota == "max_files"
    assert acme.usage() == TenantUsage("acme", 2, 100, 2, 100)


def test_a_failing_stream_releases_what_it_reserved() -> None:
    acme = tenancy(max_bytes=100).tenant("acme")

    def broken() -> Iterator[bytes]:
        yield b"x" * 90
        raise _Boom("the source died")

    with pytest.raises((_Boom, UnableToWriteFile)):
        acme.write_stream("broken.bin", broken())
    acme.put("after.bin", b"y" * 100)  # the 90 bytes of the failed write were given back
    assert acme.usage().bytes == 100


def test_copy_append_and_move_respect_the_quota() -> None:
    manager = tenancy(max_bytes=10, max_files=3)
    acme = manager.tenant("acme")
    acme.put("a.txt", "123456")
    with pytest.raises(QuotaExceeded):
        acme.copy("a.txt", "b.txt")
    with pytest.raises(QuotaExceeded):
        acme.append("a.txt", "12345")
    assert acme.get("a.txt") == b"123456"
    acme.put("small.txt", "1")
    acme.move("small.txt", "a.txt")  # replacing a file frees its bytes
    assert acme.usage() == TenantUsage("acme", 1, 1, 3, 10)
    acme.copy("a.txt", "b.txt")
    assert stored(manager) == ["tenants/acme/a.txt", "tenants/acme/b.txt"]


def test_deleting_a_directory_frees_its_files() -> None:
    acme = tenancy(max_files=2).tenant("acme")
    acme.put("old/a.txt", "1")
    acme.put("old/b.txt", "2")
    acme.delete_directory("old")
    acme.put("new/a.txt", "1")
    acme.put("new/b.txt", "2")
    assert acme.usage().files == 2


def test_files_already_there_count_and_other_tenants_do_not() -> None:
    manager = tenancy(max_bytes=10)
    manager.disk("files").put("tenants/acme/legacy.bin", b"x" * 8)
    manager.disk("files").put("tenants/globex/big.bin", b"x" * 100)
    acme = manager.tenant("acme")
    with pytest.raises(QuotaExceeded):
        acme.put("new.bin", b"123")
    acme.put("new.bin", b"12")
    assert acme.usage() == TenantUsage("acme", 2, 10, None, 10)


def test_per_tenant_quotas_override_the_defaults() -> None:
    manager = tenancy(max_bytes=5, quotas={"acme": {"max_bytes": 100}, "free": {"max_bytes": None}})
    manager.tenant("acme").put("a.bin", b"x" * 100)
    manager.tenant("free").put("a.bin", b"x" * 1000)
    with pytest.raises(QuotaExceeded):
        manager.tenant("globex").put("a.bin", b"x" * 6)
    assert not isinstance(manager.tenant("free").backend, type(manager.tenant("acme").backend))


def test_threads_racing_past_the_quota_never_store_more_than_it() -> None:
    manager = tenancy(max_bytes=1000, max_files=1000)
    acme = manager.tenant("acme")
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def writer(worker: int) -> None:
        barrier.wait()
        for index in range(5):
            try:
                acme.put(f"w{worker}/{index}.bin", b"x" * 100)
                result = "ok"
            except QuotaExceeded:
                result = "refused"
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=writer, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 10 and outcomes.count("refused") == 30
    assert acme.usage().bytes == 1000 and len(stored(manager)) == 10


def test_an_upload_url_would_bypass_the_quota_so_it_is_refused() -> None:
    acme = tenancy(max_bytes=10).tenant("acme")
    with pytest.raises(UnableToGenerateTemporaryUrl):
        acme.temporary_upload_url("direct.bin")


def test_quota_exceeded_pickles_with_its_attributes() -> None:
    acme = tenancy(max_files=0).tenant("acme")
    with pytest.raises(QuotaExceeded) as caught:
        acme.put("a.txt", "x")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is QuotaExceeded
    assert (copy.tenant, copy.quota, copy.limit, copy.usage, copy.disk, copy.path) == (
        "acme", "max_files", 0, 1, "files@acme", "a.txt")
    assert str(copy) == str(caught.value)


def test_usage_without_quotas_counts_too() -> None:
    acme = tenancy().tenant("acme")
    acme.put("a/b.txt", "123")
    acme.make_directory("empty")
    assert acme.usage() == TenantUsage("acme", 1, 3) == tenants_of(acme.manager).usage("acme")  # type: ignore[arg-type]


# -- a bucket per tenant ----------------------------------------------------------------------------


def test_a_bucket_per_tenant_from_a_template(s3_endpoint: str) -> None:
    run = uuid.uuid4().hex[:8]
    client: Any = raw_client(s3_endpoint)
    for tenant in ("acme", "globex"):
        client.create_bucket(Bucket=f"app-{run}-{tenant}")
    manager = StorageManager({
        "disks": {"s3": {"driver": "s3", "bucket": "unused", "endpoint": s3_endpoint, **CREDENTIALS}},
        "tenants": {"disk": "s3", "bucket": f"app-{run}-{{tenant}}", "max_files": 2},
    })
    try:
        acme, globex = manager.tenant("acme"), manager.tenant("globex")
        acme.put("a.txt", "a")
        globex.put("a.txt", "g")
        acme.put("b.txt", "b")
        with pytest.raises(QuotaExceeded):
            acme.put("c.txt", "c")
        keys = {tenant: sorted(item["Key"] for item in client.list_objects_v2(
            Bucket=f"app-{run}-{tenant}").get("Contents", [])) for tenant in ("acme", "globex")}
        assert keys == {"acme": ["a.txt", "b.txt"], "globex": ["a.txt"]}
        assert globex.all_files() == ["a.txt"]
        acme.close()
        globex.close()
    finally:
        for tenant in ("acme", "globex"):
            remove_bucket(client, f"app-{run}-{tenant}")
        client.close()


def test_a_stream_past_the_quota_leaves_no_object_nor_multipart_upload_on_s3(s3_endpoint: str) -> None:
    bucket = f"flystore-{uuid.uuid4().hex[:16]}"
    client: Any = raw_client(s3_endpoint)
    client.create_bucket(Bucket=bucket)
    manager = StorageManager({
        "disks": {"s3": {"driver": "s3", "bucket": bucket, "endpoint": s3_endpoint, "part_size": 5 * MiB,
                         **CREDENTIALS}},
        "tenants": {"disk": "s3", "max_bytes": 6 * MiB},
    })
    try:
        acme = manager.tenant("acme")
        with pytest.raises(QuotaExceeded):
            acme.write_stream("big.bin", (b"x" * MiB for _ in range(7)))  # a part is sent, then refused
        assert client.list_objects_v2(Bucket=bucket).get("Contents", []) == []
        assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
        acme.put("fits.bin", b"x" * 1000)
        assert acme.usage().bytes == 1000
    finally:
        manager.disk("s3").close()
        remove_bucket(client, bucket)
        client.close()


def test_a_stream_past_the_quota_leaves_no_temporary_file_on_a_local_disk(tmp_path: Path) -> None:
    manager = StorageManager({"disks": {"local": {"driver": "local", "root": str(tmp_path)}},
                              "tenants": {"disk": "local", "max_bytes": 100_000}})
    with pytest.raises(QuotaExceeded):
        manager.tenant("acme").write_stream("big.bin", (b"x" * 30_000 for _ in range(10)))
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []


# -- configuration ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("section", "option"), [
    ({"prefix": "tenants"}, "tenants.prefix"),
    ({"prefix": "t-{tenant}"}, "tenants.prefix"),
    ({"prefix": "{tenant}/{tenant}"}, "tenants.prefix"),
    ({"max_bytes": -1}, "tenants.max_bytes"),
    ({"max_files": "many"}, "tenants.max_files"),
    ({"quotas": {"acme": {"max_size": 1}}}, "tenants.quotas.acme"),
    ({"quotas": ["acme"]}, "tenants.quotas"),
    ({"bucket": "no-placeholder"}, "tenants.bucket"),
])
def test_a_bad_tenants_section_is_refused_naming_the_option(section: dict[str, Any], option: str) -> None:
    manager = StorageManager({"disks": {"files": {"driver": "memory"}}, "tenants": section})
    with pytest.raises(InvalidConfiguration) as caught:
        manager.tenant("acme")
    assert caught.value.option == option


def test_reconfiguring_the_manager_drops_the_tenant_disks() -> None:
    manager = tenancy(max_files=1)
    manager.tenant("acme").put("a.txt", "x")
    manager.configure({"disks": {"files": {"driver": "memory"}}, "tenants": {"disk": "files"}})
    fresh = manager.tenant("acme")
    fresh.put("a.txt", "x")
    fresh.put("b.txt", "x")  # no quota any more, on the new memory disk
    assert fresh.all_files() == ["a.txt", "b.txt"]
