"""What a staff login refused by django-axes answers: 429 with Retry-After (the API's JSON answer is
`desk.errors.lockout_response`, which settings name to axes).

Axes counts failures per username and client address (settings AXES_*); this module only words the
refusal, so the admin login and the API token login say the same thing.
"""

import math

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext as _

STATUS = 429


def retry_after_seconds():
    """The cool-off, which is the most a locked-out login has to wait."""
    return max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds()))


def lockout_message():
    return _("Too many failed logins for this username from this address. Try again later.")


def lockout_response(request, original_response=None, credentials=None):
    response = HttpResponse(lockout_message(), status=STATUS, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(retry_after_seconds())
    return response
