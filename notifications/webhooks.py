"""The providers' webhooks (mounted at /webhooks/): Twilio WhatsApp messages and status callbacks, raw email.

Each checks who is calling (Twilio's signature, the inbound secret) and the shape of what it sent,
hands it to notifications.inbound or notifications.mail, and answers at once.
"""

import logging
from xml.sax.saxutils import escape

from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from notifications import guided, mail
from notifications.inbound import apply_status, receive_whatsapp, schedule_inbound_email

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


# --- Twilio webhooks ----------------------------------------------------------------------------


def twilio_signature_valid(request):
    """X-Twilio-Signature over PUBLIC_BASE_URL + the path and query Twilio called, and the form."""
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    url = settings.PUBLIC_BASE_URL + request.get_full_path()
    return RequestValidator(token).validate(url, request.POST, signature)


def twiml_ok(reply=""):
    """Empty TwiML, or one message back to the sender (a guided report's next question)."""
    if not reply:
        return HttpResponse(EMPTY_TWIML, content_type="text/xml")
    body = f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(reply)}</Message></Response>'
    return HttpResponse(body, content_type="text/xml")


# A signed form can still be malformed (a misconfigured sender, a replayed or forged-with-leaked-token
# request): it is checked against what Twilio sends before anything is stored, and refused with 400.
MESSAGE_SID = RegexValidator(r"^(SM|MM)[0-9a-fA-F]{32}$", "not a Twilio message SID")
WHATSAPP_ADDRESS = RegexValidator(r"^(whatsapp:)?\+[1-9][0-9]{6,14}$", "not a WhatsApp address")
MAX_MEDIA = 10


class WhatsAppMessageForm(forms.Form):
    """Twilio's incoming-message form, the fields we store."""

    MessageSid = forms.CharField(max_length=34, validators=[MESSAGE_SID])
    From = forms.CharField(max_length=30, validators=[WHATSAPP_ADDRESS])
    To = forms.CharField(max_length=30, required=False, validators=[WHATSAPP_ADDRESS])
    Body = forms.CharField(max_length=4096, required=False, strip=False)
    NumMedia = forms.IntegerField(min_value=0, max_value=MAX_MEDIA, required=False)
    ProfileName = forms.CharField(max_length=256, required=False)
    # A shared location (https://www.twilio.com/docs/whatsapp/api#location-messages-with-whatsapp).
    Latitude = forms.FloatField(min_value=-90, max_value=90, required=False)
    Longitude = forms.FloatField(min_value=-180, max_value=180, required=False)
    Address = forms.CharField(max_length=1024, required=False)
    Label = forms.CharField(max_length=1024, required=False)

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("Latitude") is None) != (cleaned.get("Longitude") is None):
            self.add_error(None, "Latitude and Longitude come together")
        for index in range(cleaned.get("NumMedia") or 0):
            url = self.data.get(f"MediaUrl{index}", "")
            content_type = self.data.get(f"MediaContentType{index}", "")
            if len(url) > 2000 or not url.startswith(("https://", "http://")) or len(content_type) > 100:
                self.add_error(None, f"MediaUrl{index} or MediaContentType{index} is malformed")
        return cleaned


class StatusCallbackForm(forms.Form):
    """Twilio's status callback form."""

    MessageSid = forms.CharField(max_length=34, validators=[MESSAGE_SID])
    MessageStatus = forms.CharField(max_length=32, required=False)
    ErrorCode = forms.CharField(max_length=10, required=False, validators=[RegexValidator(r"^[0-9]*$")])


def form_errors(form):
    return HttpResponseBadRequest(
        "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()),
        content_type="text/plain; charset=utf-8",
    )


@csrf_exempt
@require_POST
def whatsapp_webhook(request):
    if not twilio_signature_valid(request):
        return HttpResponseForbidden("invalid signature")
    form = WhatsAppMessageForm(request.POST)
    if not form.is_valid():
        return form_errors(form)
    if guided.applies(request.POST):
        reply = guided.receive(request.POST)
        if reply is not None:
            return twiml_ok(reply.body)
    receive_whatsapp(request.POST)
    return twiml_ok()


@csrf_exempt
@require_POST
def status_webhook(request):
    if not twilio_signature_valid(request):
        return HttpResponseForbidden("invalid signature")
    form = StatusCallbackForm(request.POST)
    if not form.is_valid():
        return form_errors(form)
    apply_status(
        message_sid=request.POST["MessageSid"],
        twilio_status=request.POST.get("MessageStatus", ""),
        error_code=request.POST.get("ErrorCode", ""),
        message_pk=request.GET.get("message", ""),
    )
    return twiml_ok()


# --- inbound email ------------------------------------------------------------------------------


@csrf_exempt
@require_POST
def email_webhook(request):
    """A raw RFC 822 message as the body, authenticated by X-Inbound-Secret; off without a secret.

    Only stored here (202); a worker reads it, so a MIME bomb never holds a web worker.
    """
    secret = settings.INBOUND_EMAIL_SECRET
    if not secret:
        raise Http404
    if not constant_time_compare(request.headers.get("X-Inbound-Secret", ""), secret):
        return HttpResponseForbidden("invalid secret")
    limit = settings.INBOUND_EMAIL_MAX_BYTES
    declared = request.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        return JsonResponse({"error": "message too large"}, status=413)
    raw = request.read(
        limit + 1
    )  # not request.body: mail with screenshots exceeds DATA_UPLOAD_MAX_MEMORY_SIZE
    if len(raw) > limit:
        return JsonResponse({"error": "message too large"}, status=413)
    try:
        inbound, created = mail.store_raw(raw)
    except mail.InvalidEmail as error:
        return JsonResponse({"error": str(error)}, status=400)
    if created:
        transaction.on_commit(lambda: schedule_inbound_email(inbound.pk))
    return JsonResponse({"id": inbound.pk, "duplicate": not created}, status=202 if created else 200)
