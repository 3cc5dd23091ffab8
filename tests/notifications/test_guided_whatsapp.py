"""A report taken on WhatsApp question by question: signed webhooks over real HTTP, the Twilio double.

Each test plays the applicant's side through Twilio's webhook to a live server; the questions come
back as the webhook's TwiML, the confirmation through Twilio's Messages API (the double).
"""

import html
import io
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connections
from django.utils import timezone
from PIL import Image

from notifications import guided
from notifications.models import Direction, GuidedConversation, GuidedState, GuidedTurn, Message
from tests.doubles.twilio import APPLICANT_WHATSAPP
from tests.notifications.conftest import png_bytes
from tickets import services as tickets
from tickets.links import tracking_url
from tickets.models import Category, Evidence, SerialNumber, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

NUMBER = APPLICANT_WHATSAPP.removeprefix("whatsapp:")
NIK = "3171014501900003"
SERIAL = "1A2B3C4D5E6F7G8H9J0K1L"
# The web form's own messages (tickets/locale), in Indonesian.
SERIAL_MESSAGE = "Nomor seri terdiri dari 22 angka atau huruf kapital; periksa: ABC"
QUANTITY_MESSAGE = "Tulis angka dari 1 sampai 1000."
FORMAT_MESSAGE = "Kirim gambar PNG, JPEG, atau WebP."


class Chat:
    """The applicant's phone: each `say` is one signed inbound webhook; returns the question asked back."""

    def __init__(self, double, url):
        self.double, self.url = double, url
        self.last_form = None

    def say(self, body="", *, media=(), form=None):
        self.last_form = form or self.double.inbound_form(body, media=list(media))
        answer = self.double.post_webhook(self.url, self.last_form)
        assert answer.status_code == 200, answer.text
        found = re.search(r"<Message>(.*)</Message>", answer.text, re.S)
        return html.unescape(found.group(1)) if found else ""

    def screenshot(self, size=(390, 844)):
        return [(self.double.add_media(png_bytes(size), "image/png"), "image/png")]


@pytest.fixture
def chat(live_server, settings, twilio_double):
    cache.clear()  # the rate limits per number and NIK start afresh (they stay on)
    settings.PUBLIC_BASE_URL = live_server.url
    return Chat(twilio_double, f"{live_server.url}/webhooks/twilio/whatsapp/")


def _stamp_failed_until_confirmation(chat):
    chat.say("Halo")
    chat.say("1")
    chat.say("Siti Aminah")
    chat.say(NIK)
    chat.say("siti@example.com")
    chat.say(SERIAL)
    chat.say("2")
    chat.say("30/11/2026 14.30")
    return chat.say(media=chat.screenshot())


def _confirmations(double):
    return [message for message in double.messages if "EMT-" in message["body"]]


# --- each category, start to finish -----------------------------------------------------------------


def test_first_message_from_an_unknown_number_asks_what_happened_in_indonesian(chat):
    question = chat.say("Halo, kuota saya hilang")
    assert "Apa yang terjadi" in question and "1." in question and "3." in question
    assert not Ticket.objects.exists()
    assert GuidedConversation.objects.get().language == "id"


def test_stamp_failed_report_has_the_data_of_a_web_report_and_the_confirmation_reaches_twilio(chat):
    summary = _stamp_failed_until_confirmation(chat)
    assert "3171********0003" in summary and SERIAL in summary
    consent = chat.say("ya")
    assert "setuju" in consent.lower()
    assert chat.say("YA") == ""

    ticket = Ticket.objects.get()
    assert (ticket.category, ticket.channel, ticket.language) == (Category.STAMP_FAILED, "whatsapp", "id")
    assert (ticket.full_name, ticket.nik, ticket.email, ticket.whatsapp) == (
        "Siti Aminah",
        NIK,
        "siti@example.com",
        NUMBER,
    )
    assert ticket.platform_account_email == "siti@example.com" and ticket.quota_lost == 2
    assert timezone.localtime(ticket.attempted_at).strftime("%d/%m/%Y %H:%M") == "30/11/2026 14:30"
    assert ticket.consent_at is not None and ticket.preferred_channel == "whatsapp"
    assert list(SerialNumber.objects.values_list("value", flat=True)) == [SERIAL]
    assert Evidence.objects.get(ticket=ticket).width == 390
    [confirmation] = _confirmations(chat.double)
    assert ticket.reference in confirmation["body"] and tracking_url(ticket) in confirmation["body"]
    assert confirmation["to"] == APPLICANT_WHATSAPP


