"""The remedies API: bulk approval for supervisors and the CSV export for finance.

Refusals of the request as a whole are `desk.errors`' envelope; the bulk approval's per-item refusals
are its `results`."""

import csv
from datetime import date, timedelta

from django.db.models import Q
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from desk.errors import ErrorSerializer
from incidents.models import Incident
from refunds.models import Remedy, RemedyKind
from refunds.reconciliation import day_bounds
from refunds.services import approve_remedies
from tickets import roles
from tickets.masking import mask

MAX_BULK = 1000
MAX_EXPORT_DAYS = 366
MAX_ID = 2**63 - 1  # a BigAutoField's largest id


class IsSupervisor(BasePermission):
    message = _("Only supervisors may approve remedies.")

    def has_permission(self, request, view):
        return roles.is_supervisor(None, request.user)


class MayExport(BasePermission):
    message = _("Only supervisors and finance may export remedies.")

    def has_permission(self, request, view):
        user = request.user
        return bool(user.is_active and user.is_staff and user.has_perm(roles.FINANCE_PERMISSION))


class BulkApprovalSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=MAX_BULK,
        allow_empty=False,
    )


class ApprovalResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ok = serializers.BooleanField()
    error = serializers.CharField(allow_null=True)


class BulkApprovalResultsSerializer(serializers.Serializer):
    results = ApprovalResultSerializer(many=True)


class BulkApprovalView(APIView):
    """Approve many remedies at once; each is judged on its own (state, four eyes) and reported."""

    permission_classes = [IsSupervisor]

    @extend_schema(request=BulkApprovalSerializer, responses={200: BulkApprovalResultsSerializer})
    def post(self, request):
        serializer = BulkApprovalSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        results = approve_remedies(ids=serializer.validated_data["ids"], actor=request.user)
        return Response(BulkApprovalResultsSerializer({"results": results}).data)


def _cell(value):
    """A cell spreadsheets will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _time(value):
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


EXPORT_COLUMNS = [
    "remedy_id",
    "ticket_reference",
    "kind",
    "state",
    "quantity",
    "amount",
    "payout_method",
    "payout_destination",
    "proposed_by",
    "approved_by",
    "provider_reference",
    "proposed_at",
    "approved_at",
    "applied_at",
]


def export_rows(start, end, incident=None):
    """The export's rows, header first; with an incident, only the remedies of its linked reports."""
    remedies = Remedy.objects.filter(
        Q(approved_at__gte=start, approved_at__lt=end) | Q(applied_at__gte=start, applied_at__lt=end)
    )
    if incident is not None:
        remedies = remedies.filter(ticket__incident_links__incident=incident)
    remedies = remedies.select_related("ticket", "proposed_by", "approved_by").order_by("approved_at", "id")
    yield EXPORT_COLUMNS
    for remedy in remedies.iterator(chunk_size=1000):
        refund = remedy.kind == RemedyKind.REFUND
        yield [
            remedy.pk,
            remedy.ticket.reference,
            remedy.kind,
            remedy.state,
            remedy.quantity if remedy.quantity is not None else "",
            remedy.amount if remedy.amount is not None else "",
            remedy.payout_method if refund else "",
            mask(remedy.payout_account) if refund else "",
            remedy.proposed_by.get_username() if remedy.proposed_by else "system",
            remedy.approved_by.get_username() if remedy.approved_by else "",
            remedy.provider_reference,
            _time(remedy.proposed_at),
            _time(remedy.approved_at),
            _time(remedy.applied_at),
        ]


class _Echo:
    def write(self, value):
        return value


class JSONErrorsNegotiation(BaseContentNegotiation):
    """The export answers CSV whatever the Accept header; its errors are JSON."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


# Days a remedy can have been approved or applied on; outside them a day's bounds overflow the calendar.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(9998, 12, 31)


def _parse_day(value, name, errors):
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        errors[name] = [_("Give a date as YYYY-MM-DD.")]
        return None
    if not FIRST_DAY <= day <= LAST_DAY:
        errors[name] = [
            _("Give a date between %(first)s and %(last)s.") % {"first": FIRST_DAY, "last": LAST_DAY}
        ]
        return None
    return day


def _parse_incident(value, errors):
    """The incident named by `incident=<id>`, None when absent; a bad or unknown id is an error."""
    if value is None:
        return None
    incident = None
    if value.isascii() and value.isdigit() and int(value) <= MAX_ID:
        incident = Incident.objects.filter(pk=int(value)).first()
    if incident is None:
        errors["incident"] = [_("Give the id of an incident.")]
    return incident


class ExportView(APIView):
    """CSV of the remedies approved or applied between `from` and `to` (inclusive, Jakarta days);
    `incident` keeps only the remedies of the reports linked to that incident."""

    permission_classes = [MayExport]
    content_negotiation_class = JSONErrorsNegotiation

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, required=True),
            OpenApiParameter("to", OpenApiTypes.DATE, required=True),
            OpenApiParameter(
                "incident",
                OpenApiTypes.INT,
                required=False,
                description=_("Only the remedies of the reports linked to this incident (its id)."),
            ),
        ],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR), 400: ErrorSerializer},
    )
    def get(self, request):
        errors = {}
        first = _parse_day(request.query_params.get("from"), "from", errors)
        last = _parse_day(request.query_params.get("to"), "to", errors)
        incident = _parse_incident(request.query_params.get("incident"), errors)
        if first and last and last < first:
            errors["to"] = [_("The end of the period comes before its start.")]
        elif first and last and (last - first).days >= MAX_EXPORT_DAYS:
            errors["to"] = [_("Export at most %(days)s days at once.") % {"days": MAX_EXPORT_DAYS}]
        if errors:
            raise ValidationError(errors)
        start, end = day_bounds(first)[0], day_bounds(last + timedelta(days=1))[0]
        writer = csv.writer(_Echo())
        rows = (writer.writerow([_cell(value) for value in row]) for row in export_rows(start, end, incident))
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        scope = f"incident-{incident.pk}-" if incident else ""
        response["Content-Disposition"] = f'attachment; filename="remedies-{scope}{first}-{last}.csv"'
        return response
