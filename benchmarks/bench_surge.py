"""Surge (issue 12): the ceiling, a report without and with a screenshot, the media worker, 10x overload.

One gunicorn (threaded workers, so the per-process intake bound INTAKE_MAX_IN_FLIGHT applies) on its
own PostgreSQL database and a Redis broker, the bounded aiohttp client of bench_intake.py on loopback:
1. ceiling: POST /bench/insert/ (BENCHMARK_VIEWS), a bare view that inserts one row and answers 201;
2. report without a screenshot (JSON, category other); 3. with a 1080x2400 PNG (the screenshot is
stored pending: the request only reads its header);
4. the media worker: a Celery worker with one process on the `media` queue drains the screenshots
stored by 3; screenshots per second per core;
5. overload: ten times the rate of 2 offered open-loop for DURATION seconds (at most 2000 requests in
flight); every 2xx counted against the tickets stored, the rest must be 503/429 with Retry-After;
p99 of the admitted. Run as the production layout (README, "Separate capacity"; docs/nginx.conf): the
reports go to the intake pool, and a second gunicorn pool of its own serves everything else; /healthz
and a console page (the ticket list, as a logged-in supervisor) are polled on that other pool
throughout, and /healthz on the intake pool too, for comparison.
With --nginx (Debian's nginx on the PATH, else the overload runs without it and says so), a local
nginx runs docs/nginx.conf itself in front of the two pools, as production would: it stamps
X-Request-Start, sheds the reports beyond --nginx-conns in flight (503 with Retry-After) and logs each
request's own time, so the admitted p50/p99 are read from nginx (the client's event loop, saturated by
the flood, adds its lag to what it measures) as well as from the client; the probes go through it.

    .venv/bin/python benchmarks/bench_surge.py [--duration 20] [--concurrency 32] [--workers 4]
    .venv/bin/python benchmarks/bench_surge.py --overload-only 1000 --overload-duration 20 --nginx
"""

import argparse
import asyncio
import datetime
import json
import multiprocessing
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import bench_intake  # noqa: E402
from benchmarks.bench_intake import (  # noqa: E402
    _cpu_seconds,
    load,
    percentile,
    scenario_bodies,
    server_cpu_seconds,
    server_env,
    wait_until_up,
)
from benchmarks.common import (  # noqa: E402
    cpu_summary,
    free_port,
    psql_version,
    recreate_database,
    write_section,
)

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = bench_intake.DB_NAME = "emeterai_bench_surge"  # its CPU figures read this database's backends
BROKER = os.environ.get("BENCH_BROKER", "redis://127.0.0.1:6379/14")


def env_for(media_root, in_flight, queue_ms=0, relay=False):
    env = server_env(media_root)
    env.update(
        OUTBOX_RELAY="on" if relay else "off",
        DATABASE_URL=f"{PG}/{DB_NAME}",
        CELERY_BROKER_URL=BROKER,
        BENCHMARK_VIEWS="1",
        INTAKE_MAX_IN_FLIGHT=str(in_flight),
        INTAKE_MAX_QUEUE_MS=str(queue_ms),
        INTAKE_MAX_PENDING_EVIDENCE="0",  # the screenshot scenario fills it on purpose
    )
    return env


def query(sql):
    conn = psycopg2.connect(f"{PG}/{DB_NAME}")
    with conn.cursor() as cursor:
        cursor.execute(sql)
        (value,) = cursor.fetchone()
    conn.close()
    return value


def stored(kind):
    table = "tickets_idempotencyrecord" if kind == "ceiling" else "tickets_ticket"
    return query(f"SELECT count(*) FROM {table}")  # noqa: S608 - two fixed names


def ceiling_bodies(count=50):
    return [(b"{}", "application/json")] * count, 0


def flush_broker():
    import redis

    redis.Redis.from_url(BROKER).flushdb()


