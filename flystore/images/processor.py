"""Image work on any disk with Pillow: thumbnails, optimising, watermarks, conversion, metadata.

Every image is checked for its pixel count from its header before any decoding (a
decompression bomb is refused); Pillow's own MAX_IMAGE_PIXELS guard is left as it is.
Derived images have EXIF orientation applied and carry no EXIF (GPS, camera, owner) at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from typing import Any

from ..errors import DriverNotInstalled, UploadRejected
from ..paths import normalize

__all__ = ["ImageProcessor", "ImageTooLarge", "SyncImageProcessor"]

_SPOOL = 16 * 1024 * 1024
_SAVE_AS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}
_EXT = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif"}


class ImageTooLarge(UploadRejected):
    """An image has more pixels than allowed (``reason`` is ``image_too_large``)."""


def _pil() -> Any:
    try:
        from PIL import Image, ImageOps
    except ModuleNotFoundError as cause:
        raise DriverNotInstalled.for_extra("images", "flystore.images", cause=cause) from cause
    return Image, ImageOps


class SyncImageProcessor:
    """The blocking implementation; ``ImageProcessor`` runs it in a thread."""

    def __init__(self, disk: Any = None, *, manager: Any = None, max_pixels: int = 50_000_000) -> None:
        self._disk, self.manager, self.max_pixels = disk, manager, max_pixels
        _pil()

    def _resolve(self, operand: str, disk: Any = None) -> tuple[Any, str]:
        scheme, sep, rest = operand.partition("://")
        chosen: Any = disk if disk is not None else self._disk
        if sep:
            chosen, operand = scheme, rest
        if chosen is None or isinstance(chosen, str):
            manager = self.manager
            if manager is None:
                from ..fs.hooks import manager as process_manager  # the facade's, without importing it

                manager = process_manager()
            chosen = manager.disk(chosen)
        return chosen, normalize(operand)

    @contextlib.contextmanager
    def _open(self, operand: str, disk: Any = None) -> Iterator[tuple[Any, Any, str]]:
        pil_image, _ops = _pil()
        source_disk, path = self._resolve(operand, disk)
        spool = tempfile.SpooledTemporaryFile(_SPOOL)  # noqa: SIM115  # owned by the image below
        with source_disk.read_stream(path) as stream:
            for chunk in stream:
                spool.write(chunk)
        spool.seek(0)
        try:
            image = pil_image.open(spool)
        except pil_image.DecompressionBombError as cause:
            spool.close()
            raise self._too_large(path, source_disk, str(cause)) from cause
        except Exception as cause:
            spool.close()
            raise UploadRejected(
                "type_mismatch",
                errors=[f"not a readable image: {cause}"],
                path=path,
                disk=getattr(source_disk, "name", None),
            ) from cause
        try:
            width, height = image.size
            if width * height > self.max_pixels:
                raise self._too_large(path, source_disk, f"{width}x{height} pixels is over {self.max_pixels}")
            yield image, source_disk, path
        finally:
            image.close()
            spool.close()

    @staticmethod
    def _too_large(path: str, disk: Any, message: str) -> ImageTooLarge:
        return ImageTooLarge(
            "image_too_large",
            errors=[message],
            path=path,
            disk=getattr(disk, "name", None),
            operation=f"process image ({message})",
        )

    def _oriented(self, image: Any) -> Any:
        _image, image_ops = _pil()
        image.draft("RGB", image.size)  # no-op except for JPEG, which it keeps at full size
        upright = image_ops.exif_transpose(image)
        upright.info.pop("exif", None)
        return upright

    def _save(self, image: Any, disk: Any, path: str, fmt: str, quality: int) -> str:
        fmt = fmt.upper()
        if fmt == "JPG":
            fmt = "JPEG"
        if fmt == "JPEG" and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        buffer = io.BytesIO()
        params: dict[str, Any] = {"optimize": True}
        if fmt in ("JPEG", "WEBP"):
            params["quality"] = quality
        icc = image.info.get("icc_profile")
        if icc:
            params["icc_profile"] = icc  # colour, not privacy: kept
        image.save(buffer, fmt, **params)  # no exif=/xmp= given: Pillow writes none
        disk.put(path, buffer.getvalue(), mimetype=f"image/{fmt.lower()}")
        return str(path)

    def _destination(self, destination: str | None, default_disk: Any, default_path: str) -> tuple[Any, str]:
        if destination is None:
            return default_disk, default_path
        return self._resolve(destination, default_disk if "://" not in destination else None)

    def generate_thumbnails(
        self,
        image_path: str,
        sizes: Any = ((150, 150), (300, 300)),
        crop: bool = True,
        quality: int = 85,
        *,
        disk: Any = None,
        folder: str | None = None,
    ) -> dict[str, str]:
        """Thumbnails beside the image (``thumbnails/<stem>_<w>x<h><ext>``); returns ``{"WxH": path}``.

        Raises:
            ImageTooLarge: too many pixels (checked before decoding).
            FileNotFound: no image at ``image_path``.
        """
        _image, image_ops = _pil()
        with self._open(image_path, disk) as (image, source_disk, path):
            fmt = _SAVE_AS.get(image.format or "", "PNG" if "A" in image.mode else "JPEG")
            largest = max(max(w, h) for w, h in sizes)
            image.draft("RGB", (largest * 2, largest * 2))  # JPEG decodes at a reduced scale: much faster
            upright = image_ops.exif_transpose(image)
            directory, _, name = path.rpartition("/")
            stem = name.rpartition(".")[0] or name
            base = folder if folder is not None else (f"{directory}/thumbnails" if directory else "thumbnails")
            made: dict[str, str] = {}
            for width, height in sizes:
                if crop:
                    thumb = image_ops.fit(upright, (width, height))
                else:
                    thumb = upright.copy()
                    thumb.thumbnail((width, height))
                target = normalize(f"{base}/{stem}_{width}x{height}{_EXT[fmt]}")
                made[f"{width}x{height}"] = self._save(thumb, source_disk, target, fmt, quality)
            return made

    def optimize_image(
        self,
        source: str,
        destination: str | None = None,
        max_width: int | None = None,
        max_height: int | None = None,
        quality: int = 85,
        *,
        disk: Any = None,
    ) -> str:
        """Re-encode (and shrink to fit) an image; returns the destination path (default: in place).

        Raises:
            ImageTooLarge: too many pixels (checked before decoding).
        """
        with self._open(source, disk) as (image, source_disk, path):
            fmt = _SAVE_AS.get(image.format or "", "PNG")
            upright = self._oriented(image)
            if max_width or max_height:
                upright.thumbnail((max_width or upright.width, max_height or upright.height))
            target_disk, target = self._destination(destination, source_disk, path)
            return self._save(upright, target_disk, target, fmt, quality)

    def add_watermark(
        self,
        image: str,
        watermark: str,
        position: str = "bottom-right",
        opacity: float = 0.5,
        destination: str | None = None,
        *,
        disk: Any = None,
    ) -> str:
        """Overlay ``watermark`` (an image path on a disk, or ``text:Some text``); returns the path.

        Raises:
            ImageTooLarge: too many pixels in either image.
        """
        pil_image, _ops = _pil()
        from PIL import ImageDraw

        with self._open(image, disk) as (base, source_disk, path):
            fmt = _SAVE_AS.get(base.format or "", "PNG")
            canvas = self._oriented(base).convert("RGBA")
            if watermark.startswith("text:"):
                mark = pil_image.new("RGBA", (max(canvas.width // 3, 1), max(canvas.height // 10, 1)), (0, 0, 0, 0))
                ImageDraw.Draw(mark).text((2, 2), watermark[5:], fill=(255, 255, 255, 255))
            else:
                with self._open(watermark, source_disk if "://" not in watermark else None) as (loaded, _d, _p):
                    mark = loaded.convert("RGBA")
            alpha = mark.getchannel("A").point(lambda value: int(value * opacity))
            mark.putalpha(alpha)
            x = {"left": 0, "center": (canvas.width - mark.width) // 2}.get(
                position.split("-")[-1], canvas.width - mark.width
            )
            y = (
                0
                if position.startswith("top")
                else ((canvas.height - mark.height) // 2 if position == "center" else canvas.height - mark.height)
            )
            canvas.alpha_composite(mark, (max(x, 0), max(y, 0)))
            target_disk, target = self._destination(destination, source_disk, path)
            return self._save(canvas if fmt != "JPEG" else canvas.convert("RGB"), target_disk, target, fmt, 90)

    def convert(
        self, source: str, destination: str, format: str | None = None, quality: int = 90, *, disk: Any = None
    ) -> str:
        """Convert to ``format`` (default from the destination's extension); returns the path.

        Raises:
            ImageTooLarge: too many pixels.
        """
        with self._open(source, disk) as (image, source_disk, _path):
            target_disk, target = self._destination(destination, source_disk, destination)
            fmt = format or os.path.splitext(target)[1].lstrip(".") or "PNG"
            return self._save(self._oriented(image), target_disk, target, fmt, quality)

    def extract_metadata(self, image_path: str, *, disk: Any = None) -> dict[str, Any]:
        """``width``, ``height``, ``format``, ``mode`` and ``exif`` (tag names to plain values); no decoding.

        Raises:
            ImageTooLarge: too many pixels.
        """
        from PIL import ExifTags

        with self._open(image_path, disk) as (image, _disk, _path):
            exif: dict[str, Any] = {}
            for tag, value in image.getexif().items():
                name = ExifTags.TAGS.get(tag, str(tag))
                exif[name] = _plain(value)
            return {
                "width": image.width,
                "height": image.height,
                "format": image.format,
                "mode": image.mode,
                "exif": exif,
            }


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").rstrip("\0")
    if isinstance(value, (int, str, bool)) or value is None:
        return value
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


class ImageProcessor:
    """The async face the seed awaits; ``.sync`` is the blocking one. Methods as ``SyncImageProcessor``."""

    def __init__(self, disk: Any = None, *, manager: Any = None, max_pixels: int = 50_000_000) -> None:
        self.sync = SyncImageProcessor(disk, manager=manager, max_pixels=max_pixels)

    async def generate_thumbnails(self, *args: Any, **kwargs: Any) -> dict[str, str]:
        return await asyncio.to_thread(self.sync.generate_thumbnails, *args, **kwargs)

    async def optimize_image(self, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self.sync.optimize_image, *args, **kwargs)

    async def add_watermark(self, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self.sync.add_watermark, *args, **kwargs)

    async def convert(self, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self.sync.convert, *args, **kwargs)

    async def extract_metadata(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return await asyncio.to_thread(self.sync.extract_metadata, *args, **kwargs)
