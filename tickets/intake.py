"""Receiving a report, shared by the JSON API and the report form: validation, limits, idempotency.

`ReportSerializer` holds every rule of `POST /api/v1/reports/`; `receive_report` runs the
whole intake (rate limits, validation, evidence checks, idempotency, `services.submit_report`) and
answers with an `Outcome` that each entry point renders its own way.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tickets import capacity, ratelimit, services
from tickets.evidence import EvidenceError, PendingImage, check_image
from tickets.links import tracking_url
from tickets.models import (
    COMMON_FIELDS,
    MONEY_FIELDS,
    PAID_FIELDS,
    STAMP_FAILED_FIELDS,
    Category,
    IdempotencyRecord,
    Language,
    PayoutMethod,
    PreferredChannel,
    RemedyPreference,
)
from tickets.validators import normalize_whatsapp, parse_serial_numbers, validate_nik

REQUIRED = _("This field is required.")
EVIDENCE_REQUIRED = _("Attach at least one screenshot of the stamping history.")
# A phone's clock may run a little ahead of ours; beyond this, an attempt "in the future" is a mistake.
ATTEMPT_CLOCK_SKEW = timedelta(minutes=10)
_RUPIAH = re.compile(r"^(?:rp\.?)?(\d{1,3}(?:\.\d{3})+|\d+)(?:,0{1,2})?$")
_BANK_ACCOUNT = re.compile(r"^[A-Za-z0-9 .\-/]{5,64}$")
MAX_AMOUNT = 10_000_000_000


def _django_errors(exc):
    return serializers.ValidationError([str(message) for message in exc.messages])


@extend_schema_field(OpenApiTypes.STR)
class SerialNumbersField(serializers.Field):
    """E-meterai serial numbers as one text (commas, spaces, new lines) or a list; a clean list out."""

    def get_value(self, dictionary):
        if hasattr(dictionary, "getlist") and self.field_name in dictionary:
            return dictionary.getlist(self.field_name)
        return super().get_value(dictionary)

    def to_internal_value(self, data):
        if not isinstance(data, str | list | tuple):
            raise serializers.ValidationError(_("Enter the serial numbers as text."))
        try:
            return parse_serial_numbers(data)
        except DjangoValidationError as exc:
            raise _django_errors(exc) from None

    def to_representation(self, value):
        return value


@extend_schema_field(OpenApiTypes.INT)
class RupiahField(serializers.Field):
    """A rupiah amount as an integer; the form also takes `10.000` or `Rp 10.000`."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            raise serializers.ValidationError(_("Enter the amount in rupiah, for example 10000."))
        if isinstance(data, int):
            amount = data
        else:
            text = re.sub(r"\s+", "", str(data)).lower()
            match = _RUPIAH.match(text)
            if not match:
                raise serializers.ValidationError(_("Enter the amount in rupiah, for example 10000."))
            amount = int(match.group(1).replace(".", ""))
        if not 1 <= amount <= MAX_AMOUNT:
            raise serializers.ValidationError(_("Enter the amount in rupiah, for example 10000."))
        return amount

    def to_representation(self, value):
        return value


