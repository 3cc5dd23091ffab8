"""Evidence checks and processing; every file is made here with Pillow, none is committed."""

import io
import struct
import subprocess
import sys
import textwrap
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from tickets.evidence import EvidenceError, ImageInfo, check_image, process_image

MB = 1024 * 1024
LIMITS = {"max_bytes": 10 * MB, "max_pixels": 40_000_000}
SECRET = "SECRET-LOCATION-MARKER"


def picture(size=(64, 48), mode="RGB"):
    """A gradient with some structure, so encoders have real work and crops are recognisable."""
    img = Image.linear_gradient("L").resize(size)
    rgb = Image.merge("RGB", (img, img.transpose(Image.Transpose.FLIP_LEFT_RIGHT), img.rotate(90)))
    return rgb.convert(mode)


def encode(img, fmt, **options):
    out = io.BytesIO()
    img.save(out, fmt, **options)
    return out.getvalue()


def check(data, **limits):
    return check_image(io.BytesIO(data), **{**LIMITS, **limits})


def refusal(data, **limits):
    with pytest.raises(EvidenceError) as excinfo:
        check(data, **limits)
    return excinfo.value


def png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png_bomb(width: int, height: int) -> bytes:
    """A real, decodable 8-bit grey PNG of zeros: megapixels of data in a few hundred kilobytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    rows = b"\x00" * (width + 1) * 64
    idat = b"".join(compressor.compress(rows) for _ in range(height // 64))
    idat += compressor.compress(b"\x00" * (width + 1) * (height % 64)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    )


def with_patched_png_size(data: bytes, width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR now claims another size, with its CRC fixed so Pillow believes it."""
    ihdr = struct.pack(">II", width, height) + data[24:29]
    return data[:8] + png_chunk(b"IHDR", ihdr) + data[33:]


class CountingReader(io.BytesIO):
    """Records how many bytes were read, to prove oversize files are refused without reading them."""

    bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


# --- check_image: accepted files -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_accepted_formats_pass(fmt, content_type):
    data = encode(picture((64, 48)), fmt)
    assert check(data) == ImageInfo(fmt, 64, 48, len(data), content_type)


def test_jpeg_with_multi_picture_extension_counts_as_jpeg():
    data = encode(picture(), "MPO", save_all=True, append_images=[picture()])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    assert check(data).format == "JPEG"


def test_filename_and_claimed_content_type_are_ignored():
    upload = SimpleUploadedFile("evidence.jpg", encode(picture(), "PNG"), content_type="image/jpeg")
    info = check_image(upload, **LIMITS)
    assert (info.format, info.content_type) == ("PNG", "image/png")


def test_file_position_is_restored_to_start():
    stream = io.BytesIO(encode(picture(), "PNG"))
    stream.seek(10)
    check_image(stream, **LIMITS)
    assert stream.tell() == 0


def test_file_position_is_restored_after_a_refusal():
    stream = io.BytesIO(b"not an image at all")
    with pytest.raises(EvidenceError):
        check_image(stream, **LIMITS)
    assert stream.tell() == 0


# --- check_image: refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data", [b"", b"hello, this is a text file renamed to .png\n", b"\x89PNG\r\n\x1a\n", b"%PDF-1.7\n"]
)
def test_non_images_are_refused(data):
    error = refusal(data)
    assert (error.code, error.http_status) == ("not_image", 415)


def test_text_upload_named_png_is_refused():
    upload = SimpleUploadedFile("screenshot.png", b"just some text" * 100, content_type="image/png")
    with pytest.raises(EvidenceError) as excinfo:
        check_image(upload, **LIMITS)
    assert excinfo.value.code == "not_image"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_truncated_images_are_refused(fmt):
    data = encode(picture((400, 300)), fmt)
    assert refusal(data[: len(data) // 2]).code == "not_image"


def test_png_with_corrupt_compressed_data_is_refused():
    data = bytearray(encode(picture((200, 200)), "PNG"))
    idat = data.index(b"IDAT")
    body = bytes(b ^ 0x5A for b in data[idat + 4 + 20 : idat + 4 + 200])
    length = struct.unpack(">I", data[idat - 4 : idat])[0]
    chunk_data = (
        bytes(data[idat + 4 : idat + 4 + 20]) + body + bytes(data[idat + 4 + 200 : idat + 4 + length])
    )
    patched = bytes(data[: idat - 4]) + png_chunk(b"IDAT", chunk_data) + bytes(data[idat + 8 + length :])
    assert refusal(patched).code == "not_image"


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "ICO", "PPM"])
def test_other_image_formats_are_unsupported(fmt):
    error = refusal(encode(picture(), fmt))
    assert (error.code, error.http_status) == ("unsupported_format", 415)


