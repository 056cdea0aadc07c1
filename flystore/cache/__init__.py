"""flystore's response cache (the seed's FlextApiCache) on the memory, filesystem and redis stores.

    from flystore.cache import Cache
    cache = Cache(backend="memory")

    @cache.cached(ttl=60)
    def report(year: int) -> dict: ...
"""

from ..stores import CacheUnavailableWarning
from .core import Cache

__all__ = ["Cache", "CacheUnavailableWarning"]
