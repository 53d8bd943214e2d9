"""The workspace page in headless Chromium, walked as a person would: commands, a card's
buttons, modals (with an error), a win, the reminders and the digest. Screenshots go to
tests/artifacts/; `pytest tests/browser --docs-img` also refreshes the README's docs/img/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pipeline.schemas import ActivityOut
from pipeline.types import ActivityKind
from storage.services import service_in
from tests.browser.conftest import ALICE, BOB, SALES, Running, chromium_path
from views.ids import Block

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
TIMEOUT_MS = 15_000


def _missing(reason: str) -> None:
    # CI installs Chromium and Playwright (.ci/run): there, a missing one is a broken setup.
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must install it: see .ci/run)")
    pytest.skip(f"{reason}: install Debian's chromium and the dev extra to run this test")


@pytest.fixture
def page(sqlite_seeded: Running) -> Iterator[Page]:
    """A Chromium tab on the seeded workspace, as Alice."""
    executable = chromium_path()
    if executable is None:
        _missing("no chromium binary on PATH (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[dev]')")
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 900})
        tab.set_default_timeout(TIMEOUT_MS)
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        tab.goto(sqlite_seeded.url + "/")
        yield tab
        browser.close()
    assert errors == [], errors


def card_ts(ws: Running, name: str) -> str:
    """The ts of the newest card for a deal, from the workspace's state."""

    def find() -> str | None:
        for message in reversed(ws.state()["messages"][SALES]):
            blocks = message["blocks"]
            if message["bot"] and name in message["text"] and Block.ACTIONS in str(blocks):
                return str(message["ts"])
        return None

    found: str = ws.wait(find)
    return found


def activities(ws: Running, number: int) -> list[ActivityOut]:
    """A deal's logged activities, straight from the database."""
    with ws.demo.db.read_scope() as session:
        deal = service_in(session, "T0DEMO", clock=ws.demo.clock).detail(f"#{number}")
    return [a for a in deal.activities if a.kind != ActivityKind.NOTE]


def shoot(ws: Running, target: Page | Locator, artifacts: Path, name: str) -> Path:
    """Save a screenshot to tests/artifacts/browser-NAME.png once the page has settled.

    The bot's after-ack work may still update a card (a thread reply, an edit) after the
    text the test waited for appears; the shot waits for that work and for the page to
    draw the workspace's newest state, so the element it shows is the final one.
    """
    from playwright.sync_api import Page as PageType

    page = target if isinstance(target, PageType) else target.page
    ws.settled(page)
    path = artifacts / f"browser-{name}.png"
    target.screenshot(path=str(path))
    return path


def type_command(page: Page, text: str) -> None:
    """Type into the composer and press Enter, as a person would."""
    composer = page.get_by_test_id("composer")
    composer.fill(text)
    composer.press("Enter")


