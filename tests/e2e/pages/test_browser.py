"""The pages in Debian's headless Chromium, driven by Playwright, against a real uvicorn server
on 127.0.0.1: log in, open a queue, work a case to resolution through its ladder, have a second
user approve a write-off, see the dashboard change; the customer page with a valid, an expired
and a reused link. Screenshots go to ``test-artifacts/screenshots/`` (laptop and phone sizes).

Skipped when ``/usr/bin/chromium`` is missing, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from recoup.adapters.clock import FixedClock
from recoup.adapters.store import migrate
from recoup.adapters.store.engine import create_engine
from recoup.bootstrap import App
from recoup.services.selfservice import issue_case_link
from tests.e2e.pages.support import (
    BASE,
    PASSWORD,
    api_for,
    case_by_entity,
    failed,
    ingest,
    make_app,
    start_climbs,
)

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
SHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing (apt-get install chromium)"
    if IN_CI:
        pytest.fail(f"{message}: required when CI=true")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Served:
    """The app behind uvicorn in a thread, on a free loopback port."""

    def __init__(self, app: App) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(api_for(app), host="127.0.0.1", port=self.port,
                                log_level="warning", lifespan="on")  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def browser_app(tmp_path: Path) -> Iterator[App]:
    _need_chromium()
    path = tmp_path / "browser.db"
    engine = create_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    app = make_app(f"sqlite:///{path}", FixedClock(BASE + timedelta(hours=1)))
    ingest(app, [failed("pi_small"), failed("pi_other", minutes=5),
                 failed("pi_big", amount="900.00", minutes=10),
                 failed("pi_third", minutes=15)])  # fmt: skip
    start_climbs(app)
    yield app
    app.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page: Any, url: str, name: str) -> None:
    page.goto(f"{url}/queues")
    assert "/login?next=/queues" in page.url
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{url}/queues")
    assert page.get_by_test_id("me").inner_text() == name


def log_out(page: Any) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r".*/login$"))


def metric(page: Any, url: str, key: str) -> str:
    page.goto(f"{url}/dashboard")
    page.wait_for_selector(f'[data-metric="{key}"] svg')  # Chartist drew it
    text: str = page.get_by_test_id(f"metric-{key}").inner_text()
    return text


def work_through_the_ladder(page: Any, clock: FixedClock) -> None:
    """Press the ladder's buttons until it has nothing left to retry, then hand the case to a
    person and resolve it (unless a retry recovered the money first). The clock moves an hour
    between presses, as it would between an operator's tries."""
    for _ in range(8):
        clock.advance(timedelta(hours=1))
        status = page.get_by_test_id("status").inner_text()
        if status == "resolved":
            return
        retry = page.get_by_role("button", name="Retry the payment now")
        if retry.count() == 0:
            break
        retry.click()
        page.wait_for_selector('[data-testid="done"]')
    if page.get_by_test_id("status").inner_text() == "resolved":
        return
    escalate = page.get_by_role("button", name="Hand to a person now")
    if escalate.count():
        escalate.click()
        page.wait_for_selector('[data-testid="done"]')
    form = page.locator('form[action$="/resolve"]')
    form.get_by_label("Resolution").select_option("customer_liable")
    form.get_by_label("Reason").fill("customer will pay by transfer")
    form.get_by_role("button", name="Resolve").click()
    page.wait_for_selector('[data-testid="done"]')


