"""The platform's records behind one interface: `stamping(serial_number)` and `order(order_id)`.

Each answers the platform's record as a dict (the API's JSON shape) or None when there is none, and
raises `PlatformUnavailable` when the platform did not answer (5xx, 429, a timeout): the caller keeps
the outcome unknown and tries again later, after `retry_after` seconds when the platform said so.
`ExportRecords` reads the exports loaded with `import_platform_records`; `HttpRecords` asks the API
(`QUOTA_GATEWAY=http`) and falls back to the loaded exports while the API is down or has no record.
`stampings(serial_numbers)` answers many at once (a batch of tickets): {serial number: record, None,
or the PlatformUnavailable raised for it}.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import requests
from django.conf import settings

from refunds.gateways import session
from verification.models import PlatformOrder, PlatformStamping


class PlatformUnavailable(Exception):
    def __init__(self, message, *, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


class ExportRecords:
    """The loaded exports: the embedded default, and the fallback while the API is down."""

    name = "exports"

    def stamping(self, serial_number):
        found = PlatformStamping.objects.filter(serial_number=serial_number).first()
        return found.as_record() if found else None

    def stampings(self, serial_numbers):
        """Many serial numbers in one query."""
        found = {
            row.serial_number: row.as_record()
            for row in PlatformStamping.objects.filter(serial_number__in=serial_numbers)
        }
        return {serial: found.get(serial) for serial in serial_numbers}

    def order(self, order_id):
        found = PlatformOrder.objects.filter(order_id=order_id).first()
        return found.as_record() if found else None


class HttpRecords:
    """`GET {QUOTA_PLATFORM_URL}/v1/stampings/{serial}` and `/v1/orders/{id}` with the Bearer token."""

    name = "api"

    def __init__(self, base_url, token, timeout=None, fallback=None):
        if not base_url:
            raise PlatformUnavailable("QUOTA_PLATFORM_URL is not configured.")
        self.base_url = base_url.rstrip("/")
        self.token = token or ""
        self.timeout = timeout or settings.GATEWAY_TIMEOUT_SECONDS
        self.fallback = fallback

    def stamping(self, serial_number):
        return self._get("stampings", serial_number, "stamping")

    def stampings(self, serial_numbers):
        """The API asked for every serial number at once (VERIFICATION_THREADS threads, each on its
        keep-alive session); the loaded exports, in one query, for those it has no record of or could
        not answer."""
        fetched = dict(
            zip(serial_numbers, _executor().map(self._fetch_or_error, serial_numbers), strict=True)
        )
        missing = [serial for serial, found in fetched.items() if not isinstance(found, dict)]
        fallback = self.fallback.stampings(missing) if self.fallback and missing else {}
        return {serial: fallback.get(serial) or fetched[serial] for serial in serial_numbers}

    def _fetch_or_error(self, serial_number):
        try:
            return self._fetch(f"{self.base_url}/v1/stampings/{quote(str(serial_number), safe='')}")
        except PlatformUnavailable as exc:
            return exc

    def order(self, order_id):
        return self._get("orders", order_id, "order")

    def _get(self, collection, key, kind):
        """The API's record; a loaded export's when the API has none or is down (None: nobody has one)."""
        fallback = getattr(self.fallback, kind) if self.fallback else (lambda key: None)
        try:
            found = self._fetch(f"{self.base_url}/v1/{collection}/{quote(str(key), safe='')}")
        except PlatformUnavailable:
            found = fallback(key)
            if found is None:
                raise
            return found
        return found if found is not None else fallback(key)

    def _fetch(self, url):
        try:
            response = session().get(
                url, headers={"Authorization": f"Bearer {self.token}"}, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise PlatformUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return self.raise_for_response(response)

    @staticmethod
    def raise_for_response(response):
        """200: the record; 404: none; 429 and 5xx: try again later; anything else: unavailable too,
        since a wrong token or URL is an operator's error that must not turn claims into "no record"."""
        if response.status_code == 404:
            return None
        if response.status_code == 200:
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                return body
            raise PlatformUnavailable("The platform answered 200 without a JSON object.")
        value = response.headers.get("Retry-After", "").strip()
        raise PlatformUnavailable(
            f"HTTP {response.status_code}: {response.text[:300]}",
            retry_after=int(value) if value.isdigit() else None,
        )


_pool = None
_pool_lock = threading.Lock()


def _executor():
    """The process's threads that ask the platform's API (created on first use, after the fork)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=settings.VERIFICATION_THREADS, thread_name_prefix="platform"
            )
        return _pool


def records():
    """The source the current settings name."""
    if settings.QUOTA_GATEWAY == "http":
        return HttpRecords(
            settings.QUOTA_PLATFORM_URL, settings.QUOTA_PLATFORM_TOKEN, fallback=ExportRecords()
        )
    return ExportRecords()