def test_the_main_path_in_a_browser(
    page: Page,
    sqlite_seeded: Running,
    artifacts: Path,
    docs_img: Path | None,
) -> None:
    from playwright.sync_api import expect

    ws = sqlite_seeded
    messages = page.get_by_test_id("messages")
    expect(messages.locator(".message", has_text="Vandelay Industries")).to_be_visible()
    expect(page.get_by_test_id("user-switcher")).to_contain_text("Alice Admin")
    expect(page.get_by_test_id("clock")).to_contain_text("30 Nov 2026")
    shoot(ws, page, artifacts, "01-sales")

    # /deal help: an ephemeral answer only Alice sees.
    type_command(page, "/deal help")
    help_message = messages.locator(".message.ephemeral", has_text="pipebot keeps your pipeline")
    expect(help_message).to_be_visible()
    expect(help_message).to_contain_text("Only visible to you")

    # Add a deal by slash command: its card appears in the channel.
    type_command(page, "/deal add Vandelay Industries 30k EUR proposal close:2026-12-18")
    ts = card_ts(ws, "Vandelay")
    card = messages.locator(f'.message[data-ts="{ts}"]')
    expect(card).to_contain_text("#13 Vandelay Industries")
    expect(card).to_contain_text("Proposal")
    expect(card.locator("[data-action-id=deal_advance]")).to_have_text("Advance → Negotiation")
    expect(card.locator(".author")).to_have_text("pipebot")

    # A next step by command: the bot confirms it to Alice alone.
    type_command(page, "/deal next #13 Send the revised quote by 2026-12-04")
    expect(messages.locator(".message.ephemeral", has_text="Next step on #13")).to_be_visible()

    # Log an activity in the modal: the card is refreshed in place, next step included.
    card.locator("[data-action-id=deal_log]").click()
    modal = page.get_by_test_id("modal")
    expect(modal).to_be_visible()
    expect(modal.locator(".modal-title")).to_have_text("Log activity")
    modal.locator("[data-block-id=kind] select").select_option("meeting")
    modal.locator("[data-block-id=text] textarea").fill("Pricing call with their CFO")
    shoot(ws, page, artifacts, "03-log-modal")
    page.get_by_test_id("modal-submit").click()
    expect(modal).to_be_hidden()
    logged = ws.wait(lambda: activities(ws, 13))
    assert [(a.kind.value, a.text) for a in logged] == [("meeting", "Pricing call with their CFO")]
    expect(card).to_contain_text("Send the revised quote (by Fri 4 Dec 2026)")
    expect(card.locator(".edited")).to_be_visible()
    page.set_viewport_size({"width": 1000, "height": 900})
    page.mouse.move(0, 0)
    deal_card = shoot(ws, card, artifacts, "02-deal-card")
    page.set_viewport_size({"width": 1400, "height": 900})

    # Advance it with the card's button: the card is updated in place.
    card.locator("[data-action-id=deal_advance]").click()
    expect(card).to_contain_text("Negotiation (80%)")
    expect(card.locator("[data-action-id=deal_advance]")).to_have_text("Mark won")

    # A modal with an error: the message shows under the field, and a fix goes through.
    type_command(page, "/deal add")
    expect(modal.locator(".modal-title")).to_have_text("New deal")
    modal.locator("[data-block-id=name] input").fill("Kramerica")
    modal.locator("[data-block-id=amount] input").fill("lots of money")
    page.get_by_test_id("modal-submit").click()
    error = modal.locator("[data-error-for=amount]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("lots of money")
    expect(modal.locator("[data-block-id=name] input")).to_have_value("Kramerica")
    shoot(ws, page, artifacts, "04-modal-error")
    modal.locator("[data-block-id=amount] input").fill("12k")
    page.get_by_test_id("modal-submit").click()
    expect(modal).to_be_hidden()
    expect(messages.locator(".message", has_text="#14 Kramerica")).to_be_visible()

    # Win the deal: the last stage's button asks for confirmation first.
    card.locator("[data-action-id=deal_advance]").click()
    confirm = page.get_by_test_id("confirm")
    expect(confirm).to_contain_text("Mark it won?")
    page.get_by_test_id("confirm-yes").click()
    expect(card).to_contain_text("Won")
    expect(card.locator("[data-action-id=deal_advance]")).to_have_count(0)
    shoot(ws, card, artifacts, "05-won-card")

    # A message shortcut from a message's "⋯" menu: Log to a deal, prefilled with its text.
    chatter = messages.locator(".message", has_text="Cyberdyne sent the security questionnaire")
    chatter.hover()
    chatter.get_by_test_id("message-more").click()
    chatter.locator("[data-callback-id=log_to_deal]").click()
    expect(modal.locator(".modal-title")).to_have_text("Log to a deal")
    expect(modal.locator("[data-block-id=text] textarea")).to_have_value(
        "Cyberdyne sent the security questionnaire back, all green :tada:"
    )
    page.get_by_test_id("modal-close").click()
    expect(modal).to_be_hidden()

    # The daily reminders, run now.
    page.get_by_test_id("run-reminders").click()
    reminder = messages.locator(".message.from-bot", has_text="Deals to follow up today")
    expect(reminder.last).to_be_visible()
    expect(page.locator(".toast").last).to_contain_text("reminders for 2026-11-30: sent")
    shoot(ws, page, artifacts, "06-reminders")

    # The weekly digest, run now: the summary in the channel, the chart in its thread.
    page.get_by_test_id("run-digest").click()
    digest = messages.locator(".message.from-bot", has_text="This week").last
    expect(digest).to_be_visible()
    expect(digest.locator(".block-header").first).to_contain_text("Weekly pipeline")
    digest.get_by_test_id("replies-link").click()
    thread = page.get_by_test_id("thread")
    chart = thread.locator(".file-image img")
    expect(chart).to_be_visible()
    page.wait_for_function("() => document.querySelector('.file-image img').naturalWidth > 0")
    page.evaluate("document.querySelectorAll('.toast').forEach((t) => t.remove())")
    shoot(ws, page, artifacts, "07-digest-thread")
    # The whole digest message, on a page tall enough to hold it.
    page.locator("#thread-close").click()
    page.set_viewport_size({"width": 1100, "height": 2400})
    digest.scroll_into_view_if_needed()
    page.mouse.move(0, 0)
    digest_shot = shoot(ws, digest, artifacts, "08-digest")
    page.set_viewport_size({"width": 1400, "height": 900})

    # App Home, then the same workspace as Bob.
    page.get_by_test_id("app-home-link").click()
    home = page.get_by_test_id("home")
    expect(home.locator(".block-header").first).to_be_visible()
    shoot(ws, page, artifacts, "09-home")
    page.get_by_test_id("user-switcher").click()
    page.locator(f'.user-item[data-user="{BOB}"]').click()
    expect(page.get_by_test_id("user-switcher")).to_contain_text("Bob Seller")
    expect(home).to_contain_text("@bob, you own")

    # Nothing the bot did would be refused by real Slack.
    expect(page.get_by_test_id("violations-badge")).to_have_text("0 violations")
    assert ws.demo.fake.violations == []
    assert ws.state(ALICE)["violations"] == []

    if docs_img is not None:
        docs_img.mkdir(parents=True, exist_ok=True)
        shutil.copy(deal_card, docs_img / "deal-card.png")
        shutil.copy(digest_shot, docs_img / "digest.png")


MRKDWN_CASES = [
    (
        "*bold* _italic_ ~gone~ `code`",
        ["<b>bold</b>", "<i>italic</i>", "<s>gone</s>", "<code>code</code>"],
    ),
    ("```a *b*\nc```", ['<pre class="code-block">a *b*\nc</pre>']),
    (
        "<@U0BOB> in <#C0SALES>",
        ['data-user="U0BOB">@bob</span>', 'data-channel="C0SALES">#sales</span>'],
    ),
    (
        "<https://example.test/x?a=1&amp;b=2|the doc>",
        ['href="https://example.test/x?a=1&amp;b=2"', ">the doc</a>"],
    ),
    (":tada: :no_such_emoji: at 12:51:00", ["🎉", ":no_such_emoji:", "12:51:00"]),
    (
        "<!date^1700000000^{date_short_pretty} {time}|2023-11-14 22:13 UTC>",
        ["2023-11-14 22:13 UTC"],
    ),
    ("a &lt;b&gt; &amp; c", ["a &lt;b&gt; &amp; c"]),
    ("<javascript:alert(1)|click>", ['href="#"']),
    ("line one\nline two", ["line one<br>line two"]),
]


def test_mrkdwn_renders_slacks_basics_and_escapes_everything(page: Page) -> None:
    page.wait_for_selector(".message")
    for text, expected in MRKDWN_CASES:
        html = page.evaluate(
            """async (text) => {
                const { mrkdwn } = await import('/static/mrkdwn.js');
                const users = { U0BOB: { name: 'bob' } };
                const channels = { C0SALES: { name: 'sales' } };
                return mrkdwn(text, { users, channels, me: 'U0ALICE' });
            }""",
            text,
        )
        for piece in expected:
            assert piece in html, (text, html)
        assert "<script" not in html
