"""Intake capacity: a report beyond what the site can take now is refused at once, never queued.

Two bounds, each off when its setting is 0:
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


@contextmanager
def admission():
    """Yield True and hold a slot while a report is received, or yield False when intake is full."""
    global _in_flight
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
