"""Checking and re-encoding of evidence screenshots with Pillow (libvips for plain PNGs where installed).

`check_image` is cheap enough for the request path and refuses anything that is not a PNG, JPEG or WebP
of sane size; `process_image` strips every piece of metadata, makes a thumbnail and a pixel hash.
"""

import hashlib
import io
import os
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageCms, ImageOps

from tickets import evidence_vips

# Pillow names a JPEG with a multi-picture extension (many phone cameras) "MPO"; it is still a JPEG.
_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "WEBP": "WEBP"}
_OPENERS = ["PNG", "JPEG", "WEBP"]  # Pillow's JPEG opener is the one that returns MPO files
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
_SAVE_OPTIONS = {
    # Level 1: about six times faster than the default 6 on phone screenshots, files about 20% larger.
    "PNG": {"compress_level": 1},
    "JPEG": {"quality": 85, "optimize": True},
    "WEBP": {"quality": 85, "method": 4},
}
THUMBNAIL_SIZE = 320
_HASH_BAND_ROWS = 256

# What Pillow raises on truncated or corrupt data (its decoders do not share one base class).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError, TypeError)
_BOMB_ERRORS = (Image.DecompressionBombError, Image.DecompressionBombWarning)
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
EVIDENCE_MESSAGES = {
    "too_large": _("The file is too large."),
    "too_many_pixels": _("The image has too many pixels."),
    "too_many_pixels_in_total": _(
        "The images together have too many pixels. Send fewer or smaller screenshots."
    ),
    "not_image": _("The file is not a readable image."),
    "unsupported_format": _("Send a PNG, JPEG or WebP image."),
}


class EvidenceError(Exception):
    """An uploaded file refused as evidence; `code` is stable, `message` is for the applicant."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code
        self.message = EVIDENCE_MESSAGES[code]

    @property
    def http_status(self) -> int:
        """413 for files too big (bytes or pixels), 415 for files that are not an accepted image."""
        return 413 if self.code in ("too_large", "too_many_pixels", "too_many_pixels_in_total") else 415


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int
    size_bytes: int
    content_type: str


@dataclass(frozen=True)
class ProcessedImage:
    content: bytes
    content_type: str
    extension: str
    width: int
    height: int
    thumbnail: bytes
    thumbnail_content_type: str
    sha256: str


@dataclass(frozen=True)
class PendingImage:
    """An upload whose header passed `check_image(decode=False)`: raw bytes, stored pending until a
    worker runs `process_image` on them (tickets/evidence_pipeline.py). Never shown to anyone."""

    content: bytes
    info: ImageInfo

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.info.format]

    @property
    def content_type(self) -> str:
        return self.info.content_type


def check_image(fileobj: BinaryIO, *, max_bytes: int, max_pixels: int, decode: bool = True) -> ImageInfo:
    """Refuse oversize, non-image, unaccepted or bomb files before storing anything; trust only bytes.

    `decode=False` reads the header only (size, format, pixel count), for callers that run
    `process_image` at once, which decodes every pixel anyway and refuses what it cannot decode.
    """
    try:
        size = _byte_size(fileobj)
        if size > max_bytes:
            raise EvidenceError("too_large")
        img = _open_accepted(fileobj)
        with img:
            width, height = img.size
            if width * height > max_pixels:
                raise EvidenceError("too_many_pixels")
            if decode:
                _decode(img)
            fmt = _FORMATS[img.format]
        return ImageInfo(fmt, width, height, size, CONTENT_TYPES[fmt])
    finally:
        fileobj.seek(0)


def _byte_size(fileobj: BinaryIO) -> int:
    """Size by seeking to the end, so a huge upload is measured without being read."""
    fileobj.seek(0, os.SEEK_END)
    size = fileobj.tell()
    fileobj.seek(0)
    return size


def _open_accepted(fileobj: BinaryIO) -> Image.Image:
    """Read only the header, with the accepted plugins only; tell other images apart from non-images."""
    try:
        img = Image.open(fileobj, formats=_OPENERS)
    except _BOMB_ERRORS:
        raise EvidenceError("too_many_pixels") from None
    except Image.UnidentifiedImageError:
        fileobj.seek(0)
        raise EvidenceError("unsupported_format" if _is_other_image(fileobj) else "not_image") from None
    except _DECODE_ERRORS:
        raise EvidenceError("not_image") from None
    if img.format not in _FORMATS:
        img.close()
        raise EvidenceError("unsupported_format")
    return img


def _is_other_image(fileobj: BinaryIO) -> bool:
    """Whether Pillow recognises the header as some image format we do not accept (GIF, BMP, TIFF...)."""
    try:
        with Image.open(fileobj):
            return True
    except _BOMB_ERRORS:
        return True
    except _DECODE_ERRORS:
        return False


def _decode(img: Image.Image) -> None:
    """Decode every pixel of the first frame, so truncated or corrupt data is caught now, not later."""
    try:
        img.load()
    except _BOMB_ERRORS:
        raise EvidenceError("too_many_pixels") from None
    except _DECODE_ERRORS:
        raise EvidenceError("not_image") from None


def process_image(data: bytes, *, max_pixels: int | None = None) -> ProcessedImage:
    """Re-encode a checked image without metadata, upright, with a thumbnail and a hash of its pixels.

    Call `check_image` first for the byte limit. The pixel bound (`max_pixels`, by default the
    EVIDENCE_MAX_PIXELS setting) is checked here again from the header, before any pixel is decoded,
    so no caller can make this decode more than that; the work below adds no full-size copy of an RGB image.
    """
    if max_pixels is None:
        max_pixels = settings.EVIDENCE_MAX_PIXELS
    img = _open_accepted(io.BytesIO(data))
    with img:
        if img.width * img.height > max_pixels:
            raise EvidenceError("too_many_pixels")
        fmt = _FORMATS[img.format]
        if evidence_vips.usable(img):
            fast = _process_with_libvips(data)
            if fast is not None:
                return fast
        _decode(img)
        clean = _normalised(img)  # often `img` itself: used before `img` is closed
        return ProcessedImage(
            content=_encode(clean, fmt),
            content_type=CONTENT_TYPES[fmt],
            extension=EXTENSIONS[fmt],
            width=clean.width,
            height=clean.height,
            thumbnail=_thumbnail(clean),
            thumbnail_content_type="image/jpeg",
            sha256=pixel_sha256(clean),
        )


def _process_with_libvips(data: bytes) -> ProcessedImage | None:
    """The fast path (tickets/evidence_vips.py), or None to take Pillow's."""
    try:
        result = evidence_vips.process_png(
            data, thumbnail_size=THUMBNAIL_SIZE, compress_level=_SAVE_OPTIONS["PNG"]["compress_level"]
        )
    except evidence_vips.Unreadable:
        raise EvidenceError("not_image") from None
    if result is None:
        return None
    content, width, height, thumbnail, sha256 = result
    return ProcessedImage(
        content=content,
        content_type=CONTENT_TYPES["PNG"],
        extension=EXTENSIONS["PNG"],
        width=width,
        height=height,
        thumbnail=thumbnail,
        thumbnail_content_type="image/jpeg",
        sha256=sha256,
    )


