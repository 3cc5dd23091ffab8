"""Intake throughput: POST /api/v1/reports/ under gunicorn on PostgreSQL, with and without a screenshot.

Starts gunicorn on 127.0.0.1 (a free port) against its own database (emeterai_bench, recreated and
migrated), with RATE_LIMIT_REPORTS=off and a Redis broker nobody consumes during the run (as in
production, where Celery workers deliver notifications on other machines). A bounded asyncio client
(aiohttp, fixed concurrency) posts prepared requests for DURATION seconds per scenario and counts the
201 answers. Figures go to this script's section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bench_intake.py [--duration 20] [--concurrency 32] [--workers 4]
"""

import argparse
import asyncio
import datetime
import io
import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import psycopg2
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import cpu_summary, free_port, psql_version, recreate_database, write_section  # noqa: E402

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "emeterai_bench"
BROKER = os.environ.get("BENCH_BROKER", "redis://127.0.0.1:6379/3")
SERIAL_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def server_env(media_root):
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{PG}/{DB_NAME}",
        DEBUG="0",
        SECRET_KEY="bench-only-" + "x" * 50,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        RATE_LIMIT_REPORTS="off",
        CELERY_BROKER_URL=BROKER,
        MEDIA_ROOT=str(media_root),
        LOG_LEVEL="WARNING",
    )
    return env


def screenshot_png():
    """A phone screenshot of a stamping history: 1080x2400, white, rows of text, ~100-200 KB as PNG."""
    img = Image.new("RGB", (1080, 2400), "white")
    draw = ImageDraw.Draw(img)
    rng = random.Random(7)
    draw.rectangle((0, 0, 1080, 180), fill=(11, 61, 145))
    for row in range(26):
        top = 220 + row * 84
        draw.rectangle((30, top, 1050, top + 70), outline=(220, 224, 230), width=2)
        serial = "".join(rng.choice(SERIAL_ALPHABET) for _ in range(22))
        draw.text((50, top + 12), f"dokumen-{row:03d}.pdf   {serial}", fill=(30, 30, 30))
        draw.text((50, top + 40), f"2024-09-10 23:5{row % 10}   refund", fill=(179, 38, 30))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def multipart(fields, files, boundary="----bench-intake-boundary"):
    lines = []
    for name, value in fields.items():
        lines.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, (filename, content, content_type) in files:
        header = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        lines.append(header.encode() + content + b"\r\n")
    lines.append(f"--{boundary}--\r\n".encode())
    return b"".join(lines), f"multipart/form-data; boundary={boundary}"


def applicant(n):
    return {
        "full_name": f"Pelapor {n}",
        "nik": "3171014501900001",
        "email": f"pelapor{n}@example.com",
        "whatsapp": f"0812{n % 100000000:08d}",
        "consent": True,
    }


def scenario_bodies(kind, count=50):
    """Prepared requests, so the client spends its time sending, not encoding."""
    bodies = []
    png = screenshot_png() if kind == "screenshot" else None
    for n in range(count):
        if kind == "plain":
            data = {"category": "other", **applicant(n), "description": "Kuota berkurang tapi dokumen gagal."}
            bodies.append((json.dumps(data).encode(), "application/json"))
        else:
            serial = "".join(random.Random(n).choice(SERIAL_ALPHABET) for _ in range(22))
            fields = {
                "category": "stamp_failed",
                **applicant(n),
                "consent": "true",
                "quota_lost": "1",
                "serial_numbers": serial,
            }
            bodies.append(multipart(fields, [("evidence", ("riwayat.png", png, "image/png"))]))
    return bodies, (len(png) if png else 0)


async def load(url, bodies, duration, concurrency):
    statuses = {}
    latencies = []
    stop_at = time.perf_counter() + duration
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker(index):
            n = index
            while time.perf_counter() < stop_at:
                body, content_type = bodies[n % len(bodies)]
                n += concurrency
                started = time.perf_counter()
                try:
                    async with session.post(
                        url, data=body, headers={"Content-Type": content_type}
                    ) as response:
                        await response.read()
                        status = response.status
                except (TimeoutError, aiohttp.ClientError):
                    status = "error"
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    return statuses, sorted(latencies), elapsed


def percentile(sorted_values, fraction):
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


