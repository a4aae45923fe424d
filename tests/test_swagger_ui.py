"""Swagger UI in a real browser: Authorize with the password flow, then GET /users/me.

Drives the system's Chromium (Debian package `chromium`) with Playwright against a real
`authsvc serve`. Without Chromium the test is skipped, except in CI (CI=true), where
`.ci/run` installs it and its absence is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support.processes import authsvc_env, serve
from tests.support.settings import IN_CI, PASSWORD

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OPERATION = "#operations-users-read_me_users_me_get"


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Per test, requested after the database: Playwright's sync API runs an event loop
    while the browser is open, and the database fixtures run their own."""
    executable = os.environ.get("AUTHSVC_TEST_CHROMIUM") or shutil.which("chromium")
    if executable is None:
        if IN_CI:
            pytest.fail("CI=true but Chromium is not installed (apt-get install chromium)")
        pytest.skip(
            "Chromium is not installed: apt-get install chromium, or set "
            "AUTHSVC_TEST_CHROMIUM to a Chromium binary"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def test_authorize_then_users_me_in_swagger_ui(empty_db: str, browser: Browser) -> None:
    with serve(authsvc_env(empty_db)) as base_url:
        email = "swagger@example.com"
        httpx.post(f"{base_url}/auth/register", json={"email": email, "password": PASSWORD})
        page = browser.new_page()
        page.set_default_timeout(10_000)
        outside: list[str] = []
        page.on(
            "request",
            lambda r: None if r.url.startswith((base_url, "data:")) else outside.append(r.url),
        )

        page.goto(f"{base_url}/docs")
        page.click("button.authorize")
        page.fill("#oauth_username", email)
        page.fill("#oauth_password", PASSWORD)
        page.click("label[for='user-password-checkbox-OAuth2PasswordBearer']")  # scope user
        page.click(".auth-btn-wrapper button.authorize")
        # Shown once the token request succeeded (its accessible name is an aria-label).
        page.locator(".auth-btn-wrapper button", has_text="Logout").wait_for()
        page.click(".auth-btn-wrapper button.btn-done")

        page.click(f"{OPERATION} .opblock-summary")
        page.click(f"{OPERATION} button.try-out__btn")
        page.click(f"{OPERATION} button.execute")
        status = page.locator(f"{OPERATION} .live-responses-table tbody .response-col_status")
        status.first.wait_for()
        body = page.locator(f"{OPERATION} .live-responses-table .microlight").first.inner_text()

    assert status.first.inner_text().strip().startswith("200")
    assert email in body
    assert outside == [], "the docs page must load nothing from outside the service"