def run_closed(base, kind, args, server, relay=None):
    """One closed-loop scenario; with the outbox relay running, its CPU counts as the web's."""
    path = "/bench/insert/" if kind == "ceiling" else "/api/v1/reports/"
    bodies, png = ceiling_bodies() if kind == "ceiling" else scenario_bodies(kind)
    asyncio.run(load(base + path, bodies, 3, args.concurrency))  # warm-up
    before = stored(kind)
    relay_cpu = (lambda: _cpu_seconds(relay.pid)) if relay else (lambda: 0.0)
    web0, db0, _ = server_cpu_seconds(server.pid)
    web0 += relay_cpu()
    statuses, latencies, elapsed = asyncio.run(load(base + path, bodies, args.duration, args.concurrency))
    web1, db1, _ = server_cpu_seconds(server.pid)
    web1 += relay_cpu()
    created = stored(kind) - before
    return {
        "kind": kind,
        "png_kb": round(png / 1024),
        "created": created,
        "per_second": created / elapsed,
        "p50": percentile(latencies, 0.5) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "statuses": statuses,
        "web_cpu_ms": (web1 - web0) * 1000 / max(created, 1),
        "db_cpu_ms": (db1 - db0) * 1000 / max(created, 1),
        "load": os.getloadavg()[0],
    }


def _worker_cpu_seconds(worker):
    """CPU of the Celery worker's process tree (the prefork child does the work)."""
    pids = [worker.pid]
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
    if children.exists():
        pids += [int(pid) for pid in children.read_text().split()]
    return sum(_cpu_seconds(pid) for pid in pids)


def _count(state):
    return query(f"SELECT count(*) FROM tickets_evidence WHERE state = '{state}'")  # noqa: S608 - fixed


def drain_media(env, limit_seconds=60):
    """One worker process on the media queue works through the pending screenshots (at most
    `limit_seconds`): screenshots per second of wall time, and CPU per screenshot, which on a shared
    machine is the steadier figure (per core: 1000 / CPU ms)."""
    pending = _count("pending")
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "WARNING", "-Q", "media",
        "-c", "1", "-P", "prefork", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    worker = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while _count("ready") == 0:
            time.sleep(0.05)  # the worker's start-up is not the figure
        started, cpu_started, first = time.perf_counter(), _worker_cpu_seconds(worker), _count("ready")
        while time.perf_counter() - started < limit_seconds and _count("pending"):
            time.sleep(0.5)
        elapsed, cpu = time.perf_counter() - started, _worker_cpu_seconds(worker) - cpu_started
        done = _count("ready") - first
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    return {
        "pending": pending,
        "processed": done,
        "seconds": elapsed,
        "per_second": done / max(elapsed, 1e-9),
        "cpu_ms": cpu * 1000 / max(done, 1),
    }


async def overload(base, rate, duration, max_in_flight=2000, stamp=True):
    """Offer `rate` reports per second open-loop (a new request every 1/rate s, whatever the answers);
    `stamp`: the client sets X-Request-Start itself (no proxy in front to do it)."""
    bodies, _png = scenario_bodies("plain", count=200)
    results = []
    connector = aiohttp.TCPConnector(limit=max_in_flight)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        stop_at = time.perf_counter() + duration

        async def one(n):
            body, content_type = bodies[n % len(bodies)]
            started = time.perf_counter()
            try:
                headers = {"Content-Type": content_type}
                if stamp:  # as a proxy would
                    headers["X-Request-Start"] = f"t={time.time():.3f}"
                async with session.post(base + "/api/v1/reports/", data=body, headers=headers) as response:
                    await response.read()
                    results.append(
                        (response.status, time.perf_counter() - started, response.headers.get("Retry-After"))
                    )
            except (TimeoutError, aiohttp.ClientError):
                results.append(("error", time.perf_counter() - started, None))

        tasks, n = [], 0
        began = time.perf_counter()
        while time.perf_counter() < stop_at:
            due = began + n / rate
            now = time.perf_counter()
            if due > now:
                await asyncio.sleep(due - now)
            tasks.append(asyncio.create_task(one(n)))
            n += 1
        await asyncio.gather(*tasks)
    return results


def _poll(url, headers, duration, answers):
    """GET `url` every 0.25 s for `duration` s, recording (status, seconds) of each answer."""
    stop_at = time.perf_counter() + duration
    while time.perf_counter() < stop_at:
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
                response.read()
                answers.append((response.status, time.perf_counter() - started))
        except (OSError, urllib.error.HTTPError) as error:
            answers.append((getattr(error, "code", "error"), time.perf_counter() - started))
        time.sleep(0.25)


