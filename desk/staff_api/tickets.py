"""The staff API: token login, the ticket list and detail, transitions and messages.

Views validate input, call one service and render the result; the workflow's rules live in
`tickets.services`. The search is the console's (`tickets.selectors.search_q`); the API's own
querysets stay here. Refusals are raised and answered by `desk.errors` in its envelope.
"""

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import generics, serializers
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from desk.console.verification import verification_or_none
from desk.errors import ErrorSerializer, error_response
from incidents.models import Incident
from notifications import services as notifications
from notifications.models import Message, MessageChannel
from refunds.models import Remedy, RemedyState
from tickets import logins, roles, selectors, services, workflow
from tickets.masking import mask_nik
from tickets.models import Category, Evidence, State, Ticket, TicketTransition
from verification.models import Outcome
from verification.selectors import record_summary


class IsAgent(BasePermission):
    """Staff who work tickets: Agents and Supervisors (Finance only reads exports)."""

    message = _("Only help-desk agents and supervisors may use this.")

    def has_permission(self, request, view):
        return roles.is_agent(None, request.user)


MAX_ID = 2**63 - 1  # the largest id a BigAutoField holds


# --- token login --------------------------------------------------------------------------------


class TokenLoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, allow_blank=True)
    password = serializers.CharField(max_length=4096, allow_blank=True, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(source="key")


class TokenLoginView(APIView):
    """Exchange a staff user's username and password for an API token.

    django-axes counts the failures (per username and client address, as on the admin login) through
    Django's `authenticate`, which is given the Django request itself so that axes sees the client.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(
        request=TokenLoginSerializer,
        responses={
            200: TokenSerializer,
            400: OpenApiResponse(ErrorSerializer, description="wrong credentials or not staff"),
            429: OpenApiResponse(
                ErrorSerializer, description="too many failures for this username from this address"
            ),
        },
    )
    def post(self, request):
        serializer = TokenLoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=False)
        credentials = serializer.validated_data if not serializer.errors else {}
        django_request = request._request
        user = authenticate(
            request=django_request,
            username=credentials.get("username", ""),
            password=credentials.get("password", ""),
        )
        if getattr(django_request, "axes_locked_out", False):
            return error_response(
                logins.STATUS, detail=logins.lockout_message(), retry_after=logins.retry_after_seconds()
            )
        if user is None or not user.is_staff or not user.is_active:
            raise ValidationError(_("Unable to log in with the username and password given."))
        # A login like the admin's: last_login is updated and axes forgets the earlier failures.
        user_logged_in.send(sender=user.__class__, request=django_request, user=user)
        token, _created = Token.objects.get_or_create(user=user)
        return Response(TokenSerializer(token).data)


# --- serializers --------------------------------------------------------------------------------


def _username(user):
    return user.get_username() if user is not None else None


class TicketListSerializer(serializers.ModelSerializer):
    state_label = serializers.CharField(source="get_state_display")
    nik = serializers.SerializerMethodField()
    assigned_to = serializers.SerializerMethodField()
    verification_outcome = serializers.SerializerMethodField(
        help_text="The platform verification's outcome; null when the report names nothing to verify."
    )

    class Meta:
        model = Ticket
        fields = [
            "reference",
            "state",
            "state_label",
            "category",
            "channel",
            "full_name",
            "nik",
            "email",
            "whatsapp",
            "assigned_to",
            "possible_duplicate",
            "verification_outcome",
            "created_at",
            "state_changed_at",
        ]

    def get_nik(self, ticket) -> str:
        return mask_nik(ticket.nik)

    @extend_schema_field(serializers.ChoiceField(choices=Outcome.choices, allow_null=True))
    def get_verification_outcome(self, ticket):
        verification = verification_or_none(ticket)
        return verification.outcome if verification is not None else None

    def get_assigned_to(self, ticket) -> dict | None:
        user = ticket.assigned_to
        return {"id": user.pk, "username": user.get_username()} if user else None


class EvidenceSerializer(serializers.ModelSerializer):
    """A screenshot; while `state` is `pending` (being checked) it has no URL and no hash yet."""

    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Evidence
        fields = [
            "id",
            "state",
            "url",
            "thumbnail_url",
            "source",
            "content_type",
            "width",
            "height",
            "size_bytes",
            "sha256",
            "original_name",
            "created_at",
        ]

    def get_url(self, item) -> str | None:
        if not item.is_ready:
            return None
        path = reverse("staff-ticket-evidence", args=[item.ticket.reference, item.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_thumbnail_url(self, item) -> str | None:
        url = self.get_url(item)
        return url + "?thumb=1" if url else None


class MessageSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    internal = serializers.BooleanField(source="is_internal")
    error_text = serializers.CharField(read_only=True, help_text="The delivery error in words, for agents.")

    class Meta:
        model = Message
        fields = [
            "id",
            "direction",
            "channel",
            "internal",
            "subject",
            "body",
            "provider_id",
            "status",
            "error_code",
            "error_text",
            "author",
            "from_address",
            "held_reason",
            "created_at",
        ]

    def get_author(self, message) -> str | None:
        return _username(message.author)


class RemedySerializer(serializers.ModelSerializer):
    proposed_by = serializers.SerializerMethodField()
    approved_by = serializers.SerializerMethodField()

    class Meta:
        model = Remedy
        fields = [
            "id",
            "kind",
            "quantity",
            "amount",
            "state",
            "account",
            "payout_method",
            "payout_account",
            "payout_name",
            "proposed_by",
            "proposed_at",
            "approved_by",
            "approved_at",
            "applied_at",
            "provider_reference",
            "last_error",
        ]

    def get_proposed_by(self, remedy) -> str | None:
        return _username(remedy.proposed_by)

    def get_approved_by(self, remedy) -> str | None:
        return _username(remedy.approved_by)


class TransitionLogSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = TicketTransition
        fields = ["name", "source", "target", "actor", "actor_kind", "note", "public_note", "created_at"]

    def get_actor(self, entry) -> str | None:
        return _username(entry.actor)


class StampingRecordSerializer(serializers.Serializer):
    """What the platform said of one serial number (`found` false: it has no record of it)."""

    serial_number = serializers.CharField()
    found = serializers.BooleanField()
    status = serializers.CharField(allow_null=True, help_text="`success`, `refund`, `failed` or `pending`")
    account = serializers.CharField(allow_null=True)
    attempted_at = serializers.CharField(allow_null=True, help_text="ISO 8601, as the platform gave it")
    document_name = serializers.CharField(allow_null=True)
    quota_restored = serializers.BooleanField(allow_null=True)


class OrderRecordSerializer(serializers.Serializer):
    """What the platform said of the order (`found` false: it has no record of it)."""

    order_id = serializers.CharField()
    found = serializers.BooleanField()
    status = serializers.CharField(allow_null=True, help_text="`paid`, `pending`, `expired` or `refunded`")
    account = serializers.CharField(allow_null=True)
    amount = serializers.IntegerField(allow_null=True, help_text="rupiah")
    currency = serializers.CharField(allow_null=True)
    paid_at = serializers.CharField(allow_null=True, help_text="ISO 8601, as the platform gave it")
    quantity = serializers.IntegerField(allow_null=True)
    quota_credited = serializers.IntegerField(allow_null=True)


class PlatformRecordSerializer(serializers.Serializer):
    stampings = StampingRecordSerializer(many=True)
    order = OrderRecordSerializer(allow_null=True)


class VerificationSerializer(serializers.Serializer):
    """The claim checked against the platform's records (verification app)."""

    outcome = serializers.ChoiceField(choices=Outcome.choices)
    outcome_label = serializers.CharField(source="get_outcome_display")
    reason = serializers.CharField(help_text="Why (empty while pending); see `reason_label`.")
    reason_label = serializers.CharField(source="get_reason_display")
    duplicate = serializers.SerializerMethodField(
        help_text="Another ticket claims, or was remedied for, the same serial number or order."
    )
    duplicate_of = serializers.CharField(source="duplicate_of.reference", read_only=True, allow_null=True)
    checked_at = serializers.DateTimeField(allow_null=True)
    record = serializers.SerializerMethodField(help_text="What the platform's records say.")

    def get_duplicate(self, verification) -> bool:
        return verification.duplicate_of_id is not None

    @extend_schema_field(PlatformRecordSerializer)
    def get_record(self, verification):
        return PlatformRecordSerializer(record_summary(verification)).data


class LinkedIncidentSerializer(serializers.ModelSerializer):
    is_open = serializers.BooleanField()

    class Meta:
        model = Incident
        fields = ["id", "title", "starts_at", "ends_at", "failed", "is_open"]


class TicketDetailSerializer(TicketListSerializer):
    nik = serializers.CharField()
    duplicate_of = serializers.SlugRelatedField(slug_field="reference", read_only=True, allow_null=True)
    serial_numbers = serializers.SerializerMethodField()
    evidence = serializers.SerializerMethodField()
    messages = MessageSerializer(many=True)
    remedy = serializers.SerializerMethodField()
    transitions = TransitionLogSerializer(many=True)
    available_transitions = serializers.SerializerMethodField()
    verification = serializers.SerializerMethodField()
    incidents = LinkedIncidentSerializer(many=True, help_text="Declared outages this report is linked to.")

    class Meta(TicketListSerializer.Meta):
        fields = TicketListSerializer.Meta.fields + [
            "language",
            "preferred_channel",
            "platform_account_email",
            "description",
            "quota_lost",
            "document_name",
            "attempted_at",
            "order_id",
            "amount_paid",
            "payment_channel",
            "remedy_preference",
            "payout_method",
            "payout_account",
            "payout_name",
            "duplicate_of",
            "serial_numbers",
            "verification",
            "incidents",
            "evidence",
            "messages",
            "remedy",
            "transitions",
            "available_transitions",
        ]

    @extend_schema_field(EvidenceSerializer(many=True))
    def get_evidence(self, ticket):
        return EvidenceSerializer(ticket.evidence.all(), many=True, context=self.context).data

    def get_serial_numbers(self, ticket) -> list[str]:
        return [serial.value for serial in ticket.serials.all()]

    @extend_schema(responses=RemedySerializer)
    def get_remedy(self, ticket) -> dict | None:
        remedy = ticket.current_remedy
        return RemedySerializer(remedy).data if remedy is not None else None

    @extend_schema_field(VerificationSerializer(allow_null=True))
    def get_verification(self, ticket):
        """Null when the report names no serial number or order (nothing to verify)."""
        verification = verification_or_none(ticket)
        return VerificationSerializer(verification).data if verification is not None else None

    def get_available_transitions(self, ticket) -> list[str]:
        return services.available_transitions(ticket, self.context["request"].user)


# --- querysets ----------------------------------------------------------------------------------


def ticket_detail_queryset():
    return Ticket.objects.select_related(
        "assigned_to", "duplicate_of", "verification", "verification__duplicate_of"
    ).prefetch_related(
        "serials",
        Prefetch("incidents", queryset=Incident.objects.order_by("-starts_at")),
        "evidence",
        Prefetch("messages", queryset=Message.objects.select_related("author")),
        Prefetch("transitions", queryset=TicketTransition.objects.select_related("actor")),
        Prefetch(
            "remedies",
            queryset=Remedy.objects.select_related("proposed_by", "approved_by").order_by("-id"),
        ),
    )


def load_ticket(reference):
    ticket = get_object_or_404(ticket_detail_queryset(), reference=reference.strip().upper())
    # The current remedy from the prefetched rows, so the permission checks need no more queries.
    ticket._current_remedy = next(
        (remedy for remedy in ticket.remedies.all() if remedy.state != RemedyState.WITHDRAWN), None
    )
    return ticket


def search(queryset, text):
    """The console's search (tickets.selectors): reference, email, phone in any spelling, NIK, serial
    number, or the start of a name, each through its own index."""
    return queryset.filter(selectors.search_q(text)) if text.strip() else queryset


class TicketFilter(filters.FilterSet):
    state = filters.ChoiceFilter(choices=State.choices)
    category = filters.ChoiceFilter(choices=Category.choices)
    verification = filters.ChoiceFilter(
        field_name="verification__outcome",
        choices=Outcome.choices,
        help_text="The platform verification's outcome (reports with nothing to verify have none)",
    )
    incident = filters.ModelChoiceFilter(
        field_name="incident_links__incident",
        queryset=Incident.objects.all(),
        help_text="The id of an incident: the reports linked to it",
    )
    assigned = filters.CharFilter(method="filter_assigned", help_text="`me`, `none` or a user id")
    q = filters.CharFilter(method="filter_q", help_text="reference, email, phone, NIK, serial number, name")

    class Meta:
        model = Ticket
        fields = ["state", "category", "verification", "incident", "assigned", "q"]

    def filter_assigned(self, queryset, name, value):
        value = value.strip().lower()
        if value == "me":
            return queryset.filter(assigned_to=self.request.user)
        if value == "none":
            return queryset.filter(assigned_to=None)
        if value.isdigit() and get_user_model().objects.filter(pk=int(value)).exists():
            return queryset.filter(assigned_to_id=int(value))
        raise serializers.ValidationError({"assigned": [_("Give `me`, `none` or the id of a user.")]})

    def filter_q(self, queryset, name, value):
        return search(queryset, value)


# --- views --------------------------------------------------------------------------------------


class TicketListView(generics.ListAPIView):
    """Tickets, newest first, with filters and search; NIK masked."""

    permission_classes = [IsAgent]
    serializer_class = TicketListSerializer
    filterset_class = TicketFilter
    queryset = Ticket.objects.select_related("assigned_to", "verification").order_by("-created_at", "-id")


class TicketDetailView(APIView):
    """One ticket with everything an agent needs, and what the requesting user may do with it now."""

    permission_classes = [IsAgent]

    @extend_schema(responses=TicketDetailSerializer)
    def get(self, request, reference):
        ticket = load_ticket(reference)
        return Response(TicketDetailSerializer(ticket, context={"request": request}).data)


def staff_transitions():
    """The transitions people fire (the system's own are never reachable here)."""
    return [name for name, spec in workflow.transitions().items() if not spec.system_only]


def transition_parameters():
    """The request body of a transition, derived from the declarations: each parameter once."""
    fields, used_by = {}, {}
    for name in staff_transitions():
        for param in workflow.spec(name).declaration.params:
            if param.internal:
                continue
            used_by.setdefault(param.name, (param, []))[1].append(
                f"{name} (required{' for ' + param.only_for if param.only_for else ''})"
                if param.required
                else name
            )
    for param_name, (param, names) in used_by.items():
        field = serializers.IntegerField if param.kind == "number" else serializers.CharField
        fields[param_name] = field(
            required=False, help_text=f"{param.help} {_('Used by')}: {', '.join(names)}."
        )
    return inline_serializer("TransitionParameters", fields)


class TransitionView(APIView):
    """Fire one workflow transition with its parameters: 200 with the ticket, or 400/403/409 and why."""

    permission_classes = [IsAgent]

    @extend_schema(
        request=transition_parameters(),
        parameters=[
            OpenApiParameter(
                "name",
                str,
                OpenApiParameter.PATH,
                enum=staff_transitions(),
                description=_("The transition to fire; its parameters are those named for it below."),
            )
        ],
        responses={
            200: TicketDetailSerializer,
            400: OpenApiResponse(ErrorSerializer, description="a missing or bad parameter"),
            403: OpenApiResponse(ErrorSerializer, description="not permitted for this user"),
            409: OpenApiResponse(ErrorSerializer, description="not allowed from the current state"),
        },
    )
    def post(self, request, reference, name):
        ticket = get_object_or_404(Ticket, reference=reference.strip().upper())
        if workflow.spec(name) is None:
            raise NotFound(_("Unknown transition."))
        params = request.data if hasattr(request.data, "get") else {}
        params = {key: params.get(key) for key in params}
        services.perform_transition(ticket=ticket, name=name, actor=request.user, params=params)
        ticket = load_ticket(ticket.reference)
        return Response(TicketDetailSerializer(ticket, context={"request": request}).data)


class StaffMessageSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(
        choices=[MessageChannel.WHATSAPP, MessageChannel.EMAIL, MessageChannel.NOTE]
    )
    body = serializers.CharField(max_length=4000, trim_whitespace=True)


class TicketMessageView(APIView):
    """An agent's reply to the applicant on WhatsApp or email, or an internal note."""

    permission_classes = [IsAgent]

    @extend_schema(request=StaffMessageSerializer, responses={201: MessageSerializer})
    def post(self, request, reference):
        ticket = get_object_or_404(Ticket, reference=reference.strip().upper())
        serializer = StaffMessageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # A WorkflowError (no address on that channel, an erased ticket) is answered by desk.errors.
        with transaction.atomic():
            message = notifications.send_reply(
                ticket=ticket,
                author=request.user,
                channel=serializer.validated_data["channel"],
                body=serializer.validated_data["body"],
            )
        return Response(MessageSerializer(message).data, status=201)


class EvidenceFileView(APIView):
    """A screenshot of the ticket for staff (`?thumb=1`: the thumbnail); never from a public URL."""

    permission_classes = [IsAgent]

    @extend_schema(responses={(200, "image/*"): bytes})
    def get(self, request, reference, pk):
        if pk > MAX_ID:  # the URL's digits can exceed what the database's id column holds
            raise Http404
        item = get_object_or_404(
            Evidence, pk=pk, ticket__reference=reference.strip().upper(), state=Evidence.State.READY
        )
        thumb = request.query_params.get("thumb") == "1" and item.thumbnail
        stored = item.thumbnail if thumb else item.file
        response = FileResponse(stored.open("rb"), content_type="image/jpeg" if thumb else item.content_type)
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Disposition"] = "inline"
        return response
