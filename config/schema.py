"""The OpenAPI schema: what every operation can answer besides its success, and which fields each
report category requires.

Views document their own answers (`extend_schema(responses=...)`); `AutoSchema` adds, once for all, the
answers that come from the framework around them: 503 while the database is unreachable
(config.middleware), 403 from authentication and permissions, 404 for an unknown path parameter, 400 for
a body or query that does not parse, 415 for a content type no parser takes. Every error answer is
`desk.errors.ErrorSerializer` (the `Error` component), the shape `desk.errors` gives every refusal.
"""

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse

from desk.errors import ErrorSerializer

FRAMEWORK_ANSWERS = {
    "400": "the body or a query parameter is invalid",
    "403": "not authenticated, or not permitted",
    "404": "no such object",
    "415": "a content type the endpoint does not accept",
    "503": "the database is briefly unavailable: retry after Retry-After (with the same Idempotency-Key)",
}


def _answers_of(path, method, operation):
    secured = any(requirement for requirement in operation.get("security", [{}]))
    query = {
        parameter["name"] for parameter in operation.get("parameters", []) if parameter.get("in") == "query"
    }
    has_query = bool(query)
    codes = ["503"]
    if secured:
        codes.append("403")
    if "{" in path or "page" in query:  # an unknown object, or a page past the last
        codes.append("404")
    if "requestBody" in operation:
        codes += ["400", "415"]
    elif has_query and method == "get":
        codes.append("400")
    return codes


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, with the framework's error answers added to every operation as `Error`."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for code in _answers_of(path, method.lower(), operation):
            if code not in responses:
                answer = OpenApiResponse(ErrorSerializer, description=FRAMEWORK_ANSWERS[code])
                responses[code] = self._get_response_for_code(answer, code)
        return operation


# CONTRACT.md: what each category of report requires beyond the common fields.
COMMON_REQUIRED = ["category", "full_name", "nik", "email", "whatsapp", "consent"]
CATEGORY_REQUIRED = {
    "stamp_failed": ["quota_lost", "serial_numbers", "evidence"],
    "paid_not_credited": ["order_id", "amount_paid", "evidence"],
    "other": [],
}
CATEGORY_NOTES = {
    "stamp_failed": "A failed stamping: quota_lost, serial_numbers and 1 to 5 screenshots (evidence).",
    "paid_not_credited": (
        "A purchase paid and not credited: order_id, amount_paid and 1 to 5 screenshots (evidence); with "
        "remedy_preference `money`, also payout_method, payout_account and payout_name."
    ),
    "other": "Any other complaint: only the common fields.",
}


def report_categories(result, generator, request, public):
    """The report body as one variant per category (oneOf with a discriminator on `category`)."""
    schemas = result.get("components", {}).get("schemas", {})
    if "Report" not in schemas:
        return result
    mapping = {}
    for category, required in CATEGORY_REQUIRED.items():
        name = "Report_" + "".join(part.title() for part in category.split("_"))
        schemas[name] = {
            "description": CATEGORY_NOTES[category],
            "allOf": [
                {"$ref": "#/components/schemas/Report"},
                {
                    "type": "object",
                    "properties": {"category": {"type": "string", "enum": [category]}},
                    "required": COMMON_REQUIRED + required,
                },
            ],
        }
        mapping[category] = f"#/components/schemas/{name}"
    one_of = {
        "oneOf": [{"$ref": ref} for ref in mapping.values()],
        "discriminator": {"propertyName": "category", "mapping": mapping},
    }
    operation = result["paths"].get("/api/v1/reports/", {}).get("post")
    if operation:
        for media in operation.get("requestBody", {}).get("content", {}).values():
            media["schema"] = one_of
    return result
