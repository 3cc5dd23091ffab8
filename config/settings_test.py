"""Settings for the test suite: the same settings module, with TESTING on and fast hashing."""

import os

os.environ.setdefault("TESTING", "1")

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES["default"] = {  # noqa: F405
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": os.environ.get("TEST_MEDIA_ROOT", "/tmp/emeterai-test-media")},
}

# Tests speak English unless they ask for Indonesian (Accept-Language, the language cookie, or
# `settings.LANGUAGE_CODE = "id"`), so assertions can use the English msgids; the product's default stays
# Indonesian, and the intake tests check that default explicitly.
LANGUAGE_CODE = "en"
REMEDY_RETRY_SECONDS = 1  # the worker tests retry through the broker: keep them fast
