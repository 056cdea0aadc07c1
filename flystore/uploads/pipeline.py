"""The seed's FlextFileProcessor: ``Pipeline().add_processor(step)`` then ``await pipeline.process_upload(file)``.

Stream steps (``VirusScanner``) run on the chunks while they are stored; the other steps run
on the stored file, in the order they were added.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .config import UploadConfig, UploadResult
from .handler import UploadHandler

__all__ = ["ImageOptimizer", "ImageResizer", "MetadataExtractor", "Pipeline", "Step", "VirusScanner"]


class Step:
    """A pipeline step. ``streaming`` steps adjust the config; others ``apply`` to the stored file."""

    streaming = False

    def configure(self, config: UploadConfig) -> UploadConfig:
        return config

    def apply(self, handler: UploadHandler, result: UploadResult) -> None:
        """Change the stored file or the result. Raises what the step's work raises."""


class VirusScanner(Step):
    """clamd INSTREAM on the upload's chunks as they are stored (``clamd`` address optional)."""

    streaming = True

    def __init__(self, clamd: str | None = None, *, fail_open: bool = False) -> None:
        self.clamd, self.fail_open = clamd, fail_open

    def configure(self, config: UploadConfig) -> UploadConfig:
        return dataclasses.replace(
            config,
            virus_scan=True,
            clamd=self.clamd or config.clamd,
            virus_scan_fail_open=self.fail_open or config.virus_scan_fail_open,
        )


def _is_raster(result: UploadResult) -> bool:
    mime = str(result.metadata.get("mime_type", ""))
    return mime.startswith("image/") and mime != "image/svg+xml"


class ImageResizer(Step):
    """Shrink a stored image to fit ``max_width`` x ``max_height`` (EXIF orientation applied, EXIF stripped)."""

    def __init__(self, max_width: int, max_height: int, quality: int = 85) -> None:
        self.max_width, self.max_height, self.quality = max_width, max_height, quality

    def apply(self, handler: UploadHandler, result: UploadResult) -> None:
        if _is_raster(result):
            from ..images import ImageProcessor

            processor = ImageProcessor(disk=handler.disk, max_pixels=handler.config.max_image_pixels).sync
            processor.optimize_image(
                result.file_path,
                result.file_path,
                max_width=self.max_width,
                max_height=self.max_height,
                quality=self.quality,
            )


class ImageOptimizer(Step):
    """Re-encode a stored image at ``quality`` (privacy EXIF stripped)."""

    def __init__(self, quality: int = 85) -> None:
        self.quality = quality

    def apply(self, handler: UploadHandler, result: UploadResult) -> None:
        if _is_raster(result):
            from ..images import ImageProcessor

            processor = ImageProcessor(disk=handler.disk, max_pixels=handler.config.max_image_pixels).sync
            processor.optimize_image(result.file_path, result.file_path, quality=self.quality)


class MetadataExtractor(Step):
    """Put the stored file's size, type and (for images) dimensions into ``result.metadata``."""

    def apply(self, handler: UploadHandler, result: UploadResult) -> None:
        result.metadata["stored_size"] = handler.disk.size(result.file_path)
        if _is_raster(result):
            from ..images import ImageProcessor

            processor = ImageProcessor(disk=handler.disk, max_pixels=handler.config.max_image_pixels).sync
            result.metadata["image"] = processor.extract_metadata(result.file_path)


class Pipeline:
    """Steps applied to every upload; ``config`` (or keyword options) as for ``UploadHandler``."""

    def __init__(self, config: UploadConfig | None = None, *, manager: Any = None, **options: Any) -> None:
        self.config = config if config is not None else UploadConfig(**options)
        self.manager = manager
        self.steps: list[Step] = []

    def add_processor(self, step: Step) -> Pipeline:
        """Append a step; returns the pipeline for chaining."""
        self.steps.append(step)
        return self

    add = add_processor

    async def process_upload(self, file: Any, **options: Any) -> UploadResult:
        """Validate and store ``file``, then run the post-store steps.

        Raises:
            UploadRejected: a rule or a step refused the file; nothing was stored.
        """
        import asyncio

        config = self.config
        for step in self.steps:
            config = step.configure(config)
        handler = UploadHandler(config, manager=self.manager)
        result = await handler.process_file(file, **options)
        try:
            for step in self.steps:
                if not step.streaming:
                    await asyncio.to_thread(step.apply, handler, result)
        except BaseException:
            handler.disk.delete([result.file_path, *result.thumbnails.values()])
            raise
        return result