def _probe_process(probes, duration, queue):
    answers = {name: [] for name in probes}
    threads = [
        threading.Thread(target=_poll, args=(url, headers, duration, answers[name]))
        for name, (url, headers) in probes.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(answers)


def probing(probes, duration):
    """Poll each of `probes` ({name: (url, headers)}) in a process of its own (one thread each), so the
    flood's event loop, however late, never adds its lag to their latencies; returns a function that
    waits for their answers."""
    queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=_probe_process, args=(probes, duration, queue))
    process.start()

    def answers():
        result = queue.get()
        process.join()
        return result

    return answers


def start_server(env, args, workers=None, threads=None, nice=0):
    port = free_port()
    gunicorn = [
        *(["nice", "-n", str(nice)] if nice else []),
        str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers or args.workers), "--worker-class", "gthread",
        "--threads", str(threads or args.threads), "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(gunicorn, cwd=ROOT, env=env)
    wait_until_up(("127.0.0.1", port), server)
    return server, f"http://127.0.0.1:{port}"


def start_relay(env):
    """The outbox relay beside the web pool (OUTBOX_RELAY on), as production runs it."""
    command = [sys.executable, "manage.py", "relay_outbox"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)


def stop(server):
    server.terminate()
    server.wait(timeout=30)


CONSOLE_PAGE = "/admin/tickets/ticket/"

SESSION_SCRIPT = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.cached_db import SessionStore
from tickets.groups import ensure_groups
from django.contrib.auth.models import Group
ensure_groups()
user, _ = get_user_model().objects.get_or_create(username="bench-supervisor", defaults={"is_staff": True})
user.set_password("bench-only-password-0123456789"); user.save()
user.groups.add(Group.objects.get(name="Supervisors"))
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key)
"""


def staff_session(env):
    """A logged-in supervisor's session cookie, for the console probe."""
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SESSION_SCRIPT],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return f"sessionid={result.stdout.split()[-1]}"


NGINX_PRELUDE = """\
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
worker_rlimit_nofile 20000;
events {{
    worker_connections 8192;
}}
http {{
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    log_format timing '$status $request_time $upstream_response_time $uri';
    access_log {tmp}/access.log timing buffer=256k flush=1s;
    include {tmp}/emeterai.conf;
}}
"""


def nginx_binary():
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)), None
    )


def start_nginx(intake_base, other_base, conns):
    """docs/nginx.conf as it is, its ports and `listen 443 ssl` rewritten to loopback, under a bench
    prelude (logs and temporary files in a folder of its own), as a child process (`daemon off`)."""
    folder = Path(tempfile.mkdtemp(prefix="emeterai-bench-nginx-"))
    folder.chmod(0o755)  # the worker runs as nobody when we are root
    port = free_port()
    site = (ROOT / "docs" / "nginx.conf").read_text()
    site = site.replace("127.0.0.1:8001", intake_base.removeprefix("http://"))
    site = site.replace("127.0.0.1:8002", other_base.removeprefix("http://"))
    site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{port} backlog=4096;")
    site, count = re.subn(r"limit_conn emeterai_intake \d+;", f"limit_conn emeterai_intake {conns};", site)
    assert count == 1, "docs/nginx.conf no longer bounds the reports with limit_conn"
    (folder / "emeterai.conf").write_text(site)
    (folder / "nginx.conf").write_text(NGINX_PRELUDE.format(tmp=folder))
    command = [nginx_binary(), "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"]
    process = subprocess.Popen(command)
    wait_until_up(("127.0.0.1", port), process)
    return process, f"http://127.0.0.1:{port}", folder


def nginx_times(folder):
    """From nginx's access log: (status, request seconds, whether nginx answered it without the pool)
    of each report, as nginx saw them."""
    rows = []
    for line in (folder / "access.log").read_text().splitlines():
        status, seconds, upstream, uri = line.split(" ", 3)
        if uri == "/api/v1/reports/":
            rows.append((int(status), float(seconds), upstream == "-"))
    return rows


def nginx_errors(folder):
    """nginx's error log, its lines counted by what went wrong (a 502 says which upstream failed how)."""
    counts = {}
    for line in (folder / "error.log").read_text().splitlines():
        what = re.sub(r"^.*?\[(\w+)\] [\d#]+: (\*\d+ )?", r"\1: ", line).split(", client:")[0]
        counts[what] = counts.get(what, 0) + 1
    return counts


