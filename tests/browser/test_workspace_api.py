"""The workspace's JSON endpoints, and that what the page triggers is what Slack sends."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sandbox.payloads import sign
from sandbox.workspace import routes
from storage.services import service_in
from tests.browser.conftest import ALICE, BOB, SALES, Running
from views.ids import Action, Block, Callback

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "sandbox" / "static"

# Keys of each request Slack sends, from shared SLACK.md ("Requests from Slack").
COMMAND_KEYS = {
    "token",
    "team_id",
    "team_domain",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "api_app_id",
    "is_enterprise_install",
    "response_url",
    "trigger_id",
}
BLOCK_ACTIONS_KEYS = {
    "type",
    "user",
    "team",
    "api_app_id",
    "trigger_id",
    "container",
    "channel",
    "message",
    "response_url",
    "actions",
}
ACTION_KEYS = {"type", "action_id", "block_id", "action_ts"}
VIEW_SUBMISSION_KEYS = {"type", "team", "user", "api_app_id", "trigger_id", "view", "response_urls"}
MESSAGE_ACTION_KEYS = {
    "type",
    "callback_id",
    "trigger_id",
    "message_ts",
    "message",
    "channel",
    "response_url",
}


def last_payload(ws: Running, what: str) -> dict[str, Any]:
    """The newest request of this kind the page made Slack send to the bot."""
    found = [d for d in ws.demo.workspace.deliveries if d.what.startswith(what)]
    assert found, f"no delivery {what!r}"
    assert found[-1].status == 200
    return dict(found[-1].payload)


def bot_messages(ws: Running, user: str = ALICE, channel: str = SALES) -> list[dict[str, Any]]:
    """Messages the bot posted in a channel, as the page gets them."""
    return [m for m in ws.state(user)["messages"][channel] if m["bot"] and not m["ephemeral"]]


def cards(ws: Running) -> list[dict[str, Any]]:
    """Deal cards in #sales, oldest first."""
    return [
        m
        for m in bot_messages(ws)
        if any(str(b.get("block_id", "")).startswith(Block.ACTIONS) for b in m["blocks"])
    ]


def add_deal(ws: Running, text: str = "Acme Corp 50k") -> dict[str, Any]:
    """`/deal add ...` typed in the composer, and the card it posts."""
    before = len(cards(ws))
    status, body = ws.post(
        "/workspace/send", {"user": ALICE, "channel": SALES, "text": f"/deal add {text}"}
    )
    assert (status, body["ok"]) == (200, True), body
    return ws.wait(lambda: len(cards(ws)) > before and cards(ws)[-1])  # type: ignore[no-any-return]


def modal(ws: Running, user: str = ALICE) -> dict[str, Any]:
    """The modal the user sees now (waits for the bot to open it)."""
    return ws.wait(lambda: ws.state(user)["modal"])  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- the page itself


def test_the_page_and_its_assets_are_served_and_load_nothing_from_the_internet(
    ws: Running,
) -> None:
    status, html = ws.get("/")
    assert status == 200
    assert b'<script type="module" src="/static/app.js">' in html
    for name in ("app.js", "blocks.js", "mrkdwn.js", "style.css", "favicon.svg"):
        status, body = ws.get(f"/static/{name}")
        assert status == 200, name
        assert body
    for path in STATIC.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            # Only the SVG namespace names a host; nothing is fetched from one.
            hosts = set(re.findall(r"https?://[^\s\"')]+", text)) - {"http://www.w3.org/2000/svg"}
            assert not hosts, f"{path.name} refers to {hosts}"
            assert "@import" not in text


def test_state_lists_the_workspace_as_the_page_draws_it(seeded: Running) -> None:
    state = seeded.state(ALICE)
    assert state["me"] == ALICE
    humans = {u["id"]: u for u in state["users"] if not u["is_bot"]}
    assert set(humans) == {ALICE, BOB, "U0CAROL"}
    assert humans[ALICE]["is_admin"]
    assert not humans[BOB]["is_admin"]
    names = {c["name"]: c for c in state["channels"]}
    assert {"sales", "general", "pipebot"} <= set(names)
    assert names["pipebot"]["is_im"]
    said = [m["text"] for m in state["messages"][SALES]]
    assert any("Vandelay" in text for text in said)
    assert state["modal"] is None
    assert state["home"] is None
    assert state["violations"] == []
    assert state["clock"]["tz"] == "Europe/Paris"
    assert state["clock"]["now"].startswith("2026-11-30T10:00")


def test_state_refuses_an_unknown_or_bot_user(ws: Running) -> None:
    assert ws.get("/workspace/state?user=U0NOBODY")[0] == 400
    assert ws.get("/workspace/state?user=U0BOT")[0] == 400


