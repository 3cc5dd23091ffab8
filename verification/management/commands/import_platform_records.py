"""`python manage.py import_platform_records FILE`: load one of the platform's CSV exports."""

from django.core.management.base import BaseCommand, CommandError

from verification.imports import ExportError, import_records


class Command(BaseCommand):
    help = (
        "Load a stamping or order export of the stamping platform (the header tells which); "
        "malformed rows are reported with their line numbers and the rest loads (exit status 1)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV export (UTF-8, comma-separated, header row).")

    def handle(self, *args, **options):
        try:
            with open(options["file"], "rb") as handle:
                result = import_records(handle)
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        except ExportError as exc:
            raise CommandError(str(exc)) from exc
        for line, message in result.errors:
            self.stderr.write(f"line {line}: {message}")
        if result.error_count > len(result.errors):
            self.stderr.write(f"... and {result.error_count - len(result.errors)} more malformed rows")
        self.stdout.write(
            f"{result.loaded} {result.kind} records loaded, {result.error_count} malformed rows refused, "
            f"{result.reverified} tickets to verify again."
        )
        if result.error_count:
            raise SystemExit(1)
