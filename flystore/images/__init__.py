"""Images on any disk (Pillow, the ``images`` extra): ``ImageProcessor`` (async) and its ``.sync`` twin."""

from .processor import ImageProcessor, ImageTooLarge, SyncImageProcessor

__all__ = ["ImageProcessor", "ImageTooLarge", "SyncImageProcessor"]
