from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VerificationConfig(AppConfig):
    """Claims checked against the stamping platform's own records (its API or its CSV exports).

    Above `refunds` and `notifications`, below `desk`: it fires `propose_remedy` through the ticket
    services (the remedy itself is created by `refunds.hooks`) and reads remedies to refuse a second one.
    """

    default_auto_field = "django.db.models.BigAutoField"
    name = "verification"
    verbose_name = _("Platform verification")

    def ready(self):
        from verification import hooks  # noqa: F401 - importing attaches the workflow's handlers
