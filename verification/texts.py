"""The reply an agent is offered when the platform contradicts a claim, in the applicant's language."""

from django.utils import translation
from django.utils.translation import gettext as _

from verification.models import Outcome, Reason

REPLIES = {
    Reason.STAMPING_SUCCEEDED: lambda: _(
        "Hello %(name)s, the stamping platform records the stamping of serial number %(serials)s as "
        "successful, so no quota was lost. If your stamping history shows the status “refund”, please "
        "send us a screenshot of it."
    ),
    Reason.ALREADY_RESTORED: lambda: _(
        "Hello %(name)s, the quota of serial number %(serials)s was restored to your account already. "
        "Please log in to the platform again and check your quota."
    ),
    Reason.OTHER_ACCOUNT: lambda: _(
        "Hello %(name)s, the platform records this under another account than the one you gave us. "
        "Please tell us the email address of the platform account you used."
    ),
    Reason.ORDER_NOT_PAID: lambda: _(
        "Hello %(name)s, the platform has not received the payment of order %(order)s. Please send us "
        "the proof of payment (receipt or bank statement) so that we can check it."
    ),
    Reason.ORDER_EXPIRED: lambda: _(
        "Hello %(name)s, order %(order)s expired on the platform before its payment arrived. If you "
        "paid, please send us the proof of payment so that we can check it."
    ),
    Reason.ORDER_REFUNDED: lambda: _(
        "Hello %(name)s, the platform records order %(order)s as refunded already. Please check the "
        "account or payment method you paid with."
    ),
    Reason.ALREADY_CREDITED: lambda: _(
        "Hello %(name)s, the quota of order %(order)s was credited to your account in full. Please log "
        "in to the platform again and check your quota."
    ),
}


def suggested_reply(verification):
    """The text for a contradicted claim, in the ticket's language; '' for any other outcome."""
    if verification is None or verification.outcome != Outcome.CONTRADICTED:
        return ""
    text = REPLIES.get(verification.reason)
    if text is None:
        return ""
    ticket = verification.ticket
    serials = ", ".join(sorted((verification.record or {}).get("stampings", {}))) or "-"
    with translation.override(ticket.language or "id"):
        return text() % {"name": ticket.full_name, "serials": serials, "order": ticket.order_id}
