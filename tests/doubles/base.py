"""A small threaded HTTP server on loopback that test doubles of outside providers build on."""

import base64
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from requests.structures import CaseInsensitiveDict


@dataclass
class Reply:
    """An HTTP answer: a dict or list body is sent as JSON, str or bytes as they are."""

    status: int = 200
    body: object = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds to sleep before answering (longer than a client timeout: a timeout)
    drop: bool = False  # close the connection without any answer
    chunked: bool = False  # send the body with Transfer-Encoding: chunked (no Content-Length)
    after: bool = False  # run the double's normal behaviour first, then answer this instead

    def encoded(self) -> tuple[bytes, dict]:
        headers = dict(self.headers)
        if isinstance(self.body, (dict, list)):
            headers.setdefault("Content-Type", "application/json")
            return json.dumps(self.body).encode(), headers
        if isinstance(self.body, str):
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            return self.body.encode(), headers
        return bytes(self.body), headers


@dataclass
class _Pause(Reply):
    """A delay after which the double behaves normally (the provider was only slow)."""


@dataclass
class RecordedRequest:
    """One request as the double received it; `body` is the parsed JSON or form (repeated names as lists)."""

    method: str
    path: str
    query: dict
    headers: CaseInsensitiveDict
    body: object
    raw: bytes

    def basic_auth(self) -> tuple[str, str] | None:
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return None
        return user, password

    def bearer_token(self) -> str | None:
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        return value if scheme.lower() == "bearer" else None


def parse_form(raw: bytes) -> dict:
    """Form fields as a dict; a name that appears more than once maps to the list of its values."""
    fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
    return {name: values[0] if len(values) == 1 else values for name, values in fields.items()}


def _parse_body(content_type: str, raw: bytes) -> object:
    if not raw:
        return None
    if "json" in content_type:
        try:
            return json.loads(raw)
        except ValueError:
            return None
    if "x-www-form-urlencoded" in content_type:
        return parse_form(raw)
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The headers and the body go out in two writes: with Nagle's algorithm on, the body waits for the
    # client's delayed ACK of the headers (40 ms on Linux loopback), a stall no real server adds.
    disable_nagle_algorithm = True
    double: "DoubleServer"

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=split.path,
            query={k: v[0] for k, v in parse_qs(split.query).items()},
            headers=CaseInsensitiveDict(self.headers.items()),
            body=_parse_body(self.headers.get("Content-Type", ""), raw),
            raw=raw,
        )
        reply = self.double._dispatch(request)
        if reply.drop:
            self.close_connection = True
            return
        body, headers = reply.encoded()
        try:
            self.send_response(reply.status)
            for name, value in headers.items():
                self.send_header(name, value)
            if reply.chunked:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for start in range(0, len(body), 65536):
                    piece = body[start : start + 65536]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
        except OSError:  # the client gave up (timeout) before the answer
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format, *args):
        pass


class DoubleServer:
    """Threaded HTTP server on 127.0.0.1 (ephemeral port); subclasses answer in `handle(request) -> Reply`.

    Use as a context manager (`with Double() as d:`) or `start()`/`stop()`; `requests` lists what arrived.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._script: deque[Reply] = deque()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self):
        self._stopping.clear()
        handler = type("Handler", (_Handler,), {"double": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # what arrived
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear(self):
        with self._lock:
            self._requests.clear()

    # scripting
    def script(self, *replies: Reply):
        """Answer the next requests with these replies, in order, before the normal behaviour resumes."""
        with self._lock:
            self._script.extend(replies)

    def fail_next(self, *statuses: int):
        """Answer the next requests with these error statuses (one request each), in the provider's format."""
        self.script(*(self.error_reply(status) for status in statuses))

    def timeout_next(self, seconds: float, count: int = 1):
        """Sleep `seconds` (make it longer than the client timeout) before handling the next requests."""
        self.script(*(_Pause(delay=seconds) for _ in range(count)))

    def drop_next(self, count: int = 1):
        """Close the connection of the next requests without any answer (and without handling them)."""
        self.script(*(Reply(drop=True) for _ in range(count)))

    # for subclasses
    def error_reply(self, status: int) -> Reply:
        return Reply(status, {"error": f"scripted failure {status}"})

    def handle(self, request: RecordedRequest) -> Reply:
        return Reply(404, {"error": "not_found"})

    def _dispatch(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self._requests.append(request)
            scripted = self._script.popleft() if self._script else None
        if scripted is None:
            return self.handle(request)
        if scripted.delay and self._stopping.wait(scripted.delay):
            return Reply(drop=True)  # the double is stopping: do not answer
        if isinstance(scripted, _Pause):
            return self.handle(request)
        if scripted.after:
            self.handle(request)
        return scripted
