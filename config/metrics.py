"""GET /metrics: Prometheus text for operators; never public.

Allowed with `Authorization: Bearer {METRICS_TOKEN}` (Prometheus's `bearer_token`) or to a logged-in
staff user; anyone else gets 401 (no credentials) or 403. Besides the request histogram of
config/observability.py, each scrape reads the backlog from the database (each an indexed count):
reports in the last minute, screenshots waiting for the media workers and the oldest one's age, the
outbox (queued outbound messages) and its oldest message's age, remedies by state, and, when the
broker is Redis, the length of each Celery queue. With several gunicorn workers set
PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode) so that the request histogram
adds up across them.
"""

import hmac
import logging
import os
from datetime import timedelta

import redis
from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from notifications.models import Direction, Message, MessageStatus
from refunds.models import Remedy, RemedyState
from tickets.models import Evidence, Ticket

log = logging.getLogger(__name__)


class BacklogCollector:
    """Figures read from the database (and the broker) at scrape time."""

    def collect(self):
        now = timezone.now()
        yield _gauge(
            "emeterai_reports_last_minute",
            "Reports created in the last 60 seconds.",
            Ticket.objects.filter(created_at__gte=now - timedelta(minutes=1)).count(),
        )
        pending = Evidence.objects.filter(state=Evidence.State.PENDING).aggregate(
            n=Count("id"), oldest=Min("created_at")
        )
        yield _gauge("emeterai_evidence_pending", "Screenshots waiting for the media workers.", pending["n"])
        yield _gauge(
            "emeterai_evidence_pending_oldest_seconds",
            "Age of the oldest screenshot waiting for the media workers (0 when none).",
            _age(now, pending["oldest"]),
        )
        outbox = Message.objects.filter(direction=Direction.OUTBOUND, status=MessageStatus.QUEUED).aggregate(
            n=Count("id"), oldest=Min("created_at")
        )
        yield _gauge(
            "emeterai_outbox_depth", "Outbound messages not yet handed to their provider.", outbox["n"]
        )
        yield _gauge(
            "emeterai_outbox_oldest_seconds",
            "Age of the oldest queued outbound message (0 when none).",
            _age(now, outbox["oldest"]),
        )
        remedies = GaugeMetricFamily("emeterai_remedies", "Remedies by state.", labels=["state"])
        counts = dict(Remedy.objects.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
        for state in RemedyState.values:
            remedies.add_metric([state], counts.get(state, 0))
        yield remedies
        queues = _queue_lengths()
        if queues is not None:
            family = GaugeMetricFamily(
                "emeterai_celery_queue_length", "Tasks waiting in each Celery queue.", labels=["queue"]
            )
            for name, length in queues.items():
                family.add_metric([name], length)
            yield family


def _gauge(name, documentation, value):
    return GaugeMetricFamily(name, documentation, value=value)


def _age(now, oldest):
    return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0


def _queue_lengths():
    """LLEN of each queue on a Redis broker (kombu keeps a queue as a list of its name); None otherwise."""
    url = settings.CELERY_BROKER_URL or ""
    if settings.CELERY_TASK_ALWAYS_EAGER or not url.startswith(("redis://", "rediss://")):
        return None
    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        with client.pipeline(transaction=False) as pipe:
            for name in settings.CELERY_QUEUE_NAMES:
                pipe.llen(name)
            return dict(zip(settings.CELERY_QUEUE_NAMES, pipe.execute(), strict=True))
    except redis.RedisError as exc:
        log.warning("metrics: broker unreachable: %s", exc)
        return None


def _registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_DefaultCollectors())
    registry.register(BacklogCollector())
    return registry


class _DefaultCollectors:
    """The process's own metrics (the request histogram, process and Python figures)."""

    def collect(self):
        yield from REGISTRY.collect()


def _allowed(request):
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), token.encode()):
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_staff)


@never_cache
@require_GET
def metrics(request):
    if not _allowed(request):
        if request.headers.get("Authorization") or request.user.is_authenticated:
            return HttpResponse("Forbidden.\n", status=403, content_type="text/plain")
        response = HttpResponse("Authentication required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
