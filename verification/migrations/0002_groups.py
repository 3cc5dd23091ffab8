"""Agents and supervisors may look up the platform's loaded records (tickets.groups)."""

from django.db import migrations

from tickets.groups import ensure_groups


def grant(apps, schema_editor):
    ensure_groups(apps)


class Migration(migrations.Migration):
    dependencies = [("verification", "0001_initial"), ("tickets", "0002_groups")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