def test_the_conversation_is_kept_on_the_ticket_in_order(chat):
    _stamp_failed_until_confirmation(chat)
    chat.say("ya")
    chat.say("ya")
    ticket = Ticket.objects.get()
    inbound = ticket.messages.filter(direction=Direction.INBOUND)
    assert list(inbound.values_list("body", flat=True))[:3] == ["Halo", "1", "Siti Aminah"]
    assert ticket.messages.filter(direction=Direction.OUTBOUND, event="guided").count() >= 9
    assert GuidedConversation.objects.get().state == GuidedState.SUBMITTED


def test_paid_not_credited_with_a_money_refund_asks_for_the_payout_destination(chat):
    chat.say("Halo")
    chat.say("2")
    chat.say("Budi")
    chat.say(NIK)
    chat.say("budi@example.com")
    chat.say("INV-2026-0042")
    chat.say("Rp 50.000")
    assert "rekening bank" in chat.say("2")  # money back: where to?
    chat.say("2")  # e-wallet
    refused = chat.say("bukan nomor")
    assert "Tulis nomor HP akun dompet digital." in refused
    chat.say("0812 1111 2222")
    chat.say("Budi Santoso")
    chat.say(media=chat.screenshot())
    chat.say("ya")
    chat.say("ya")
    ticket = Ticket.objects.get()
    assert (ticket.category, ticket.order_id, ticket.amount_paid) == (
        Category.PAID_NOT_CREDITED,
        "INV-2026-0042",
        50000,
    )
    assert (ticket.remedy_preference, ticket.payout_method, ticket.payout_account, ticket.payout_name) == (
        "money",
        "ewallet",
        "+6281211112222",
        "Budi Santoso",
    )
    assert ticket.evidence.count() == 1 and _confirmations(chat.double)


def test_other_category_asks_only_for_a_description(chat):
    chat.say("Halo")
    chat.say("3")
    chat.say("Ani")
    chat.say(NIK)
    chat.say("ani@example.com")
    summary = chat.say("Saya tidak bisa login ke akun saya")
    assert "tidak bisa login" in summary
    chat.say("ya")
    chat.say("ya")
    ticket = Ticket.objects.get()
    assert (ticket.category, ticket.description) == (Category.OTHER, "Saya tidak bisa login ke akun saya")
    assert not ticket.evidence.exists()


def test_an_applicant_writing_english_is_asked_in_english(chat):
    question = chat.say("Hello, I need help")
    assert "What happened" in question
    assert "full name" in chat.say("1")


# --- wrong answers ------------------------------------------------------------------------------


def test_a_wrong_nik_is_asked_again_with_the_forms_message(chat):
    chat.say("Halo")
    chat.say("1")
    chat.say("Siti")
    again = chat.say("12345")
    assert "NIK harus terdiri dari 16 angka." in again and "NIK" in again
    assert "nik" not in GuidedConversation.objects.get().answers


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("9", "Balas dengan salah satu angka."),
    ],
)
def test_a_category_that_is_not_offered_is_asked_again(chat, answer, message):
    chat.say("Halo")
    assert message in chat.say(answer)
    assert GuidedConversation.objects.get().answers == {}


def test_a_wrong_serial_number_and_quantity_are_refused_with_the_forms_messages(chat):
    chat.say("Halo")
    chat.say("1")
    chat.say("Siti")
    chat.say(NIK)
    chat.say("siti@example.com")
    assert SERIAL_MESSAGE in chat.say("ABC")
    chat.say(SERIAL)
    assert QUANTITY_MESSAGE in chat.say("5000")
    assert "quota_lost" not in GuidedConversation.objects.get().answers


def test_an_image_that_is_not_a_screenshot_is_refused_and_asked_again(chat):
    chat.say("Halo")
    chat.say("1")
    chat.say("Siti")
    chat.say(NIK)
    chat.say("siti@example.com")
    chat.say(SERIAL)
    chat.say("1")
    chat.say("-")
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), "red").save(buffer, "GIF")
    gif = chat.double.add_media(buffer.getvalue(), "image/gif")
    again = chat.say(media=[(gif, "image/gif")])
    assert FORMAT_MESSAGE in again
    assert "evidence" not in GuidedConversation.objects.get().answers
    assert "Periksa laporan Anda" in chat.say(media=chat.screenshot())
    assert "evidence" in GuidedConversation.objects.get().answers


