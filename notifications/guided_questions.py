"""The questions of a guided WhatsApp report, and each answer checked by the report's own rules.

Each answer goes through the field of `tickets.intake.ReportSerializer` that the web form and the API
use (and its `validate_<field>`), so a wrong answer gets the same message; the whole report is checked
once more by the serializer before it is created. Texts are gettext'd: Indonesian first, English.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _
from rest_framework import serializers

from tickets.intake import ReportSerializer, clean_payout_account
from tickets.masking import mask, mask_nik
from tickets.models import Category, PayoutMethod, RemedyPreference

YES = {"ya", "y", "iya", "yes", "ok", "oke", "setuju", "agree", "benar", "1"}
NO = {"tidak", "t", "no", "n", "tidak setuju", "2"}
SKIP = {"-", "skip", "lewati", "tidak tahu", "tidak ingat", "don't know"}


class Invalid(Exception):
    """The answer does not fit; `message` says why, in the conversation's language."""

    def __init__(self, message):
        super().__init__(message)
        self.message = str(message)


@dataclass(frozen=True)
class Question:
    name: str
    prompt: object  # () -> str, called in the conversation's language
    parse: object  # (text, answers) -> the answer to store (JSON)


def _checked(name, value):
    """`value` through the report serializer's field `name` and its validate_<name>, or Invalid."""
    serializer = ReportSerializer()
    field = serializer.fields[name]
    try:
        value = field.run_validation(value)
        check = getattr(serializer, f"validate_{name}", None)
        return check(value) if check else value
    except serializers.ValidationError as exc:
        raise Invalid(_first(exc.detail)) from None


def _first(detail):
    while isinstance(detail, list | dict):
        detail = next(iter(detail.values() if isinstance(detail, dict) else detail), "")
    return str(detail)


def _choice(options):
    """A numbered answer (or the choice's own value, as a quick-reply button sends it)."""

    def parse(text, answers):
        value = text.strip().lower()
        for number, option in enumerate(options, start=1):
            if value in (str(number), option):
                return option
        raise Invalid(_("Reply with one of the numbers."))

    return parse


def _text(name):
    return lambda text, answers: _checked(name, text.strip())


def _required_text(name):
    def parse(text, answers):
        if not text.strip():
            raise Invalid(_("This field is required."))
        return _checked(name, text.strip())

    return parse


def _quota(text, answers):
    return _checked("quota_lost", text.strip())


def _amount(text, answers):
    return _checked("amount_paid", text.strip())


_DATE = re.compile(
    r"^(\d{1,2})[/\-.](\d{1,2})[/\-.](\d{4})(?:[ ,]+(?:jam |pukul |at )?(\d{1,2})[:.](\d{2}))?$"
)


def _attempted_at(text, answers):
    """A day and time as applicants write them (30/11/2026 14.30), or '-' when they do not know."""
    text = text.strip().lower()
    if text in SKIP:
        return None
    match = _DATE.match(text)
    if not match:
        raise Invalid(_("Write the date and time like 30/11/2026 14:30, or - if you do not know."))
    day, month, year, hour, minute = (int(part) if part else 0 for part in match.groups())
    try:
        moment = datetime(year, month, day, hour, minute)
    except ValueError:
        raise Invalid(_("Write the date and time like 30/11/2026 14:30, or - if you do not know.")) from None
    return _checked("attempted_at", moment.isoformat()).isoformat()


def _payout_account(text, answers):
    try:
        return clean_payout_account(method=answers.get("payout_method", ""), account=text.strip())
    except serializers.ValidationError as exc:
        raise Invalid(_first(exc.detail)) from None


def _yes_no(text, answers):
    value = text.strip().lower()
    if value in YES:
        return True
    if value in NO:
        return False
    raise Invalid(_("Reply YA or TIDAK."))


def _serial_numbers(text, answers):
    return _checked("serial_numbers", text)


def category_prompt():
    return _(
        "Hello, this is the e-Meterai help desk. What happened? Reply with a number:\n"
        "1. Stamping failed and the quota was consumed\n"
        "2. Paid, but the quota was not credited\n"
        "3. Something else\n"
        "(Reply EN for English. PETUGAS: talk to an agent. BATAL: stop.)"
    )