def test_oversize_file_is_refused_without_being_read():
    data = encode(picture(), "PNG")
    stream = CountingReader(data)
    with pytest.raises(EvidenceError) as excinfo:
        check_image(stream, max_bytes=len(data) - 1, max_pixels=LIMITS["max_pixels"])
    assert (excinfo.value.code, excinfo.value.http_status) == ("too_large", 413)
    assert stream.bytes_read == 0
    assert stream.tell() == 0


def test_file_of_exactly_the_byte_limit_passes():
    data = encode(picture(), "PNG")
    assert check(data, max_bytes=len(data)).size_bytes == len(data)


def test_pixel_limit_is_inclusive():
    data = encode(picture((100, 100)), "PNG")
    assert check(data, max_pixels=10_000).width == 100
    error = refusal(data, max_pixels=9_999)
    assert (error.code, error.http_status) == ("too_many_pixels", 413)


def test_pixel_limit_applies_to_jpeg_and_webp_too():
    for fmt in ("JPEG", "WEBP"):
        assert refusal(encode(picture((100, 100)), fmt), max_pixels=9_999).code == "too_many_pixels"


def test_bomb_below_pillows_own_limit_is_refused_by_ours():
    bomb = png_bomb(8000, 8000)  # 64 megapixels: under Pillow's 89M warning, over our 40M
    assert len(bomb) < 200_000
    assert refusal(bomb).code == "too_many_pixels"


def test_bomb_beyond_pillows_error_limit_is_refused():
    bomb = png_bomb(20_000, 20_000)
    assert refusal(bomb).code == "too_many_pixels"


def test_huge_declared_size_fails_fast_with_little_memory():
    bomb = with_patched_png_size(encode(picture((8, 8)), "PNG"), 100_000, 100_000)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        assert refusal(bomb).code == "too_many_pixels"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 1
    assert peak < 5 * MB


MEASURE_PEAK_RSS = textwrap.dedent(
    """
    import io, re, sys
    from tickets.evidence import EvidenceError, check_image

    def peak_rss_kib():
        return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))

    data = open(sys.argv[1], "rb").read()
    before = peak_rss_kib()
    try:
        check_image(io.BytesIO(data), max_bytes=10 * 2**20, max_pixels=int(sys.argv[2]))
        code = "accepted"
    except EvidenceError as error:
        code = error.code
    print(code, peak_rss_kib() - before)
    """
)


def peak_rss_growth_kib(tmp_path: Path, data: bytes, max_pixels: int) -> tuple[str, int]:
    """Run check_image in a fresh interpreter: its VmHWM is its own (ru_maxrss would carry pytest's peak)."""
    path = tmp_path / "bomb.png"
    path.write_bytes(data)
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", MEASURE_PEAK_RSS, str(path), str(max_pixels)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    code, growth = result.stdout.split()
    return code, int(growth)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak RSS is read from Linux's /proc")
def test_bomb_is_refused_without_allocating_the_decoded_image(tmp_path):
    bomb = png_bomb(8000, 8000)  # decoding would need 64 MB
    code, growth = peak_rss_growth_kib(tmp_path, bomb, LIMITS["max_pixels"])
    assert code == "too_many_pixels"
    assert growth < 16 * 1024
    # The measurement can see a decode: with a limit that lets the image through, memory grows.
    code, growth = peak_rss_growth_kib(tmp_path, bomb, 100_000_000)
    assert code == "accepted"
    assert growth > 48 * 1024


def test_process_refuses_more_pixels_than_its_bound_before_decoding():
    bomb = png_bomb(8000, 8000)  # under Pillow's own bomb limit: it would decode 64 MB
    with pytest.raises(EvidenceError) as excinfo:
        process_image(bomb, max_pixels=16_000_000)
    assert excinfo.value.code == "too_many_pixels"