def _normalised(img: Image.Image) -> Image.Image:
    """Upright, sRGB, RGB or RGBA (alpha only when used), and no metadata left in `info`.

    Steps that would not change anything are skipped, so an RGB screenshot is returned as it was decoded
    (transposed in place) instead of being copied at each step.
    """
    ImageOps.exif_transpose(img, in_place=True)
    has_alpha = img.has_transparency_data
    mode = "RGBA" if has_alpha else "RGB"
    converted = _to_srgb(img, mode)
    if converted.mode.startswith("I"):
        converted = converted.convert("I").point(lambda v: v * (1 / 256)).convert("L")  # 16-bit grey
    if converted.mode != mode:
        converted = converted.convert(mode)
    if converted.mode == "RGBA" and converted.getchannel("A").getextrema() == (255, 255):
        converted = converted.convert("RGB")
    converted.info = {}
    return converted


def _to_srgb(img: Image.Image, mode: str) -> Image.Image:
    """Apply an embedded colour profile before it is dropped, so colours stay right (phones use P3)."""
    icc = img.info.get("icc_profile")
    if not icc or img.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return img
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(img, profile, _SRGB, outputMode=mode) or img
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return img


def _encode(img: Image.Image, fmt: str) -> bytes:
    """Save in the source format with only the options we pass: nothing from the original file."""
    out = io.BytesIO()
    if fmt == "JPEG" and img.mode != "RGB":
        img = _flatten(img)
    img.save(out, fmt, **_SAVE_OPTIONS[fmt])
    return out.getvalue()


def _thumbnail(img: Image.Image) -> bytes:
    """A small JPEG for the agents' list, longest side at most THUMBNAIL_SIZE.

    A whole-number reduction first, straight to just above the thumbnail's size (a box average: 3.4
    instead of 5.8 ms for a 1080x2400 screenshot when it stopped at twice the size), then the resample.
    """
    factor = max(1, max(img.size) // THUMBNAIL_SIZE)
    thumb = img.reduce(factor) if factor > 1 else img.copy()
    thumb.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    out = io.BytesIO()
    _flatten(thumb).save(out, "JPEG", quality=80)
    return out.getvalue()


def _flatten(img: Image.Image) -> Image.Image:
    """RGB on a white background, for formats without transparency."""
    if img.mode != "RGBA":
        return img.convert("RGB")
    background = Image.new("RGB", img.size, (255, 255, 255))
    background.paste(img, mask=img.getchannel("A"))
    return background


def pixel_sha256(img: Image.Image) -> str:
    """Hash of mode, size and raw pixels (in bands, to bound memory): same screenshot, same hash."""
    digest = hashlib.sha256(f"{img.mode}:{img.width}x{img.height}:".encode())
    for top in range(0, img.height, _HASH_BAND_ROWS):
        band = img.crop((0, top, img.width, min(top + _HASH_BAND_ROWS, img.height)))
        digest.update(band.tobytes())
    return digest.hexdigest()
