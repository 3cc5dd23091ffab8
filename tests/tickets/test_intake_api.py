"""POST /api/v1/reports/: every field rule in both languages, hostile files, duplicates, idempotency."""

import io
import struct
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from PIL import Image

from notifications.models import Message
from tests.tickets.intake_helpers import (
    NIK_MAN,
    SERIAL,
    SERIAL_2,
    image_bytes,
    other_json,
    paid_not_credited,
    stamp_failed,
    upload,
)
from tickets.models import Evidence, IdempotencyRecord, SerialNumber, Ticket, TicketTransition

pytestmark = pytest.mark.usefixtures("applicant_defaults")

URL = "/api/v1/reports/"


def post(client, data, *, lang=None, **headers):
    if lang:
        headers["HTTP_ACCEPT_LANGUAGE"] = lang
    return client.post(URL, data, **headers)


def post_json(client, data, *, lang=None, **headers):
    if lang:
        headers["HTTP_ACCEPT_LANGUAGE"] = lang
    return client.post(URL, data, content_type="application/json", **headers)


def stored_files(settings):
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def assert_nothing_stored(settings):
    assert Ticket.objects.count() == 0
    assert Evidence.objects.count() == 0
    assert Message.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0
    assert stored_files(settings) == []


# --- accepted reports ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_stamp_failed_report_is_created_with_its_evidence_and_serials(client, run_on_commit):
    response = run_on_commit(post, client, stamp_failed(serial_numbers=f"{SERIAL}, {SERIAL_2.lower()}"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"reference", "state", "tracking_token", "tracking_url"}
    assert body["state"] == "reported"
    assert body["tracking_url"].endswith(f"/status/{body['reference']}/?token={body['tracking_token']}")
    ticket = Ticket.objects.get(reference=body["reference"])
    assert ticket.whatsapp == "+6281234567890"
    assert ticket.platform_account_email == "siti@example.com"
    assert ticket.quota_lost == 2
    assert ticket.consent_at is not None
    assert sorted(ticket.serials.values_list("value", flat=True)) == sorted([SERIAL, SERIAL_2])
    evidence = ticket.evidence.get()
    assert evidence.content_type == "image/png" and evidence.thumbnail
    assert TicketTransition.objects.filter(ticket=ticket, name="report").exists()
    assert Message.objects.filter(ticket=ticket, event="report_received").exists()


@pytest.mark.django_db
def test_paid_not_credited_takes_rupiah_spelled_the_indonesian_way(client):
    response = post(client, paid_not_credited(amount_paid="Rp 1.250.000"))
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert ticket.amount_paid == 1_250_000
    assert ticket.remedy_preference == "quota"
    assert ticket.payout_account == ""


@pytest.mark.django_db
def test_money_refund_to_an_ewallet_stores_its_number_as_e164(client):
    data = paid_not_credited(
        remedy_preference="money",
        payout_method="ewallet",
        payout_account="0857 1234 5678",
        payout_name="Budi",
    )
    assert post(client, data).status_code == 201
    assert Ticket.objects.get().payout_account == "+6285712345678"


@pytest.mark.django_db
def test_other_complaint_as_json_needs_no_evidence(client):
    response = post_json(client, other_json())
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert ticket.category == "other" and ticket.whatsapp == "+6281255556666"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "spelling",
    ["0812-3456-7890", "+62 812 3456 7890", "62812 3456 7890", "(0812) 3456 7890", "0062 812-3456-7890"],
)
def test_whatsapp_numbers_in_any_usual_spelling_are_stored_as_e164(client, spelling):
    assert post_json(client, other_json(whatsapp=spelling)).status_code == 201
    assert Ticket.objects.get().whatsapp == "+6281234567890"


