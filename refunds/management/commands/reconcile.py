"""`python manage.py reconcile --date YYYY-MM-DD`: the ledger against the remedies for one day."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from refunds.reconciliation import reconcile, totals


class Command(BaseCommand):
    help = (
        "Compare the ledger with the remedies' states for one day; print and store mismatches, exit 1 if any."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", required=True, help="The day to reconcile, YYYY-MM-DD (Jakarta time).")

    def handle(self, *args, **options):
        try:
            day = date.fromisoformat(options["date"])
        except ValueError:
            raise CommandError(f"--date must be YYYY-MM-DD, not {options['date']!r}") from None
        mismatches = reconcile(day=day)
        for row in totals(day):
            figure = f"{row.quantity} stamps" if row.kind == "quota" else f"Rp {row.amount}"
            self.stdout.write(f"{day} {row.kind}: {row.entries} ledger entries, {figure}")
        for mismatch in mismatches:
            self.stdout.write(f"MISMATCH {mismatch.problem} remedy={mismatch.remedy_id}: {mismatch.detail}")
        if mismatches:
            self.stderr.write(f"{len(mismatches)} mismatch(es) on {day}")
            raise SystemExit(1)
        self.stdout.write(f"{day}: ledger and remedies agree")
