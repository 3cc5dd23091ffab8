"""The staff groups and their permissions: Agents, Supervisors and Finance."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

AGENT_PERMISSIONS = [
    "tickets.work_ticket",
    "tickets.view_ticket",
    "tickets.change_ticket",
    "tickets.view_evidence",
    "tickets.view_serialnumber",
    "tickets.view_tickettransition",
    "notifications.view_message",
    "notifications.view_inboundemail",
    "notifications.add_message",
    "notifications.view_cannedreply",
    "refunds.view_remedy",
    "verification.view_platformstamping",
    "verification.view_platformorder",
]
SUPERVISOR_PERMISSIONS = AGENT_PERMISSIONS + [
    "tickets.supervise_ticket",
    "tickets.export_remedies",
    "notifications.add_cannedreply",
    "notifications.change_cannedreply",
    "notifications.delete_cannedreply",
    "notifications.view_satisfactionsurvey",
    "refunds.view_ledgerentry",
    "refunds.view_reconciliationmismatch",
]
FINANCE_PERMISSIONS = [
    "tickets.export_remedies",
    "refunds.view_remedy",
    "refunds.view_ledgerentry",
    "refunds.view_reconciliationmismatch",
]
GROUPS = {"Agents": AGENT_PERMISSIONS, "Supervisors": SUPERVISOR_PERMISSIONS, "Finance": FINANCE_PERMISSIONS}


def ensure_groups(apps=global_apps):
    """Create the groups (and any missing permission); safe to run again."""
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:  # None: run from an early migration; a later one grants it
                group.permissions.add(permission)
