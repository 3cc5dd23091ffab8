"""Health checks for load balancers and orchestrators.

- `/livez` (liveness): the web process can serve a request. No dependency is asked, so a database or
  Redis outage never makes an orchestrator restart every web process.
- `/readyz` (readiness): the process can do its work: the database answers. The cache (Redis) is
  reported but does not fail readiness, because intake works without it (rate limits fail open, see
  `tickets.ratelimit`); taking every web node out of a load balancer because Redis is down would turn a
  partial outage into a full one.
- `/healthz` (CONTRACT.md) is the readiness check, for load balancers configured before the split.
"""

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database_ok():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # noqa: BLE001 - any failure means "not ready", reported below
        return False


def _cache_ok():
    try:
        cache.set("healthz", "ok", 10)
        return cache.get("healthz") == "ok"
    except Exception:  # noqa: BLE001 - as above
        return False


@never_cache
@require_GET
def livez(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    checks = {"database": _database_ok(), "cache": _cache_ok()}
    ready = checks["database"]
    return JsonResponse({"status": "ok" if ready else "unavailable", **checks}, status=200 if ready else 503)


healthz = readyz
