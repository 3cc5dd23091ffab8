"""Helpers the benchmark scripts share: the machine they ran on, their RESULTS.md section, databases, ports."""

import os
import platform
import socket
import subprocess
import sys
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"


def cpu_model():
    """The processor's name, so figures from different machines are not compared blindly."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_summary():
    """'N CPU (model)': how much machine the figures had, for the Machine line of a section."""
    return f"{os.cpu_count()} CPU ({cpu_model()})"


def psql_version():
    """The PostgreSQL client's version line, as the closest cheap hint of the server's."""
    result = subprocess.run(["psql", "--version"], capture_output=True, text=True)
    return result.stdout.strip() or "PostgreSQL"


def write_section(name, body):
    """Replace this script's marked section of RESULTS.md (or append it), leaving the others' untouched."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if start in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(text)


def _maintenance_connection(server):
    """An autocommit connection to the server's `postgres` database: CREATE/DROP DATABASE refuse transactions."""
    conn = psycopg2.connect(f"{server.rstrip('/')}/postgres")
    conn.autocommit = True
    return conn


def drop_database(server, name):
    """Drop a bench database, its leftover connections included, so nothing of it outlives the run."""
    conn = _maintenance_connection(server)
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def recreate_database(server, name):
    """Start a bench from an empty database, whatever an earlier (perhaps interrupted) run left."""
    drop_database(server, name)
    conn = _maintenance_connection(server)
    with conn.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def ensure_database(server, name):
    """Create a bench database only if missing, so data that is slow to generate is reused."""
    conn = _maintenance_connection(server)
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def free_port():
    """A loopback port nothing listens on, so a bench server does not collide with a running one."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def migrate(env):
    """Bring the benchmark's database to the current schema (and the cache table) in a child process."""
    for command in (["migrate", "-v", "0"], ["createcachetable"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)


def start_celery_worker(env, concurrency, queues=None, name=None):
    """A real Celery worker on the benchmark's broker and database, as production runs it: on every
    queue, or on `queues` (a comma-separated list) under its own node `name`."""
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "WARNING",
        "-c", str(concurrency), "-P", "prefork", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    if queues:
        command += ["-Q", queues, "-n", f"{name or queues.split(',')[0]}@%h"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
