"""Screenshots that a refused report form already accepted, kept for the form's next try.

They are personal data and can be megabytes: kept in the private evidence storage (never a public URL,
never the cache beside the rate limits), at most KEPT_EVIDENCE_MAX_BYTES per form and for
KEPT_EVIDENCE_MINUTES; `sweep` (Celery beat) deletes what has expired.
"""

import json
import re
import secrets
import time

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from tickets.evidence import CONTENT_TYPES, ImageInfo, PendingImage, ProcessedImage

PREFIX = "kept-evidence"
MANIFEST = "manifest.json"
# The key is the folder's name: when it was kept, then a secret; the time is read from it, so an
# expired key is refused without reading a file and the sweep needs no database.
_KEY = re.compile(r"^(\d{1,12})-[A-Za-z0-9_-]{24}$")


def keep(evidence, *, now=None):
    """Store accepted (name, PendingImage or ProcessedImage) pairs; returns the key and the names kept.

    Screenshots are kept in order while they fit in KEPT_EVIDENCE_MAX_BYTES; the rest are asked again.
    """
    key = f"{int(now if now is not None else time.time())}-{secrets.token_urlsafe(18)}"
    manifest, total = [], 0
    for number, (name, image) in enumerate(evidence):
        pending = isinstance(image, PendingImage)
        total += len(image.content) + (0 if pending else len(image.thumbnail))
        if total > settings.KEPT_EVIDENCE_MAX_BYTES:
            break
        default_storage.save(_path(key, f"{number}.{image.extension}"), ContentFile(image.content))
        if not pending:
            default_storage.save(_path(key, f"{number}-thumb.jpg"), ContentFile(image.thumbnail))
        manifest.append({"name": name, **_described(image), "number": number})
    if not manifest:
        return "", []
    default_storage.save(_path(key, MANIFEST), ContentFile(json.dumps(manifest).encode()))
    return key, [item["name"] for item in manifest]


def kept(key, *, now=None):
    """The (name, ProcessedImage) pairs kept under `key`; [] when unknown, malformed or expired."""
    if not _is_fresh(key, now):
        return []
    try:
        with default_storage.open(_path(key, MANIFEST)) as manifest:
            items = json.loads(manifest.read())
        return [(item["name"], _image(key, item)) for item in items]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def discard(key):
    """Delete what is kept under `key` (the report was sent, or kept again under a new key)."""
    if key and _KEY.match(key):
        _delete_folder(f"{PREFIX}/{key}")


def sweep(*, now=None):
    """Delete every kept folder older than KEPT_EVIDENCE_MINUTES (or not named by `keep`)."""
    try:
        folders, _files = default_storage.listdir(PREFIX)
    except FileNotFoundError:
        return 0
    expired = [folder for folder in folders if not _is_fresh(folder, now)]
    for folder in expired:
        _delete_folder(f"{PREFIX}/{folder}")
    return len(expired)


def _is_fresh(key, now):
    match = _KEY.match(key or "")
    if not match:
        return False
    age = (now if now is not None else time.time()) - int(match.group(1))
    return age <= settings.KEPT_EVIDENCE_MINUTES * 60


def _path(key, name):
    return f"{PREFIX}/{key}/{name}"


def _described(image):
    if isinstance(image, PendingImage):
        info = image.info
        return {
            "pending": True,
            "format": info.format,
            "width": info.width,
            "height": info.height,
            "extension": image.extension,
        }
    return {
        "content_type": image.content_type,
        "extension": image.extension,
        "width": image.width,
        "height": image.height,
        "thumbnail_content_type": image.thumbnail_content_type,
        "sha256": image.sha256,
    }


def _image(key, item):
    number = int(item["number"])
    with default_storage.open(_path(key, f"{number}.{item['extension']}")) as content:
        data = content.read()
    if item.get("pending"):
        info = ImageInfo(
            item["format"], int(item["width"]), int(item["height"]), len(data), CONTENT_TYPES[item["format"]]
        )
        return PendingImage(content=data, info=info)
    with default_storage.open(_path(key, f"{number}-thumb.jpg")) as thumbnail:
        thumb = thumbnail.read()
    return ProcessedImage(
        content=data,
        content_type=item["content_type"],
        extension=item["extension"],
        width=int(item["width"]),
        height=int(item["height"]),
        thumbnail=thumb,
        thumbnail_content_type=item["thumbnail_content_type"],
        sha256=item["sha256"],
    )


def _delete_folder(folder):
    """Delete a folder's files, then the folder (local disk; object storage has no folders)."""
    try:
        _folders, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        default_storage.delete(f"{folder}/{name}")
    default_storage.delete(folder)
