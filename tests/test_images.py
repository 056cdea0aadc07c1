"""flystore.images with real Pillow on real disks: bombs refused before decoding, EXIF handled."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest
from PIL import Image

from flystore import StorageManager
from flystore.images import ImageProcessor, ImageTooLarge

GPS_IFD = 0x8825
ORIENTATION = 0x0112


@pytest.fixture
def manager(tmp_path: Path) -> StorageManager:
    return StorageManager(
        {
            "default": "local",
            "disks": {"local": {"driver": "local", "root": str(tmp_path / "root")}, "photos": {"driver": "memory"}},
        }
    )


def camera_jpeg(size: tuple[int, int] = (400, 200), orientation: int = 1) -> bytes:
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))  # left half red
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "CameraMaker"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 24.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=95)
    return buffer.getvalue()


def tiny_bomb_png(width: int = 50_000, height: int = 50_000) -> bytes:
    """A valid PNG header of 2.5 gigapixels whose data is a few KiB of zlib'd zeros."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])  # 1-bit grey
    row = b"\0" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(64)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def test_thumbnails_awaitable_on_any_disk(manager: StorageManager) -> None:
    manager.disk("photos").put("uploads/photo.jpg", camera_jpeg())
    processor = ImageProcessor(manager=manager)
    thumbs = asyncio.run(
        processor.generate_thumbnails(
            image_path="photos://uploads/photo.jpg", sizes=[(150, 150), (300, 300)], crop=True, quality=85
        )
    )
    assert set(thumbs) == {"150x150", "300x300"}
    for key, path in thumbs.items():
        with Image.open(io.BytesIO(manager.disk("photos").get(path))) as thumb:
            assert f"{thumb.width}x{thumb.height}" == key
            assert not thumb.getexif() and "exif" not in thumb.info
    fitted = processor.sync.generate_thumbnails("uploads/photo.jpg", [(100, 100)], crop=False, disk="photos")
    with Image.open(io.BytesIO(manager.disk("photos").get(fitted["100x100"]))) as thumb:
        assert thumb.size == (100, 50)


def test_exif_orientation_applied_and_gps_stripped(manager: StorageManager) -> None:
    disk = manager.disk("local")
    disk.put("in.jpg", camera_jpeg(orientation=6))  # 6: rotate 90 degrees clockwise to display
    processor = ImageProcessor(manager=manager).sync
    assert processor.extract_metadata("in.jpg")["exif"]["Make"] == "CameraMaker"
    out = processor.optimize_image("in.jpg", "out.jpg", max_width=100, quality=80)
    with Image.open(io.BytesIO(disk.get(out))) as image:
        assert image.size == (100, 200)  # portrait now
        assert GPS_IFD not in image.getexif() and not image.getexif()
        top = image.convert("RGB").getpixel((50, 5))
        assert top[0] > 200 and top[2] < 60, "the red half must be on top after rotating"
    png = processor.convert("in.jpg", "photos://converted.png")
    with Image.open(io.BytesIO(manager.disk("photos").get(png))) as image:
        assert image.format == "PNG" and not image.getexif()


def test_watermark_and_metadata(manager: StorageManager) -> None:
    disk = manager.disk("local")
    disk.put("a.png", io.BytesIO(_png((200, 100), (0, 0, 0))))
    disk.put("mark.png", io.BytesIO(_png((20, 10), (255, 255, 255))))
    processor = ImageProcessor(manager=manager).sync
    out = processor.add_watermark("a.png", "mark.png", position="bottom-right", opacity=1.0, destination="w.png")
    with Image.open(io.BytesIO(disk.get(out))) as image:
        assert image.convert("RGB").getpixel((195, 95)) == (255, 255, 255)
        assert image.convert("RGB").getpixel((5, 5)) == (0, 0, 0)
    details = asyncio.run(ImageProcessor(manager=manager).extract_metadata("w.png"))
    assert (details["width"], details["height"], details["format"]) == (200, 100, "PNG")


def _png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def test_bomb_is_refused_before_decoding_in_a_memory_limited_process(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(tiny_bomb_png())
    assert bomb.stat().st_size < 100_000
    script = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (600 * 1024 * 1024, 600 * 1024 * 1024))
        from PIL import Image
        assert Image.MAX_IMAGE_PIXELS is not None
        from flystore import StorageManager
        from flystore.images import ImageProcessor, ImageTooLarge
        m = StorageManager({{"default": "d", "disks": {{"d": {{"driver": "local", "root": {str(tmp_path)!r}}}}}}})
        for call in (lambda p: p.generate_thumbnails("bomb.png", [(10, 10)]), lambda p: p.extract_metadata("bomb.png"),
                     lambda p: p.optimize_image("bomb.png", "o.png")):
            try:
                call(ImageProcessor(manager=m, max_pixels=10**9).sync)
            except ImageTooLarge as e:
                assert e.reason == "image_too_large", e.reason
            else:
                sys.exit("not refused")
        assert Image.MAX_IMAGE_PIXELS is not None, "Pillow's guard was disabled"
        print("refused")
    """)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(Path(__file__).resolve().parent.parent),
    )
    assert done.returncode == 0 and "refused" in done.stdout, done.stderr[-2000:]


def test_own_pixel_limit(manager: StorageManager) -> None:
    manager.disk("local").put("big.png", _png((2000, 1000), (1, 2, 3)))
    with pytest.raises(ImageTooLarge) as caught:
        ImageProcessor(manager=manager, max_pixels=1_000_000).sync.generate_thumbnails("big.png", [(10, 10)])
    assert caught.value.reason == "image_too_large" and caught.value.path == "big.png"


def test_s3_operands_against_moto(s3_endpoint: str, tmp_path: Path) -> None:
    import uuid

    bucket = f"img-{uuid.uuid4().hex[:12]}"
    storage = StorageManager(
        {
            "default": "local",
            "disks": {
                "local": {"driver": "local", "root": str(tmp_path)},
                "s3": {
                    "driver": "s3",
                    "bucket": bucket,
                    "endpoint": s3_endpoint,
                    "create_bucket": True,
                    "key": "testing",
                    "secret": "testing",
                    "region": "us-east-1",
                },
            },
        }
    )
    storage.disk("s3").put("photos/a.jpg", camera_jpeg())
    processor = ImageProcessor(manager=storage)
    thumbs = asyncio.run(processor.generate_thumbnails("s3://photos/a.jpg", [(64, 64)]))
    with Image.open(io.BytesIO(storage.disk("s3").get(thumbs["64x64"]))) as thumb:
        assert thumb.size == (64, 64) and not thumb.getexif()
    local = processor.sync.convert("s3://photos/a.jpg", "local://a.png")
    assert storage.disk("local").file_exists(local)
    storage.disk("s3").delete_directory("photos")
