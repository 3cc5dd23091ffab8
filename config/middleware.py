"""Cross-cutting answers: 503 while the database is unreachable, the Permissions-Policy header, and the
API documentation kept to staff in production."""

import functools
import logging

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.utils.translation import gettext as _

from desk.errors import error_json_response

log = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    """A view that finds the database unreachable (a PostgreSQL restart or failover, SQLite busy past
    its timeout) answers 503 with Retry-After instead of 500, so that clients retry, with their
    Idempotency-Key, and create what they meant to exactly once."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        log.warning("database unavailable for %s %s: %s", request.method, request.path, exception)
        message = _("The service is briefly unavailable. Please try again in a moment.")
        retry_after = settings.DATABASE_RETRY_AFTER_SECONDS
        if request.path.startswith("/api/"):
            return error_json_response(503, detail=message, retry_after=retry_after)
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(retry_after)
        return response


class PermissionsPolicyMiddleware:
    """Every answer says which browser features its page may use: none of the powerful ones."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


def api_docs_public():
    """Whether /api/schema/ and /api/docs/ are open to anyone: in development, or when API_DOCS_PUBLIC."""
    return settings.DEBUG or settings.API_DOCS_PUBLIC


def staff_or_public_docs(view):
    """Wrap the schema and docs views: staff only in production unless API_DOCS_PUBLIC opens them."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if api_docs_public() or (request.user.is_authenticated and request.user.is_staff):
            return view(request, *args, **kwargs)
        if request.user.is_authenticated:
            return HttpResponse(status=403)
        return redirect_to_login(request.get_full_path())

    return wrapper