def test_the_shortcuts_offered_are_the_manifests(ws: Running) -> None:
    manifest = (ROOT / "manifest.yml").read_text(encoding="utf-8")
    declared = re.findall(r"callback_id: (\w+)", manifest)
    offered = [s["callback_id"] for s in ws.state()["shortcuts"]]
    assert offered == declared
    assert ws.state()["commands"] == re.findall(r"- command: (/\w+)", manifest)


def test_the_long_poll_answers_at_once_on_a_change_and_waits_otherwise(
    ws: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "LONG_POLL", 0.5)
    version = ws.state()["version"]
    started = time.monotonic()
    assert ws.get(f"/workspace/state?user={ALICE}&since={version}")[1]["version"] == version
    assert time.monotonic() - started >= 0.45

    monkeypatch.setattr(routes, "LONG_POLL", 10.0)
    seen: list[str] = []
    poller = threading.Thread(
        target=lambda: seen.append(
            ws.get(f"/workspace/state?user={ALICE}&since={version}")[1]["version"]
        )
    )
    started = time.monotonic()
    poller.start()
    time.sleep(0.2)
    ws.post("/workspace/send", {"user": BOB, "channel": SALES, "text": "hello"})
    poller.join(5)
    assert seen
    assert seen[0] != version
    assert time.monotonic() - started < 3


# ---------------------------------------------------------------------- what the bot receives


def test_a_typed_command_is_a_signed_slash_command_with_slacks_fields(ws: Running) -> None:
    status, body = ws.post(
        "/workspace/send", {"user": ALICE, "channel": SALES, "text": "/deal help"}
    )
    assert (status, body["ok"], body["status"]) == (200, True, 200)
    payload = last_payload(ws, "/deal help")
    assert set(payload) >= COMMAND_KEYS
    assert (payload["command"], payload["text"], payload["user_id"]) == ("/deal", "help", ALICE)
    assert (payload["channel_id"], payload["channel_name"]) == (SALES, "sales")
    shown = ws.wait(lambda: [m for m in ws.state()["messages"][SALES] if m["ephemeral"]])
    assert "pipebot keeps your pipeline up to date" in str(shown[-1]["blocks"])
    # Only the person who typed it sees the help.
    assert not [m for m in ws.state(BOB)["messages"][SALES] if m["ephemeral"]]


def test_an_unknown_command_or_an_empty_message_is_refused_by_the_page(ws: Running) -> None:
    status, body = ws.post("/workspace/send", {"user": ALICE, "channel": SALES, "text": "/nope"})
    assert status == 400
    assert "/nope is not a valid command" in body["error"]
    assert ws.post("/workspace/send", {"user": ALICE, "channel": SALES, "text": " "})[0] == 400
    assert ws.post("/workspace/send", {"user": ALICE, "channel": "C0NOPE", "text": "x"})[0] == 400
    assert ws.demo.workspace.deliveries == []


def test_a_plain_message_is_posted_as_the_person_and_reaches_no_bot(ws: Running) -> None:
    ws.post("/workspace/send", {"user": BOB, "channel": SALES, "text": "Lunch at noon?"})
    [message] = ws.state()["messages"][SALES]
    assert (message["user"], message["text"], message["bot"]) == (BOB, "Lunch at noon?", False)
    assert ws.demo.workspace.deliveries == []


def test_a_card_button_sends_block_actions_with_the_whole_message(ws: Running) -> None:
    card = add_deal(ws)
    assert card["text"].startswith("#1 Acme Corp")
    status, body = ws.post(
        "/workspace/click",
        {"user": ALICE, "channel": SALES, "ts": card["ts"], "action_id": Action.ADVANCE},
    )
    assert (status, body["status"]) == (200, 200)
    payload = last_payload(ws, "block_actions deal_advance")
    assert set(payload) >= BLOCK_ACTIONS_KEYS
    assert set(payload["user"]) >= {"id", "username", "team_id"}
    assert set(payload["team"]) >= {"id", "domain"}
    assert payload["container"] == {
        "type": "message",
        "message_ts": card["ts"],
        "channel_id": SALES,
        "is_ephemeral": False,
    }
    assert payload["channel"] == {"id": SALES, "name": "sales"}
    assert payload["message"]["ts"] == card["ts"]
    assert payload["message"]["blocks"]
    [action] = payload["actions"]
    assert set(action) >= ACTION_KEYS | {"value"}
    assert action["action_id"] == Action.ADVANCE
    ws.wait(lambda: "Qualified" in cards(ws)[-1]["text"])
    assert cards(ws)[-1]["edited"]


