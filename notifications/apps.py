from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
    verbose_name = _("Conversations")

    def ready(self):
        from notifications import hooks  # attaching the workflow's handlers is what importing does

        hooks.attach()