class ReportSerializer(serializers.Serializer):
    """A new report (`POST /api/v1/reports/`)."""

    category = serializers.ChoiceField(choices=Category.choices)
    full_name = serializers.CharField(max_length=200)
    nik = serializers.CharField(max_length=32, help_text="16 digits")
    email = serializers.EmailField(max_length=254)
    whatsapp = serializers.CharField(max_length=32, help_text="Indonesian mobile number, any usual spelling")
    platform_account_email = serializers.EmailField(
        max_length=254, required=False, allow_blank=True, help_text="Defaults to `email`."
    )
    preferred_channel = serializers.ChoiceField(
        choices=PreferredChannel.choices, default=PreferredChannel.WHATSAPP
    )
    language = serializers.ChoiceField(choices=Language.choices, default=Language.ID)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    consent = serializers.BooleanField(
        error_messages={"invalid": _("Answer yes or no.")},
        help_text="Must be true: consent to process personal data for this complaint.",
    )
    quota_lost = serializers.IntegerField(
        min_value=1,
        max_value=1000,
        required=False,
        allow_null=True,
        error_messages={
            "invalid": _("Enter a whole number."),
            "min_value": _("Enter a number from 1 to 1000."),
            "max_value": _("Enter a number from 1 to 1000."),
        },
    )
    serial_numbers = SerialNumbersField(
        required=False, help_text="22 digits or capital letters each; separated by commas, spaces or lines."
    )
    document_name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    attempted_at = serializers.DateTimeField(required=False, allow_null=True)
    order_id = serializers.CharField(max_length=100, required=False, allow_blank=True)
    amount_paid = RupiahField(required=False, allow_null=True, help_text="Rupiah, integer.")
    payment_channel = serializers.CharField(max_length=100, required=False, allow_blank=True)
    remedy_preference = serializers.ChoiceField(
        choices=RemedyPreference.choices, required=False, allow_blank=True
    )
    payout_method = serializers.ChoiceField(choices=PayoutMethod.choices, required=False, allow_blank=True)
    payout_account = serializers.CharField(max_length=64, required=False, allow_blank=True)
    payout_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    evidence = serializers.ListField(
        child=serializers.FileField(
            error_messages={"invalid": _("Send the evidence as files in a multipart/form-data request.")}
        ),
        required=False,
        help_text="1 to 5 images (PNG, JPEG or WebP), required for stamp_failed and paid_not_credited.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.evidence_status = None  # 413 or 415 when a file was refused
        self.accepted_evidence = []  # (name, PendingImage) pairs that passed, even if the form did not

    def to_internal_value(self, data):
        data = applicable_fields(data)
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict) or not hasattr(data, "get"):
                raise
            # Every error at once: the rules across fields are checked too, on what was sent.
            errors = dict(exc.detail)
            has_evidence = any(
                (
                    _values(data, "evidence"),
                    self.context.get("kept_evidence"),
                    self.context.get("evidence_later"),
                )
            )
            for name, messages in missing_by_category(data, has_evidence=has_evidence).items():
                errors.setdefault(name, messages)
            if data.get("remedy_preference") == RemedyPreference.MONEY and "payout_account" not in errors:
                payout = {name: str(data.get(name) or "") for name in ("payout_method", "payout_account")}
                _check_payout_account(payout, errors)
            raise serializers.ValidationError(errors) from None

    def validate_full_name(self, value):
        if sum(char.isalpha() for char in value) < 2:
            raise serializers.ValidationError(_("Enter your full name as on your KTP."))
        return value

    def validate_attempted_at(self, value):
        if value is not None and value > timezone.now() + ATTEMPT_CLOCK_SKEW:
            raise serializers.ValidationError(_("The time of the attempt cannot be in the future."))
        return value

    def validate_nik(self, value):
        try:
            return validate_nik(value)
        except DjangoValidationError as exc:
            raise _django_errors(exc) from None

    def validate_whatsapp(self, value):
        try:
            return normalize_whatsapp(value)
        except DjangoValidationError as exc:
            raise _django_errors(exc) from None

    def validate_consent(self, value):
        if not value:
            raise serializers.ValidationError(_("Your consent is needed to process this report."))
        return value

    def validate_evidence(self, files):
        if len(files) > settings.EVIDENCE_MAX_FILES:
            raise serializers.ValidationError(
                _("Attach at most %(max)d images.") % {"max": settings.EVIDENCE_MAX_FILES}
            )
        self.accepted_evidence = check_evidence_files(files, self)
        return self.accepted_evidence

    def validate(self, attrs):
        if not attrs.get("evidence") and self.context.get("kept_evidence"):
            attrs["evidence"] = self.accepted_evidence = list(self.context["kept_evidence"])
        category = attrs["category"]
        # `evidence_later`: an agent taking a report by phone asks the caller for the screenshot instead.
        has_evidence = bool(attrs.get("evidence")) or bool(self.context.get("evidence_later"))
        errors = missing_by_category(attrs, has_evidence=has_evidence)
        keep = set(COMMON_FIELDS)
        if category == Category.STAMP_FAILED:
            keep |= STAMP_FAILED_FIELDS
        elif category == Category.PAID_NOT_CREDITED:
            keep |= PAID_FIELDS
            if attrs.get("remedy_preference") == RemedyPreference.MONEY:
                _check_payout_account(attrs, errors)
            else:
                attrs["remedy_preference"] = RemedyPreference.QUOTA
                for name in ("payout_method", "payout_account", "payout_name"):
                    attrs.pop(name, None)
        if errors:
            raise serializers.ValidationError(errors)
        if not attrs.get("platform_account_email"):
            attrs["platform_account_email"] = attrs["email"]
        return {name: value for name, value in attrs.items() if name in keep or name == "evidence"}


