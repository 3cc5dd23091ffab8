"""Local doubles of the stamping platform and the payout provider: Bearer token, Idempotency-Key, JSON."""

import secrets
import threading
from collections import Counter
from urllib.parse import unquote

from tests.doubles.base import DoubleServer, RecordedRequest, Reply


class IdempotentProviderDouble(DoubleServer):
    """A provider endpoint that applies each Idempotency-Key once (201) and answers repeats with 409.

    `applications[key]` counts the applications of a key (it must stay 1); `totals[account]` sums
    `amount_field` per account; `applied` lists the accepted bodies in order.
    """

    path = ""
    id_prefix = ""
    amount_field = ""

    def __init__(self, token: str | None = None):
        super().__init__()
        self.token = token or secrets.token_urlsafe(24)
        self.applications: Counter = Counter()
        self.totals: Counter = Counter()
        self.applied: list[dict] = []
        self._by_key: dict[str, tuple[str, dict]] = {}
        self._apply_lock = threading.Lock()

    def validate(self, body: dict) -> dict:
        """Errors by field name; empty when the body is acceptable."""
        raise NotImplementedError

    def error_reply(self, status: int) -> Reply:
        return Reply(status, {"error": "unavailable" if status >= 500 else "rejected", "status": status})

    def apply_then_fail(self, status: int = 500):
        """Apply the next request, then answer `status`: the provider succeeded, our side never knew."""
        self.script(Reply(status, {"error": "internal_error"}, after=True))

    def apply_then_drop(self):
        """Apply the next request, then close the connection without an answer."""
        self.script(Reply(drop=True, after=True))

    def handle(self, request: RecordedRequest) -> Reply:
        if request.method != "POST" or request.path != self.path:
            return Reply(404, {"error": "not_found"})
        if request.bearer_token() != self.token:
            return Reply(401, {"error": "unauthorized"}, {"WWW-Authenticate": "Bearer"})
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return Reply(400, {"error": "idempotency_key_required"})
        body = request.body
        if not isinstance(body, dict):
            return Reply(400, {"error": "invalid_json"})
        errors = self.validate(body)
        if errors:
            return Reply(400, {"error": "invalid_request", "fields": errors})
        with self._apply_lock:
            if key in self._by_key:
                first_id, first_body = self._by_key[key]
                if first_body != body:
                    return Reply(422, {"error": "idempotency_key_reused", "id": first_id})
                return Reply(409, {"error": "already_applied", "id": first_id})
            applied_id = f"{self.id_prefix}{secrets.token_hex(8)}"
            self._by_key[key] = (applied_id, body)
            self.applications[key] += 1
            self.totals[body["account"]] += body[self.amount_field]
            self.applied.append({"id": applied_id, "idempotency_key": key, **body})
        return Reply(201, {"id": applied_id, "reference": body["reference"], "status": "applied"})


def _missing(body: dict, fields: tuple[str, ...]) -> dict:
    return {name: "required" for name in fields if body.get(name) in (None, "")}


def _positive_int(body: dict, name: str, errors: dict):
    value = body.get(name)
    if name not in errors and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
        errors[name] = "must be a positive integer"


class PlatformDouble(IdempotentProviderDouble):
    """The stamping platform: `POST /v1/quota-adjustments` {"account", "quantity", "reference"}, and its
    records: `GET /v1/stampings/{serial_number}` and `GET /v1/orders/{order_id}` (404 when unknown).

    `add_stamping(...)` / `add_order(...)` put records in; `stampings` / `orders` hold them by key.
    """

    path = "/v1/quota-adjustments"
    id_prefix = "qa_"
    amount_field = "quantity"

    def __init__(self, token: str | None = None):
        super().__init__(token)
        self.stampings: dict[str, dict] = {}
        self.orders: dict[str, dict] = {}

    def add_stamping(self, serial_number, account, status="refund", quota_restored=False, **fields) -> dict:
        record = {
            "serial_number": serial_number,
            "account": account,
            "status": status,
            "attempted_at": "2024-09-10T21:40:00+07:00",
            "document_name": "surat-lamaran.pdf",
            "quota_restored": quota_restored,
            "restored_at": "2024-09-11T09:00:00+07:00" if quota_restored else None,
            **fields,
        }
        self.stampings[serial_number] = record
        return record

    def add_order(
        self, order_id, account, amount=100_000, status="paid", quantity=10, quota_credited=0
    ) -> dict:
        record = {
            "order_id": order_id,
            "account": account,
            "amount": amount,
            "currency": "IDR",
            "status": status,
            "paid_at": "2024-09-10T20:00:00+07:00" if status in ("paid", "refunded") else None,
            "quantity": quantity,
            "quota_credited": quota_credited,
        }
        self.orders[order_id] = record
        return record

    def handle(self, request: RecordedRequest) -> Reply:
        if request.method != "GET":
            return super().handle(request)
        collection, _, key = request.path.removeprefix("/v1/").partition("/")
        records = {"stampings": self.stampings, "orders": self.orders}.get(collection)
        if records is None or not key or "/" in key:
            return Reply(404, {"error": "not_found"})
        if request.bearer_token() != self.token:
            return Reply(401, {"error": "unauthorized"}, {"WWW-Authenticate": "Bearer"})
        record = records.get(unquote(key))
        if record is None:
            return Reply(404, {"error": "not_found"})
        return Reply(200, record)

    def validate(self, body: dict) -> dict:
        errors = _missing(body, ("account", "quantity", "reference"))
        _positive_int(body, "quantity", errors)
        return errors


class PayoutDouble(IdempotentProviderDouble):
    """The payout provider: `POST /v1/payouts` {amount, currency IDR, method, account, name, reference}."""

    path = "/v1/payouts"
    id_prefix = "po_"
    amount_field = "amount"

    def validate(self, body: dict) -> dict:
        errors = _missing(body, ("amount", "currency", "method", "account", "name", "reference"))
        _positive_int(body, "amount", errors)
        if "currency" not in errors and body["currency"] != "IDR":
            errors["currency"] = "must be IDR"
        if "method" not in errors and body["method"] not in ("bank", "ewallet"):
            errors["method"] = "must be bank or ewallet"
        return errors