def test_an_overflow_choice_carries_the_selected_option(ws: Running) -> None:
    card = add_deal(ws)
    element = next(
        e
        for b in card["blocks"]
        for e in b.get("elements") or []
        if e.get("action_id") == Action.OVERFLOW
    )
    show = next(o for o in element["options"] if o["value"].startswith("show:"))
    ws.post(
        "/workspace/click",
        {
            "user": ALICE,
            "channel": SALES,
            "ts": card["ts"],
            "action_id": Action.OVERFLOW,
            "value": show["value"],
        },
    )
    [action] = last_payload(ws, "block_actions deal_overflow")["actions"]
    assert action["type"] == "overflow"
    assert action["selected_option"] == show
    ws.wait(lambda: [m for m in ws.state()["messages"][SALES] if m["ephemeral"]])


def test_a_modal_submission_with_errors_shows_them_then_a_fix_closes_it(ws: Running) -> None:
    card = add_deal(ws)
    ws.post(
        "/workspace/click",
        {"user": ALICE, "channel": SALES, "ts": card["ts"], "action_id": Action.LOG},
    )
    shown = modal(ws)
    assert shown["callback_id"] == Callback.LOG
    assert {b["block_id"] for b in shown["blocks"] if b["type"] == "input"} == {"kind", "text"}

    status, body = ws.post(
        "/workspace/submit",
        {"user": ALICE, "view_id": shown["id"], "inputs": {"text": {"text": ""}}},
    )
    assert (status, body["status"]) == (200, 200)
    payload = last_payload(ws, "view_submission deal_log")
    assert set(payload) >= VIEW_SUBMISSION_KEYS
    view = payload["view"]
    assert set(view) >= {"id", "callback_id", "private_metadata", "state", "hash"}
    assert view["state"]["values"]["text"]["text"] == {"type": "plain_text_input", "value": None}
    assert view["state"]["values"]["kind"]["kind"]["selected_option"]["value"] == "call"
    errors = ws.state()["modal"]["errors"]
    assert set(errors) == {"text"}

    ws.post(
        "/workspace/submit",
        {
            "user": ALICE,
            "view_id": shown["id"],
            "inputs": {"kind": {"kind": "meeting"}, "text": {"text": "Demo with their CTO"}},
        },
    )
    assert ws.state()["modal"] is None
    ws.wait(lambda: cards(ws)[-1]["edited"])
    with ws.demo.db.read_scope() as session:
        deal = service_in(session, "T0DEMO", clock=ws.demo.clock).detail("#1")
    assert [(a.kind.value, a.text) for a in deal.activities] == [("meeting", "Demo with their CTO")]


def test_closing_a_modal_closes_it(ws: Running) -> None:
    ws.post("/workspace/send", {"user": ALICE, "channel": SALES, "text": "/deal add"})
    shown = modal(ws)
    assert shown["callback_id"] == Callback.CREATE
    assert ws.post("/workspace/close", {"user": ALICE, "view_id": shown["id"]})[0] == 200
    assert ws.state()["modal"] is None
    assert ws.post("/workspace/submit", {"user": ALICE, "view_id": shown["id"]})[0] == 400


def test_a_message_shortcut_sends_message_action_and_opens_the_prefilled_modal(
    seeded: Running,
) -> None:
    message = next(m for m in seeded.state()["messages"][SALES] if "Vandelay" in m["text"])
    status, _ = seeded.post(
        "/workspace/shortcut",
        {
            "user": ALICE,
            "channel": SALES,
            "ts": message["ts"],
            "callback_id": Callback.FROM_MESSAGE,
        },
    )
    assert status == 200
    payload = last_payload(seeded, "message_action deal_from_message")
    assert set(payload) >= MESSAGE_ACTION_KEYS
    assert payload["message_ts"] == message["ts"]
    assert payload["message"]["user"] == BOB
    shown = modal(seeded)
    assert shown["callback_id"] == Callback.CREATE
    prefill = {
        b["block_id"]: b["element"].get("initial_value") or b["element"].get("initial_date")
        for b in shown["blocks"]
        if b["type"] == "input"
    }
    assert prefill["name"] == "Vandelay Industries wants 30k EUR of seats"
    assert prefill["amount"] == "30k EUR"
    assert prefill["close_date"] == "2026-12-18"
    assert (
        seeded.post(
            "/workspace/shortcut",
            {"user": ALICE, "channel": SALES, "ts": message["ts"], "callback_id": "nope"},
        )[0]
        == 400
    )