def test_an_operator_and_an_approver_work_cases_in_the_browser(
    browser_app: App, browser: Any
) -> None:
    with Served(browser_app) as served:
        url = served.url
        context = browser.new_context(viewport=LAPTOP)
        page = context.new_page()
        log_in(page, url, "olga")
        shot(page, "01-queues")
        before = metric(page, url, "cases")
        assert before == "4 open of 4"
        shot(page, "02-dashboard-before")

        # Keyboard: the first Tab reaches the skip link, which moves focus to the content.
        page.goto(f"{url}/queues")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip-link"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"

        page.get_by_role("link", name="payments_ops.system").click()
        page.wait_for_selector("#case-rows tr")
        assert page.locator("#case-rows tr").count() == 4
        assert re.match(r"due in \d", page.locator("[data-due]").first.inner_text())
        shot(page, "03-queue")

        # Bulk through htmx: two cases to triaged, the rows swapped in place.
        small = case_by_entity(browser_app, "pi_small")
        other = case_by_entity(browser_app, "pi_other")
        page.get_by_label(f"Select case {other.id[:8]}").check()
        page.get_by_label(f"Select case {case_by_entity(browser_app, 'pi_third').id[:8]}").check()
        page.get_by_label("Action").select_option("move")
        page.get_by_label("Status (move)").select_option("triaged")
        page.get_by_label("Reason (goes on the audit record)").fill("morning triage")
        page.get_by_role("button", name="Apply to selected").click()
        page.wait_for_selector("text=Moved 2 cases to triaged.")
        assert (
            page.locator(f"#case-{other.id} td[data-label=Status]")
            .inner_text()
            .startswith("triaged")
        )

        # Work one case to resolution through its ladder.
        page.locator(f'a[href="/cases/{small.id}"]').click()
        page.wait_for_selector('[data-testid="next-action"]')
        assert page.locator('[data-testid="ladder"] li').count() == 5
        shot(page, "04-case")
        assert isinstance(browser_app.clock, FixedClock)
        work_through_the_ladder(page, browser_app.clock)
        assert page.get_by_test_id("status").inner_text() == "resolved"
        assert case_by_entity(browser_app, "pi_small").status.value == "resolved"
        shot(page, "05-case-resolved")

        # A write-off above the threshold waits for a second person.
        big = case_by_entity(browser_app, "pi_big")
        page.goto(f"{url}/cases/{big.id}")
        form = page.locator(f'form[action="/cases/{big.id}/write-off"]')
        form.get_by_label("Reason").fill("customer insolvent")
        form.get_by_role("button", name="Request write-off approval").click()
        page.wait_for_selector("text=a second person's approval")
        assert case_by_entity(browser_app, "pi_big").status.value == "new"
        log_out(page)

        log_in(page, url, "alice")
        page.get_by_role("link", name="Approvals").click()
        page.wait_for_selector(f'a[href="/cases/{big.id}"]')
        shot(page, "06-approvals")
        page.get_by_label("Reason").fill("checked the file")
        page.get_by_role("button", name="Approve").click()
        page.wait_for_selector("text=Approved: the action ran.")
        written = case_by_entity(browser_app, "pi_big")
        assert (written.status.value, written.outcome) == ("resolved", "written_off")

        after = metric(page, url, "cases")
        assert after == "2 open of 4"
        shot(page, "07-dashboard-after")

        phone = browser.new_context(viewport=PHONE)
        mobile = phone.new_page()
        log_in(mobile, url, "vera")
        mobile.goto(f"{url}/queues/payments_ops.system")
        width = mobile.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 1, "the queue page scrolls sideways on a phone"
        shot(mobile, "08-phone-queue")
        mobile.goto(f"{url}/cases/{big.id}")
        shot(mobile, "09-phone-case")
        phone.close()
        context.close()


def test_the_customer_page_with_a_valid_a_reused_and_an_expired_link(
    browser_app: App, browser: Any
) -> None:
    case = case_by_entity(browser_app, "pi_other")
    recovery = browser_app.recovery()
    first = issue_case_link(case.id, ["update_payment_method", "dispute"], actor="olga",
                            uow=browser_app.uow, clock=browser_app.clock,
                            recovery=recovery)  # fmt: skip
    second = issue_case_link(case_by_entity(browser_app, "pi_third").id, ["dispute"],
                             actor="olga", uow=browser_app.uow, clock=browser_app.clock,
                             recovery=recovery)  # fmt: skip
    with Served(browser_app) as served:
        context = browser.new_context(viewport=PHONE)
        page = context.new_page()

        page.goto(f"{served.url}/s/{first.grant.token}")
        page.get_by_label("I have updated my payment method").check()
        page.get_by_label("One-time code").fill(first.grant.code)
        shot(page, "10-customer-valid")
        page.get_by_role("button", name="Continue").click()
        page.wait_for_selector("text=Thank you")
        shot(page, "11-customer-done")

        page.goto(f"{served.url}/s/{first.grant.token}")
        state = page.get_by_test_id("selfservice-state")
        assert state.get_attribute("data-state") == "used"
        assert "already used" in page.content()
        shot(page, "12-customer-reused")

        assert isinstance(browser_app.clock, FixedClock)
        browser_app.clock.advance(timedelta(hours=73))
        page.goto(f"{served.url}/s/{second.grant.token}")
        assert page.get_by_test_id("selfservice-state").get_attribute("data-state") == "expired"
        assert "This link has expired" in page.content()
        shot(page, "13-customer-expired")
        context.close()


def test_a_missing_chromium_skips_locally_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import tests.e2e.pages.test_browser as module

    monkeypatch.setattr(module, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setattr(module, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="no-chromium is missing"):
        _need_chromium()
    monkeypatch.setattr(module, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="required when CI=true"):
        _need_chromium()
