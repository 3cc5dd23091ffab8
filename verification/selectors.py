"""What the console shows of a ticket's verification."""

from dataclasses import dataclass, field

from verification.models import Verification
from verification.texts import suggested_reply


@dataclass
class RecordRow:
    key: str
    fields: list[tuple[str, object]] = field(default_factory=list)
    missing: bool = False


def verification_of(ticket):
    """The ticket's verification, or None (no claim to verify, or not yet started)."""
    return Verification.objects.select_related("duplicate_of").filter(ticket=ticket).first()


def record_rows(verification):
    """The platform's record, one row per serial number or order, for the ticket page."""
    record = verification.record or {}
    rows = []
    for serial, found in sorted((record.get("stampings") or {}).items()):
        rows.append(RecordRow(serial, list((found or {}).items()), missing=found is None))
    if "order" in record:
        order = record["order"]
        rows.append(RecordRow("order", list((order or {}).items()), missing=order is None))
    return rows


def panel(ticket):
    """Everything the ticket page's "Platform verification" card needs (None: nothing to show)."""
    verification = verification_of(ticket)
    if verification is None:
        return None
    verification.ticket = ticket
    return {
        "verification": verification,
        "rows": record_rows(verification),
        "suggested_reply": suggested_reply(verification),
    }
