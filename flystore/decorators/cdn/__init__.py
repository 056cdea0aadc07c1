"""The ``cdn`` decorator disk: public URLs on a CDN, and batched invalidation of what changed (docs/cdn.md)."""

from .adapter import CDNBackend, CDNFilesystemAdapter, create
from .invalidator import CDNInvalidationFailed, CloudFrontPurger, Invalidator

__all__ = ["CDNBackend", "CDNFilesystemAdapter", "CDNInvalidationFailed", "CloudFrontPurger", "Invalidator", "create"]
