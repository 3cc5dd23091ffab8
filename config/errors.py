"""Error pages: under /api/ a path that matches no route answers in the API's error envelope."""

from django.utils.translation import gettext as _
from django.views.defaults import page_not_found

from desk.errors import error_json_response


def not_found(request, exception):
    if request.path.startswith("/api/"):
        return error_json_response(404, detail=_("Not found."))
    return page_not_found(request, exception)