SECTIONS = {Category.STAMP_FAILED: STAMP_FAILED_FIELDS, Category.PAID_NOT_CREDITED: PAID_FIELDS}


def applicable_fields(data):
    """The submission without the sections that do not apply to its category, which are ignored.

    The form posts every section, the hidden ones too (empty, or with what was typed before the
    applicant changed their mind): they must never be refused. Without a valid category no section
    applies, and the category's own error says what to do.
    """
    if not hasattr(data, "get"):
        return data  # not an object: the serializer says so
    category = data.get("category")
    applicable = SECTIONS.get(category, set()) if isinstance(category, str) else set()
    ignored = set().union(*SECTIONS.values()) - applicable
    if category == Category.PAID_NOT_CREDITED and data.get("remedy_preference") != RemedyPreference.MONEY:
        ignored |= MONEY_FIELDS
    if not any(name in data for name in ignored):
        return data
    if isinstance(data, QueryDict):
        kept = QueryDict(mutable=True)
        for name, values in data.lists():
            if name not in ignored:
                kept.setlist(name, values)
        return kept
    return {name: value for name, value in data.items() if name not in ignored}


def required_by_category(category, remedy_preference=""):
    """The fields a category makes required (the money refund's fields when money is asked for)."""
    if category == Category.STAMP_FAILED:
        return ["quota_lost", "serial_numbers"]
    if category == Category.PAID_NOT_CREDITED:
        names = ["order_id", "amount_paid"]
        if remedy_preference == RemedyPreference.MONEY:
            names += ["payout_method", "payout_account", "payout_name"]
        return names
    return []


def missing_by_category(values, *, has_evidence):
    """{field: [message]} for what the category needs and `values` lacks, the screenshot included.

    Reads validated attributes or the raw submission alike, so that a form with other errors still
    hears about every missing field at once.
    """
    category = values.get("category")
    if category not in Category.values:
        return {}
    remedy = values.get("remedy_preference")
    errors = {
        name: [REQUIRED] for name in required_by_category(category, remedy) if _is_empty(values.get(name))
    }
    if category != Category.OTHER and not has_evidence:
        errors["evidence"] = [EVIDENCE_REQUIRED]
    return errors


def _values(data, name):
    if hasattr(data, "getlist"):
        return [value for value in data.getlist(name) if value not in ("", None)]
    value = data.get(name) if hasattr(data, "get") else None
    return value if isinstance(value, list | tuple) else [value] if value not in ("", None) else []


def _is_empty(value):
    if isinstance(value, str):
        return not value.strip()
    return value is None or value == [] or value == ()


def check_step(data, names, *, kept_evidence=()):
    """The errors of the named fields only, by the serializer's own rules: one step of the form.

    Returns (errors, accepted screenshots): the other steps' fields are not judged here.
    """
    serializer = ReportSerializer(data=data, context={"kept_evidence": kept_evidence})
    if serializer.is_valid():
        return {}, serializer.accepted_evidence
    errors = plain_errors(serializer.errors)
    return {
        name: messages for name, messages in errors.items() if name in names
    }, serializer.accepted_evidence


def _check_payout_account(attrs, errors):
    account = attrs.get("payout_account", "").strip()
    if not account or "payout_account" in errors:
        return
    if attrs.get("payout_method") == PayoutMethod.EWALLET:
        try:
            attrs["payout_account"] = normalize_whatsapp(account)
        except DjangoValidationError:
            errors["payout_account"] = [_("Enter the phone number of the e-wallet account.")]
    elif not _BANK_ACCOUNT.match(account) or sum(char.isdigit() for char in account) < 5:
        errors["payout_account"] = [_("Enter the bank name or code and the account number.")]