def test_text_where_a_screenshot_is_expected_is_asked_again(chat):
    chat.say("Halo")
    for answer in ["1", "Siti", NIK, "siti@example.com", SERIAL, "1", "-"]:
        chat.say(answer)
    again = chat.say("sudah saya kirim")
    assert "gambar" in again.lower()


# --- cancel, start over, an agent -------------------------------------------------------------------


def test_batal_stops_and_stores_no_report(chat):
    chat.say("Halo")
    chat.say("1")
    assert "Dihentikan" in chat.say("batal")
    assert not Ticket.objects.exists()
    assert GuidedConversation.objects.get().state == GuidedState.CANCELLED


def test_a_message_after_cancelling_starts_a_new_conversation(chat):
    chat.say("Halo")
    chat.say("batal")
    assert "Apa yang terjadi" in chat.say("Halo lagi")
    assert GuidedConversation.objects.filter(state=GuidedState.ACTIVE).count() == 1


def test_ulang_starts_over(chat):
    chat.say("Halo")
    chat.say("1")
    chat.say("Siti")
    assert "Apa yang terjadi" in chat.say("ulang")
    assert GuidedConversation.objects.get().answers == {}


def test_petugas_hands_the_partial_answers_to_an_agent_on_a_ticket(chat):
    chat.say("Halo")
    chat.say("1")
    chat.say("Siti Aminah")
    chat.say(NIK)
    reply = chat.say("petugas")
    ticket = Ticket.objects.get()
    assert ticket.reference in reply
    assert (ticket.category, ticket.full_name, ticket.nik, ticket.channel) == (
        Category.OTHER,
        "Siti Aminah",
        NIK,
        "whatsapp",
    )
    assert "Pembubuhan gagal dan kuota terpotong" in ticket.description
    assert ticket.messages.filter(direction=Direction.INBOUND, body="Siti Aminah").exists()
    assert ticket.messages.filter(direction=Direction.OUTBOUND, body=reply).exists()
    assert GuidedConversation.objects.get().state == GuidedState.HANDED_OVER


def test_after_a_hand_over_the_next_message_joins_the_ticket(chat):
    chat.say("Halo")
    chat.say("petugas")
    assert chat.say("Tolong dibantu") == ""
    ticket = Ticket.objects.get()
    assert ticket.messages.filter(direction=Direction.INBOUND, body="Tolong dibantu").exists()
    assert GuidedConversation.objects.count() == 1


# --- restarts, duplicates ---------------------------------------------------------------------------


def test_a_restarted_worker_resumes_where_the_applicant_was(chat):
    chat.say("Halo")
    chat.say("1")
    chat.say("Siti Aminah")
    connections.close_all()  # what a restarted worker has: the database, nothing in memory
    stored = GuidedConversation.objects.get()
    assert stored.answers == {"category": "stamp_failed", "full_name": "Siti Aminah"}
    chat.say(NIK)
    assert GuidedConversation.objects.get().answers["nik"] == NIK


def test_the_same_message_sid_twice_changes_nothing(chat):
    chat.say("Halo")
    chat.say("1")
    form = chat.double.inbound_form("Siti Aminah")
    chat.say(form=form)
    turns = GuidedTurn.objects.count()
    assert chat.say(form=form) == ""
    assert GuidedTurn.objects.count() == turns
    assert GuidedConversation.objects.get().answers["full_name"] == "Siti Aminah"


def test_a_duplicated_confirmation_creates_one_report(chat):
    _stamp_failed_until_confirmation(chat)
    chat.say("ya")
    form = chat.double.inbound_form("ya")
    chat.say(form=form)
    chat.say(form=form)
    assert Ticket.objects.count() == 1 and len(_confirmations(chat.double)) == 1


# --- idle conversations -------------------------------------------------------------------------


