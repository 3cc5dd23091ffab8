"""Create the staff groups with their permissions: Agents, Supervisors and Finance."""

from django.db import migrations

from tickets.groups import ensure_groups


def create_groups(apps, schema_editor):
    ensure_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("tickets", "0001_initial"),
        ("notifications", "0002_initial"),
        ("refunds", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