def check_evidence_files(files, holder=None):
    """Check each upload's header; refuse them all with one message per bad file.

    Returns (name, PendingImage) pairs. Only headers are read, no pixel is decoded in the request:
    files too large in bytes or pixels, unaccepted or bombs are refused, and so are files that together
    have more pixels than EVIDENCE_MAX_REQUEST_PIXELS. What the header cannot tell (truncated or corrupt
    pixel data) a worker finds when it re-encodes the file (tickets/evidence_pipeline.py).
    """
    checked, messages = _checked_headers(files, holder)
    if messages:
        raise serializers.ValidationError(messages)
    return [(name, pending_upload(upload, info)) for name, upload, info in checked]


def pending_upload(upload, info):
    upload.seek(0)
    try:
        return PendingImage(content=upload.read(), info=info)
    finally:
        upload.seek(0)


def _checked_headers(files, holder):
    """(name, upload, ImageInfo) of each file, and the messages of the refused ones; nothing decoded."""
    checked, messages = [], []
    for number, upload in enumerate(files, start=1):
        name = getattr(upload, "name", "") or str(number)
        try:
            info = check_image(
                upload,
                max_bytes=settings.EVIDENCE_MAX_BYTES,
                max_pixels=settings.EVIDENCE_MAX_PIXELS,
                decode=False,
            )
            checked.append((name, upload, info))
        except EvidenceError as exc:
            _refuse(holder, exc)
            messages.append(f"{name}: {exc.message}")
    total = sum(info.width * info.height for _name, _upload, info in checked)
    if not messages and total > settings.EVIDENCE_MAX_REQUEST_PIXELS:
        exc = EvidenceError("too_many_pixels_in_total")
        _refuse(holder, exc)
        messages.append(exc.message)
    return checked, messages


def _refuse(holder, exc):
    if holder is not None:
        holder.evidence_status = max(holder.evidence_status or 0, exc.http_status)


# --- the intake flow --------------------------------------------------------------------------


@dataclass
class Outcome:
    status: int
    body: dict
    ticket_reference: str = ""
    replayed: bool = False
    retry_after: int | None = None
    errors: dict = field(default_factory=dict)
    evidence: list = field(default_factory=list)  # screenshots accepted by a refused form, to keep


def error_outcome(status, errors, **kwargs):
    return Outcome(status=status, body={"errors": errors}, errors=errors, **kwargs)


def request_fingerprint(data, files):
    """A hash of the submitted fields and files that a retry of the same request reproduces exactly."""
    digest = hashlib.sha256()
    if hasattr(data, "lists"):
        fields = {key: values for key, values in data.lists() if key not in files}
    else:
        fields = {key: value for key, value in dict(data).items() if key not in files}
    digest.update(json.dumps(fields, sort_keys=True, default=str).encode())
    for key in sorted(files.keys()):
        for upload in files.getlist(key):
            digest.update(key.encode() + b"\0")
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
            digest.update(b"\0")
    return digest.hexdigest()


def scoped_key(data, idempotency_key):
    """The key as stored: the client's Idempotency-Key within the applicant's own namespace (their NIK),
    hashed, so that two applicants who pick the same key never meet each other's report.

    The NIK rather than the client address: a phone's retry often comes from another carrier address, and
    many applicants share one; the NIK is in every retry of the same body and differs between applicants.
    """
    nik = "".join(char for char in str(data.get("nik", "")) if char.isdigit())
    return hashlib.sha256(f"report:{nik}\0{idempotency_key}".encode()).hexdigest()


def _replay(record, fingerprint):
    if record.request_hash != fingerprint:
        return error_outcome(
            422,
            {"idempotency_key": [_("This Idempotency-Key was already used for another report.")]},
        )
    return Outcome(
        status=record.status_code,
        body=record.response,
        ticket_reference=record.response.get("reference", ""),
        replayed=True,
    )


