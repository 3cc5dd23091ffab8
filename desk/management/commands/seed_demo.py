"""Demo accounts and tickets in every state, so a newcomer sees the whole workflow at once."""

import contextlib
import io

from django.core.management.base import BaseCommand

from desk import demo


class Command(BaseCommand):
    help = (
        "Create demo staff accounts (passwords printed) and demo tickets in every state. Safe to run twice."
    )

    def handle(self, *args, **options):
        accounts = demo.ensure_accounts()
        canned = demo.ensure_canned_replies()
        self.stdout.write(f"Canned replies and macros: {canned} created.")
        if demo.demo_exists():
            self.stdout.write("Demo tickets exist already; accounts refreshed.")
        else:
            # The demo's own notifications would flood the console channels: keep them out of sight.
            with contextlib.redirect_stdout(io.StringIO()):
                tickets = demo.seed_tickets()
                verified = demo.seed_verified()
                incident = demo.seed_incident()
            self.stdout.write(f"Created {len(tickets)} demo tickets, one or more in every state.")
            self.stdout.write(
                f"Loaded the platform's demo exports and {len(verified)} reports verified against them "
                "(filter the ticket list by platform verification)."
            )
            if incident is not None:
                self.stdout.write(
                    f"Declared the open incident “{incident.title}” ({incident.links.count()} reports)."
                )
        self.stdout.write("\nDemo accounts (log in at /admin/):")
        for username, password, role in accounts:
            self.stdout.write(f"  {username:<11} {password:<16} {role}")
