"""What the OpenAPI schema promises beyond each view's own answers."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client, alice):
    client.force_login(alice)
    return client.get("/api/schema/?format=json").json()


def test_report_body_says_what_each_category_requires(schema):
    body = schema["paths"]["/api/v1/reports/"]["post"]["requestBody"]["content"]["multipart/form-data"][
        "schema"
    ]
    assert body["discriminator"]["propertyName"] == "category"
    required = {}
    for category, ref in body["discriminator"]["mapping"].items():
        variant = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        required[category] = set(variant["allOf"][1]["required"])
    common = {"category", "full_name", "nik", "email", "whatsapp", "consent"}
    assert required["stamp_failed"] == common | {"quota_lost", "serial_numbers", "evidence"}
    assert required["paid_not_credited"] == common | {"order_id", "amount_paid", "evidence"}
    assert required["other"] == common


def test_every_operation_documents_503_and_staff_operations_403(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "503" in operation["responses"], (method, path)
            if any(operation.get("security", [{}])):
                assert "403" in operation["responses"], (method, path)


def test_an_unknown_api_path_answers_json_404(client):
    response = client.get("/api/v1/tickets/EMT-1/evidence/-1/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "errors": {"non_field_errors": ["Not found."]}}
