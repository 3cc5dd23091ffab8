"""What operators see of each request: a request id in every log line and answer, JSON logs, and the
request rate and latency by route for Prometheus (config/metrics.py serves them).

- `RequestIdMiddleware`: the client's or proxy's X-Request-ID when it is sane (so one id follows a
  request through the load balancer and our logs), else a new one; returned in X-Request-ID.
- `RequestMetricsMiddleware`: one histogram observation per request, labelled by the URL pattern (not
  the path: a reference in the path would make one series per ticket), method and status class.
- `JsonFormatter` + `RequestIdFilter`: LOG_FORMAT=json writes one JSON object per line with the id.
"""

import contextvars
import json
import logging
import re
import time
import uuid

from prometheus_client import Histogram

request_id_var = contextvars.ContextVar("request_id", default="")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

REQUEST_SECONDS = Histogram(
    "emeterai_http_request_duration_seconds",
    "Time to answer an HTTP request, by URL pattern, method and status class.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _SANE_ID.match(given) else uuid.uuid4().hex
        request.request_id = request_id
        # Not reset on the way out: Django logs a 4xx/5xx answer after the middleware returned, and
        # the next request in this thread or task sets its own id.
        request_id_var.set(request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = ("/" + match.route) if match is not None and match.route else "unmatched"
        REQUEST_SECONDS.labels(route, request.method, f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started
        )
        return response


class RequestIdFilter(logging.Filter):
    """Give every record the id of the request it was logged in ("" outside a request)."""

    def filter(self, record):
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", ""),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
