"""The local workspace behaves like Slack where people would notice: menus stay on screen,
dates show in the reader's timezone, ephemeral messages are gone after a reload."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from pipeline.schemas import DealDetail
from storage.services import service_in
from tests.browser.conftest import ALICE, Running, chromium_path
from tests.browser.test_browser import CHROMIUM_ARGS, TIMEOUT_MS, _missing, type_command
from views.ids import Action

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Chromium, or a skip (a failure on CI) when it is missing."""
    executable = chromium_path()
    if executable is None:
        _missing("no chromium binary on PATH (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def open_page(browser: Browser, ws: Running, width: int, height: int = 900) -> Page:
    tab = browser.new_page(viewport={"width": width, "height": height})
    tab.set_default_timeout(TIMEOUT_MS)
    tab.goto(ws.url + "/")
    return tab


@pytest.mark.parametrize("width", [1280, 1400, 1920])
def test_menus_stay_on_screen(browser: Browser, sqlite_seeded: Running, width: int) -> None:
    from playwright.sync_api import expect

    page = open_page(browser, sqlite_seeded, width)
    messages = page.get_by_test_id("messages")
    expect(messages.locator(".message").last).to_be_visible()

    page.get_by_test_id("user-switcher").click()
    menu = page.locator("#user-menu")
    expect(menu).to_be_visible()
    box = menu.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= width

    page.mouse.click(5, 5)
    last = messages.locator(".message").last
    last.hover()
    last.get_by_test_id("message-more").click()
    shortcuts = last.locator(".menu")
    expect(shortcuts).to_be_visible()
    box = shortcuts.bounding_box()
    composer = page.locator("#composer").bounding_box()
    assert box is not None
    assert composer is not None
    assert box["y"] + box["height"] <= composer["y"]
    assert box["y"] >= 0
    assert box["x"] + box["width"] <= width


def test_dates_show_in_the_readers_timezone(browser: Browser, sqlite_seeded: Running) -> None:
    from playwright.sync_api import expect

    page = open_page(browser, sqlite_seeded, 1400)
    type_command(page, "/deal add Vandelay Industries 30k EUR proposal")
    card = page.get_by_test_id("messages").locator(".message.from-bot", has_text="#13 Vandelay")
    expect(card).to_contain_text("Created by")
    # The fallback of <!date^…> is UTC; Slack shows the reader's local time instead.
    expect(card).not_to_contain_text(" UTC")
    expect(card).to_contain_text("Last activity")


def test_ephemeral_messages_are_gone_after_a_reload(
    browser: Browser, sqlite_seeded: Running
) -> None:
    from playwright.sync_api import expect

    page = open_page(browser, sqlite_seeded, 1400)
    messages = page.get_by_test_id("messages")
    type_command(page, "/deal help")
    ephemeral = messages.locator(".message.ephemeral", has_text="pipebot keeps your pipeline")
    expect(ephemeral).to_be_visible()
    page.reload()
    expect(messages.locator(".message").last).to_be_visible()
    expect(ephemeral).to_have_count(0)
    type_command(page, "/deal help")
    expect(ephemeral).to_have_count(1)


def a_deal(ws: Running, number: int) -> DealDetail:
    with ws.demo.db.read_scope() as session:
        return service_in(session, "T0DEMO", clock=ws.demo.clock).detail(f"#{number}")


def test_the_readmes_headline_command_works_as_typed(
    browser: Browser, sqlite_seeded: Running
) -> None:
    from playwright.sync_api import expect

    page = open_page(browser, sqlite_seeded, 1400)
    type_command(page, "/deal add Acme Corp 50k proposal close:next friday @alice")
    messages = page.get_by_test_id("messages")
    card = messages.locator(".message.from-bot:not(.ephemeral)", has_text="Acme Corp").last
    expect(card).to_contain_text("Proposal")
    number = int(card.locator("b", has_text="#").first.inner_text().split()[0].lstrip("#"))
    deal = a_deal(sqlite_seeded, number)
    assert (deal.name, deal.owner_id, deal.stage) == ("Acme Corp", ALICE, "proposal")
    assert deal.amount == Decimal("50000.00")
    assert deal.close_date is not None
    assert deal.close_date.weekday() == 4  # a Friday


def test_a_click_on_the_third_card_acts_on_the_third_deal(
    browser: Browser, sqlite_seeded: Running
) -> None:
    from playwright.sync_api import expect

    page = open_page(browser, sqlite_seeded, 1400)
    type_command(page, "/deal list")
    listing = page.get_by_test_id("messages").locator(".message.ephemeral", has_text="Open deals")
    expect(listing).to_be_visible()
    advances = listing.locator(f"[data-action-id={Action.ADVANCE}]")
    expect(advances.nth(2)).to_be_visible()
    numbers = [
        int(block_id.rsplit(":", 1)[1])
        for block_id in listing.locator(f"[data-action-id={Action.ADVANCE}]").evaluate_all(
            "els => els.map(e => e.dataset.blockId)"
        )
    ]
    before = {n: a_deal(sqlite_seeded, n).stage for n in numbers[:3]}
    advances.nth(2).click()
    third = numbers[2]
    sqlite_seeded.wait(lambda: a_deal(sqlite_seeded, third).stage != before[third])
    assert {n: a_deal(sqlite_seeded, n).stage for n in numbers[:2]} == {
        n: before[n] for n in numbers[:2]
    }


def test_a_new_message_leaves_the_others_drawn_as_they_were(
    browser: Browser, sqlite_seeded: Running
) -> None:
    """Like Slack: a posted message does not redraw the channel (a hover, a selection or a
    screenshot of another message survives it)."""
    from playwright.sync_api import expect

    page = open_page(browser, sqlite_seeded, 1400)
    messages = page.get_by_test_id("messages")
    first = messages.locator(".message").first
    expect(first).to_be_visible()
    first.evaluate("(node) => { node.dataset.marked = 'yes'; }")
    count = messages.locator(".message").count()
    type_command(page, "/deal help")
    expect(messages.locator(".message")).to_have_count(count + 1)
    sqlite_seeded.settled(page)
    expect(messages.locator(".message[data-marked=yes]")).to_have_count(1)
