"""The stamping platform and the payout provider, each behind one interface: `apply(remedy)`.

`LedgerGateway` is the embedded default: the remedy is recorded in our own ledger only.
The HTTP gateways speak the providers' protocol (README, "Providers"); every failure says whether it is final.
"""

import threading

import requests
from django.conf import settings

from refunds.models import RemedyKind
from tickets.services import REDACTED


class GatewayError(Exception):
    """A provider call that failed: `permanent` ones are final, others are retried (after `retry_after`)."""

    def __init__(self, message, *, permanent=False, retry_after=None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class LedgerGateway:
    """Single-site use: applying a remedy is writing it to the local ledger."""

    name = "ledger"

    def apply(self, remedy):
        return f"LEDGER-{remedy.idempotency_key}"


_local = threading.local()


def session():
    """This thread's HTTP session: its connections to the provider are kept alive between remedies
    (a worker process, or each thread of a batch, reuses them instead of a TCP handshake per call)."""
    if getattr(_local, "session", None) is None:
        _local.session = requests.Session()
    return _local.session


class HttpGateway:
    """POST one remedy to a provider with its idempotency key; 409 means it was applied already."""

    name = "http"
    path = ""

    def __init__(self, base_url, token, timeout=None):
        if not base_url:
            raise GatewayError("The provider's URL is not configured.", permanent=True)
        self.url = base_url.rstrip("/") + self.path
        self.token = token or ""
        self.timeout = timeout or settings.GATEWAY_TIMEOUT_SECONDS

    def payload(self, remedy):
        raise NotImplementedError

    def apply(self, remedy):
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Idempotency-Key": str(remedy.idempotency_key),
        }
        try:
            response = session().post(
                self.url, json=self.payload(remedy), headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise GatewayError(f"{type(exc).__name__}: {exc}") from exc
        return self.raise_for_response(response)

    def raise_for_response(self, response):
        """Map the provider's answer: applied (a reference), final failure, or worth retrying."""
        body = _json_or_empty(response)
        if response.status_code in (200, 201, 409):
            return str(body.get("id") or body.get("reference") or f"HTTP-{response.status_code}")
        detail = f"HTTP {response.status_code}: {response.text[:300]}"
        if response.status_code == 429 or response.status_code >= 500:
            raise GatewayError(detail, retry_after=_retry_after(response))
        raise GatewayError(detail, permanent=True)


def _retry_after(response):
    """The provider's Retry-After in seconds, when it gives one as a number."""
    value = response.headers.get("Retry-After", "").strip()
    return int(value) if value.isdigit() else None


def _json_or_empty(response):
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class HttpQuotaGateway(HttpGateway):
    path = "/v1/quota-adjustments"

    def payload(self, remedy):
        return {"account": remedy.account, "quantity": remedy.quantity, "reference": remedy.ticket.reference}


class HttpPayoutGateway(HttpGateway):
    path = "/v1/payouts"

    def apply(self, remedy):
        if remedy.payout_account in ("", REDACTED) or remedy.payout_name in ("", REDACTED):
            # An erased ticket's refund (retried after the erasure): never pay to a redacted account.
            raise GatewayError("The payout account was erased; ask the applicant again.", permanent=True)
        return super().apply(remedy)

    def payload(self, remedy):
        return {
            "amount": remedy.amount,
            "currency": "IDR",
            "method": remedy.payout_method,
            "account": remedy.payout_account,
            "name": remedy.payout_name,
            "reference": remedy.ticket.reference,
        }


def gateway_for(remedy):
    """The gateway that applies this kind of remedy under the current settings."""
    if remedy.kind == RemedyKind.QUOTA:
        if settings.QUOTA_GATEWAY == "http":
            return HttpQuotaGateway(settings.QUOTA_PLATFORM_URL, settings.QUOTA_PLATFORM_TOKEN)
        return LedgerGateway()
    if settings.PAYOUT_URL:
        return HttpPayoutGateway(settings.PAYOUT_URL, settings.PAYOUT_TOKEN)
    return LedgerGateway()
