"""The Content-Security-Policy in a real browser: the API reference and the back office run under
it without a violation, and a script without the nonce is blocked and caught by the check every
browser test has (conftest's _no_csp_violations)."""

from __future__ import annotations

import pytest

from tests.browser import conftest
from tests.browser.conftest import shot
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_api_reference_runs_under_the_policy(desktop_page):
    page = desktop_page
    page.goto("/api/v1/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    shot(page, "api-docs")


def test_the_back_office_runs_under_the_policy(desktop_page, owner):
    page = desktop_page
    page.goto("/admin/login/")
    page.fill("input[name=username]", owner.username)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=dashboard]")
    page.goto("/admin/members/member/")
    page.wait_for_load_state("networkidle")
    shot(page, "admin-members")


def test_a_script_without_the_nonce_is_blocked_and_reported(phone_page):
    page = phone_page
    page.goto("/")

    ran = page.evaluate(
        """() => {
            window.injected = false;
            const s = document.createElement("script");
            s.textContent = "window.injected = true";
            document.body.appendChild(s);
            return new Promise(r => setTimeout(() => r(window.injected), 300));
        }"""
    )

    assert ran is False  # the browser refused to run it
    page.wait_for_timeout(200)
    assert any("script-src" in v for v in conftest._csp_violations), conftest._csp_violations
    conftest._csp_violations.clear()  # expected here: this test is the check's own test
