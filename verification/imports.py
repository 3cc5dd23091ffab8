"""The platform's CSV exports, streamed into `PlatformStamping` / `PlatformOrder` in batched upserts.

The header tells the kind. Rows are read one at a time from the file and written `BATCH` at a time
(INSERT ... ON CONFLICT DO UPDATE, as `bulk_create(update_conflicts=True)` does), so a file of hundreds of thousands of rows never sits in memory;
the same row loaded twice is stored once and the newest export loaded wins. A malformed row is
reported with its line number and the rest loads. Tickets whose pending or unknown verification names
a serial number or order the file touched are verified again as soon as the batch that touched them
committed, while the rest of the file loads.
"""

import csv
import io
import re
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from tickets.models import SerialNumber, Ticket
from verification import services
from verification.models import OPEN_OUTCOMES, OrderStatus, PlatformOrder, PlatformStamping, StampingStatus

BATCH = 2000
ROWS_PER_STATEMENT = 500  # 500 rows x 9 columns stay far below SQLite's limit of 32,766 parameters
MAX_REPORTED_ERRORS = 1000
SERIAL_NUMBER = re.compile(r"^[0-9A-Z]{22}$")

STAMPING_COLUMNS = ["serial_number", "account", "status", "attempted_at", "document_name", "quota_restored"]
ORDER_COLUMNS = [
    "order_id",
    "account",
    "amount",
    "currency",
    "status",
    "paid_at",
    "quantity",
    "quota_credited",
]


class ExportError(Exception):
    """The file as a whole cannot be loaded (an unknown header, not UTF-8 text)."""


class RowError(ValueError):
    pass


@dataclass
class ImportResult:
    kind: str
    loaded: int = 0
    error_count: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, message), the first 1000
    reverified: int = 0

    def refuse(self, line, message):
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append((line, message))


# --- fields -----------------------------------------------------------------------------------


def _text(value, name, max_length, required=True):
    value = value.strip()
    if required and not value:
        raise RowError(_("%(field)s is empty") % {"field": name})
    if len(value) > max_length:
        raise RowError(_("%(field)s is longer than %(max)s characters") % {"field": name, "max": max_length})
    return value


def _account(value):
    value = _text(value, "account", 254)
    if "@" not in value:
        raise RowError(_("account is not an email address"))
    return value.lower()


def _choice(value, name, choices):
    value = value.strip().lower()
    if value not in choices:
        raise RowError(
            _("%(field)s must be one of %(choices)s") % {"field": name, "choices": ", ".join(choices)}
        )
    return value


def _time(value, name, required=True):
    value = value.strip()
    if not value:
        if required:
            raise RowError(_("%(field)s is empty") % {"field": name})
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise RowError(_("%(field)s is not an ISO 8601 time") % {"field": name})
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def _count(value, name):
    value = value.strip()
    if not value.isdigit():
        raise RowError(_("%(field)s is not a whole number") % {"field": name})
    return int(value)


def _bool(value, name):
    value = value.strip().lower()
    if value not in ("true", "false"):
        raise RowError(_("%(field)s must be true or false") % {"field": name})
    return value == "true"


STAMPING_STATUSES = frozenset(StampingStatus.values)
ORDER_STATUSES = frozenset(OrderStatus.values)


def stamping_row(row):
    """(serial_number, account, status, attempted_at, document_name, quota_restored)"""
    serial = row[0].strip().upper()
    if not SERIAL_NUMBER.match(serial):
        raise RowError(_("serial_number must be 22 digits or capital letters"))
    return (
        serial,
        _account(row[1]),
        _choice(row[2], "status", STAMPING_STATUSES),
        _time(row[3], "attempted_at", required=False),
        _text(row[4], "document_name", 255, required=False),
        _bool(row[5], "quota_restored"),
    )


def order_row(row):
    """(order_id, account, amount, currency, status, paid_at, quantity, quota_credited)"""
    if row[3].strip().upper() != "IDR":
        raise RowError(_("currency must be IDR"))
    quantity = _count(row[6], "quantity")
    credited = _count(row[7], "quota_credited")
    if credited > quantity:
        raise RowError(_("quota_credited is more than quantity"))
    return (
        _text(row[0], "order_id", 100),
        _account(row[1]),
        _count(row[2], "amount"),
        "IDR",
        _choice(row[4], "status", ORDER_STATUSES),
        _time(row[5], "paid_at", required=False),
        quantity,
        credited,
    )


