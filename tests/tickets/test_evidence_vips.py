"""The libvips fast path for plain PNG screenshots gives what Pillow's path gives: same pixels, same hash,
no metadata, and the same refusal of a damaged file. Skipped where pyvips is not installed (it is an
optional extra, requirements-media.txt)."""

import io

import pytest
from PIL import Image, PngImagePlugin

from tests.tickets.intake_helpers import image_bytes
from tickets import evidence_vips
from tickets.evidence import EvidenceError, process_image

pytest.importorskip("pyvips", reason="libvips fast path: pip install -r requirements-media.txt")


def both_paths(settings, data):
    settings.EVIDENCE_LIBVIPS = False
    pillow = process_image(data)
    settings.EVIDENCE_LIBVIPS = True
    return pillow, process_image(data)


def decoded(content):
    with Image.open(io.BytesIO(content)) as img:
        img.load()
        return img.mode, img.size, img.tobytes(), dict(img.info)


def screenshot(mode="RGB", alpha=255, **save):
    img = Image.frombytes("RGB", (540, 1200), (bytes(range(251)) * 7800)[: 540 * 1200 * 3])
    if mode == "RGBA":
        img = img.convert("RGBA")
        img.putalpha(alpha)
    out = io.BytesIO()
    img.save(out, "PNG", **save)
    return out.getvalue()


def test_a_screenshot_has_the_same_pixels_and_hash_as_with_pillow_and_no_text_chunks(settings):
    notes = PngImagePlugin.PngInfo()
    notes.add_text("Comment", "taken at -6.2088,106.8456 by Siti's phone")
    pillow, fast = both_paths(settings, screenshot(pnginfo=notes))
    assert evidence_vips.usable(Image.open(io.BytesIO(screenshot())))
    assert fast.content != pillow.content  # encoded by libvips...
    assert fast.sha256 == pillow.sha256 and (fast.width, fast.height) == (540, 1200)
    mode, size, pixels, info = decoded(fast.content)
    assert (mode, size, pixels) == decoded(pillow.content)[:3]  # ...to the same pixels
    assert "Comment" not in info and b"Siti" not in fast.content
    thumb = Image.open(io.BytesIO(fast.thumbnail))
    assert thumb.format == "JPEG" and max(thumb.size) == 320


def test_an_alpha_channel_that_hides_nothing_is_dropped_as_by_pillow(settings):
    pillow, fast = both_paths(settings, screenshot("RGBA", alpha=255))
    assert decoded(fast.content)[0] == "RGB" and fast.sha256 == pillow.sha256


def test_real_transparency_is_kept_and_the_thumbnail_is_flattened(settings):
    pillow, fast = both_paths(settings, screenshot("RGBA", alpha=128))
    assert decoded(fast.content)[0] == "RGBA" and fast.sha256 == pillow.sha256
    assert Image.open(io.BytesIO(fast.thumbnail)).mode == "RGB"


def test_a_truncated_png_is_refused_as_pillow_refuses_it(settings):
    settings.EVIDENCE_LIBVIPS = True
    with pytest.raises(EvidenceError) as refused:
        process_image(image_bytes("PNG", size=(400, 300))[:-200])
    assert refused.value.code == "not_image"


def test_what_the_fast_path_does_not_cover_goes_to_pillow(settings):
    grey = image_bytes("PNG", size=(60, 40))
    with Image.open(io.BytesIO(grey)) as img:
        assert evidence_vips.usable(img)
    palette = io.BytesIO()
    Image.new("P", (60, 40)).save(palette, "PNG")
    jpeg = image_bytes("JPEG")
    for data in (palette.getvalue(), jpeg):
        with Image.open(io.BytesIO(data)) as img:
            assert not evidence_vips.usable(img)
    settings.EVIDENCE_LIBVIPS = False
    with Image.open(io.BytesIO(grey)) as img:
        assert not evidence_vips.usable(img)