def run_overload(env, args, rate, duration):
    """The overload against the two pools: reports to the intake pool; /healthz and the console probed
    on the other pool (and /healthz on the intake pool, to compare); with --nginx, all of it through
    nginx but the intake pool's /healthz."""
    use_nginx = args.nginx and nginx_binary()
    if args.nginx and not use_nginx:
        print(
            "nginx is not installed (apt-get install nginx-light): the overload runs without it", flush=True
        )
    if use_nginx:
        env = dict(env, TRUSTED_PROXY_COUNT="1")
    cookie = {"Cookie": staff_session(env)}
    if not (ROOT / "staticfiles" / "staticfiles.json").exists():  # the console's pages need the manifest
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
        )
    intake, intake_base = start_server(env, args, nice=args.intake_nice)
    other, other_base = start_server(env, args, args.other_workers, args.other_threads)
    relay = start_relay(env) if args.relay else None
    proxy, folder = None, None
    try:
        front = intake_base
        if use_nginx:
            proxy, front, folder = start_nginx(intake_base, other_base, args.nginx_conns)
            other_base = front  # everything but the reports goes from nginx to the other pool
        probes = {
            "healthz": (other_base + "/healthz", {}),
            "console": (other_base + CONSOLE_PAGE, cookie),
            "healthz_intake_pool": (intake_base + "/healthz", {}),
        }
        # Warm-up: every worker of both pools past its first requests (imports, URLconf, templates).
        bodies, _png = scenario_bodies("plain", count=50)
        asyncio.run(load(front + "/api/v1/reports/", bodies, 3, 8))
        for _ in range(4 * args.other_workers):
            for url, headers in probes.values():
                urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30).read()
        before = stored("plain")
        probed = probing(probes, duration)
        warm = 0
        if folder:
            time.sleep(1.5)  # the access log's buffer flushed (flush=1s): the warm-up is not the figure
            warm = len(nginx_times(folder))
        results = asyncio.run(overload(front, rate, duration, stamp=not use_nginx))
        health = probed()
        time.sleep(1)
        summary = summarise_overload(results, health, stored("plain") - before, rate)
        if use_nginx:
            stop(proxy)  # flushes the access log's buffer
            proxy = None
            summary["nginx"] = summarise_nginx(nginx_times(folder)[warm:], args.nginx_conns)
            summary["nginx"]["errors"] = nginx_errors(folder)
        return summary
    finally:
        for process in (proxy, intake, other, relay):
            if process:
                stop(process)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--overload-duration", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--other-workers", type=int, default=1, help="the other pool's gunicorn workers")
    parser.add_argument("--other-threads", type=int, default=4, help="and threads per worker")
    parser.add_argument(
        "--intake-nice", type=int, default=0, help="the intake pool's niceness in the overload run (priority)"
    )
    parser.add_argument("--in-flight", type=int, default=2, help="INTAKE_MAX_IN_FLIGHT per process")
    parser.add_argument("--queue-ms", type=int, default=200, help="INTAKE_MAX_QUEUE_MS for the overload")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--nginx", action="store_true", help="the overload through a local nginx running docs/nginx.conf"
    )
    parser.add_argument(
        "--nginx-conns", type=int, default=8, help="with --nginx: the reports nginx lets through at once"
    )
    parser.add_argument(
        "--relay", action="store_true", help="OUTBOX_RELAY on, with `manage.py relay_outbox` running beside"
    )
    parser.add_argument(
        "--overload-only",
        type=float,
        default=0,
        help="only the overload, at this many reports/s (printed, not written)",
    )
    args = parser.parse_args()
    if args.overload_only:
        return overload_only(args)

    recreate_database(PG, DB_NAME)
    media_root = Path("/tmp") / f"emeterai-bench-surge-{os.getpid()}"
    env = env_for(media_root, args.in_flight, args.queue_ms, relay=args.relay)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    subprocess.run([sys.executable, "manage.py", "createcachetable"], cwd=ROOT, env=env, check=True)
    flush_broker()
    rows, media, over = [], None, None
    # Throughput is measured without the intake bound (a closed-loop client would only be shed);
    # the overload run restarts the same server with it.
    server, base = start_server(env_for(media_root, 0, relay=args.relay), args)
    relay = start_relay(env) if args.relay else None
    try:
        for kind in ("ceiling", "plain", "screenshot"):
            rows.append(run_closed(base, kind, args, server, relay))
            print(json.dumps(rows[-1]), flush=True)
    finally:
        stop(server)
        if relay:
            stop(relay)
    try:
        media = drain_media(env)
        print(json.dumps(media), flush=True)
        flush_broker()  # the deliveries nobody consumes: not this run's subject
        over = run_overload(env, args, 10 * rows[1]["per_second"], args.overload_duration)
        print(json.dumps(over), flush=True)
    finally:
        flush_broker()
        subprocess.run(["rm", "-rf", str(media_root)], check=False)
    if not args.no_write:
        write_results(rows, media, over, args)


