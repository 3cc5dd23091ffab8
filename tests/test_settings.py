"""The settings' embedded defaults and the production checks, each in a clean process environment."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRINT_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "name": str(settings.DATABASES["default"]["NAME"]),
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "email": settings.EMAIL_BACKEND,
    "whatsapp": settings.TWILIO_ACCOUNT_SID,
    "storage": settings.STORAGES["default"]["BACKEND"],
    "language": settings.LANGUAGE_CODE,
    "languages": [code for code, _ in settings.LANGUAGES],
    "tz": settings.TIME_ZONE,
    "use_tz": settings.USE_TZ,
    "public": settings.PUBLIC_BASE_URL,
    "quota_gateway": settings.QUOTA_GATEWAY,
    "twilio_api": settings.TWILIO_API_URL,
}))
"""


def run(code_or_args, **env):
    base = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG")}
    base.update({"DJANGO_SETTINGS_MODULE": "config.settings", **env})
    args = [sys.executable, "-c", code_or_args] if isinstance(code_or_args, str) else code_or_args
    return subprocess.run(args, cwd=ROOT, env=base, capture_output=True, text=True, timeout=60)


def test_embedded_defaults_need_nothing_but_python():
    result = run(PRINT_SETTINGS, DEBUG="1")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["name"].endswith("db.sqlite3")
    assert values["eager"] is True
    assert values["email"] == "django.core.mail.backends.console.EmailBackend"
    assert values["whatsapp"] is None
    assert values["storage"] == "django.core.files.storage.FileSystemStorage"
    assert (values["language"], values["languages"]) == ("id", ["id", "en"])
    assert (values["tz"], values["use_tz"]) == ("Asia/Jakarta", True)
    assert values["public"] == "http://127.0.0.1:8000"
    assert values["quota_gateway"] == "ledger"
    assert values["twilio_api"] == "https://api.twilio.com"


def test_production_parts_are_switched_on_by_settings():
    result = run(
        PRINT_SETTINGS,
        SECRET_KEY="x" * 60,
        DATABASE_URL="postgres://u:p@db.internal:5432/emeterai",
        CELERY_BROKER_URL="redis://cache.internal:6379/0",
        EMAIL_URL="smtp://mailer:secret@smtp.internal:587/?tls=True",
        TWILIO_ACCOUNT_SID="AC123",
        TWILIO_API_URL="http://127.0.0.1:9999/",
        QUOTA_GATEWAY="http",
        PUBLIC_BASE_URL="https://desk.example.go.id/",
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["eager"] is False
    assert values["email"] == "django.core.mail.backends.smtp.EmailBackend"
    assert values["whatsapp"] == "AC123"
    assert values["twilio_api"] == "http://127.0.0.1:9999"
    assert values["public"] == "https://desk.example.go.id"
    assert values["quota_gateway"] == "http"


def test_a_secret_key_is_required_when_debug_is_off():
    result = run(PRINT_SETTINGS)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        SECRET_KEY="a-long-random-production-secret-" + "k" * 40,
        ALLOWED_HOSTS="desk.example.go.id",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
