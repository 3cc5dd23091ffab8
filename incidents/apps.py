from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    """Outages of the stamping platform declared by supervisors, the reports they explain, and the
    bulk decisions taken on them.

    Above `verification` (it reads verification outcomes and system proposals) and below `desk`
    (the applicant pages and the console show open incidents).
    """

    default_auto_field = "django.db.models.BigAutoField"
    name = "incidents"
    verbose_name = _("Incidents")

    def ready(self):
        from incidents import hooks  # noqa: F401 - importing attaches the workflow's handlers
