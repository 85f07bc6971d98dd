"""The deployment checks: an empty SITE_URL is reported (jobs make links without a request)."""

from django.core.checks import run_checks


def _ids(settings, site_url):
    settings.SITE_URL = site_url
    return {message.id for message in run_checks(include_deployment_checks=True)}


def test_an_empty_site_url_is_reported_by_the_deploy_check(settings):
    assert "loyalty.W001" in _ids(settings, "")
    assert "loyalty.W001" not in _ids(settings, "https://loyalty.example.com")
