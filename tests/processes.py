"""Real processes for the integration tests: web servers and Celery workers on the test database.

They run the production settings module (`config.settings` with TESTING on) against the PostgreSQL
test database and the Redis of CELERY_INTEGRATION_BROKER, each in its own session, so a test can kill
one (SIGKILL, as a crash) without touching the others or itself.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def database_url():
    """The test database as a DATABASE_URL, for a child process to share it."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def broker_url():
    return os.environ["CELERY_INTEGRATION_BROKER"]


def product_env(*, twilio=None, smtp=None, media_root, **overrides):
    """The environment of a production process: the test database, Redis as broker and cache, the
    doubles as Twilio and the SMTP server; the caller's own TWILIO_/EMAIL_ settings left out."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TWILIO_", "EMAIL_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        TESTING="1",
        DEBUG="",
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=broker_url(),
        MEDIA_ROOT=str(media_root),
        LOG_LEVEL="WARNING",
    )
    if twilio is not None:
        env.update(
            TWILIO_ACCOUNT_SID=twilio.account_sid,
            TWILIO_AUTH_TOKEN=twilio.auth_token,
            TWILIO_WHATSAPP_FROM="whatsapp:+14155238886",
            TWILIO_API_URL=twilio.url,
        )
    if smtp is not None:
        env["EMAIL_URL"] = f"smtp://{smtp.host}:{smtp.port}"
    env.update({key: str(value) for key, value in overrides.items()})
    return env


def _spawn(command, env, log):
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def start_manage(env, log, *arguments):
    """A `manage.py` command as a process of its own (a long-running one: the outbox relay)."""
    return _spawn([sys.executable, "manage.py", *arguments], env, log)


def start_worker(env, log, *, name="worker", queues=None):
    """A Celery worker (one process, solo pool) on every queue unless `queues` says otherwise."""
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-l", "WARNING"]
    command += ["-Q", ",".join(queues or settings.CELERY_QUEUE_NAMES), "-n", f"{name}@%h"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return _spawn(command, env, log)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_web(env, log, *, threads=4):
    """A gunicorn web process (one threaded worker) on a free loopback port; returns (process, base URL)."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "1", "--worker-class", "gthread", "--threads", str(threads)]
    command += ["--log-level", "warning"]
    return _spawn(command, env, log), f"http://127.0.0.1:{port}"


def wait_until_serving(process, base, timeout=30):
    def serving():
        if process.poll() is not None:
            raise AssertionError(f"the web process on {base} exited with {process.returncode}")
        try:
            return requests.get(f"{base}/livez", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or still loading the application
            return False

    wait_for(serving, timeout, f"{base} to serve")


def stop(process, sig=signal.SIGKILL):
    """Signal the process's whole session (SIGKILL: a crash; SIGTERM: a graceful stop)."""
    if process.poll() is None:
        os.killpg(process.pid, sig)
        process.wait(10)


def wait_for(condition, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


class StallingProxy:
    """A TCP proxy to `target` (host, port) that can stall: while stalled it reads nothing from either
    side, so a client in the middle of a command (a broker publish) waits as on a hung network."""

    def __init__(self, target):
        self.target = target
        self.flowing = threading.Event()
        self.flowing.set()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    def stall(self):
        self.flowing.clear()

    def flow(self):
        self.flowing.set()

    def close(self):
        self.flowing.set()
        for sock in [self.server, *self.sockets]:
            sock.close()

    def _accept(self):
        while True:
            try:
                client, _address = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source, sink):
        try:
            while data := source.recv(65536):
                self.flowing.wait()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            sink.close()
