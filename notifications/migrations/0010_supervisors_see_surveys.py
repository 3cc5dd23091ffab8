"""Supervisors read the satisfaction surveys (tickets/groups.py)."""

from django.db import migrations

from tickets.groups import ensure_groups


def update_groups(apps, schema_editor):
    ensure_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0009_satisfaction_survey"),
        ("tickets", "0002_groups"),
    ]

    operations = [migrations.RunPython(update_groups, migrations.RunPython.noop)]
