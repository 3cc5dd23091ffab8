"""A local SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives and can refuse deliveries."""

import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class ReceivedMail:
    """One delivery: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _EphemeralPortController(Controller):
    """aiosmtpd's Controller bound to port 0: it learns its port before its own start-up check connects."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SMTPDouble:
    """SMTP on 127.0.0.1 with an ephemeral port; `messages` lists ReceivedMail, `fail_next` refuses some."""

    def __init__(self):
        self.messages: list[ReceivedMail] = []
        self._failures: list[str] = []
        self._lock = threading.Lock()
        self._controller = _EphemeralPortController(self, hostname="127.0.0.1", port=0)

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return self._controller.port

    def fail_next(self, count: int = 1, code: int = 451):
        """Answer the next `count` deliveries (at DATA) with `code`: 4xx is temporary, 5xx permanent."""
        text = "4.3.0 Try again later" if code < 500 else "5.7.1 Message rejected"
        with self._lock:
            self._failures.extend([f"{code} {text}"] * count)

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            if self._failures:
                return self._failures.pop(0)
            message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
            self.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 2.0.0 OK"

    def start(self):
        self._controller.start()
        return self

    def stop(self):
        self._controller.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