@dataclass(frozen=True)
class Kind:
    name: str
    columns: list[str]  # the export's header, the key first, and the model's fields of the same names
    model: type
    parse: object
    times: tuple[int, ...]  # positions of the time columns

    def upsert_sql(self, rows):
        """INSERT ... VALUES (...), ... ON CONFLICT (key) DO UPDATE: the same on PostgreSQL and SQLite."""
        quote = connection.ops.quote_name
        names = [*self.columns, "loaded_at"]
        updated = ", ".join(f"{quote(name)} = excluded.{quote(name)}" for name in names[1:])
        values = ", ".join(["(" + ", ".join(["%s"] * len(names)) + ")"] * rows)
        return (
            f"INSERT INTO {quote(self.model._meta.db_table)} ({', '.join(quote(name) for name in names)}) "
            f"VALUES {values} ON CONFLICT ({quote(self.columns[0])}) DO UPDATE SET {updated}"
        )


KINDS = [
    Kind("stamping", STAMPING_COLUMNS, PlatformStamping, stamping_row, (3,)),
    Kind("order", ORDER_COLUMNS, PlatformOrder, order_row, (5,)),
]


# --- the file ---------------------------------------------------------------------------------


def import_records(binary_file):
    """Load one export from a binary file object (a path opened 'rb', an upload); returns its result."""
    text = io.TextIOWrapper(binary_file, encoding="utf-8-sig", newline="")
    try:
        return _import(csv.reader(text))
    finally:
        text.detach()  # the caller closes its own file


def _import(reader):
    try:
        header = [name.strip().lower() for name in next(reader, [])]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ExportError(_("The file is not a UTF-8 CSV export: %(error)s") % {"error": exc}) from exc
    kind = next((kind for kind in KINDS if kind.columns == header), None)
    if kind is None:
        raise ExportError(
            _("Unknown header. A stamping export starts with %(stamping)s; an order export with %(order)s.")
            % {"stamping": ",".join(STAMPING_COLUMNS), "order": ",".join(ORDER_COLUMNS)}
        )
    result = ImportResult(kind=kind.name)
    ticket_ids = set()
    for batch in _batches(reader, kind, result):
        touched = _store(kind, batch) - ticket_ids
        result.loaded += len(batch)
        services.schedule(sorted(touched))  # committed: verified while the rest of the file loads
        ticket_ids |= touched
    result.reverified = len(ticket_ids)
    return result


def _batches(reader, kind, result):
    """Valid rows as tuples, BATCH at a time, the last of one key winning within a batch."""
    batch = {}
    width = len(kind.columns)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except (UnicodeDecodeError, csv.Error) as exc:
            result.refuse(reader.line_num, str(exc))
            if isinstance(exc, UnicodeDecodeError):
                break  # the decoder cannot find the next line again
            continue
        if not row or row == [""]:
            continue
        try:
            if len(row) != width:
                raise RowError(
                    _("%(found)s columns, expected %(width)s") % {"found": len(row), "width": width}
                )
            record = kind.parse(row)
        except RowError as exc:
            result.refuse(reader.line_num, str(exc))
            continue
        batch[record[0]] = record
        if len(batch) >= BATCH:
            yield list(batch.values())
            batch = {}
    if batch:
        yield list(batch.values())


def _store(kind, batch):
    """Upsert one batch; the ids of tickets it may settle (pending or unknown, naming its keys).

    Multi-row INSERT ... ON CONFLICT DO UPDATE statements, the equivalent of
    `bulk_create(update_conflicts=True)` without building a model instance per row.
    """
    adapt = connection.ops.adapt_datetimefield_value
    loaded_at = adapt(timezone.now())
    rows = [
        tuple(adapt(value) if index in kind.times else value for index, value in enumerate(record))
        + (loaded_at,)
        for record in batch
    ]
    keys = [record[0] for record in batch]
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start : start + ROWS_PER_STATEMENT]
            cursor.execute(kind.upsert_sql(len(chunk)), [value for row in chunk for value in row])
    if kind.name == "stamping":
        touched = SerialNumber.objects.filter(
            value__in=keys, ticket__verification__outcome__in=OPEN_OUTCOMES
        ).values_list("ticket_id", flat=True)
    else:
        touched = Ticket.objects.filter(
            order_id__in=keys, verification__outcome__in=OPEN_OUTCOMES
        ).values_list("pk", flat=True)
    return set(touched)
