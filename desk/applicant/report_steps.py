"""The report form's steps as Django forms; the rules themselves are `tickets.intake`'s serializer.

Each step holds some of the serializer's fields and asks `intake.check_step` to judge them, with the
answers of the other steps beside them (a category makes its own fields required), so the form and
`POST /api/v1/reports/` can never disagree. The Django fields only carry and render the values.
"""

from django import forms
from django.conf import settings
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from tickets.intake import check_step, required_by_category
from tickets.models import Category, Language, PayoutMethod, PreferredChannel, RemedyPreference

# Hidden from people by CSS; bots fill it in. A filled honeypot stores nothing.
HONEYPOT_FIELD = "website"
FILE_FIELDS = ("evidence",)


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


def text(label, *, help_text="", widget=None, **attrs):
    widget = widget or forms.TextInput
    return forms.CharField(
        label=label, help_text=help_text, required=False, strip=False, widget=widget(attrs=attrs)
    )


def choice(label, choices, *, help_text=""):
    return forms.CharField(
        label=label, help_text=help_text, required=False, widget=forms.RadioSelect(choices=choices)
    )


class StepForm(forms.Form):
    """One step: its fields, judged by the serializer; `required` names what the category requires."""

    always_required = ()
    website = forms.CharField(required=False, label=_("Leave this field empty"))

    def __init__(self, *args, answers=None, kept_evidence=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.answers = answers or {}  # the other steps' raw answers
        self.kept_evidence = list(kept_evidence)
        self.accepted_evidence = []
        self.spam = False
        category = self.answers.get("category") or self.raw("category")
        remedy = self.answers.get("remedy_preference") or self.raw("remedy_preference")
        self.required = set(self.always_required) | set(required_by_category(category, remedy))
        if category in (Category.STAMP_FAILED, Category.PAID_NOT_CREDITED):
            self.required.add("evidence")
        for name, field in self.fields.items():
            field.is_marked_required = name in self.required

    @property
    def names(self):
        return [name for name in self.fields if name != HONEYPOT_FIELD]

    def raw(self, name):
        if not self.is_bound:
            return self.initial.get(name, "")
        return self.data.get(self.add_prefix(name), "")

    def raw_answers(self):
        """This step's values as typed, by field name (no files)."""
        return {name: self.raw(name) for name in self.names if name not in FILE_FIELDS}

    def clean(self):
        if self.raw(HONEYPOT_FIELD):
            self.spam = True
            raise forms.ValidationError(_("The report could not be sent. Please try again."))
        data = QueryDict(mutable=True)
        for name, value in {**self.answers, **self.raw_answers()}.items():
            if value not in ("", None):
                data[name] = value
        uploads = self.files.getlist(self.add_prefix("evidence")) if "evidence" in self.fields else []
        if uploads:
            data.setlist("evidence", uploads)
        kept = [] if uploads else self.kept_evidence
        errors, accepted = check_step(data, self.names, kept_evidence=kept)
        self.accepted_evidence = accepted if uploads else []
        for name, messages in errors.items():
            for message in messages:
                self.add_error(name, message)
        return self.cleaned_data


class WhatHappenedForm(StepForm):
    title = _("What happened?")
    always_required = ("category",)

    category = choice(
        _("What happened?"),
        [
            (Category.STAMP_FAILED, _("Stamping failed, but my quota was used up")),
            (Category.PAID_NOT_CREDITED, _("I paid, but the quota never arrived")),
            (Category.OTHER, _("Something else")),
        ],
    )
    # stamp_failed
    quota_lost = text(
        _("How many e-Meterai were used up?"), inputmode="numeric", maxlength=4, autocomplete="off"
    )
    serial_numbers = text(
        _("E-Meterai serial numbers"),
        help_text=_("22 digits or capital letters each, as in the stamping history. One per line."),
        widget=forms.Textarea,
        rows=3,
        autocapitalize="characters",
        spellcheck="false",
    )
    document_name = text(_("Name of the document you stamped"), maxlength=255)
    attempted_at = text(_("When did you try to stamp it?"), type="datetime-local")
    # paid_not_credited
    order_id = text(
        _("Order number"),
        help_text=_("As in your purchase history, for example ORD-2024-0001."),
        maxlength=100,
    )
    amount_paid = text(
        _("Amount paid (rupiah)"), help_text=_("For example 50000."), inputmode="numeric", maxlength=20
    )
    payment_channel = text(_("Paid with (bank, e-wallet, virtual account)"), maxlength=100)
    remedy_preference = choice(
        _("What would you like?"),
        [(RemedyPreference.QUOTA, _("The quota I paid for")), (RemedyPreference.MONEY, _("My money back"))],
    )
    payout_method = choice(
        _("Refund to"), [(PayoutMethod.BANK, _("Bank account")), (PayoutMethod.EWALLET, _("E-wallet"))]
    )
    payout_account = text(_("Bank and account number, or e-wallet phone number"), maxlength=64)
    payout_name = text(_("Account holder's name"), maxlength=200)
    description = text(
        _("Tell us what happened"),
        help_text=_("Optional for a failed stamping or purchase; at most 2000 characters."),
        widget=forms.Textarea,
        rows=3,
        maxlength=2000,
    )

    SECTIONS = {
        Category.STAMP_FAILED: ("quota_lost", "serial_numbers", "document_name", "attempted_at"),
        Category.PAID_NOT_CREDITED: ("order_id", "amount_paid", "payment_channel", "remedy_preference"),
    }
    MONEY = ("payout_method", "payout_account", "payout_name")


class YourDataForm(StepForm):
    title = _("Your data")
    always_required = ("full_name", "nik", "email", "whatsapp")

    full_name = text(_("Full name"), help_text=_("As on your KTP."), autocomplete="name", maxlength=200)
    nik = text(_("NIK (16 digits, as on your KTP)"), inputmode="numeric", autocomplete="off", maxlength=32)
    email = text(
        _("Email address"), widget=forms.EmailInput, autocomplete="email", inputmode="email", maxlength=254
    )
    whatsapp = text(
        _("WhatsApp number"),
        help_text=_("For example 0812-3456-7890 or +62 812 3456 7890."),
        widget=forms.TextInput,
        type="tel",
        autocomplete="tel",
        inputmode="tel",
        maxlength=32,
    )
    platform_account_email = text(
        _("Email of your e-Meterai account"),
        help_text=_("Leave empty if it is the same as the email above."),
        widget=forms.EmailInput,
        inputmode="email",
        maxlength=254,
    )
    preferred_channel = choice(
        _("How should we contact you?"),
        [(PreferredChannel.WHATSAPP, "WhatsApp"), (PreferredChannel.EMAIL, _("Email"))],
    )
    language = forms.CharField(
        label=_("Language for our messages"),
        required=False,
        widget=forms.Select(choices=list(Language.choices)),
    )


class EvidenceForm(StepForm):
    title = _("Evidence")

    evidence = forms.Field(  # not a FileField: the screenshots never go through formtools' file storage
        label=_("Screenshots of the stamping history"),
        help_text=_("1 to 5 images (PNG, JPEG or WebP), at most 10 MB each."),
        required=False,
        widget=MultipleFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )

    def clean_evidence(self):
        return None  # the serializer judges the files, in `clean`

    def clean(self):
        cleaned = super().clean()
        size = sum(
            len(image.content) + len(getattr(image, "thumbnail", b""))
            for _name, image in self.accepted_evidence
        )
        if size > settings.KEPT_EVIDENCE_MAX_BYTES:  # they wait in storage until sent: bounded
            self.add_error(
                "evidence", _("These screenshots are too large together: send fewer or smaller ones.")
            )
        return cleaned


class CheckForm(StepForm):
    title = _("Check your answers")
    always_required = ("consent",)

    consent = forms.BooleanField(
        label=_(
            "I agree that my personal data (NIK, phone number, screenshots) is processed to handle this "
            "report, as the Personal Data Protection Law (UU PDP) allows."
        ),
        required=False,
    )
    submission_key = forms.CharField(required=False, widget=forms.HiddenInput)

    @property
    def names(self):
        return ["consent"]

    def raw_answers(self):
        return {"consent": "true" if self.raw("consent") else "false"}


STEPS = [
    ("what", WhatHappenedForm),
    ("you", YourDataForm),
    ("evidence", EvidenceForm),
    ("check", CheckForm),
]
