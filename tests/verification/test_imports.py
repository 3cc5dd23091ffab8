"""The platform's CSV exports: the kind told by the header, streamed, idempotent, malformed rows reported."""

import io
import os
import time
import tracemalloc

import pytest
from django.core.management import call_command

from refunds.models import Remedy
from tests.verification.conftest import ACCOUNT, order_ticket, serial, stamp_ticket
from verification.imports import STAMPING_COLUMNS, ExportError, import_records
from verification.models import Outcome, PlatformOrder, PlatformStamping, Verification

pytestmark = pytest.mark.django_db

STAMPING_HEADER = ",".join(STAMPING_COLUMNS) + "\n"
ORDER_HEADER = "order_id,account,amount,currency,status,paid_at,quantity,quota_credited\n"


def stamping_line(n, account=ACCOUNT, status="refund", restored="false"):
    return f"{serial(n)},{account},{status},2024-09-10T21:40:00+07:00,surat-{n}.pdf,{restored}\n"


def load(text):
    return import_records(io.BytesIO(text.encode()))


@pytest.fixture(autouse=True)
def _remedies_paused(settings):
    settings.REMEDIES_PAUSED = True
    settings.QUOTA_GATEWAY = "ledger"


def test_a_stamping_export_is_loaded():
    result = load(STAMPING_HEADER + stamping_line(1) + stamping_line(2, status="success", restored="true"))
    assert (result.kind, result.loaded, result.error_count) == ("stamping", 2, 0)
    second = PlatformStamping.objects.get(serial_number=serial(2))
    assert (second.account, second.status, second.quota_restored) == (ACCOUNT, "success", True)
    assert second.attempted_at.isoformat() == "2024-09-10T14:40:00+00:00"


def test_an_order_export_is_loaded():
    result = load(ORDER_HEADER + "ORD-1,Siti@Example.com,100000,IDR,paid,2024-09-10T20:00:00+07:00,10,4\n")
    assert (result.kind, result.loaded) == ("order", 1)
    order = PlatformOrder.objects.get(order_id="ORD-1")
    assert (order.account, order.amount, order.quantity, order.quota_credited) == (ACCOUNT, 100_000, 10, 4)


def test_the_same_file_twice_stores_each_row_once(tmp_path):
    path = tmp_path / "stampings.csv"
    path.write_text(STAMPING_HEADER + stamping_line(1) + stamping_line(2))
    call_command("import_platform_records", str(path), stdout=io.StringIO())
    call_command("import_platform_records", str(path), stdout=io.StringIO())
    assert PlatformStamping.objects.count() == 2


def test_the_newest_export_wins():
    load(STAMPING_HEADER + stamping_line(1, status="pending"))
    load(STAMPING_HEADER + stamping_line(1, status="refund", restored="true"))
    stamping = PlatformStamping.objects.get()
    assert (stamping.status, stamping.quota_restored) == ("refund", True)


def test_the_same_row_twice_in_one_file_is_stored_once_the_last_winning():
    result = load(STAMPING_HEADER + stamping_line(1, status="pending") + stamping_line(1, status="failed"))
    assert result.error_count == 0
    assert PlatformStamping.objects.get().status == "failed"


def test_malformed_rows_are_reported_with_their_line_numbers_and_the_rest_loads():
    text = (
        STAMPING_HEADER
        + stamping_line(1)  # line 2
        + "SHORT,siti@example.com,refund,,x.pdf,false\n"  # line 3: bad serial
        + stamping_line(3, status="lost")  # line 4: bad status
        + f"{serial(4)},siti@example.com,refund\n"  # line 5: missing columns
        + stamping_line(5, restored="maybe")  # line 6
        + f"{serial(6)},siti@example.com,failed,kemarin,x.pdf,false\n"  # line 7: bad time
        + stamping_line(7)  # line 8
    )
    result = load(text)
    assert result.loaded == 2
    assert [line for line, _message in result.errors] == [3, 4, 5, 6, 7]
    assert "serial_number" in result.errors[0][1]
    assert "status" in result.errors[1][1]
    assert "columns" in result.errors[2][1]
    assert set(PlatformStamping.objects.values_list("serial_number", flat=True)) == {serial(1), serial(7)}