@pytest.mark.django_db
def test_fields_of_another_category_are_not_stored(client):
    response = post(client, stamp_failed(order_id="ORD-1", amount_paid="5000"))
    assert response.status_code == 201
    ticket = Ticket.objects.get()
    assert ticket.order_id == "" and ticket.amount_paid is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        paid_not_credited(serial_numbers="", quota_lost="", attempted_at=""),  # a form's hidden section
        paid_not_credited(serial_numbers="12345", quota_lost="dua", attempted_at="kemarin"),
        paid_not_credited(payout_method="ewallet", payout_account="bukan nomor"),  # quota was chosen
        stamp_failed(amount_paid="lima puluh ribu", remedy_preference="", payout_account="x"),
    ],
    ids=["empty", "typed before changing category", "money fields when quota chosen", "paid fields"],
)
def test_fields_of_a_section_that_does_not_apply_are_ignored_not_refused(client, data):
    response = post(client, data)
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_other_complaint_from_the_form_ignores_the_empty_hidden_sections(client):
    data = other_json(consent="true", serial_numbers="", quota_lost="", order_id="", amount_paid="")
    assert post(client, data).status_code == 201


# --- each validation rule, in both languages -------------------------------------------------------

RULES = [
    # (name, data, field, Indonesian message, English message)
    (
        "nik length",
        {"nik": "31710145019000"},
        "nik",
        "NIK harus terdiri dari 16 angka.",
        "The NIK must have 16 digits.",
    ),
    (
        "nik region",
        {"nik": "9971014501900001"},
        "nik",
        "Kode wilayah pada NIK tidak dikenal.",
        "The NIK has an unknown region code.",
    ),
    (
        "nik birth date",
        {"nik": "3171018501900001"},
        "nik",
        "Tanggal lahir pada NIK tidak valid.",
        "The NIK has an invalid birth date.",
    ),
    (
        "nik women +40 only to 71",
        {"nik": "3171017201900001"},
        "nik",
        "Tanggal lahir pada NIK tidak valid.",
        "The NIK has an invalid birth date.",
    ),
    (
        "whatsapp letters",
        {"whatsapp": "0812-abc"},
        "whatsapp",
        "Masukkan nomor HP yang benar.",
        "Enter a valid mobile number.",
    ),
    (
        "whatsapp foreign",
        {"whatsapp": "+1 415 555 2671"},
        "whatsapp",
        "Masukkan nomor HP Indonesia.",
        "Enter an Indonesian mobile number.",
    ),
    (
        "whatsapp landline",
        {"whatsapp": "021 555 1234"},
        "whatsapp",
        "Masukkan nomor HP, bukan nomor telepon rumah/kantor.",
        "Enter a mobile number, not a landline.",
    ),
    (
        "serial format",
        {"serial_numbers": "12345"},
        "serial_numbers",
        "Nomor seri terdiri dari 22 angka atau huruf kapital; periksa: 12345",
        "Serial numbers have 22 digits or capital letters; check: 12345",
    ),
    (
        "serial required",
        {"serial_numbers": None},
        "serial_numbers",
        "Bidang ini harus diisi.",
        "This field is required.",
    ),
    (
        "quota too small",
        {"quota_lost": "0"},
        "quota_lost",
        "Tulis angka dari 1 sampai 1000.",
        "Enter a number from 1 to 1000.",
    ),
    (
        "quota too large",
        {"quota_lost": "1001"},
        "quota_lost",
        "Tulis angka dari 1 sampai 1000.",
        "Enter a number from 1 to 1000.",
    ),
    (
        "quota not a number",
        {"quota_lost": "dua"},
        "quota_lost",
        "Tulis bilangan bulat.",
        "Enter a whole number.",
    ),
    (
        "consent missing",
        {"consent": None},
        "consent",
        "Persetujuan Anda diperlukan untuk memproses laporan ini.",
        "Your consent is needed to process this report.",
    ),
    (
        "consent refused",
        {"consent": "false"},
        "consent",
        "Persetujuan Anda diperlukan untuk memproses laporan ini.",
        "Your consent is needed to process this report.",
    ),
    (
        "evidence required",
        {"evidence": None},
        "evidence",
        "Lampirkan paling sedikit satu tangkapan layar riwayat pembubuhan.",
        "Attach at least one screenshot of the stamping history.",
    ),
    (
        "too many images",
        {"evidence": [upload() for _ in range(6)]},
        "evidence",
        "Lampirkan paling banyak 5 gambar.",
        "Attach at most 5 images.",
    ),
    (
        "email",
        {"email": "siti@"},
        "email",
        "Masukkan alamat email dengan format yang benar.",
        "Enter a valid email address.",
    ),
    (
        "description too long",
        {"description": "x" * 2001},
        "description",
        "Isi bidang ini tidak boleh melebihi 2000 karakter.",
        "Ensure this field has no more than 2000 characters.",
    ),
    (
        "category unknown",
        {"category": "refund"},
        "category",
        '"refund" tidak ada dalam daftar pilihan.',
        '"refund" is not a valid choice.',
    ),
    (
        "name required",
        {"full_name": ""},
        "full_name",
        "Bidang ini tidak boleh kosong.",
        "This field may not be blank.",
    ),
]
PAID_RULES = [
    ("amount spelled wrong", {"amount_paid": "50rb"}, "amount_paid", "Tulis jumlah dalam rupiah, misalnya 10000.", "Enter the amount in rupiah, for example 10000."),
    ("amount with cents", {"amount_paid": "50.000,50"}, "amount_paid", "Tulis jumlah dalam rupiah, misalnya 10000.", "Enter the amount in rupiah, for example 10000."),
    ("order required", {"order_id": ""}, "order_id", "Bidang ini harus diisi.", "This field is required."),
    ("payout needed for money", {"remedy_preference": "money"}, "payout_account", "Bidang ini harus diisi.", "This field is required."),
    ("bank account", {"remedy_preference": "money", "payout_method": "bank", "payout_account": "BCA", "payout_name": "Budi"}, "payout_account", "Tulis nama atau kode bank dan nomor rekening.", "Enter the bank name or code and the account number."),
    ("ewallet number", {"remedy_preference": "money", "payout_method": "ewallet", "payout_account": "12", "payout_name": "Budi"}, "payout_account", "Tulis nomor HP akun dompet digital.", "Enter the phone number of the e-wallet account."),
]  # fmt: skip


