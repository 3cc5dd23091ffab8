"""Read one raw email on standard input and store it on its ticket (for an MTA pipe)."""

import sys

from django.core.management.base import BaseCommand, CommandError

from notifications import mail


class Command(BaseCommand):
    help = "Read one RFC 822 message on standard input and thread it onto its ticket (or open one)."

    def handle(self, *args, **options):
        raw = sys.stdin.buffer.read()
        if not raw.strip():
            raise CommandError("no message on standard input")
        try:
            result = mail.receive_email(raw)
        except mail.InvalidEmail as error:
            raise CommandError(str(error)) from error
        if result.ignored:
            self.stdout.write(f"ignored: {result.ignored}")
        elif result.duplicate:
            self.stdout.write(
                f"duplicate of message {result.message.pk} on {result.message.ticket.reference}"
            )
        else:
            self.stdout.write(f"stored message {result.message.pk} on {result.message.ticket.reference}")
