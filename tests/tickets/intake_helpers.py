"""Valid reports and images for the intake tests; every image is made here with Pillow."""

import functools
import io
import struct
import zlib

from PIL import Image

NIK_WOMAN = "3171014501900001"  # DKI Jakarta, born 5 January 1990 (day + 40: a woman)
NIK_MAN = "3273010505850002"
SERIAL = "1234567890ABCDEFGHJK12"
SERIAL_2 = "ZZZZ567890ABCDEFGHJK99"


def image_bytes(fmt="PNG", size=(120, 80), color=(20, 120, 200), **options):
    img = Image.new("RGB", size, color)
    for x in range(0, size[0], 7):  # some structure, so two colours never hash alike by accident
        img.putpixel((x, x % size[1]), (255, 255, 255))
    out = io.BytesIO()
    img.save(out, fmt, **options)
    return out.getvalue()


@functools.cache
def one_colour_png(width, height, color=(20, 120, 200)):
    """A real, decodable RGB PNG of one colour: tens of megapixels in about a hundred kilobytes.

    Written row by row with zlib, so making it costs neither the memory nor the time of a decode.
    """
    compressor = zlib.compressobj(9)
    row = b"\x00" + bytes(color) * width  # filter type 0, then the pixels
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def upload(data=None, name="riwayat.png"):
    fileobj = io.BytesIO(image_bytes() if data is None else data)
    fileobj.name = name
    return fileobj


def stamp_failed(**overrides):
    data = {
        "category": "stamp_failed",
        "full_name": "Siti Rahmawati",
        "nik": NIK_WOMAN,
        "email": "siti@example.com",
        "whatsapp": "0812-3456-7890",
        "consent": "true",
        "quota_lost": "2",
        "serial_numbers": SERIAL,
        "document_name": "surat-lamaran.pdf",
        "evidence": upload(),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def paid_not_credited(**overrides):
    data = {
        "category": "paid_not_credited",
        "full_name": "Budi Santoso",
        "nik": NIK_MAN,
        "email": "budi@example.com",
        "whatsapp": "+62 813 1111 2222",
        "consent": "true",
        "order_id": "ORD-2024-0001",
        "amount_paid": "Rp 50.000",
        "payment_channel": "QRIS",
        "evidence": upload(),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def other_json(**overrides):
    data = {
        "category": "other",
        "full_name": "Dewi Lestari",
        "nik": NIK_WOMAN,
        "email": "dewi@example.com",
        "whatsapp": "6281255556666",
        "consent": True,
        "description": "Saya tidak bisa masuk ke akun.",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