def _check_rule(client, settings, data, field, message_id, message_en):
    for lang, expected in ((None, message_id), ("en-US,en;q=0.8", message_en)):
        payload = dict(data)
        for value in payload.values():  # uploads are consumed by each request
            if isinstance(value, io.BytesIO):
                value.seek(0)
            if isinstance(value, list):
                for item in value:
                    item.seek(0)
        response = post(client, payload, lang=lang)
        assert response.status_code == 400, response.content
        assert expected in response.json()["errors"][field], response.json()
    assert_nothing_stored(settings)


@pytest.mark.django_db
@pytest.mark.parametrize("name,change,field,message_id,message_en", RULES, ids=[rule[0] for rule in RULES])
def test_stamp_failed_rule_is_explained_in_both_languages(
    client, settings, name, change, field, message_id, message_en
):
    _check_rule(client, settings, stamp_failed(**change), field, message_id, message_en)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name,change,field,message_id,message_en", PAID_RULES, ids=[rule[0] for rule in PAID_RULES]
)
def test_paid_not_credited_rule_is_explained_in_both_languages(
    client, settings, name, change, field, message_id, message_en
):
    _check_rule(client, settings, paid_not_credited(**change), field, message_id, message_en)


@pytest.mark.django_db
def test_errors_default_to_indonesian_and_follow_accept_language(client):
    assert post_json(client, {})["Content-Language"] == "id"
    response = post_json(client, {}, lang="en")
    assert response.json()["errors"]["category"] == ["This field is required."]
    response = post_json(client, {}, lang="fr-FR,fr;q=0.9")
    assert response.json()["errors"]["category"] == ["Bidang ini harus diisi."]


@pytest.mark.django_db
def test_json_evidence_that_is_not_a_file_is_refused(client, settings):
    response = post_json(client, {**other_json(), "evidence": ["aGVsbG8="]}, lang="en")
    assert response.status_code == 400
    assert "multipart/form-data" in response.json()["errors"]["evidence"][0]
    assert_nothing_stored(settings)