def overload_only(args):
    recreate_database(PG, DB_NAME)
    media_root = Path("/tmp") / f"emeterai-bench-surge-{os.getpid()}"
    env = env_for(media_root, args.in_flight, args.queue_ms)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    flush_broker()
    try:
        print(json.dumps(run_overload(env, args, args.overload_only, args.overload_duration)), flush=True)
    finally:
        flush_broker()
        subprocess.run(["rm", "-rf", str(media_root)], check=False)


def summarise_overload(results, health, stored_count, rate):
    admitted = sorted(
        latency for status, latency, _ in results if isinstance(status, int) and 200 <= status < 300
    )
    refused = [(status, retry) for status, _latency, retry in results if status in (429, 503)]
    statuses = {}
    for status, _latency, _retry in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {
        "offered_per_second": rate,
        "offered": len(results),
        "statuses": statuses,
        "admitted": len(admitted),
        "stored": stored_count,
        "refused_without_retry_after": sum(1 for _status, retry in refused if not retry),
        "p99_admitted_ms": percentile(admitted, 0.99) * 1000,
        "p50_admitted_ms": percentile(admitted, 0.5) * 1000,
        "probes": {name: _probe_summary(answers) for name, answers in health.items()},
    }


def summarise_nginx(rows, conns):
    """The reports as nginx saw them: how many it shed itself, and the admitted ones' own time."""
    admitted = sorted(seconds for status, seconds, _ in rows if 200 <= status < 300)
    statuses = {}
    for status, _seconds, by_nginx in rows:
        key = f"{status} (nginx)" if by_nginx else str(status)
        statuses[key] = statuses.get(key, 0) + 1
    return {
        "limit_conn": conns,
        "logged": len(rows),
        "statuses": statuses,
        "p50_admitted_ms": percentile(admitted, 0.5) * 1000,
        "p99_admitted_ms": percentile(admitted, 0.99) * 1000,
        "max_admitted_ms": (admitted[-1] if admitted else 0) * 1000,
    }


def _probe_summary(answers):
    latencies = sorted(latency for _status, latency in answers)
    return {
        "count": len(answers),
        "not_200": sum(1 for status, _latency in answers if status != 200),
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "max_ms": (latencies[-1] if latencies else 0) * 1000,
    }


