"""The applicant API: report, follow, reply, confirm. No account needed.

Errors are `desk.errors`' envelope, `{"detail": "...", "errors": {"field": ["message", ...]}}`, in the
language of Accept-Language (Indonesian when absent); successes are rendered by the serializers the
schema names. Validation lives in `tickets.intake`, the status in `desk.applicant.tracking`, changes in
`tickets.services`.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils import translation
from django.utils.translation import get_supported_language_variant
from django.utils.translation import gettext_lazy as _
from django.utils.translation.trans_real import parse_accept_lang_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from desk.applicant import tracking
from desk.errors import ErrorSerializer, error_response
from notifications.conversation import add_applicant_message, applicant_reopen
from tickets import ratelimit, services
from tickets.intake import (
    ReportSerializer,
    check_evidence_files,
    plain_errors,
    receive_report,
)
from tickets.roles import APPLICANT

NOT_FOUND = _("No report with this reference and tracking token.")


def api_language(request):
    """The best language of Accept-Language that we speak; Indonesian when none is given or matches."""
    for code, _quality in parse_accept_lang_header(request.META.get("HTTP_ACCEPT_LANGUAGE", "")):
        if code == "*":
            break
        try:
            return get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def request_too_large(request):
    """Whether the body is larger than the most a report can need (5 images and the form fields)."""
    limit = settings.EVIDENCE_MAX_FILES * settings.EVIDENCE_MAX_BYTES + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > limit
    except ValueError:
        return False


# --- answers: the schema's components and the responses' renderers --------------------------------


class ReportCreatedSerializer(serializers.Serializer):
    reference = serializers.CharField()
    state = serializers.CharField()
    tracking_token = serializers.CharField()
    tracking_url = serializers.URLField()


class EvidenceLinkSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    url = serializers.CharField()
    thumbnail_url = serializers.CharField()


class TimelineEntrySerializer(serializers.Serializer):
    name = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField()
    at = serializers.DateTimeField()
    note = serializers.CharField()


class PublicMessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    direction = serializers.ChoiceField(choices=["in", "out"])
    channel = serializers.CharField()
    channel_label = serializers.CharField()
    body = serializers.CharField()
    at = serializers.DateTimeField()
    evidence = EvidenceLinkSerializer(many=True)


class PublicRemedySerializer(serializers.Serializer):
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    quantity = serializers.IntegerField(allow_null=True)
    amount = serializers.IntegerField(allow_null=True)
    state = serializers.CharField()
    state_label = serializers.CharField()


class ReportStatusSerializer(serializers.Serializer):
    reference = serializers.CharField()
    category = serializers.CharField()
    category_label = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField()
    created_at = serializers.DateTimeField()
    timeline = TimelineEntrySerializer(many=True)
    messages = PublicMessageSerializer(many=True)
    evidence = EvidenceLinkSerializer(many=True)
    remedy = PublicRemedySerializer(allow_null=True)
    can_confirm = serializers.BooleanField()
    can_reopen = serializers.BooleanField()

    def to_representation(self, instance):
        """`instance` is `tracking.ticket_status()`, which the status page shares: a key it gains that
        is not declared here is an error, not a silent omission from the API and its schema."""
        undeclared = set(instance) - set(self.fields)
        if undeclared:
            raise AssertionError(f"ReportStatusSerializer does not declare {sorted(undeclared)}")
        return super().to_representation(instance)


class ApplicantMessageSerializer(serializers.Serializer):
    """The applicant's reply: a text, screenshots, or both."""

    body = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    evidence = serializers.ListField(
        child=serializers.FileField(
            error_messages={"invalid": _("Send the evidence as files in a multipart/form-data request.")}
        ),
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.evidence_status = None

    def validate_evidence(self, files):
        if len(files) > settings.EVIDENCE_MAX_FILES:
            raise serializers.ValidationError(
                _("Attach at most %(max)d images.") % {"max": settings.EVIDENCE_MAX_FILES}
            )
        return check_evidence_files(files, self)

    def validate(self, attrs):
        if not (attrs.get("body") or "").strip() and not attrs.get("evidence"):
            raise serializers.ValidationError({"body": [_("Write a message or attach a screenshot.")]})
        return attrs


class MessageCreatedSerializer(serializers.Serializer):
    """The applicant's stored message, and the report's state after it."""

    id = serializers.IntegerField()
    state = serializers.CharField(source="ticket.state")


# --- views ---------------------------------------------------------------------------------------

TOKEN_PARAMETERS = [
    OpenApiParameter("reference", OpenApiTypes.STR, OpenApiParameter.PATH, description="e.g. EMT-7KQ2M9X"),
    OpenApiParameter(
        "X-Tracking-Token", OpenApiTypes.STR, OpenApiParameter.HEADER, description="the tracking token"
    ),
    OpenApiParameter("token", OpenApiTypes.STR, OpenApiParameter.QUERY, description="or the token here"),
]
ERROR_RESPONSES = {
    400: OpenApiResponse(ErrorSerializer, description="invalid fields"),
    404: OpenApiResponse(ErrorSerializer, description="unknown reference or wrong token"),
    413: OpenApiResponse(ErrorSerializer, description="a file or the request is too large"),
    415: OpenApiResponse(ErrorSerializer, description="a file is not a PNG, JPEG or WebP image"),
    429: OpenApiResponse(ErrorSerializer, description="rate limited; see Retry-After"),
}


class ApplicantView(APIView):
    """No authentication (the tracking token is the key); errors in the Accept-Language language."""

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def initial(self, request, *args, **kwargs):
        translation.activate(api_language(request))
        request.LANGUAGE_CODE = translation.get_language()
        super().initial(request, *args, **kwargs)
        if request_too_large(request):
            raise RequestDataTooBig()

    def tracked_ticket(self, request, reference):
        try:
            return tracking.find_tracked_ticket(reference, tracking.token_from(request))
        except Http404:
            raise NotFound(NOT_FOUND) from None


class ReportCreateView(ApplicantView):
    @extend_schema(
        operation_id="reports_create",
        summary="Report a failed stamping, a purchase not credited, or another complaint",
        request={"multipart/form-data": ReportSerializer, "application/json": ReportSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="A retry with the same key and body returns the first answer; another body: 422.",
            )
        ],
        responses={
            201: ReportCreatedSerializer,
            **ERROR_RESPONSES,
            422: OpenApiResponse(ErrorSerializer, description="Idempotency-Key reused with another body"),
        },
        tags=["applicant"],
    )
    def post(self, request):
        outcome = receive_report(
            request=request,
            data=request.data,
            files=request.FILES,
            idempotency_key=request.headers.get("Idempotency-Key", "").strip()[:128],
        )
        if outcome.errors:
            return error_response(outcome.status, errors=outcome.errors, retry_after=outcome.retry_after)
        return Response(ReportCreatedSerializer(outcome.body).data, status=outcome.status)