def test_the_command_reports_malformed_rows_on_stderr_and_exits_1(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        ORDER_HEADER + "ORD-1,siti@example.com,lots,IDR,paid,,10,0\nORD-2,siti@example.com,5,IDR,paid,,1,0\n"
    )
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_platform_records", str(path), stdout=out, stderr=err)
    assert exit_info.value.code == 1
    assert "line 2: amount is not a whole number" in err.getvalue()
    assert "1 order records loaded, 1 malformed rows refused" in out.getvalue()
    assert PlatformOrder.objects.filter(order_id="ORD-2").exists()


def test_an_unknown_header_is_refused_as_a_whole():
    with pytest.raises(ExportError, match="Unknown header"):
        load("serial,owner\n" + stamping_line(1))
    assert not PlatformStamping.objects.exists()


def test_a_file_that_is_not_utf8_is_refused():
    with pytest.raises(ExportError):
        import_records(io.BytesIO("séri,akun\n".encode("latin-1")))


def test_an_import_verifies_again_the_tickets_whose_serials_it_touched():
    ticket = stamp_ticket(serial(1), serial(2))
    Verification.objects.create(ticket=ticket, outcome=Outcome.UNKNOWN, reason="no_record")
    settled = stamp_ticket(serial(3))
    Verification.objects.create(ticket=settled, outcome=Outcome.CONTRADICTED, reason="other_account")

    result = load(STAMPING_HEADER + stamping_line(1) + stamping_line(2) + stamping_line(3))

    assert result.reverified == 1
    ticket.verification.refresh_from_db()
    assert ticket.verification.outcome == Outcome.CONFIRMED
    assert Remedy.objects.filter(ticket=ticket).count() == 1
    settled.verification.refresh_from_db()
    assert settled.verification.outcome == Outcome.CONTRADICTED


def test_an_order_import_verifies_again_the_tickets_of_its_orders():
    ticket = order_ticket("ORD-9")
    Verification.objects.create(ticket=ticket, outcome=Outcome.PENDING)
    load(ORDER_HEADER + f"ORD-9,{ACCOUNT},100000,IDR,paid,2024-09-10T20:00:00+07:00,10,0\n")
    ticket.verification.refresh_from_db()
    assert ticket.verification.outcome == Outcome.CONFIRMED


def write_export(path, rows):
    with path.open("w") as out:
        out.write(STAMPING_HEADER)
        for n in range(rows):
            out.write(stamping_line(n))
    return path


def traced_import(path):
    """Import the file; (result, peak bytes Python allocated meanwhile, seconds)."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        with path.open("rb") as handle:
            result = import_records(handle)
        return result, tracemalloc.get_traced_memory()[1], time.monotonic() - started
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_file(tmp_path):
    small, small_peak, _ = traced_import(write_export(tmp_path / "small.csv", 4_000))
    large, large_peak, _ = traced_import(write_export(tmp_path / "large.csv", 16_000))
    assert (small.loaded, large.loaded) == (4_000, 16_000)
    assert large_peak < small_peak * 1.5, (small_peak, large_peak)


@pytest.mark.skipif(
    not os.environ.get("VERIFICATION_BIG_IMPORT"),
    reason="200,000 rows traced take about a minute on a shared machine, longer than a unit test should "
    "(set VERIFICATION_BIG_IMPORT=1; the timed figure is in benchmarks/RESULTS.md, "
    "benchmarks/bench_platform_import.py; test_memory_does_not_grow_with_the_file always runs)",
)
def test_a_200000_row_export_is_streamed_with_bounded_memory(tmp_path):
    path = write_export(tmp_path / "stampings.csv", 200_000)
    result, peak, elapsed = traced_import(path)
    assert (result.loaded, result.error_count) == (200_000, 0)
    assert PlatformStamping.objects.count() == 200_000
    file_size = path.stat().st_size
    assert peak < file_size / 4, f"peak {peak} bytes for a file of {file_size}"
    print(f"200000 rows in {elapsed:.1f} s, peak {peak / 1e6:.1f} MB traced, file {file_size / 1e6:.1f} MB")
