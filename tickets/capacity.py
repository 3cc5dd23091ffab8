"""Intake capacity: a report beyond what the site can take now is refused at once, never queued.

Three bounds, each off when its setting is 0:
- INTAKE_MAX_QUEUE_MS: how long the request waited before a web worker took it, from the
  `X-Request-Start: t=<epoch seconds, ms or µs>` header the load balancer stamps (nginx:
  `proxy_set_header X-Request-Start "t=${msec}";`). This is the bound that works with sync workers:
  a report that already waited that long is refused in a millisecond, so the queue drains and the
  admitted ones (and /healthz behind them) stay fast. A client can only shed itself with it;
- INTAKE_MAX_IN_FLIGHT: reports being received at the same time in this process (threaded web workers;
  a sync worker takes one request at a time, so there it bounds nothing);
- INTAKE_MAX_PENDING_EVIDENCE: screenshots waiting for the `media` workers, site-wide (read from the
  database at most once a second per process): when the workers fall that far behind, new reports
  wait on the applicant's side instead of in storage.
A refused report is answered 503 with Retry-After (INTAKE_RETRY_AFTER_SECONDS) and stores nothing;
only intake is gated, so the console, the health checks and the webhooks keep answering.
"""

import threading
import time
from contextlib import contextmanager

from django.conf import settings

from tickets.models import Evidence

_lock = threading.Lock()
_in_flight = 0
_pending = {"checked_at": 0.0, "count": 0}
PENDING_CHECK_SECONDS = 1.0


def in_flight():
    return _in_flight


def queued_too_long(request, *, now=None):
    """Whether the request waited in front of us longer than INTAKE_MAX_QUEUE_MS (X-Request-Start)."""
    limit = settings.INTAKE_MAX_QUEUE_MS
    stamp = request.headers.get("X-Request-Start", "") if limit and request is not None else ""
    if not stamp:
        return False
    try:
        value = float(stamp.removeprefix("t="))
    except ValueError:
        return False
    while value > 1e11:  # milliseconds or microseconds since the epoch: down to seconds
        value /= 1000
    waited_ms = ((now if now is not None else time.time()) - value) * 1000
    return waited_ms > limit


@contextmanager
def admission(request=None):
    """Yield True and hold a slot while a report is received, or yield False when intake is full."""
    global _in_flight
    if queued_too_long(request):
        yield False
        return
    limit = settings.INTAKE_MAX_IN_FLIGHT
    with _lock:
        admitted = not (limit and _in_flight >= limit)
        if admitted:
            _in_flight += 1
    if admitted and _media_backlog_full():
        with _lock:
            _in_flight -= 1
        admitted = False
    try:
        yield admitted
    finally:
        if admitted:
            with _lock:
                _in_flight -= 1


def _media_backlog_full():
    limit = settings.INTAKE_MAX_PENDING_EVIDENCE
    if not limit:
        return False
    now = time.monotonic()
    if now - _pending["checked_at"] >= PENDING_CHECK_SECONDS:
        _pending["count"] = Evidence.objects.filter(state=Evidence.State.PENDING).count()
        _pending["checked_at"] = now
    return _pending["count"] >= limit


def forget_backlog():
    """Read the pending count again at the next report (tests, and after a setting changed)."""
    _pending["checked_at"] = 0.0
