"""URLs: applicant pages at /, the JSON API under /api/, webhooks, and the staff console at /admin/."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.health import healthz, livez, readyz
from config.metrics import metrics
from config.middleware import staff_or_public_docs

handler404 = "config.errors.not_found"

admin.site.site_header = _("e-Meterai Help Desk")
admin.site.site_title = _("e-Meterai Help Desk")
admin.site.index_title = _("Help-desk console")
admin.site.enable_nav_sidebar = False  # the ticket list needs the width; the index lists every model

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("admin/dashboard/", include("desk.console.urls")),  # before admin.site.urls
    path("admin/", admin.site.urls),
    path("rate/", include("notifications.satisfaction_urls")),
    path("api/v1/", include("desk.applicant.api_urls")),
    path("api/v1/", include("desk.staff_api.urls")),
    # Staff only in production unless API_DOCS_PUBLIC; the docs' script is a file, as the CSP wants.
    path("api/schema/", staff_or_public_docs(SpectacularAPIView.as_view()), name="schema"),
    path(
        "api/docs/",
        staff_or_public_docs(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="api-docs",
    ),
    path("webhooks/", include("notifications.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("desk.applicant.urls")),
]

if settings.BENCHMARK_VIEWS:  # benchmarks/bench_surge.py's ceiling; never on in production
    from benchmarks.ceiling import insert_one

    urlpatterns.insert(0, path("bench/insert/", insert_one))
