"""A local double of Twilio's Messages API and media URLs, and helpers to play Twilio's webhooks."""

import re
import secrets
import threading
from datetime import UTC, datetime
from email.utils import format_datetime

import requests
from twilio.request_validator import RequestValidator

from tests.doubles.base import DoubleServer, RecordedRequest, Reply

API_VERSION = "2010-04-01"
WHATSAPP_FROM = "whatsapp:+14155238886"  # Twilio's WhatsApp sandbox number
APPLICANT_WHATSAPP = "whatsapp:+6281234567890"

_ERRORS = {
    400: (21211, "Invalid 'To' Phone Number"),
    401: (20003, "Authenticate"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}


def new_sid(prefix: str) -> str:
    """A Twilio-shaped SID: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


def twilio_error(status: int, code: int | None = None, message: str | None = None) -> Reply:
    """An error answer in Twilio's JSON format (code, message, more_info, status)."""
    default_code, default_message = _ERRORS.get(status, (status * 100, "Error"))
    code = code or default_code
    body = {
        "code": code,
        "message": message or default_message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if status == 401 else {}
    return Reply(status, body, headers)


def sign(url: str, params: dict, auth_token: str) -> str:
    """The X-Twilio-Signature Twilio would send for a form POST of `params` to `url`."""
    return RequestValidator(auth_token).compute_signature(url, params)


def inbound_whatsapp_form(
    account_sid: str,
    body: str = "",
    *,
    from_: str = APPLICANT_WHATSAPP,
    to: str = WHATSAPP_FROM,
    media: list[tuple[str, str]] = (),
    profile_name: str = "Pelapor",
    message_sid: str | None = None,
) -> dict:
    """The form Twilio POSTs to the incoming-message webhook; `media` is a list of (url, content_type)."""
    form = {
        "SmsMessageSid": "",
        "NumMedia": str(len(media)),
        "ProfileName": profile_name,
        "MessageType": "image" if media else "text",
        "SmsSid": "",
        "WaId": from_.removeprefix("whatsapp:").lstrip("+"),
        "SmsStatus": "received",
        "Body": body,
        "To": to,
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": message_sid or new_sid("MM" if media else "SM"),
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }
    form["SmsMessageSid"] = form["SmsSid"] = form["MessageSid"]
    for index, (url, content_type) in enumerate(media):
        form[f"MediaUrl{index}"] = url
        form[f"MediaContentType{index}"] = content_type
    return form


def status_callback_form(
    account_sid: str,
    message_sid: str,
    status: str,
    *,
    error_code: int | None = None,
    to: str = APPLICANT_WHATSAPP,
    from_: str = WHATSAPP_FROM,
) -> dict:
    """The form Twilio POSTs to a message's StatusCallback (ErrorCode only when there is one)."""
    form = {
        "MessageSid": message_sid,
        "SmsSid": message_sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "ChannelToAddress": to.removeprefix("whatsapp:"),
        "To": to,
        "From": from_,
        "AccountSid": account_sid,
        "ApiVersion": API_VERSION,
    }
    if error_code is not None:
        form["ErrorCode"] = str(error_code)
    return form


class TwilioDouble(DoubleServer):
    """Twilio's Messages API (create) and media URLs behind HTTP Basic auth, on loopback.

    `messages` lists the message resources created (dicts as Twilio returns them, plus `form`).
    """

    def __init__(self, account_sid: str | None = None, auth_token: str | None = None):
        super().__init__()
        self.account_sid = account_sid or new_sid("AC")
        self.auth_token = auth_token or secrets.token_hex(16)
        self.messages: list[dict] = []
        self._media: dict[str, tuple[bytes, str]] = {}
        self._state_lock = threading.Lock()

    @property
    def account_path(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}"

    def error_reply(self, status: int) -> Reply:
        return twilio_error(status)

    # media
    def add_media(self, content: bytes, content_type: str) -> str:
        """Store a media file and return its Twilio-style URL: Basic auth, then a 307 to the content."""
        message_sid, media_sid = new_sid("MM"), new_sid("ME")
        with self._state_lock:
            self._media[media_sid] = (content, content_type)
        return f"{self.url}{self.account_path}/Messages/{message_sid}/Media/{media_sid}"

    # webhooks, as Twilio sends them
    def sign(self, url: str, params: dict) -> str:
        return sign(url, params, self.auth_token)

    def inbound_form(self, body: str = "", **kwargs) -> dict:
        """An incoming WhatsApp message form for this account (see `inbound_whatsapp_form`)."""
        return inbound_whatsapp_form(self.account_sid, body, **kwargs)

    def status_form(self, message_sid: str, status: str, **kwargs) -> dict:
        """A status callback form for this account (see `status_callback_form`)."""
        return status_callback_form(self.account_sid, message_sid, status, **kwargs)

    def post_webhook(self, url: str, form: dict, *, signed_url: str | None = None) -> requests.Response:
        """POST `form` to `url` as Twilio does, signed for `signed_url` (the public URL; default `url`)."""
        headers = {
            "X-Twilio-Signature": self.sign(signed_url or url, form),
            "User-Agent": "TwilioProxy/1.1",
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
        }
        return requests.post(url, data=form, headers=headers, timeout=10)

    def send_status_callback(
        self,
        message_sid: str,
        status: str,
        *,
        url: str | None = None,
        signed_url: str | None = None,
        error_code: int | None = None,
    ) -> requests.Response:
        """Report a status of a created message to its StatusCallback (or `url`), as Twilio does."""
        message = next(m for m in self.messages if m["sid"] == message_sid)
        message["status"] = status
        form = self.status_form(
            message_sid, status, error_code=error_code, to=message["to"], from_=message["from"]
        )
        return self.post_webhook(url or message["form"]["StatusCallback"], form, signed_url=signed_url)

    # the API
    def handle(self, request: RecordedRequest) -> Reply:
        stored = re.fullmatch(r"/media-store/(ME\w+)", request.path)
        if request.method == "GET" and stored and stored[1] in self._media:
            content, content_type = self._media[stored[1]]  # like the pre-signed store: no credentials
            return Reply(200, content, {"Content-Type": content_type})
        if request.basic_auth() != (self.account_sid, self.auth_token):
            return twilio_error(401)
        if request.method == "POST" and request.path == f"{self.account_path}/Messages.json":
            return self._create_message(request.body or {})
        if request.method == "GET" and request.path == f"{self.account_path}/Messages.json":
            return self._list_messages(request.query)
        media = re.fullmatch(rf"{self.account_path}/Messages/MM\w+/Media/(ME\w+)", request.path)
        if request.method == "GET" and media and media[1] in self._media:
            return Reply(307, b"", {"Location": f"{self.url}/media-store/{media[1]}"})
        return twilio_error(404, message=f"The requested resource {request.path} was not found")

    def _list_messages(self, query: dict) -> Reply:
        """The message list, newest first, filtered by To and From (DateSent filters are accepted)."""
        with self._state_lock:
            found = [
                {key: value for key, value in message.items() if key != "form"}
                for message in reversed(self.messages)
                if (not query.get("To") or message["to"] == query["To"])
                and (not query.get("From") or message["from"] == query["From"])
            ]
        page = {"messages": found, "page": 0, "page_size": max(len(found), 50), "start": 0, "end": len(found)}
        page.update(uri=f"{self.account_path}/Messages.json", first_page_uri=None, next_page_uri=None)
        page["previous_page_uri"] = None
        return Reply(200, page)

    def _create_message(self, form: dict) -> Reply:
        if not form.get("To"):
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        media_urls = form.get("MediaUrl", [])
        media_urls = [media_urls] if isinstance(media_urls, str) else media_urls
        if not (form.get("Body") or form.get("ContentSid") or media_urls):
            return twilio_error(400, 21602, "Message body is required.")
        sid, now = new_sid("SM"), format_datetime(datetime.now(UTC))
        uri = f"{self.account_path}/Messages/{sid}.json"
        message = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": form.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": str(len(media_urls)),
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": form["To"],
            "uri": uri,
        }
        with self._state_lock:
            self.messages.append({**message, "form": form})
        return Reply(201, message)
