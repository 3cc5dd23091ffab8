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


STAMPING_FIELDS = ["status", "account", "attempted_at", "document_name", "quota_restored"]
ORDER_FIELDS = ["status", "account", "amount", "currency", "paid_at", "quantity", "quota_credited"]


def record_summary(verification):
    """The platform's record in a fixed shape for the staff API: each serial number with what the
    platform said of it (`found` false: no record), and the order's record (None: not an order claim).

    The records came from the API or an export and may carry more keys; only these are promised."""
    record = verification.record or {}
    stampings = [
        {
            "serial_number": serial,
            "found": found is not None,
            **{name: (found or {}).get(name) for name in STAMPING_FIELDS},
        }
        for serial, found in sorted((record.get("stampings") or {}).items())
    ]
    order = None
    if "order" in record:
        found = record["order"]
        order = {
            "order_id": (found or {}).get("order_id") or verification.ticket.order_id,
            "found": found is not None,
            **{name: (found or {}).get(name) for name in ORDER_FIELDS},
        }
    return {"stampings": stampings, "order": order}