def test_an_idle_conversation_is_reminded_once_with_the_template_then_closed(chat, settings):
    settings.TWILIO_CONTENT_SIDS = {"guided_reminder": {"id": "HX" + "1" * 32}}
    chat.say("Halo")
    chat.say("1")
    later = timezone.now() + timedelta(days=1, minutes=1)
    assert guided.remind_and_close_idle(now=later) == (1, 0)
    assert guided.remind_and_close_idle(now=later) == (0, 0)
    [reminder] = [m for m in chat.double.messages if m["form"].get("ContentSid")]
    assert reminder["form"]["ContentSid"] == "HX" + "1" * 32
    assert guided.remind_and_close_idle(now=later + timedelta(days=1, minutes=1)) == (0, 1)
    assert GuidedConversation.objects.get().state == GuidedState.EXPIRED
    assert not Message.objects.exists()


def test_a_quick_reply_template_asks_the_category_when_one_is_configured(chat, settings):
    settings.TWILIO_CONTENT_SIDS = {"guided_category": {"id": "HX" + "2" * 32}}
    assert chat.say("Halo") == ""
    [question] = chat.double.messages
    assert question["form"]["ContentSid"] == "HX" + "2" * 32 and question["to"] == APPLICANT_WHATSAPP
    button = {**chat.double.inbound_form("Pembubuhan gagal"), "ButtonPayload": "stamp_failed"}
    assert "nama lengkap" in chat.say(form=button)
    assert GuidedConversation.objects.get().answers == {"category": "stamp_failed"}


# --- two messages at once (PostgreSQL: real row locks) ---------------------------------------------


def _at_once(chat, forms):
    barrier = threading.Barrier(len(forms))

    def post(form):
        barrier.wait()
        return chat.double.post_webhook(chat.url, form).status_code

    with ThreadPoolExecutor(len(forms)) as pool:
        return list(pool.map(post, forms))


@pytest.mark.postgres
def test_two_first_messages_at_once_start_one_conversation(chat):
    forms = [chat.double.inbound_form("Halo"), chat.double.inbound_form("Kuota saya hilang")]
    assert _at_once(chat, forms) == [200, 200]
    conversation = GuidedConversation.objects.get()
    assert conversation.turns.filter(direction=Direction.INBOUND).count() == 2


@pytest.mark.postgres
def test_two_answers_at_once_are_handled_one_after_the_other(chat):
    chat.say("Halo")
    chat.say("1")
    assert _at_once(chat, [chat.double.inbound_form("Siti Aminah"), chat.double.inbound_form(NIK)]) == [
        200,
        200,
    ]
    answers = GuidedConversation.objects.get().answers
    # Whichever came first was the name (a NIK is a valid name), the other the NIK or its refusal.
    assert answers["full_name"] in ("Siti Aminah", NIK)
    assert GuidedTurn.objects.filter(direction=Direction.OUTBOUND).count() == 4


@pytest.mark.postgres
def test_the_same_webhook_twice_at_once_is_handled_once(chat):
    chat.say("Halo")
    form = chat.double.inbound_form("1")
    assert _at_once(chat, [form, form]) == [200, 200]
    assert GuidedTurn.objects.filter(provider_id=form["MessageSid"]).count() == 1
    assert GuidedConversation.objects.get().answers == {"category": "stamp_failed"}


# --- personal data ----------------------------------------------------------------------------------


def test_erasing_the_tickets_personal_data_erases_its_conversation(chat, alice):
    _stamp_failed_until_confirmation(chat)
    chat.say("ya")
    chat.say("ya")
    tickets.erase_personal_data(ticket=Ticket.objects.get(), actor=alice, note="permintaan pelapor")
    conversation = GuidedConversation.objects.get()
    assert (conversation.answers, conversation.whatsapp) == ({}, "")
    assert not GuidedTurn.objects.filter(body__contains=NIK).exists()


def test_a_conversation_that_ended_without_a_report_is_forgotten_after_the_retention(chat, settings):
    chat.say("Halo")
    chat.say(NIK)
    chat.say("batal")
    later = timezone.now() + timedelta(days=settings.RETENTION_DAYS, minutes=1)
    guided.remind_and_close_idle(now=later - timedelta(days=2))
    assert GuidedConversation.objects.exists()
    guided.remind_and_close_idle(now=later)
    assert not GuidedConversation.objects.exists() and not GuidedTurn.objects.exists()


# --- every category through the same trials ---------------------------------------------------------