def wait_until_up(url, process):
    for _ in range(200):
        if process.poll() is not None:
            sys.exit("gunicorn exited early")
        try:
            with socket.create_connection(url, timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit("gunicorn did not start")


def count_tickets():
    conn = psycopg2.connect(f"{PG}/{DB_NAME}")
    with conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tickets_ticket")
        (count,) = cursor.fetchone()
    conn.close()
    return count


def _cpu_seconds(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def server_cpu_seconds(master_pid):
    """CPU used so far by the gunicorn workers and by the PostgreSQL backends serving the bench database."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    conn = psycopg2.connect(f"{PG}/{DB_NAME}")
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [DB_NAME]
        )
        backends = [row[0] for row in cursor.fetchall()]
    conn.close()
    web = sum(_cpu_seconds(pid) for pid in children)
    database = sum(_cpu_seconds(pid) for pid in backends)
    return web, database, set(backends)


def flush_broker():
    import redis

    redis.Redis.from_url(BROKER).flushdb()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    recreate_database(PG, DB_NAME)
    media_root = Path("/tmp") / f"emeterai-bench-media-{os.getpid()}"
    env = server_env(media_root)
    python = str(Path(sys.executable))
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    flush_broker()

    port = free_port()
    gunicorn = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        "sync",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(gunicorn, cwd=ROOT, env=env)
    rows = []
    try:
        wait_until_up(("127.0.0.1", port), server)
        url = f"http://127.0.0.1:{port}/api/v1/reports/"
        for kind, label in (
            ("plain", "without screenshot (JSON, category other)"),
            ("screenshot", "with one screenshot (multipart, stamp_failed)"),
        ):
            bodies, png_size = scenario_bodies(kind)
            asyncio.run(load(url, bodies, 3, args.concurrency))  # warm-up: connections, imports
            before = count_tickets()
            load_before = os.getloadavg()[0]
            web_before, db_before, backends_before = server_cpu_seconds(server.pid)
            statuses, latencies, elapsed = asyncio.run(load(url, bodies, args.duration, args.concurrency))
            web_after, db_after, backends_after = server_cpu_seconds(server.pid)
            created = count_tickets() - before
            row = {
                "label": label,
                "png_kb": round(png_size / 1024),
                "created": created,
                "per_second": created / elapsed,
                "p50": percentile(latencies, 0.5) * 1000,
                "p95": percentile(latencies, 0.95) * 1000,
                "statuses": statuses,
                "load": max(load_before, os.getloadavg()[0]),
                "web_cpu_ms": (web_after - web_before) * 1000 / max(created, 1),
                "db_cpu_ms": (db_after - db_before) * 1000 / max(created, 1),
                "same_backends": backends_before == backends_after,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
        flush_broker()
        subprocess.run(["rm", "-rf", str(media_root)], check=False)

    if not args.no_write:
        write_results(rows, args)


def write_results(rows, args):
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "## Applicant intake throughput (issue 3, `benchmarks/bench_intake.py`)",
        "",
        f"- Command: `.venv/bin/python benchmarks/bench_intake.py --duration {args.duration:g} "
        f"--concurrency {args.concurrency} --workers {args.workers}`",
        f"- Machine: {cpu_summary()}, {psql_version()}, Python {platform.python_version()}; date {now}",
        f"- gunicorn {args.workers} sync workers on 127.0.0.1, DEBUG off, PostgreSQL database `{DB_NAME}` "
        "(fresh), RATE_LIMIT_REPORTS=off, Celery broker Redis with no worker during the run (notifications are "
        "queued, delivered elsewhere). Client: aiohttp, "
        f"{args.concurrency} requests in flight, {args.duration:g} s per scenario after a 3 s warm-up, on the same machine.",
        "",
        "| scenario | screenshot | tickets created | reports/s | p50 ms | p95 ms | answers | load avg "
        "| CPU ms/report: gunicorn + PostgreSQL | ceiling on 2 free cores |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for row in rows:
        answers = ", ".join(f"{key}: {value}" for key, value in sorted(row["statuses"].items(), key=str))
        size = f"{row['png_kb']} KB PNG" if row["png_kb"] else "none"
        lines.append(
            f"| {row['label']} | {size} | {row['created']} | {row['per_second']:.0f} | {row['p50']:.0f} | "
            f"{row['p95']:.0f} | {answers} | {row['load']:.1f} | {row['web_cpu_ms']:.1f} + {row['db_cpu_ms']:.1f} | "
            f"{2000 / (row['web_cpu_ms'] + row['db_cpu_ms']):.0f}/s |"
        )
    lines += [
        "",
        "What limits it (profiled in-process with cProfile on the same database):",
        "- The machine is shared (other test runs; see the load average) and the client runs on it too, so "
        "reports/s is what was left over; the CPU per report (gunicorn workers and the PostgreSQL backends of "
        "the bench database, from /proc) is the steadier figure, and the ceiling column is 2000 ms divided by it.",
        "- Without a screenshot, about 5 ms of CPU in gunicorn per report: DRF validation and the ORM (three "
        "INSERTs: ticket, log, and the outbox messages of both channels in one), the one Celery publish to "
        "Redis that hands all of the transaction's messages to the workers, and the HTTP and middleware "
        "around them; PostgreSQL spends about 1 ms, mostly maintaining the indexes of tickets_ticket that "
        "the console's searches need, plus the commit. The first run (112/s, 5.4 ms) made one publish and one "
        "INSERT per outbox message, on a machine loaded by other test suites.",
        "- With a screenshot, decoding and re-encoding the 1080x2400 PNG without metadata (thumbnail and pixel "
        "hash included) costs about 60 ms of CPU (75 ms per report with the upload's parsing) and dominates; it "
        "was about 90 ms before the intake decoded each image once and wrote PNG at compression level 1. Moving it to a Celery task would let the web "
        "answer faster in a surge but not raise the total on the same 2 cores.",
    ]
    write_section("bench_intake", "\n".join(lines))


if __name__ == "__main__":
    main()