def test_process_bound_is_the_setting_unless_given(settings):
    settings.EVIDENCE_MAX_PIXELS = 1000
    with pytest.raises(EvidenceError) as excinfo:
        process_image(encode(picture((40, 30)), "PNG"))
    assert excinfo.value.code == "too_many_pixels"


MEASURE_PROCESS_PEAK_RSS = textwrap.dedent(
    """
    import re, sys
    from tests.tickets.intake_helpers import one_colour_png
    from tickets.evidence import process_image

    def peak_rss_kib():
        return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))

    data = one_colour_png(4000, 4000)
    before = peak_rss_kib()
    process_image(data, max_pixels=16_000_000)
    print(peak_rss_kib() - before)
    """
)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak RSS is read from Linux's /proc")
def test_processing_a_screenshot_keeps_about_one_full_size_copy():
    """16 MP decode to 64 MB of RGBX pixels; a copy per step (transpose, convert, thumbnail) was 144 MB."""
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", MEASURE_PROCESS_PEAK_RSS],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert int(result.stdout) < 96 * 1024  # 6 bytes a pixel


# --- EvidenceError -----------------------------------------------------------------------------------


def test_error_messages_are_english_msgids():
    assert str(EvidenceError("too_large").message) == "The file is too large."
    assert str(EvidenceError("unsupported_format").message) == "Send a PNG, JPEG or WebP image."
    assert EvidenceError("not_image").code == "not_image"


# --- process_image ---------------------------------------------------------------------------------


def exif_with_gps() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = SECRET
    exif[ExifTags.Base.Orientation] = 1
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "S",
        ExifTags.GPS.GPSLatitude: (6.0, 12.0, 30.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (106.0, 49.0, 0.0),
    }
    return exif


def xmp_packet() -> bytes:
    description = f"<rdf:Description>{SECRET}</rdf:Description>"
    return f'<x:xmpmeta xmlns:x="adobe:ns:meta/">{description}</x:xmpmeta>'.encode()


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def assert_no_metadata(content: bytes):
    out = Image.open(io.BytesIO(content))
    assert not out.getexif()
    assert not {"exif", "xmp", "icc_profile", "comment", "Comment", "XML:com.adobe.xmp"} & set(out.info)
    assert SECRET.encode() not in content
    assert b"Exif\x00\x00" not in content and b"eXIf" not in content


def test_jpeg_gps_exif_is_removed():
    data = encode(
        picture(), "JPEG", exif=exif_with_gps(), comment=SECRET, xmp=xmp_packet(), icc_profile=srgb_icc()
    )
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the input really has GPS
    result = process_image(data)
    assert (result.content_type, result.extension) == ("image/jpeg", "jpg")
    assert_no_metadata(result.content)
    assert Image.open(io.BytesIO(result.content)).format == "JPEG"


def test_png_text_exif_and_icc_are_removed():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SECRET)
    info.add_itxt("XML:com.adobe.xmp", xmp_packet().decode())
    data = encode(picture(), "PNG", pnginfo=info, exif=exif_with_gps(), icc_profile=srgb_icc())
    result = process_image(data)
    assert (result.content_type, result.extension) == ("image/png", "png")
    assert_no_metadata(result.content)
    assert not Image.open(io.BytesIO(result.content)).text


def test_webp_exif_and_xmp_are_removed():
    data = encode(picture(), "WEBP", exif=exif_with_gps(), xmp=xmp_packet(), icc_profile=srgb_icc())
    result = process_image(data)
    assert (result.content_type, result.extension) == ("image/webp", "webp")
    assert_no_metadata(result.content)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_same_pixels_with_or_without_metadata_give_the_same_hash(fmt):
    img = picture((120, 80))
    plain = process_image(encode(img, fmt, quality=90))
    tagged = process_image(encode(img, fmt, quality=90, exif=exif_with_gps(), xmp=xmp_packet()))
    assert plain.sha256 == tagged.sha256
    assert len(plain.sha256) == 64


def test_reprocessing_the_output_keeps_the_hash_for_lossless_png():
    first = process_image(encode(picture(), "PNG", exif=exif_with_gps()))
    assert process_image(first.content).sha256 == first.sha256


