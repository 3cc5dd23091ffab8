"""The providers' error codes that agents meet most, in words."""

from django.utils.translation import gettext_lazy as _

# Twilio's error codes agents meet most, in words (https://www.twilio.com/docs/api/errors).
TWILIO_ERRORS = {
    "20003": _("Twilio refused our credentials (check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)."),
    "20429": _("Twilio is rate limiting us; the message will be retried."),
    "21211": _("The WhatsApp number is not a valid phone number."),
    "21408": _("Sending to this country is not enabled on the Twilio account."),
    "21610": _("The applicant has blocked messages from us (replied STOP)."),
    "21614": _("The number is not a mobile number that can receive messages."),
    "63003": _("The number is not on WhatsApp or cannot receive WhatsApp messages."),
    "63016": _(
        "Outside the 24-hour WhatsApp window: only an approved template can be sent. "
        "Use email, or wait until the applicant writes again."
    ),
    "63018": _("WhatsApp rate limit for our sender was exceeded; try again later."),
    "63024": _("The recipient is not a valid WhatsApp user."),
    "63032": _("WhatsApp does not deliver to this user (user's choice or WhatsApp policy)."),
    "30003": _("The applicant's phone is unreachable (switched off or out of coverage)."),
    "30005": _("Unknown number: it does not exist or is no longer in use."),
    "30006": _("The number cannot receive this message (landline or unreachable carrier)."),
    "30007": _("The carrier filtered the message as spam."),
    "30008": _("Delivery failed for an unknown reason at the carrier."),
    "unknown": _("The outcome is unknown: the worker stopped while sending. Check with the applicant."),
    "smtp": _("The mail server refused the message."),
}


def describe_error(code):
    """The text agents read for a stored error code ('' when there is no code)."""
    if not code:
        return ""
    text = TWILIO_ERRORS.get(str(code))
    return str(text) if text else str(_("Error %(code)s") % {"code": code})