def receive_report(*, request, data, files, idempotency_key="", channel="web", kept_evidence=()):
    """Run one submission through capacity, limits, validation and idempotency; create the ticket or
    say why not.

    `kept_evidence`: screenshots the form accepted on an earlier try, used when no new file is sent.
    Beyond capacity (tickets/capacity.py) the answer is 503 with Retry-After at once and nothing is
    stored; the screenshots sent are handed back (header-checked) for the form to keep.
    """
    with capacity.admission(request) as admitted:
        if not admitted:
            return shed_outcome(files, kept_evidence)
        return _receive(request, data, files, idempotency_key, channel, kept_evidence)


def shed_outcome(files, kept_evidence=()):
    seconds = settings.INTAKE_RETRY_AFTER_SECONDS
    message = _(
        "Too many reports are arriving right now. Your report has not been sent yet: "
        "please send it again in {seconds} seconds."
    )
    uploads = files.getlist("evidence") if hasattr(files, "getlist") else []
    checked, _messages = _checked_headers(uploads, None) if uploads else ([], [])
    evidence = [(name, pending_upload(upload, info)) for name, upload, info in checked]
    return error_outcome(
        503,
        {"non_field_errors": [str(message).format(seconds=seconds)]},
        retry_after=seconds,
        evidence=evidence or list(kept_evidence),
    )


def _receive(request, data, files, idempotency_key, channel, kept_evidence):
    try:
        ratelimit.check_address(request)
    except ratelimit.RateLimited as exc:
        return error_outcome(429, {"non_field_errors": [str(exc.message)]}, retry_after=exc.retry_after)

    fingerprint = ""
    if idempotency_key:
        idempotency_key = scoped_key(data, idempotency_key)
        fingerprint = request_fingerprint(data, files)
        record = IdempotencyRecord.objects.filter(key=idempotency_key).first()
        if record is not None:
            return _replay(record, fingerprint)

    serializer = ReportSerializer(data=data, context={"kept_evidence": kept_evidence})
    if not serializer.is_valid():
        status = serializer.evidence_status if "evidence" in serializer.errors else None
        kept = [] if "evidence" in serializer.errors else serializer.accepted_evidence or list(kept_evidence)
        return error_outcome(status or 400, plain_errors(serializer.errors), evidence=kept)
    report = dict(serializer.validated_data)

    try:
        ratelimit.check_applicant(whatsapp=report["whatsapp"], nik=report["nik"])
    except ratelimit.RateLimited as exc:
        return error_outcome(429, {"non_field_errors": [str(exc.message)]}, retry_after=exc.retry_after)

    evidence = report.pop("evidence", None) or []  # (name, PendingImage) pairs
    serials = report.pop("serial_numbers", None) or []
    answer = {}

    def remember(ticket):
        answer.update(
            reference=ticket.reference,
            state=ticket.state,
            tracking_token=ticket.tracking_token,
            tracking_url=tracking_url(ticket),
        )
        if idempotency_key:
            IdempotencyRecord.objects.create(
                key=idempotency_key, request_hash=fingerprint, status_code=201, response=answer, ticket=ticket
            )

    try:
        services.submit_report(
            data=report, serial_numbers=serials, evidence=evidence, channel=channel, on_created=remember
        )
    except IntegrityError:
        # Another request with the same key committed first: answer as it did, nothing more is stored.
        record = IdempotencyRecord.objects.filter(key=idempotency_key).first() if idempotency_key else None
        if record is None:
            raise
        return _replay(record, fingerprint)
    return Outcome(status=201, body=answer, ticket_reference=answer["reference"])


def plain_errors(errors):
    """Serializer errors as {field: [text, ...]}, nested list errors flattened."""
    plain = {}
    for name, messages in errors.items():
        if isinstance(messages, dict):  # a ListField reports errors per item index
            messages = [message for items in messages.values() for message in items]
        plain[name] = [str(message) for message in messages]
    return plain


def clean_payout_account(*, method, account):
    """One payout account checked by the report's rule (a conversation asks it on its own)."""
    attrs, errors = {"payout_method": method, "payout_account": account}, {}
    _check_payout_account(attrs, errors)
    if errors:
        raise serializers.ValidationError(errors["payout_account"])
    return attrs["payout_account"]
