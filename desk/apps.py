from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    """The help desk's faces: the applicant's pages and API, the staff API and the console.

    The top layer: it may use `tickets`, `refunds` and `notifications`; none of them imports it.
    """

    default_auto_field = "django.db.models.BigAutoField"
    name = "desk"
    verbose_name = _("Help desk")
