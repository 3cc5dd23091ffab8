"""Twilio's REST client aimed at a configurable base URL (sandbox or local double); media download."""

import requests
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

TWILIO_API_URL = "https://api.twilio.com"


class BaseUrlHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, sending what the SDK addresses to https://api.twilio.com to `api_url`."""

    def __init__(self, api_url: str = TWILIO_API_URL, **kwargs):
        super().__init__(**kwargs)
        self.api_url = api_url.rstrip("/")

    def rewrite(self, url: str) -> str:
        rest = url[len(TWILIO_API_URL) :]
        if url.startswith(TWILIO_API_URL) and rest[:1] in ("", "/", "?"):
            return self.api_url + rest
        return url

    def request(self, method, url, *args, **kwargs):
        return super().request(method, self.rewrite(url), *args, **kwargs)


def make_twilio_client(
    account_sid: str, auth_token: str, api_url: str = TWILIO_API_URL, timeout: float = 10
) -> Client:
    """A `twilio.rest.Client` whose api.twilio.com requests go to `api_url`, with a per-request timeout."""
    http_client = BaseUrlHttpClient(api_url or TWILIO_API_URL, timeout=timeout)
    return Client(account_sid, auth_token, http_client=http_client)


class MediaFetchError(Exception):
    """A media URL could not be downloaded; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class MediaTooLarge(MediaFetchError):
    """The media is larger than the limit; it was not read past the limit."""


def fetch_media(
    url: str, account_sid: str, auth_token: str, *, max_bytes: int, timeout: float = 10
) -> tuple[bytes, str]:
    """Download a Twilio media URL with Basic auth, following redirects: `(content, media type)`.

    Twilio answers media URLs with a redirect to a pre-signed store; requests drops the credentials when
    the redirect leaves the host, as it should.
    """
    try:
        with requests.get(url, auth=(account_sid, auth_token), stream=True, timeout=timeout) as response:
            if response.status_code >= 400:
                raise MediaFetchError(f"media {url} answered {response.status_code}", response.status_code)
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise MediaTooLarge(f"media {url} is {declared} bytes, over the limit of {max_bytes}")
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise MediaTooLarge(f"media {url} is over the limit of {max_bytes} bytes")
                chunks.append(chunk)
            content_type = response.headers.get("Content-Type", "application/octet-stream")
    except requests.RequestException as error:
        raise MediaFetchError(f"media {url} could not be fetched: {error}") from error
    return b"".join(chunks), content_type.split(";")[0].strip().lower()