IMAGE = object()  # in a script: a screenshot sent as a WhatsApp image
SCRIPTS = {
    Category.STAMP_FAILED: [
        "1",
        "Siti Aminah",
        NIK,
        "siti@example.com",
        SERIAL,
        "2",
        "30/11/2026 14.30",
        IMAGE,
    ],
    Category.PAID_NOT_CREDITED: [
        "2",
        "Siti Aminah",
        NIK,
        "siti@example.com",
        "INV-1",
        "Rp 50.000",
        "1",
        IMAGE,
    ],
    Category.OTHER: ["3", "Siti Aminah", NIK, "siti@example.com", "Saya tidak bisa login"],
}
# A wrong answer at each step of each script, with (part of) the form's message it gets.
WRONG = {
    NIK: ("12345", "NIK harus terdiri dari 16 angka."),
    "siti@example.com": ("siti@", "email"),
    SERIAL: ("ABC", SERIAL_MESSAGE),
    "2": ("0", QUANTITY_MESSAGE),
    "Rp 50.000": ("lima puluh ribu", "rupiah"),
}


def _play(chat, answers):
    for answer in answers:
        if answer is IMAGE:
            chat.say(media=chat.screenshot())
        else:
            chat.say(answer)


@pytest.mark.parametrize("category", list(SCRIPTS))
def test_every_category_asks_again_after_each_wrong_answer_and_ends_in_its_report(chat, category):
    chat.say("Halo")
    for answer in SCRIPTS[category]:
        wrong = WRONG.get(answer)
        if wrong is not None and not (answer == "2" and category != Category.STAMP_FAILED):
            before = dict(GuidedConversation.objects.get().answers)
            assert wrong[1].lower() in chat.say(wrong[0]).lower()
            assert GuidedConversation.objects.get().answers == before
        _play(chat, [answer])
    chat.say("ya")
    chat.say("ya")
    ticket = Ticket.objects.get()
    assert (ticket.category, ticket.nik, ticket.channel) == (category, NIK, "whatsapp")
    assert ticket.evidence.count() == (0 if category == Category.OTHER else 1)
    assert ticket.reference in _confirmations(chat.double)[0]["body"]


@pytest.mark.parametrize("category", [Category.STAMP_FAILED, Category.PAID_NOT_CREDITED])
def test_every_category_with_evidence_refuses_a_document_instead_of_a_screenshot(chat, category):
    chat.say("Halo")
    _play(chat, SCRIPTS[category][:-1])
    pdf = chat.double.add_media(b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF", "application/pdf")
    again = chat.say(media=[(pdf, "application/pdf")])
    assert "gambar" in again.lower() and "evidence" not in GuidedConversation.objects.get().answers
    _play(chat, [IMAGE])
    assert GuidedConversation.objects.get().answers["evidence"]


@pytest.mark.parametrize("category", list(SCRIPTS))
def test_every_category_resumes_after_a_restart_and_ignores_a_repeated_webhook(chat, category):
    chat.say("Halo")
    half = len(SCRIPTS[category]) // 2
    _play(chat, SCRIPTS[category][:half])
    repeated = chat.last_form
    connections.close_all()  # a restarted worker: nothing but the database
    answers = GuidedConversation.objects.get().answers
    assert chat.say(form=repeated) == "" and GuidedConversation.objects.get().answers == answers
    _play(chat, SCRIPTS[category][half:])
    chat.say("ya")
    chat.say("ya")
    assert Ticket.objects.get().category == category


@pytest.mark.parametrize("category", list(SCRIPTS))
def test_every_category_can_be_cancelled_at_its_last_question(chat, category):
    chat.say("Halo")
    _play(chat, SCRIPTS[category][:-1])
    chat.say("batal")
    assert not Ticket.objects.exists()
    assert GuidedConversation.objects.get().state == GuidedState.CANCELLED


@pytest.mark.parametrize("category", list(SCRIPTS))
def test_every_category_can_be_handed_to_an_agent_at_its_last_question(chat, category):
    chat.say("Halo")
    _play(chat, SCRIPTS[category][:-1])
    chat.say("agent")
    ticket = Ticket.objects.get()
    assert (ticket.category, ticket.nik, ticket.email) == (Category.OTHER, NIK, "siti@example.com")
    assert ticket.messages.filter(direction=Direction.INBOUND).count() == len(SCRIPTS[category]) + 1
