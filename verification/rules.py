"""What the platform's records say about a claim: an outcome, its reason, and the remedy they support.

Pure functions over the ticket's claim and the records (dicts in the API's shape, None when missing);
no database, no network.
"""

from dataclasses import dataclass, field

from verification.models import Outcome, Reason

FAILED_STATUSES = {"refund", "failed"}


@dataclass
class Judgement:
    outcome: str
    reason: str
    record: dict = field(default_factory=dict)
    quantity: int | None = None  # stamps to restore or credit (confirmed)
    amount: int | None = None  # rupiah to refund (confirmed, money chosen)


def _same_account(record, account):
    return str(record.get("account") or "").strip().lower() == (account or "").strip().lower()


def judge_stampings(*, stampings, account):
    """`stampings`: serial number -> record or None. Contradictions first, then missing records."""
    snapshot = {"stampings": stampings}
    found = [record for record in stampings.values() if record is not None]
    for record in found:
        if record.get("status") == "success":
            return Judgement(Outcome.CONTRADICTED, Reason.STAMPING_SUCCEEDED, snapshot)
    for record in found:
        if record.get("quota_restored"):
            return Judgement(Outcome.CONTRADICTED, Reason.ALREADY_RESTORED, snapshot)
    for record in found:
        if not _same_account(record, account):
            return Judgement(Outcome.CONTRADICTED, Reason.OTHER_ACCOUNT, snapshot)
    if len(found) < len(stampings):
        return Judgement(Outcome.UNKNOWN, Reason.NO_RECORD, snapshot)
    if any(record.get("status") not in FAILED_STATUSES for record in found):
        return Judgement(Outcome.UNKNOWN, Reason.RECORD_PENDING, snapshot)
    return Judgement(Outcome.CONFIRMED, Reason.STAMPINGS_FAILED, snapshot, quantity=len(found))


ORDER_CONTRADICTIONS = {
    "pending": Reason.ORDER_NOT_PAID,
    "expired": Reason.ORDER_EXPIRED,
    "refunded": Reason.ORDER_REFUNDED,
}


def judge_order(*, record, account, wants_money, claimed_amount=None):
    snapshot = {"order": record}
    if record is None:
        return Judgement(Outcome.UNKNOWN, Reason.NO_RECORD, snapshot)
    status = record.get("status")
    if status in ORDER_CONTRADICTIONS:
        return Judgement(Outcome.CONTRADICTED, ORDER_CONTRADICTIONS[status], snapshot)
    if status != "paid":
        return Judgement(Outcome.UNKNOWN, Reason.RECORD_PENDING, snapshot)
    if not _same_account(record, account):
        return Judgement(Outcome.CONTRADICTED, Reason.OTHER_ACCOUNT, snapshot)
    quantity = _int(record.get("quantity"))
    missing = quantity - _int(record.get("quota_credited"))
    if quantity <= 0 or missing <= 0:
        return Judgement(Outcome.CONTRADICTED, Reason.ALREADY_CREDITED, snapshot)
    judgement = Judgement(Outcome.CONFIRMED, Reason.ORDER_NOT_CREDITED, snapshot)
    if wants_money:  # the rupiah of the stamps never credited, never more than the applicant claims
        judgement.amount = _int(record.get("amount")) * missing // quantity
        if claimed_amount:
            judgement.amount = min(judgement.amount, claimed_amount)
    else:
        judgement.quantity = missing
    return judgement


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
