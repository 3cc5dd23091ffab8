"""Checks and normalisation of what applicants type: WhatsApp number, NIK, e-meterai serial numbers.

Pure functions, no models: forms, the API and the inbound channels share them.
"""

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.id import nik as stdnum_nik

# Separators applicants put in phone numbers; anything else (letters above all) is refused.
_PHONE_CHARS = re.compile(r"^[\d\s().+\-/]+$")
_MOBILE_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)

# Kemendagri province codes, including the provinces created since 2012 (65, 92-96), which the
# location list shipped with python-stdnum does not know yet.
NIK_PROVINCES = frozenset(
    [11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53]
    + [61, 62, 63, 64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96]
)

SERIAL_NUMBER_LENGTH = 22
MAX_SERIAL_NUMBERS = 100
_SERIAL_SEPARATORS = re.compile(r"[,;\s]+")
_SERIAL_NUMBER = re.compile(r"^[0-9A-Z]{22}$")
_SHOWN_BAD_ITEMS = 5


def normalize_whatsapp(value: str) -> str:
    """Return an Indonesian mobile number as E.164 (`+628...`), whatever the spelling typed."""
    text = (value or "").strip()
    if not text or not _PHONE_CHARS.match(text):
        raise ValidationError(_("Enter a valid mobile number."), code="whatsapp_invalid")
    if text.startswith("00"):
        text = "+" + text[2:]  # international prefix spelled with zeros: 0062 812...
    try:
        number = phonenumbers.parse(text, "ID")
    except phonenumbers.NumberParseException:
        raise ValidationError(_("Enter a valid mobile number."), code="whatsapp_invalid") from None
    if number.country_code != 62:
        raise ValidationError(_("Enter an Indonesian mobile number."), code="whatsapp_not_indonesian")
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Enter a valid mobile number."), code="whatsapp_invalid")
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise ValidationError(_("Enter a mobile number, not a landline."), code="whatsapp_not_mobile")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_nik(value: str) -> str:
    """Return the 16-digit NIK after checking its length, province and encoded birth date."""
    number = stdnum_nik.compact(value or "")
    if len(number) != 16 or not number.isascii() or not number.isdigit():
        raise ValidationError(_("The NIK must have 16 digits."), code="nik_length")
    if int(number[:2]) not in NIK_PROVINCES or number[2:4] == "00" or number[4:6] == "00":
        raise ValidationError(_("The NIK has an unknown region code."), code="nik_region")
    if not _nik_birth_date_is_valid(number):
        raise ValidationError(_("The NIK has an invalid birth date."), code="nik_birthdate")
    return number


def _nik_birth_date_is_valid(number: str) -> bool:
    """Day is 1-31, or 41-71 for women; stdnum alone would also take 81-91 (it reduces modulo 40)."""
    day = int(number[6:8])
    if not (1 <= day <= 31 or 41 <= day <= 71):
        return False
    try:
        stdnum_nik.get_birth_date(number)
    except StdnumError:
        return False
    return True


def parse_serial_numbers(value: str | list[str] | tuple[str, ...]) -> list[str]:
    """Split the serial numbers an applicant typed or pasted into a clean, ordered, de-duplicated list."""
    chunks = [value] if isinstance(value, str) else list(value or [])
    items = [item for chunk in chunks for item in _SERIAL_SEPARATORS.split(str(chunk)) if item]
    serials = list(dict.fromkeys(item.upper() for item in items))
    if not serials:
        raise ValidationError(_("Enter at least one e-meterai serial number."), code="serial_required")
    bad = [item for item in serials if not _SERIAL_NUMBER.match(item)]
    if bad:
        raise ValidationError(
            _("Serial numbers have 22 digits or capital letters; check: %(items)s"),
            code="serial_invalid",
            params={"items": _describe_bad_items(bad)},
        )
    if len(serials) > MAX_SERIAL_NUMBERS:
        raise ValidationError(
            _("Enter at most %(max)d serial numbers per report."),
            code="serial_too_many",
            params={"max": MAX_SERIAL_NUMBERS},
        )
    return serials


def _describe_bad_items(bad: list[str]) -> str:
    """Name the first few bad items, cut short, so one long paste does not flood the message."""
    shown = [item if len(item) <= 30 else item[:27] + "..." for item in bad[:_SHOWN_BAD_ITEMS]]
    more = len(bad) - len(shown)
    return ", ".join(shown) + (f" (+{more})" if more else "")
