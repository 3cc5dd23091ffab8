"""The benchmark's ceiling: a bare Django view that inserts one row and answers 201.

Served at POST /bench/insert/ only when BENCHMARK_VIEWS is on (never in production): the same
gunicorn, middleware stack and database as the report, without any of the report's own work.
"""

import secrets

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tickets.models import IdempotencyRecord


@csrf_exempt
@require_POST
def insert_one(request):
    record = IdempotencyRecord.objects.create(
        key=secrets.token_hex(16), request_hash="", status_code=201, response={}
    )
    return JsonResponse({"id": record.pk}, status=201)
