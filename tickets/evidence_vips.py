"""The media worker's optional fast path with libvips (pyvips) for the usual phone screenshot.

On a 1080x2400 PNG, decoding, re-encoding without metadata, the thumbnail and the pixel hash cost 26-31
ms of CPU with libvips against about 61 ms with Pillow (benchmarks/RESULTS.md), mostly because its PNG
decoder and encoder are faster. It is used only where pyvips and libvips are installed
(requirements-media.txt) and EVIDENCE_LIBVIPS is on, and only for the plain case: an 8-bit RGB or RGBA
PNG without a colour profile, transparency key or rotation. Everything else, and every machine without
libvips, takes tickets.evidence's Pillow path, which stays the reference: both give the same pixels and
so the same pixel hash.
"""

import hashlib

from django.conf import settings

try:
    import pyvips
except (ImportError, OSError):  # the package, or the libvips library it loads, is not installed
    pyvips = None

_HASH_BAND_ROWS = 256


class Unreadable(Exception):
    """libvips could not decode every pixel (truncated or corrupt data)."""


def usable(pillow_image) -> bool:
    """Whether this image (opened by Pillow, header only) may take the fast path."""
    return (
        pyvips is not None
        and settings.EVIDENCE_LIBVIPS
        and pillow_image.format == "PNG"
        and pillow_image.mode in ("RGB", "RGBA")
        and not {"icc_profile", "transparency", "exif"} & set(pillow_image.info)
    )


def process_png(data: bytes, *, thumbnail_size: int, compress_level: int):
    """(png, width, height, thumbnail JPEG, pixel sha256) with nothing of the original's metadata, or
    None when libvips sees something the fast path leaves to Pillow. Raises Unreadable."""
    try:
        image = pyvips.Image.new_from_buffer(data, "", access="sequential", fail_on="error")
        if image.format != "uchar" or image.bands not in (3, 4) or _rotated(image):
            return None
        # The one full decode, streamed into the one full-size copy the steps below share: any
        # truncation or corruption raises here.
        image = image.copy_memory()
        if image.bands == 4 and image[3].min() == 255:
            image = image[0:3]  # an alpha channel that hides nothing, as Pillow's path drops it
        mode = "RGBA" if image.bands == 4 else "RGB"
        png = image.pngsave_buffer(compression=compress_level, **_no_metadata())
        thumb = image.thumbnail_image(thumbnail_size, size="down")  # never enlarged, as by Pillow
        if thumb.bands == 4:
            thumb = thumb.flatten(background=[255, 255, 255])
        jpeg = thumb.jpegsave_buffer(Q=80, **_no_metadata())
        return png, image.width, image.height, jpeg, _pixel_sha256(image, mode)
    except pyvips.Error as error:
        raise Unreadable(str(error)) from None


def _rotated(image) -> bool:
    return image.get_typeof("orientation") != 0 and image.get("orientation") not in (0, 1)


def _no_metadata():
    """libvips 8.15 replaced `strip` with `keep`."""
    return {"keep": "none"} if pyvips.at_least_libvips(8, 15) else {"strip": True}


def _pixel_sha256(image, mode) -> str:
    """The same digest as tickets.evidence.pixel_sha256 (mode, size, interleaved 8-bit samples)."""
    digest = hashlib.sha256(f"{mode}:{image.width}x{image.height}:".encode())
    for top in range(0, image.height, _HASH_BAND_ROWS):
        rows = min(_HASH_BAND_ROWS, image.height - top)
        digest.update(image.crop(0, top, image.width, rows).write_to_memory())
    return digest.hexdigest()
