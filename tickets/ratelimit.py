"""Rate limits on report submissions, counted in the cache (Redis in production, shared by web processes).

RATE_LIMIT_REPORTS is `ADDR/NUMBER` reports per minute: ADDR per client address (generous, as mobile
carriers put many applicants behind one address), NUMBER per WhatsApp number and per NIK (strict);
`off` disables both. Counters live in fixed one-minute windows, created with `cache.add` and raised with
`cache.incr`, which are atomic on Redis. When the cache is down the limits fail open (logged): at a
deadline surge, losing an applicant's report is worse than letting a few more through.
"""

import hashlib
import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60


class RateLimited(Exception):
    """Too many submissions; `retry_after` is the number of seconds until the window turns."""

    message = _("Too many reports were sent. Please wait a moment and try again.")

    def __init__(self, retry_after):
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limits:
    per_address: int
    per_number: int


def current_limits():
    """The limits RATE_LIMIT_REPORTS sets, or None when they are off."""
    value = str(settings.RATE_LIMIT_REPORTS or "off").strip().lower()
    if value in ("off", "0", "none", "false"):
        return None
    try:
        per_address, per_number = (int(part) for part in value.split("/"))
    except ValueError:
        raise ImproperlyConfigured("RATE_LIMIT_REPORTS must be 'ADDR/NUMBER' or 'off'.") from None
    return Limits(per_address, per_number)


def client_address(request):
    """The client's address, the one place that decides it (rate limits, login lockouts, idempotency).

    With TRUSTED_PROXY_COUNT = 0, the socket's REMOTE_ADDR; behind N trusted proxies, the address the
    outermost of them appended to X-Forwarded-For (the N-th from the right). Whatever the client wrote
    further left is ignored, and a hop that is not an IP address falls back to REMOTE_ADDR.
    """
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies and _is_address(hops[-proxies]):
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def _is_address(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _hit(scope, identity, limit):
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    digest = hashlib.sha256(f"{scope}:{identity}".encode()).hexdigest()[:32]
    key = f"ratelimit:{scope}:{digest}:{window}"
    try:
        count = _count(key)
    except Exception:  # noqa: BLE001 - the cache (Redis) is down: take the report rather than lose it
        log.warning("rate limit %s not counted: the cache is unavailable", scope, exc_info=True)
        return
    if count > limit:
        raise RateLimited(retry_after=max(1, math.ceil(WINDOW_SECONDS - now % WINDOW_SECONDS)))


def _count(key):
    cache.add(key, 0, timeout=WINDOW_SECONDS + 5)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=WINDOW_SECONDS + 5)
        return 1


def check_address(request):
    """Count one submission from the request's client address; raise RateLimited over the limit."""
    limits = current_limits()
    if limits is not None:
        _hit("addr", client_address(request), limits.per_address)


def check_applicant(*, whatsapp="", nik=""):
    """Count one submission for this WhatsApp number and this NIK; raise RateLimited over the limit."""
    limits = current_limits()
    if limits is None:
        return
    for scope, identity in (("whatsapp", whatsapp), ("nik", nik)):
        if identity:
            _hit(scope, identity, limits.per_number)


def check_link_request(request, reference):
    """Count one request for a lost tracking link, per address and per reference (strict)."""
    limits = current_limits()
    if limits is not None:
        _hit("addr", client_address(request), limits.per_address)
        _hit("link", str(reference).strip().upper(), limits.per_number)
