"""The HTTP gateways' answers mapped once, and the backoff that follows a transient failure."""

import pytest

from refunds.gateways import GatewayError, HttpQuotaGateway
from refunds.retries import retry_delay
from tests.doubles.base import Reply
from tests.factories import RemedyFactory

pytestmark = pytest.mark.django_db


def apply_once(platform_double):
    gateway = HttpQuotaGateway(platform_double.url, platform_double.token)
    return gateway.apply(RemedyFactory(quantity=1))


def test_a_429_with_retry_after_is_transient_and_says_when(platform_double):
    platform_double.script(Reply(429, {"error": "slow down"}, headers={"Retry-After": "120"}))
    with pytest.raises(GatewayError) as failed:
        apply_once(platform_double)
    assert (failed.value.permanent, failed.value.retry_after) == (False, 120)


def test_a_503_without_retry_after_is_transient(platform_double):
    platform_double.fail_next(503)
    with pytest.raises(GatewayError) as failed:
        apply_once(platform_double)
    assert (failed.value.permanent, failed.value.retry_after) == (False, None)


def test_a_400_is_final(platform_double):
    platform_double.fail_next(400)
    with pytest.raises(GatewayError) as failed:
        apply_once(platform_double)
    assert failed.value.permanent


def test_backoff_doubles_up_to_an_hour(settings):
    settings.REMEDY_RETRY_SECONDS = 30
    assert [retry_delay(n) for n in range(9)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_backoff_waits_at_least_what_the_provider_asks_at_most_an_hour(settings):
    settings.REMEDY_RETRY_SECONDS = 30
    assert retry_delay(0, retry_after=600) == 600
    assert retry_delay(5, retry_after=10) == 960
    assert retry_delay(0, retry_after=86400) == 3600
