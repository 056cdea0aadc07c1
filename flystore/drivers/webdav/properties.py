"""Dead properties: a file's MIME type and metadata stored beside it (``PROPPATCH``), read back from ``PROPFIND``."""

from __future__ import annotations

import contextlib
import json
from typing import Any
from xml.etree import ElementTree

from ...attributes import WriteOptions

__all__ = ["PROPERTY_NAMESPACE", "describe_response", "store_properties"]

PROPERTY_NAMESPACE = "urn:flystore"


_MIMETYPE = f"{{{PROPERTY_NAMESPACE}}}mimetype"


_METADATA = f"{{{PROPERTY_NAMESPACE}}}metadata"


def describe_response(response: Any, dead_properties: bool) -> dict[str, Any]:
    """One ``PROPFIND`` response as ``{"type", "size", "modified", "content_type", "mimetype", "metadata"}``
    (``mimetype`` and ``metadata`` from flystore's dead properties, when ``dead_properties``)."""
    properties = response.properties
    info: dict[str, Any] = {
        "type": "directory" if properties.collection else "file",
        "size": properties.content_length or 0,
        "modified": properties.modified,
        "content_type": properties.content_type,
        "mimetype": None,
        "metadata": {},
    }
    node = response.response_xml
    if dead_properties and node is not None:
        for propstat in node.findall("{DAV:}propstat"):
            status = propstat.findtext("{DAV:}status") or ""
            if " 200 " not in f"{status} ":
                continue
            mimetype = propstat.findtext(f"{{DAV:}}prop/{_MIMETYPE}")
            if mimetype:
                info["mimetype"] = mimetype.strip()
            metadata = propstat.findtext(f"{{DAV:}}prop/{_METADATA}")
            if metadata:
                with contextlib.suppress(ValueError):
                    decoded = json.loads(metadata)
                    if isinstance(decoded, dict):
                        info["metadata"] = {str(key): str(value) for key, value in decoded.items()}
    return info


def store_properties(client: Any, key: str, options: WriteOptions) -> None:
    """Store the MIME type and metadata of ``key`` as dead properties (one ``PROPPATCH``).

    Raises:
        Exception: the server refused metadata (a refused MIME type alone is let go).
    """
    ElementTree.register_namespace("D", "DAV:")
    ElementTree.register_namespace("F", PROPERTY_NAMESPACE)
    update = ElementTree.Element("{DAV:}propertyupdate")
    prop = ElementTree.SubElement(ElementTree.SubElement(update, "{DAV:}set"), "{DAV:}prop")
    if options.mimetype:
        ElementTree.SubElement(prop, _MIMETYPE).text = options.mimetype
    if options.metadata:
        ElementTree.SubElement(prop, _METADATA).text = json.dumps(dict(options.metadata), sort_keys=True)
    body = ElementTree.tostring(update, encoding="utf-8", xml_declaration=True)
    try:
        client.request("PROPPATCH", key, content=body, headers={"Content-Type": "application/xml; charset=utf-8"})
    except Exception:
        if options.metadata:
            raise
        # A MIME type is a hint the disk can guess again: a server refusing it loses nothing.
