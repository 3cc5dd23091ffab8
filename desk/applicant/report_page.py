"""The report form's fields as the page shows them; the rules themselves are `tickets.intake`'s.

The page is hand-written HTML for phones: each field knows its label, help text, kind of input, the
value typed (kept when the form comes back with errors) and its errors.
"""

from dataclasses import dataclass, field

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from tickets.models import Category, Language, PayoutMethod, PreferredChannel, RemedyPreference

# Hidden from people by CSS; bots fill it in. A filled honeypot stores nothing.
HONEYPOT_FIELD = "website"
FILE_FIELDS = ("evidence",)


@dataclass
class Field:
    name: str
    label: str
    kind: str = "text"
    help: str = ""
    required: bool = False
    choices: list = field(default_factory=list)
    attrs: dict = field(default_factory=dict)
    value: str = ""
    note: str = ""
    errors: list = field(default_factory=list)

    @property
    def input_id(self):
        return f"id_{self.name}"

    @property
    def checked(self):
        return self.value in ("on", "true", "True", "1")


def _fields():
    return [
        Field(
            "category",
            _("What happened?"),
            "radio",
            required=True,
            choices=[
                (Category.STAMP_FAILED, _("Stamping failed, but my quota was used up")),
                (Category.PAID_NOT_CREDITED, _("I paid, but the quota never arrived")),
                (Category.OTHER, _("Something else")),
            ],
        ),
        Field("full_name", _("Full name"), required=True, attrs={"autocomplete": "name", "maxlength": 200}),
        Field(
            "nik",
            _("NIK (16 digits, as on your KTP)"),
            required=True,
            attrs={"inputmode": "numeric", "autocomplete": "off", "maxlength": 32},
        ),
        Field(
            "email",
            _("Email address"),
            "email",
            required=True,
            attrs={"autocomplete": "email", "inputmode": "email"},
        ),
        Field(
            "whatsapp",
            _("WhatsApp number"),
            "tel",
            help=_("For example 0812-3456-7890 or +62 812 3456 7890."),
            required=True,
            attrs={"autocomplete": "tel", "inputmode": "tel", "maxlength": 32},
        ),
        Field(
            "platform_account_email",
            _("Email of your e-Meterai account"),
            "email",
            help=_("Leave empty if it is the same as the email above."),
            attrs={"inputmode": "email"},
        ),
        Field(
            "preferred_channel",
            _("How should we contact you?"),
            "radio",
            choices=[(PreferredChannel.WHATSAPP, "WhatsApp"), (PreferredChannel.EMAIL, _("Email"))],
        ),
        # stamp_failed
        Field(
            "quota_lost",
            _("How many e-Meterai were used up?"),
            "number",
            required=True,
            attrs={"inputmode": "numeric", "min": 1, "max": 1000},
        ),
        Field(
            "serial_numbers",
            _("E-Meterai serial numbers"),
            "textarea",
            help=_("22 digits or capital letters each, as in the stamping history. One per line."),
            required=True,
            attrs={"rows": 3, "autocapitalize": "characters", "spellcheck": "false"},
        ),
        Field("document_name", _("Name of the document you stamped"), attrs={"maxlength": 255}),
        Field("attempted_at", _("When did you try to stamp it?"), "datetime-local"),
        # paid_not_credited
        Field("order_id", _("Order number"), required=True, attrs={"maxlength": 100}),
        Field(
            "amount_paid",
            _("Amount paid (rupiah)"),
            help=_("For example 50000."),
            required=True,
            attrs={"inputmode": "numeric", "maxlength": 20},
        ),
        Field("payment_channel", _("Paid with (bank, e-wallet, virtual account)"), attrs={"maxlength": 100}),
        Field(
            "remedy_preference",
            _("What would you like?"),
            "radio",
            choices=[
                (RemedyPreference.QUOTA, _("The quota I paid for")),
                (RemedyPreference.MONEY, _("My money back")),
            ],
        ),
        Field(
            "payout_method",
            _("Refund to"),
            "radio",
            choices=[(PayoutMethod.BANK, _("Bank account")), (PayoutMethod.EWALLET, _("E-wallet"))],
        ),
        Field(
            "payout_account",
            _("Bank and account number, or e-wallet phone number"),
            attrs={"maxlength": 64},
        ),
        Field("payout_name", _("Account holder's name"), attrs={"maxlength": 200}),
        # everyone
        Field(
            "evidence",
            _("Screenshots of the stamping history"),
            "file",
            help=_("1 to 5 images (PNG, JPEG or WebP), at most 10 MB each."),
            attrs={"accept": "image/png,image/jpeg,image/webp", "multiple": True},
        ),
        Field(
            "description",
            _("Anything else we should know? (optional)"),
            "textarea",
            attrs={"rows": 3, "maxlength": 2000},
        ),
        Field(
            "consent",
            _(
                "I agree that my personal data (NIK, phone number, screenshots) is processed to handle this "
                "report, as the Personal Data Protection Law (UU PDP) allows."
            ),
            "checkbox",
            required=True,
        ),
        Field("language", _("Language for our messages"), "select", choices=list(Language.choices)),
    ]


class ReportPage:
    """The report form's state: values typed, errors per field, and the summary shown at the top."""

    def __init__(self, *, values=None, errors=None, submission_key="", kept_key="", kept_names=()):
        self.values = values or {}
        self.errors = errors or {}
        self.submission_key = submission_key
        self.kept_key = kept_key
        self.kept_names = list(kept_names)
        self.fields = {}
        for item in _fields():
            item.value = str(self.values.get(item.name, "") or "")
            item.errors = list(self.errors.get(item.name, []))
            self.fields[item.name] = item
        self.summary = [
            {"anchor": self.fields[name].input_id, "label": self.fields[name].label, "messages": messages}
            for name, messages in self.errors.items()
            if name in self.fields
        ]
        self.general = [
            message
            for name, messages in self.errors.items()
            if name not in self.fields
            for message in messages
        ]
        if self.kept_names:
            self.fields["evidence"].note = _(
                "Kept from your last try: %(names)s. Choose files only to replace them."
            ) % {"names": ", ".join(self.kept_names)}
        if not self.values.get("preferred_channel"):
            self.fields["preferred_channel"].value = PreferredChannel.WHATSAPP
        if not self.values.get("remedy_preference"):
            self.fields["remedy_preference"].value = RemedyPreference.QUOTA

    def add_summary(self, message):
        self.general.append(message)

    @property
    def has_errors(self):
        return bool(self.summary or self.general)


def form_data(post, files, *, exclude=()):
    """The posted fields and files as one QueryDict, without the form's own fields."""
    data = QueryDict(mutable=True)
    for key, values in post.lists():
        if key not in exclude and key not in FILE_FIELDS:  # an empty file input posts an empty string
            data.setlist(key, values)
    for key in files:
        data.setlist(key, files.getlist(key))
    return data