QUESTIONS = {
    question.name: question
    for question in [
        Question(
            "category",
            category_prompt,
            _choice([Category.STAMP_FAILED, Category.PAID_NOT_CREDITED, Category.OTHER]),
        ),
        Question("full_name", lambda: _("What is your full name?"), _required_text("full_name")),
        Question("nik", lambda: _("What is your NIK (16 digits, on your KTP)?"), _text("nik")),
        Question(
            "email",
            lambda: _("What is the email address of your e-Meterai account?"),
            _text("email"),
        ),
        Question(
            "serial_numbers",
            lambda: _(
                "Send the serial numbers of the failed e-Meterai (22 characters each; several can be "
                "separated by spaces or new lines)."
            ),
            _serial_numbers,
        ),
        Question("quota_lost", lambda: _("How many stamps of quota were lost?"), _quota),
        Question(
            "attempted_at",
            lambda: _("When did the stamping fail? For example 30/11/2026 14:30 (or - if you do not know)."),
            _attempted_at,
        ),
        Question(
            "order_id", lambda: _("What is the order number of your purchase?"), _required_text("order_id")
        ),
        Question("amount_paid", lambda: _("How much did you pay, in rupiah?"), _amount),
        Question(
            "remedy_preference",
            lambda: _("What would you like? Reply 1 for the quota to be credited, 2 for your money back."),
            _choice([RemedyPreference.QUOTA, RemedyPreference.MONEY]),
        ),
        Question(
            "payout_method",
            lambda: _("Where should the money go? Reply 1 for a bank account, 2 for an e-wallet."),
            _choice([PayoutMethod.BANK, PayoutMethod.EWALLET]),
        ),
        Question(
            "payout_account",
            lambda: _(
                "Send the bank name and account number (for example BCA 1234567890), or the phone number "
                "of the e-wallet."
            ),
            _payout_account,
        ),
        Question("payout_name", lambda: _("In whose name is that account?"), _required_text("payout_name")),
        Question(
            "evidence",
            lambda: _(
                "Send a screenshot of the stamping or purchase history as a WhatsApp image (not as a "
                "document)."
            ),
            None,  # an image, not text: see guided.py
        ),
        Question("description", lambda: _("Tell us briefly what happened."), _required_text("description")),
        Question("confirmed", lambda: "", _yes_no),  # the prompt is the summary
        Question(
            "consent",
            lambda: _(
                "We use your data (NIK, number, screenshots, account) only to handle this complaint, "
                "as the personal data protection law requires. Do you agree? Reply YA or TIDAK."
            ),
            _yes_no,
        ),
    ]
}


def sequence(answers):
    """The questions this report needs, in order: only those of its category (and remedy)."""
    names = ["category", "full_name", "nik", "email"]
    category = answers.get("category")
    if category == Category.STAMP_FAILED:
        names += ["serial_numbers", "quota_lost", "attempted_at", "evidence"]
    elif category == Category.PAID_NOT_CREDITED:
        names += ["order_id", "amount_paid", "remedy_preference"]
        if answers.get("remedy_preference") == RemedyPreference.MONEY:
            names += ["payout_method", "payout_account", "payout_name"]
        names += ["evidence"]
    elif category == Category.OTHER:
        names += ["description"]
    return names + ["confirmed", "consent"]


def current(answers):
    """The first question not answered yet (None: every answer is in)."""
    return next((QUESTIONS[name] for name in sequence(answers) if name not in answers), None)


def summary(answers, *, footer=True):
    """What the applicant is about to send, to confirm (without the footer: for an agent)."""
    labels = {
        "category": _("Problem"),
        "full_name": _("Name"),
        "nik": "NIK",
        "email": _("Email"),
        "serial_numbers": _("Serial numbers"),
        "quota_lost": _("Quota lost"),
        "attempted_at": _("When"),
        "order_id": _("Order"),
        "amount_paid": _("Amount paid"),
        "remedy_preference": _("Remedy"),
        "payout_method": _("Paid to"),
        "payout_account": _("Account"),
        "payout_name": _("Account name"),
        "evidence": _("Screenshots"),
        "description": _("Description"),
    }
    shown = {
        Category.STAMP_FAILED: _("Stamping failed and the quota was consumed"),
        Category.PAID_NOT_CREDITED: _("Paid, but the quota was not credited"),
        Category.OTHER: _("Something else"),
        RemedyPreference.QUOTA: _("Quota"),
        RemedyPreference.MONEY: _("Money back"),
        PayoutMethod.BANK: _("Bank account"),
        PayoutMethod.EWALLET: _("E-wallet"),
    }
    lines = []
    for name in sequence(answers):
        if name not in labels or answers.get(name) in (None, ""):
            continue
        value = answers[name]
        if name == "nik":
            value = mask_nik(value)
        elif name == "payout_account":
            value = mask(value)
        elif name == "serial_numbers":
            value = ", ".join(value)
        elif name == "evidence":
            value = len(value)
        elif name == "attempted_at":
            value = value.replace("T", " ")[:16]
        lines.append(f"- {labels[name]}: {shown.get(value, value)}")
    if not footer:
        return "\n".join(lines)
    return "\n".join(
        [
            _("Please check your report:"),
            *lines,
            _("Reply YA to send it, ULANG to start over, BATAL to stop."),
        ]
    )