class ReportStatusView(ApplicantView):
    @extend_schema(
        operation_id="reports_retrieve",
        summary="A report's status, timeline, messages and remedy",
        parameters=TOKEN_PARAMETERS,
        responses={200: ReportStatusSerializer, 404: ERROR_RESPONSES[404]},
        tags=["applicant"],
    )
    def get(self, request, reference):
        ticket = self.tracked_ticket(request, reference)
        return Response(ReportStatusSerializer(tracking.ticket_status(ticket)).data)


class ReportMessageView(ApplicantView):
    @extend_schema(
        operation_id="reports_messages_create",
        summary="The applicant answers, with optional screenshots; a report awaiting information resumes",
        parameters=TOKEN_PARAMETERS,
        request={
            "multipart/form-data": ApplicantMessageSerializer,
            "application/json": ApplicantMessageSerializer,
        },
        responses={201: MessageCreatedSerializer, **ERROR_RESPONSES},
        tags=["applicant"],
    )
    def post(self, request, reference):
        ticket = self.tracked_ticket(request, reference)
        ratelimit.check_address(request)
        serializer = ApplicantMessageSerializer(data=request.data)
        if not serializer.is_valid():
            code = serializer.evidence_status if "evidence" in serializer.errors else None
            return error_response(code or 400, errors=plain_errors(serializer.errors))
        message = add_applicant_message(
            ticket=ticket,
            body=serializer.validated_data.get("body", "").strip(),
            evidence=serializer.validated_data.get("evidence") or [],
        )
        message.ticket.refresh_from_db(fields=["state"])  # the transition ran on another instance
        return Response(MessageCreatedSerializer(message).data, status=status.HTTP_201_CREATED)


class ReportConfirmView(ApplicantView):
    @extend_schema(
        operation_id="reports_confirm",
        summary="The applicant confirms the quota is back (resolved -> closed)",
        parameters=TOKEN_PARAMETERS,
        request=None,
        responses={
            200: ReportStatusSerializer,
            404: ERROR_RESPONSES[404],
            409: OpenApiResponse(ErrorSerializer, description="the report is not resolved"),
        },
        tags=["applicant"],
    )
    def post(self, request, reference):
        ticket = self.tracked_ticket(request, reference)
        ticket = services.fire("confirm", ticket=ticket, actor=APPLICANT)
        return Response(ReportStatusSerializer(tracking.ticket_status(ticket)).data)


class ReopenSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=2000, trim_whitespace=True)


class ReportReopenView(ApplicantView):
    @extend_schema(
        operation_id="reports_reopen",
        summary="The applicant reopens a resolved or rejected report within 14 days, saying what is wrong",
        parameters=TOKEN_PARAMETERS,
        request=ReopenSerializer,
        responses={
            200: ReportStatusSerializer,
            400: ERROR_RESPONSES[400],
            404: ERROR_RESPONSES[404],
            409: OpenApiResponse(ErrorSerializer, description="not resolved or rejected, or too late"),
        },
        tags=["applicant"],
    )
    def post(self, request, reference):
        ticket = self.tracked_ticket(request, reference)
        ticket = applicant_reopen(ticket=ticket, body=request.data.get("body", ""))
        return Response(ReportStatusSerializer(tracking.ticket_status(ticket)).data)


report_create = ReportCreateView.as_view()
report_status = ReportStatusView.as_view()
report_message = ReportMessageView.as_view()
report_confirm = ReportConfirmView.as_view()
report_reopen = ReportReopenView.as_view()