def test_app_home_is_published_on_app_home_opened_and_its_buttons_work(seeded: Running) -> None:
    assert seeded.post("/workspace/home", {"user": BOB})[0] == 200
    payload = last_payload(seeded, "event app_home_opened")
    assert payload["type"] == "event_callback"
    assert payload["event"]["user"] == BOB
    home = seeded.wait(lambda: seeded.state(BOB)["home"])
    assert any(b["type"] == "header" for b in home["blocks"])
    assert seeded.state(ALICE)["home"] is None
    button = next(
        e
        for b in home["blocks"]
        for e in b.get("elements") or []
        if e.get("action_id") == Action.LOG
    )
    seeded.post(
        "/workspace/click_in_view",
        {"user": BOB, "view_id": home["id"], "action_id": button["action_id"]},
    )
    clicked = last_payload(seeded, "block_actions deal_log")
    assert clicked["container"] == {"type": "view", "view_id": home["id"]}
    assert clicked["view"]["id"] == home["id"]
    assert modal(seeded, BOB)["callback_id"] == Callback.LOG


def test_the_bots_endpoint_checks_slacks_signature(ws: Running) -> None:
    import urllib.error
    import urllib.request

    body = b"command=%2Fdeal&text=help"
    headers = sign(body, "not-the-secret", int(time.time()))
    request = urllib.request.Request(f"{ws.url}/slack/events", data=body, headers=headers)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401


# ---------------------------------------------------------------------- the clock and the jobs


def test_reminders_and_the_digest_run_now_and_the_chart_is_served(seeded: Running) -> None:
    status, body = seeded.post("/workspace/job", {"kind": "reminders"})
    assert status == 200
    assert "reminders for 2026-11-30: sent" in body["message"]
    reminder = seeded.wait(lambda: bot_messages(seeded))
    assert reminder[-1]["text"].startswith("Deals to follow up today")

    status, body = seeded.post("/workspace/job", {"kind": "digest"})
    assert status == 200
    assert "digest for 2026-W49: sent" in body["message"]
    digest = next(m for m in bot_messages(seeded) if m["text"].startswith("Weekly pipeline"))
    [chart] = [f for r in digest["replies"] for f in r["files"]]
    assert chart["image"]
    status, png = seeded.get(f"/{chart['url']}")
    assert status == 200
    assert png.startswith(b"\x89PNG")
    assert seeded.get("/workspace/files/F0NOPE")[0] == 404
    # Forced runs post again, as `pipebot jobs run --force` does.
    seeded.post("/workspace/job", {"kind": "digest"})
    assert len([m for m in bot_messages(seeded) if m["text"].startswith("Weekly")]) == 2
    assert seeded.state()["violations"] == []


def test_jobs_need_a_team_and_a_known_kind(ws: Running) -> None:
    status, body = ws.post("/workspace/job", {"kind": "reminders"})
    assert status == 400
    assert "no team yet" in body["error"]
    assert ws.post("/workspace/job", {"kind": "payroll"})[0] == 400


def test_moving_the_clock_moves_the_bot_and_the_scheduler(seeded: Running) -> None:
    before = seeded.state()["clock"]
    status, body = seeded.post("/workspace/advance", {"days": 1})
    assert status == 200
    assert body["message"].startswith("It is now Tue 1 Dec 2026 11:00 (Europe/Paris)")
    after = seeded.state()["clock"]
    assert (before["moved_days"], after["moved_days"]) == (0, 1)
    assert after["now"].startswith("2026-12-01T10:00")
    # Tuesday 11:00 in Paris: the day's reminders, and Monday's digest (within its grace).
    assert body["message"].endswith("Scheduler: 2 sent.")
    said = [m["text"] for m in bot_messages(seeded)]
    assert sorted(t.split(":")[0] for t in said) == ["Deals to follow up today", "Weekly pipeline"]
    assert seeded.demo.clock().date().isoformat() == "2026-12-01"
    assert seeded.post("/workspace/advance", {"days": 3})[0] == 400
    assert seeded.post("/workspace/advance", {"days": True})[0] == 400


def test_violations_are_listed_and_can_be_cleared(ws: Running) -> None:
    ws.demo.fake.report_violation("chat.postMessage: blocks without a top-level text fallback")
    assert ws.state()["violations"] == [
        "chat.postMessage: blocks without a top-level text fallback"
    ]
    assert ws.post("/workspace/violations/clear", {})[0] == 200
    assert ws.state()["violations"] == []


def test_bad_requests_get_a_400_with_the_reason(ws: Running) -> None:
    status, body = ws.post("/workspace/click", {"user": ALICE})
    assert status == 400
    assert "'channel'" in body["error"]
    status, body = ws.post(
        "/workspace/click",
        {"user": ALICE, "channel": SALES, "ts": "1.000001", "action_id": Action.ADVANCE},
    )
    assert status == 400
    assert "no message" in body["error"]
    assert ws.post("/workspace/submit", {"user": ALICE, "view_id": "V0NOPE"})[0] == 400
    assert ws.post("/workspace/home", {"user": "U0BOT"})[0] == 400