def test_palette_and_opaque_alpha_pngs_hash_like_the_rgb_png():
    img = Image.new("RGB", (50, 30), (10, 120, 200))
    img.paste((250, 250, 250), (0, 0, 25, 15))
    rgb = process_image(encode(img, "PNG")).sha256
    assert process_image(encode(img.convert("P", palette=Image.Palette.ADAPTIVE), "PNG")).sha256 == rgb
    assert process_image(encode(img.convert("RGBA"), "PNG")).sha256 == rgb


def test_different_screenshots_hash_differently():
    img = picture((64, 48))
    other = img.copy()
    other.putpixel((5, 5), (0, 0, 0))
    assert process_image(encode(img, "PNG")).sha256 != process_image(encode(other, "PNG")).sha256


@pytest.mark.parametrize(
    ("size", "expected"), [((1000, 400), (320, 128)), ((300, 2000), (48, 320)), ((100, 50), (100, 50))]
)
def test_thumbnail_is_a_small_jpeg(size, expected):
    result = process_image(encode(picture(size), "PNG"))
    thumb = Image.open(io.BytesIO(result.thumbnail))
    assert (thumb.format, thumb.size, result.thumbnail_content_type) == ("JPEG", expected, "image/jpeg")
    assert (result.width, result.height) == size


def two_halves(size=(40, 20)) -> Image.Image:
    """Left half red, right half blue: easy to see where a rotation put them."""
    img = Image.new("RGB", size, (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return img


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_exif_orientation_is_applied(fmt):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # shown rotated 90 degrees clockwise: the left half goes on top
    result = process_image(encode(two_halves(), fmt, exif=exif, quality=95))
    out = Image.open(io.BytesIO(result.content)).convert("RGB")
    assert out.size == (20, 40) == (result.width, result.height)
    top, bottom = out.getpixel((10, 5)), out.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60
    assert not out.getexif()


def test_palette_png_with_transparency_stays_transparent():
    img = Image.new("P", (20, 20), 0)
    img.putpalette([255, 0, 0, 0, 255, 0])
    img.paste(1, (0, 0, 10, 20))
    result = process_image(encode(img, "PNG", transparency=0))
    out = Image.open(io.BytesIO(result.content))
    assert out.mode == "RGBA"
    assert out.getpixel((15, 5))[3] == 0 and out.getpixel((5, 5)) == (0, 255, 0, 255)
    Image.open(io.BytesIO(result.thumbnail)).load()


@pytest.mark.parametrize(
    ("mode", "fmt", "expected_mode"),
    [
        ("LA", "PNG", "RGBA"),
        ("L", "PNG", "RGB"),
        ("1", "PNG", "RGB"),
        ("L", "JPEG", "RGB"),
        ("CMYK", "JPEG", "RGB"),
        ("RGBA", "WEBP", "RGBA"),
        ("RGBA", "PNG", "RGBA"),
    ],
)
def test_modes_are_normalised(mode, fmt, expected_mode):
    img = picture((40, 30))
    img = Image.merge("RGBA", (*img.split(), Image.linear_gradient("L").resize((40, 30)))).convert(mode)
    result = process_image(encode(img, fmt))
    out = Image.open(io.BytesIO(result.content))
    assert (out.format, out.mode) == (fmt, expected_mode)


def test_16_bit_grey_png_is_scaled_not_clipped():
    img = Image.new("I", (10, 10), 65535)
    img.paste(32768, (0, 0, 5, 10))
    img = img.convert("I;16")
    result = process_image(encode(img, "PNG"))
    out = Image.open(io.BytesIO(result.content)).convert("RGB")
    assert out.getpixel((8, 5)) == (255, 255, 255)
    assert out.getpixel((2, 5)) == (128, 128, 128)


def test_process_refuses_what_it_cannot_decode():
    data = encode(picture((300, 300)), "PNG")
    with pytest.raises(EvidenceError) as excinfo:
        process_image(data[: len(data) // 2])
    assert excinfo.value.code == "not_image"
    with pytest.raises(EvidenceError) as excinfo:
        process_image(encode(picture(), "GIF"))
    assert excinfo.value.code == "unsupported_format"