def write_results(rows, media, over, args):
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    ceiling = rows[0]["per_second"]
    names = {
        "ceiling": "ceiling: bare insert view",
        "plain": "report without screenshot",
        "screenshot": "report with screenshot",
    }
    lines = [
        "## Surge: ceiling, reports, media worker, 10x overload (issue 12, `benchmarks/bench_surge.py`)",
        "",
        f"- Command: `.venv/bin/python benchmarks/bench_surge.py --duration {args.duration:g} --overload-duration "
        f"{args.overload_duration:g} --concurrency {args.concurrency} --workers {args.workers} --threads {args.threads} "
        f"--in-flight {args.in_flight} --queue-ms {args.queue_ms} --other-workers {args.other_workers} "
        f"--other-threads {args.other_threads} --intake-nice {args.intake_nice}{' --relay' if args.relay else ''}"
        f"{f' --nginx --nginx-conns {args.nginx_conns}' if over and over.get('nginx') else ''}`",
        f"- Machine: {cpu_summary()}, {psql_version()}, Python {platform.python_version()}; date {now}",
        f"- gunicorn {args.workers} gthread workers x {args.threads} threads, DEBUG off, PostgreSQL `{DB_NAME}` "
        f"(fresh), RATE_LIMIT_REPORTS=off, no intake bound for the three closed-loop scenarios and "
        f"INTAKE_MAX_IN_FLIGHT={args.in_flight} per process and INTAKE_MAX_QUEUE_MS={args.queue_ms} ("
        + (
            "nginx stamps X-Request-Start"
            if args.nginx
            else "the client stamps X-Request-Start as a load balancer would"
        )
        + ") for the overload run, LOG_LEVEL=WARNING, "
        + (
            "OUTBOX_RELAY on (`relay_outbox` running beside, its CPU counted as gunicorn's), "
            if args.relay
            else "OUTBOX_RELAY off, "
        )
        + "Redis broker with no "
        f"worker during the runs; client aiohttp on the same machine, {args.concurrency} in flight, "
        f"{args.duration:g} s per scenario after a 3 s warm-up.",
        "",
        "| scenario | stored | per second | x ceiling | p50 ms | p99 ms | answers | CPU ms/request: gunicorn + PostgreSQL | load avg |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for row in rows:
        answers = ", ".join(f"{key}: {value}" for key, value in sorted(row["statuses"].items(), key=str))
        label = names[row["kind"]] + (f" ({row['png_kb']} KB PNG, 1080x2400)" if row["png_kb"] else "")
        lines.append(
            f"| {label} | {row['created']} | {row['per_second']:.0f} | {row['per_second'] / ceiling:.2f} | "
            f"{row['p50']:.0f} | {row['p99']:.0f} | {answers} | {row['web_cpu_ms']:.1f} + {row['db_cpu_ms']:.1f} | "
            f"{row['load']:.1f} |"
        )
    if media:
        lines += [
            "",
            f"- Media worker (one Celery process, `-Q media -c 1`, at most 60 s): {media['processed']} screenshots "
            f"re-encoded in {media['seconds']:.1f} s ({media['per_second']:.1f}/s of wall time on the shared machine), "
            f"**{media['cpu_ms']:.0f} ms of CPU each = {1000 / max(media['cpu_ms'], 1e-9):.1f} per second per core** "
            f"(pending when it started: {media['pending']}).",
        ]
    if over:
        lines += [
            f"- 10x overload: {over['offered_per_second']:.0f} reports/s offered open-loop for "
            f"{args.overload_duration:g} s ({over['offered']} requests): answers {over['statuses']}; "
            f"2xx {over['admitted']}, tickets stored {over['stored']}; refusals without Retry-After: "
            f"{over['refused_without_retry_after']}; admitted p50 {over['p50_admitted_ms']:.0f} ms, "
            f"p99 {over['p99_admitted_ms']:.0f} ms (as the client measured them)."
            + _nginx_line(over.get("nginx")),
            f"- Meanwhile, every 0.25 s, on the other pool ({args.other_workers} gthread worker x "
            f"{args.other_threads} threads): "
            + _probe_line(over["probes"]["healthz"], "/healthz")
            + "; "
            + _probe_line(
                over["probes"]["console"], f"the console's ticket list (`{CONSOLE_PAGE}`, supervisor)"
            )
            + "; and on the intake pool itself, for comparison: "
            + _probe_line(over["probes"]["healthz_intake_pool"], "/healthz")
            + ".",
        ]
    write_section("bench_surge", "\n".join(lines))


def _nginx_line(seen):
    if not seen:
        return ""
    return (
        f" Through nginx (docs/nginx.conf, `limit_conn` {seen['limit_conn']}, X-Request-Start stamped by "
        f"nginx, the probes below through it too): nginx logged {seen['logged']} reports, answers "
        f"{seen['statuses']}; **admitted as nginx timed them: p50 {seen['p50_admitted_ms']:.0f} ms, p99 "
        f"{seen['p99_admitted_ms']:.0f} ms**, slowest {seen['max_admitted_ms']:.0f} ms."
    )


def _probe_line(probe, what):
    return (
        f"{what} {probe['count']} probes, p50 {probe['p50_ms']:.0f} ms, slowest {probe['max_ms']:.0f} ms, "
        f"not 200: {probe['not_200']}"
    )


if __name__ == "__main__":
    main()
