"""Journey: log in, the session survives a reload, log out."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from browser_support import PASSWORD, USER, Server, log_in


def test_login_reload_and_logout(page: Any, server: Server, shoot: Any) -> None:
    page.goto(server.url + "/")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    shoot(page, "login")
    page.get_by_placeholder("User name").fill(USER)
    page.get_by_placeholder("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong username or password")
    log_in(page, server.url)
    page.reload()
    expect(page.get_by_test_id("toolbar")).to_be_visible()  # the session survived the reload
    page.get_by_test_id("btn-logout").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()  # logged out for good
    assert PASSWORD not in page.content()
pytestmark = pytest.mark.integration