# --- hostile files through the API: refused, nothing stored -----------------------------------------


def _png_bomb(width=20_000, height=20_000):
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    row = b"\x00" * (width + 1)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row * 100) for _ in range(height // 100)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _gif():
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    return out.getvalue()


HOSTILE = [
    ("not an image", b"%PDF-1.4 this is not a picture", 415, "Berkas bukan gambar yang dapat dibaca."),
    ("gif", _gif(), 415, "Kirim gambar PNG, JPEG, atau WebP."),
    ("bomb", _png_bomb(), 413, "Resolusi gambar terlalu besar."),
]


@pytest.mark.django_db
@pytest.mark.parametrize("name,data,status,message", HOSTILE, ids=[item[0] for item in HOSTILE])
def test_hostile_file_is_refused_and_nothing_is_stored(client, settings, name, data, status, message):
    response = post(client, stamp_failed(evidence=[upload(), upload(data, name="x.png")]))
    assert response.status_code == status, response.content
    assert response.json()["errors"]["evidence"] == [f"x.png: {message}"]
    assert_nothing_stored(settings)


@pytest.mark.django_db
def test_oversize_file_is_refused_with_413(client, settings):
    settings.EVIDENCE_MAX_BYTES = 50_000
    big = image_bytes("BMP", size=(300, 300))  # BMP: large, and the size check comes first
    response = post(client, stamp_failed(evidence=upload(big, "big.png")), lang="en")
    assert response.status_code == 413
    assert response.json()["errors"]["evidence"] == ["big.png: The file is too large."]
    assert_nothing_stored(settings)


@pytest.mark.django_db
def test_request_larger_than_any_report_is_refused_before_reading(client, settings):
    settings.EVIDENCE_MAX_BYTES = 10_000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    payload = stamp_failed(evidence=[upload(b"\0" * 30_000, f"{n}.png") for n in range(3)])
    response = post(client, payload)
    assert response.status_code == 413
    assert_nothing_stored(settings)


@pytest.mark.django_db
def test_gps_tag_does_not_survive_in_the_stored_evidence(client, run_on_commit):
    img = Image.new("RGB", (200, 100), (10, 200, 10))
    exif = Image.Exif()
    exif[0x8825] = {1: "S", 2: (6.0, 10.0, 30.0), 3: "E", 4: (106.0, 49.0, 0.0)}  # GPSInfo
    exif[0x010F] = "SECRET-CAMERA-MAKER"
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    original = out.getvalue()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the upload really has GPS

    response = run_on_commit(post, client, stamp_failed(evidence=upload(original, "foto.jpg")))
    assert response.status_code == 201
    stored = Evidence.objects.get()
    content = stored.file.read()
    reopened = Image.open(io.BytesIO(content))
    assert not reopened.getexif()
    assert b"SECRET-CAMERA-MAKER" not in content and b"Exif" not in content
    assert b"Exif" not in stored.thumbnail.read()


# --- duplicates are flagged for agents, never shown to the applicant --------------------------------


@pytest.mark.django_db
def test_serial_number_of_an_open_ticket_flags_possible_duplicate_silently(client):
    first = post(client, stamp_failed()).json()
    second = post(client, stamp_failed(whatsapp="0813 9999 8888", serial_numbers=f"{SERIAL_2} {SERIAL}"))
    assert second.status_code == 201
    assert first["reference"] not in second.content.decode()
    assert "duplicate" not in second.content.decode()
    assert Ticket.objects.get(reference=second.json()["reference"]).possible_duplicate
    assert not Ticket.objects.get(reference=first["reference"]).possible_duplicate
    assert SerialNumber.objects.filter(value=SERIAL).count() == 2


@pytest.mark.django_db
def test_same_screenshot_on_another_ticket_is_flagged(client, run_on_commit):
    run_on_commit(post, client, stamp_failed())
    response = run_on_commit(post, client, stamp_failed(serial_numbers=SERIAL_2, nik="3273010505850002"))
    assert Ticket.objects.get(reference=response.json()["reference"]).possible_duplicate


# --- Idempotency-Key ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_retry_with_same_key_and_body_returns_first_answer_and_creates_nothing(client):
    first = post(client, stamp_failed(), HTTP_IDEMPOTENCY_KEY="key-1")
    again = post(client, stamp_failed(), HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Ticket.objects.count() == 1
    assert Evidence.objects.count() == 1
    assert Message.objects.filter(event="report_received").count() == 2  # whatsapp + email, once


@pytest.mark.django_db
def test_same_key_with_another_body_is_422_and_creates_nothing(client):
    post(client, stamp_failed(), HTTP_IDEMPOTENCY_KEY="key-2")
    other = post(client, stamp_failed(quota_lost="3"), HTTP_IDEMPOTENCY_KEY="key-2", lang="en")
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["errors"]["idempotency_key"][0]
    other_picture = post(
        client, stamp_failed(evidence=upload(image_bytes(color=(1, 2, 3)))), HTTP_IDEMPOTENCY_KEY="key-2"
    )
    assert other_picture.status_code == 422
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_two_applicants_with_the_same_key_each_get_their_own_report(client):
    first = post(client, stamp_failed(), HTTP_IDEMPOTENCY_KEY="1")
    second = post(client, stamp_failed(nik=NIK_MAN, whatsapp="081298765432"), HTTP_IDEMPOTENCY_KEY="1")
    assert first.status_code == second.status_code == 201
    assert first.json()["reference"] != second.json()["reference"]
    assert second.json()["tracking_token"] != first.json()["tracking_token"]
    assert Ticket.objects.count() == 2


@pytest.mark.django_db
def test_retry_from_another_address_still_returns_the_first_answer(client):
    first = post(client, stamp_failed(), HTTP_IDEMPOTENCY_KEY="key-4", REMOTE_ADDR="10.1.1.1")
    again = post(client, stamp_failed(), HTTP_IDEMPOTENCY_KEY="key-4", REMOTE_ADDR="10.2.2.2")
    assert first.json() == again.json() and Ticket.objects.count() == 1


@pytest.mark.django_db
def test_refused_request_does_not_use_up_its_key(client):
    assert post(client, stamp_failed(nik="1"), HTTP_IDEMPOTENCY_KEY="key-3").status_code == 400
    assert post(client, stamp_failed(), HTTP_IDEMPOTENCY_KEY="key-3").status_code == 201


@pytest.mark.django_db
def test_attempt_time_from_a_phone_form_is_read_in_jakarta_time(client):
    response = post(client, stamp_failed(attempted_at="2024-09-10T23:50"))
    assert response.status_code == 201, response.content
    attempted = Ticket.objects.get().attempted_at
    assert attempted.isoformat() == "2024-09-10T16:50:00+00:00"


@pytest.mark.django_db
def test_client_cannot_set_the_state_or_the_duplicate_flag(client):
    response = post_json(client, {**other_json(), "possible_duplicate": True, "state": "approved"})
    assert response.status_code == 201
    ticket = Ticket.objects.get()
    assert ticket.state == "reported" and ticket.possible_duplicate is False


@pytest.mark.django_db
def test_a_one_letter_name_is_refused(client):
    response = client.post("/api/v1/reports/", stamp_failed(full_name="S"), HTTP_ACCEPT_LANGUAGE="id")
    assert response.status_code == 400
    assert response.json()["errors"]["full_name"] == ["Isi nama lengkap Anda sesuai KTP."]


@pytest.mark.django_db
def test_an_attempt_in_the_future_is_refused(client):
    later = (timezone.now() + timedelta(days=1)).isoformat()
    response = client.post("/api/v1/reports/", stamp_failed(attempted_at=later), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json()["errors"]["attempted_at"] == ["The time of the attempt cannot be in the future."]


@pytest.mark.django_db
def test_every_error_comes_at_once_the_missing_screenshot_included(client):
    data = stamp_failed(nik="123")
    del data["evidence"]
    response = client.post("/api/v1/reports/", data)
    assert {"nik", "evidence"} <= set(response.json()["errors"])
