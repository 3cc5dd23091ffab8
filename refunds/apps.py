from django.apps import AppConfig


class RefundsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "refunds"

    def ready(self):
        from refunds import hooks  # noqa: F401 - importing attaches the workflow's handlers
