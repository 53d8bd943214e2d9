"""The fake Slack driven through a real slack_sdk WebClient over HTTP."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler, builtin_handlers
from slack_sdk.webhook import WebhookClient
from starlette.applications import Starlette
from starlette.routing import Mount

from sandbox.slack_api import (
    DEFAULT_TOKEN,
    FakeClock,
    FakeSlack,
    FakeSlackServer,
    RateLimit,
    ThreadedServer,
    create_app,
)

JSON = dict[str, Any]
SALES = "C0SALES"
ALICE = "U0ALICE"


def section(text: str) -> JSON:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(action_id: str, text: str = "Go", value: str = "v") -> JSON:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "value": value,
    }


def modal(title: str = "New deal", **extra: Any) -> JSON:
    return {
        "type": "modal",
        "callback_id": "deal_modal",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            {
                "type": "input",
                "block_id": "amount",
                "label": {"type": "plain_text", "text": "Amount"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
        **extra,
    }


def api_error(exc: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(exc.value.response["error"])


# ---------------------------------------------------------------------- messages


def test_auth_test_reports_the_bot(client: WebClient) -> None:
    auth = client.auth_test()
    assert (auth["team_id"], auth["user_id"], auth["bot_id"]) == ("T0DEMO", "U0BOT", "B0BOT")


def test_post_update_and_thread_reply(client: WebClient, fake: FakeSlack) -> None:
    posted = client.chat_postMessage(channel=SALES, text="Deal: Acme", blocks=[section("*Acme*")])
    reply = client.chat_postMessage(channel=SALES, text="first note", thread_ts=posted["ts"])
    client.chat_update(channel=SALES, ts=posted["ts"], text="Deal: Acme (won)")

    [top] = fake.messages(SALES)
    assert top.ts == posted["ts"]
    assert top.text == "Deal: Acme (won)"
    assert top.blocks[0]["text"]["text"] == "*Acme*"  # blocks left out of chat.update are kept
    assert [v.text for v in top.edits] == ["Deal: Acme"]
    assert fake.updates[0].after.text == "Deal: Acme (won)"
    [in_thread] = fake.thread(SALES, posted["ts"])
    assert (in_thread.ts, in_thread.thread_ts, in_thread.text) == (
        reply["ts"],
        posted["ts"],
        "first note",
    )
    assert float(reply["ts"]) > float(posted["ts"])
    assert fake.violations == []


def test_ts_values_are_unique_even_when_the_clock_stands_still(
    client: WebClient, fake: FakeSlack
) -> None:
    fake.rate_limit.enabled = False
    stamps = [client.chat_postMessage(channel=SALES, text=str(i))["ts"] for i in range(20)]
    assert len(set(stamps)) == 20
    assert stamps == sorted(stamps, key=float)
    assert stamps[1] == "1700000000.000100"


def test_reply_to_a_reply_is_rethreaded_and_flagged(client: WebClient, fake: FakeSlack) -> None:
    parent = client.chat_postMessage(channel=SALES, text="parent")
    reply = client.chat_postMessage(channel=SALES, text="r1", thread_ts=parent["ts"])
    nested = client.chat_postMessage(channel=SALES, text="r2", thread_ts=reply["ts"])
    assert nested["message"]["thread_ts"] == parent["ts"]
    assert any("is a reply" in v for v in fake.violations)


def test_ephemeral_delete_and_permalink(client: WebClient, fake: FakeSlack) -> None:
    eph = client.chat_postEphemeral(channel=SALES, user=ALICE, text="only you")
    assert [(e.user, e.text, e.ts) for e in fake.ephemerals(ALICE)] == [
        (ALICE, "only you", eph["message_ts"])
    ]
    assert fake.ephemerals("U0BOB") == []

    posted = client.chat_postMessage(channel=SALES, text="x")
    link = client.chat_getPermalink(channel=SALES, message_ts=posted["ts"])["permalink"]
    assert link == f"https://demo.slack.com/archives/{SALES}/p{posted['ts'].replace('.', '')}"
    client.chat_delete(channel=SALES, ts=posted["ts"])
    assert fake.messages(SALES) == []
    with pytest.raises(SlackApiError) as exc:
        client.chat_update(channel=SALES, ts=posted["ts"], text="y")
    assert api_error(exc) == "message_not_found"


def test_post_to_a_user_id_lands_in_the_dm(client: WebClient, fake: FakeSlack) -> None:
    opened = client.conversations_open(users="U0BOB")["channel"]["id"]
    posted = client.chat_postMessage(channel="U0BOB", text="hello")
    assert posted["channel"] == opened == "D0BOB"
    assert [m.text for m in fake.messages("D0BOB")] == ["hello"]
    assert client.conversations_info(channel="D0BOB")["channel"]["is_im"] is True


def test_lookups(client: WebClient) -> None:
    user = client.users_info(user=ALICE)["user"]
    assert (user["is_admin"], user["is_owner"], user["tz"]) == (True, True, "America/New_York")
    assert user["tz_offset"] == -5 * 3600  # the fake clock is in November
    assert client.conversations_info(channel=SALES)["channel"]["name"] == "sales"
    with pytest.raises(SlackApiError) as exc:
        client.users_info(user="U0NOBODY")
    assert api_error(exc) == "user_not_found"


def test_metadata_is_stored_for_idempotency_keys(client: WebClient, fake: FakeSlack) -> None:
    meta = {"event_type": "deal_posted", "event_payload": {"key": "deal-7"}}
    client.chat_postMessage(channel=SALES, text="x", metadata=meta)
    assert fake.messages(SALES)[0].metadata == meta
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel=SALES, text="x", metadata={"event_type": "x"})
    assert api_error(exc) == "invalid_metadata_format"


def test_form_encoded_calls_are_accepted(client: WebClient, fake: FakeSlack) -> None:
    blocks = json.dumps([section("form *body*")])
    client.api_call("chat.postMessage", params={"channel": SALES, "text": "form", "blocks": blocks})
    [msg] = fake.messages(SALES)
    assert msg.text == "form"
    assert msg.blocks[0]["text"]["text"] == "form *body*"
    assert fake.calls_to("chat.postMessage")[0].params["channel"] == SALES


# ---------------------------------------------------------------------- Slack's rules


INVALID_BLOCKS = {
    "51 blocks": [section(f"row {i}") for i in range(51)],
    "header with mrkdwn": [{"type": "header", "text": {"type": "mrkdwn", "text": "Deal"}}],
    "button text of 76": [{"type": "actions", "elements": [button("go", text="x" * 76)]}],
    "6 overflow options": [
        {
            "type": "actions",
            "elements": [
                {
                    "type": "overflow",
                    "action_id": "more",
                    "options": [
                        {"text": {"type": "plain_text", "text": f"o{i}"}, "value": f"o{i}"}
                        for i in range(6)
                    ],
                }
            ],
        }
    ],
    "unknown block type": [{"type": "carousel_of_doom"}],
    "empty plain_text": [{"type": "header", "text": {"type": "plain_text", "text": ""}}],
    "duplicate action_id": [{"type": "actions", "elements": [button("a"), button("a")]}],
    "duplicate block_id": [
        {**section("one"), "block_id": "same"},
        {**section("two"), "block_id": "same"},
    ],
    "unknown key": [{**section("x"), "colour": "red"}],
    "bare string text": [{"type": "section", "text": "not an object"}],
    "button value over 2000": [{"type": "actions", "elements": [button("go", value="v" * 2001)]}],
}


@pytest.mark.parametrize("blocks", INVALID_BLOCKS.values(), ids=INVALID_BLOCKS.keys())
def test_invalid_blocks_are_rejected(
    client: WebClient, fake: FakeSlack, blocks: list[JSON]
) -> None:
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel=SALES, text="fallback", blocks=blocks)
    assert api_error(exc) == "invalid_blocks"
    assert exc.value.response["errors"]
    assert fake.messages(SALES) == []
    assert any("invalid_blocks" in v for v in fake.violations)


def test_fifty_blocks_are_fine(client: WebClient, fake: FakeSlack) -> None:
    client.chat_postMessage(channel=SALES, text="t", blocks=[section(str(i)) for i in range(50)])
    assert len(fake.messages(SALES)[0].blocks) == 50


def test_blocks_without_text_fallback_is_a_violation(client: WebClient, fake: FakeSlack) -> None:
    with pytest.warns(UserWarning, match="text"):
        response = client.chat_postMessage(channel=SALES, blocks=[section("no fallback")])
    assert response["ok"] is True
    assert response["warning"] == "missing_text_fallback"
    assert fake.violations == ["chat.postMessage: blocks without a top-level text fallback"]


def test_no_text_and_too_long(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as exc:
        client.api_call("chat.postMessage", json={"channel": SALES})
    assert api_error(exc) == "no_text"
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel=SALES, text="x" * 40_001)
    assert api_error(exc) == "msg_too_long"


def test_auth_errors(server: FakeSlackServer) -> None:
    with pytest.raises(SlackApiError) as exc:
        WebClient(token="xoxb-wrong", base_url=server.base_url).auth_test()
    assert api_error(exc) == "invalid_auth"
    with pytest.raises(SlackApiError) as exc:
        WebClient(base_url=server.base_url).auth_test()
    assert api_error(exc) == "not_authed"


def test_unknown_method_channel_and_missing_args(client: WebClient, fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as exc:
        client.api_call("chat.teleport", json={"channel": SALES})
    assert api_error(exc) == "unknown_method"
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C0NOPE", text="x")
    assert api_error(exc) == "channel_not_found"
    with pytest.raises(SlackApiError) as exc:
        client.api_call("chat.postMessage", json={"text": "where?"})
    assert api_error(exc) == "invalid_arguments"
    assert [c.response["error"] for c in fake.calls] == [
        "unknown_method",
        "channel_not_found",
        "invalid_arguments",
    ]


# ---------------------------------------------------------------------- views & triggers


def test_trigger_id_is_single_use(client: WebClient, fake: FakeSlack) -> None:
    trigger = fake.new_trigger_id(ALICE)
    opened = client.views_open(trigger_id=trigger, view=modal())["view"]
    assert opened["id"].startswith("V")
    assert opened["state"] == {"values": {}}
    with pytest.raises(SlackApiError) as exc:
        client.views_open(trigger_id=trigger, view=modal())
    assert api_error(exc) == "exchanged_trigger_id"
    with pytest.raises(SlackApiError) as exc:
        client.views_open(trigger_id="made.up.id", view=modal())
    assert api_error(exc) == "invalid_trigger_id"
    assert len(fake.violations) == 2


def test_trigger_id_expires_after_three_seconds(
    client: WebClient, fake: FakeSlack, clock: FakeClock
) -> None:
    in_time = fake.new_trigger_id(ALICE)
    late = fake.new_trigger_id(ALICE)
    clock.advance(3.0)
    client.views_open(trigger_id=in_time, view=modal())
    clock.advance(0.5)
    with pytest.raises(SlackApiError) as exc:
        client.views_open(trigger_id=late, view=modal())
    assert api_error(exc) == "expired_trigger_id"


def test_views_open_push_update(client: WebClient, fake: FakeSlack) -> None:
    root = client.views_open(trigger_id=fake.new_trigger_id(ALICE), view=modal())["view"]
    pushed = client.views_push(trigger_id=fake.new_trigger_id(ALICE), view=modal("Step 2"))
    assert pushed["view"]["root_view_id"] == root["id"]
    assert pushed["view"]["previous_view_id"] == root["id"]
    assert [v.id for v in fake.open_views(ALICE)] == [root["id"], pushed["view"]["id"]]

    updated = client.views_update(view_id=root["id"], hash=root["hash"], view=modal("Renamed"))
    assert updated["view"]["title"]["text"] == "Renamed"
    with pytest.raises(SlackApiError) as exc:  # the hash changed with the update
        client.views_update(view_id=root["id"], hash=root["hash"], view=modal("Again"))
    assert api_error(exc) == "hash_conflict"
    [first, _] = fake.views_for(ALICE)
    assert first.view["title"]["text"] == "Renamed"
    assert len(first.history) == 1


def test_invalid_views_are_rejected(client: WebClient, fake: FakeSlack) -> None:
    cases = [
        modal("A title of 25 characters!"),
        modal(private_metadata="m" * 3001),
        modal(callback_id="c" * 256),
        {**modal(), "submit": None},  # input blocks need a submit button
        {**modal(), "blocks": [section(str(i)) for i in range(101)]},
    ]
    for view in cases:
        with pytest.raises(SlackApiError) as exc:
            client.views_open(trigger_id=fake.new_trigger_id(ALICE), view=view)
        assert api_error(exc) == "invalid_arguments", view
        assert exc.value.response["errors"]
    assert len(fake.violations) == len(cases)
    assert fake.views_for(ALICE) == []


def test_views_publish_home(client: WebClient, fake: FakeSlack) -> None:
    home = {"type": "home", "blocks": [section("Your pipeline")]}
    first = client.views_publish(user_id=ALICE, view=home)["view"]
    second = client.views_publish(user_id=ALICE, view={**home, "blocks": [section("v2")]})["view"]
    assert first["id"] == second["id"]
    current = fake.home(ALICE)
    assert current is not None
    assert current.blocks[0]["text"]["text"] == "v2"
    assert fake.home("U0BOB") is None
    with pytest.raises(SlackApiError) as exc:
        client.views_publish(user_id=ALICE, view=modal())
    assert api_error(exc) == "invalid_arguments"


# ---------------------------------------------------------------------- files


def test_files_upload_v2_lands_in_the_channel(client: WebClient, fake: FakeSlack) -> None:
    data = b"deal,amount\nAcme,100\n"
    result = client.files_upload_v2(
        channel=SALES, content=data, filename="pipeline.csv", title="Pipeline", initial_comment="Q3"
    )
    assert result["file"]["title"] == "Pipeline"
    [upload] = fake.files
    assert (upload.data, upload.completed, upload.channels) == (data, True, [SALES])
    [msg] = fake.messages(SALES)
    assert (msg.text, msg.files) == ("Q3", [upload.id])
    steps = [c.method for c in fake.calls]
    assert steps == ["files.getUploadURLExternal", "file_upload", "files.completeUploadExternal"]


def test_complete_upload_rejects_unknown_files(client: WebClient, fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as exc:
        client.files_completeUploadExternal(files=[{"id": "F404", "title": "x"}], channel_id=SALES)
    assert api_error(exc) == "file_not_found"
    started = client.files_getUploadURLExternal(filename="a.txt", length=3)
    with pytest.raises(SlackApiError) as exc:  # the bytes were never uploaded
        client.files_completeUploadExternal(files=[{"id": started["file_id"]}], channel_id=SALES)
    assert api_error(exc) == "file_not_found"


def test_app_can_be_mounted_under_a_prefix(fake: FakeSlack) -> None:
    outer = Starlette(routes=[Mount("/slack-fake", app=create_app(fake))])
    with ThreadedServer(outer) as running:
        fake.public_url = f"{running.url}/slack-fake"
        mounted = WebClient(token=DEFAULT_TOKEN, base_url=fake.api_url)
        mounted.files_upload_v2(channel=SALES, content=b"abc", filename="a.txt")
        assert fake.files[0].upload_url.startswith(f"{running.url}/slack-fake/upload/")
        response_url = fake.new_response_url()
        assert WebhookClient(response_url).send(text="hi").status_code == 200
    assert [m.files for m in fake.messages(SALES)] == [[fake.files[0].id]]


# ---------------------------------------------------------------------- response_url


def test_response_url_ephemeral_and_in_channel(server: FakeSlackServer, fake: FakeSlack) -> None:
    url = fake.new_response_url(SALES, ALICE)
    assert url.startswith(f"{server.url}/response/")
    hook = WebhookClient(url)
    assert hook.send(text="just you").status_code == 200
    assert hook.send(text="everyone", response_type="in_channel").status_code == 200
    assert [e.text for e in fake.ephemerals(ALICE)] == ["just you"]
    assert [m.text for m in fake.messages(SALES)] == ["everyone"]


def test_response_url_replace_and_delete_original(client: WebClient, fake: FakeSlack) -> None:
    posted = client.chat_postMessage(channel=SALES, text="Approve?", blocks=[section("Approve?")])
    hook = WebhookClient(fake.new_response_url(SALES, ALICE, message_ts=posted["ts"]))
    assert hook.send(text="Approved", replace_original=True).status_code == 200
    [msg] = fake.messages(SALES)
    assert (msg.ts, msg.text, msg.blocks) == (posted["ts"], "Approved", [])
    assert fake.updates[0].via == "response_url"
    assert hook.send_dict({"delete_original": True}).status_code == 200
    assert fake.messages(SALES) == []


def test_response_url_allows_five_uses_within_thirty_minutes(
    server: FakeSlackServer, fake: FakeSlack, clock: FakeClock
) -> None:
    hook = WebhookClient(fake.new_response_url(SALES, ALICE))
    assert [hook.send(text=f"#{i}").status_code for i in range(5)] == [200] * 5
    sixth = hook.send(text="#6")
    assert sixth.status_code == 404
    assert json.loads(sixth.body)["error"] == "used_url"
    late = WebhookClient(fake.new_response_url(SALES, ALICE))
    clock.advance(30 * 60 + 1)
    expired = late.send(text="late")
    assert expired.status_code == 404
    assert json.loads(expired.body)["error"] == "expired_url"
    assert len(fake.ephemerals(ALICE)) == 5
    assert len(fake.violations) == 2


def test_response_url_validates_blocks(server: FakeSlackServer, fake: FakeSlack) -> None:
    hook = WebhookClient(fake.new_response_url(SALES, ALICE))
    bad = hook.send(text="x", blocks=[{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}])
    assert bad.status_code == 400
    assert json.loads(bad.body)["error"] == "invalid_blocks"
    assert fake.ephemerals() == []


# ---------------------------------------------------------------------- rate limits & faults


def test_post_message_rate_limit(client: WebClient, fake: FakeSlack, clock: FakeClock) -> None:
    for i in range(5):
        client.chat_postMessage(channel=SALES, text=f"burst {i}")
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel=SALES, text="one too many")
    assert exc.value.response.status_code == 429
    assert api_error(exc) == "ratelimited"
    assert exc.value.response.headers["Retry-After"] == "1"
    client.chat_postMessage(channel="C0GENERAL", text="other channels have their own budget")
    clock.advance(1.0)
    client.chat_postMessage(channel=SALES, text="refilled")
    assert len(fake.messages(SALES)) == 6


def test_rate_limit_can_be_turned_off(server: FakeSlackServer, fake: FakeSlack) -> None:
    fake.rate_limit = RateLimit(enabled=False)
    client = WebClient(token=DEFAULT_TOKEN, base_url=server.base_url)
    for i in range(20):
        client.chat_postMessage(channel=SALES, text=str(i))
    assert len(fake.messages(SALES)) == 20


def test_retry_handler_honours_retry_after(
    server: FakeSlackServer, fake: FakeSlack, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.rate_limit = RateLimit(burst=1, per_second=0.25)  # one message per 4 s
    slept: list[float] = []

    class Sleeper:
        """Stands in for the time module: 'sleeping' moves the fake clock instead."""

        @staticmethod
        def sleep(seconds: float) -> None:
            slept.append(seconds)
            clock.advance(seconds)

    monkeypatch.setattr(builtin_handlers, "time", Sleeper)
    client = WebClient(
        token=DEFAULT_TOKEN,
        base_url=server.base_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    client.chat_postMessage(channel=SALES, text="first")
    client.chat_postMessage(channel=SALES, text="second")
    assert len(slept) == 1
    assert 4 <= slept[0] < 5
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [200, 429, 200]
    assert [m.text for m in fake.messages(SALES)] == ["first", "second"]


def test_fail_next_status_and_error(client: WebClient, fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", status=500)
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel=SALES, text="x")
    assert exc.value.response.status_code == 500
    fake.fail_next("chat.postMessage", error="channel_not_found", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel=SALES, text="x")
        assert api_error(exc) == "channel_not_found"
    fake.fail_next("users.info", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as exc:
        client.users_info(user=ALICE)
    assert (exc.value.response.status_code, exc.value.response.headers["Retry-After"]) == (429, "7")
    client.chat_postMessage(channel=SALES, text="works again")
    assert [m.text for m in fake.messages(SALES)] == ["works again"]


def test_fail_next_with_side_effect_posts_anyway(client: WebClient, fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", status=503, side_effect=True)
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel=SALES, text="did it post?")
    assert [m.text for m in fake.messages(SALES)] == ["did it post?"]


@pytest.mark.parametrize("applied", [False, True])
def test_drop_closes_the_connection_without_an_answer(
    server: FakeSlackServer, fake: FakeSlack, applied: bool
) -> None:
    bare = WebClient(token=DEFAULT_TOKEN, base_url=server.base_url, timeout=5, retry_handlers=[])
    fake.fail_next("chat.postMessage", drop=True, side_effect=applied)
    with pytest.raises(ConnectionError, match="without response"):
        bare.chat_postMessage(channel=SALES, text="did it post?")
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [0]
    assert [m.text for m in fake.messages(SALES)] == (["did it post?"] if applied else [])
    bare.chat_postMessage(channel=SALES, text="works again")
    assert fake.messages(SALES)[-1].text == "works again"


def test_slack_sdks_default_client_resends_a_dropped_post(
    client: WebClient, fake: FakeSlack
) -> None:
    # Why pipebot's client carries its own retry handlers (bot/slack_client.py).
    fake.fail_next("chat.postMessage", drop=True, side_effect=True)
    client.chat_postMessage(channel=SALES, text="reminder")
    assert [m.text for m in fake.messages(SALES)] == ["reminder", "reminder"]


def test_replies_list_the_parent_then_its_thread_with_files(
    client: WebClient, fake: FakeSlack
) -> None:
    parent = client.chat_postMessage(channel=SALES, text="digest")["ts"]
    client.chat_postMessage(channel=SALES, text="elsewhere")
    client.chat_postMessage(
        channel=SALES,
        thread_ts=parent,
        text="details",
        metadata={"event_type": "pipebot_delivery", "event_payload": {"key": "k"}},
    )
    client.files_upload_v2(
        channel=SALES, thread_ts=parent, filename="chart.png", content=b"png", title="Chart"
    )
    found = client.conversations_replies(channel=SALES, ts=parent, include_all_metadata=True)
    messages = found["messages"]
    assert [m["text"] for m in messages] == ["digest", "details", ""]
    assert messages[1]["metadata"]["event_payload"] == {"key": "k"}
    assert [(f["name"], f["title"]) for f in messages[2]["files"]] == [("chart.png", "Chart")]
    plain = client.conversations_replies(channel=SALES, ts=parent)["messages"]
    assert "metadata" not in plain[1]
    with pytest.raises(SlackApiError) as exc:
        client.conversations_replies(channel=SALES, ts="1.000001")
    assert api_error(exc) == "thread_not_found"


def test_rate_limit_one_in_fails_a_chosen_call_once(client: WebClient, fake: FakeSlack) -> None:
    fake.rate_limit_one_in("chat.postMessage", 1)
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel=SALES, text="first try")
    assert (exc.value.response.status_code, exc.value.response.headers["Retry-After"]) == (429, "1")
    assert fake.messages(SALES) == []
    client.chat_postMessage(channel=SALES, text="first try")
    assert [m.text for m in fake.messages(SALES)] == ["first try"]
    assert (fake.injected_429, fake.message_counts(SALES)) == (1, (1, 0))


def test_rate_limit_one_in_chooses_a_share_of_the_calls(
    client: WebClient, fake: FakeSlack, clock: FakeClock
) -> None:
    fake.rate_limit_one_in("chat.postMessage", 4)
    refused = 0
    for n in range(200):
        clock.advance(3.0)  # past Slack's own rate limit of one post a second per channel
        try:
            client.chat_postMessage(channel=SALES, text=f"post {n}")
        except SlackApiError:
            refused += 1
            client.chat_postMessage(channel=SALES, text=f"post {n}")
    assert refused == fake.injected_429
    assert 20 < refused < 80
    assert fake.message_counts(SALES) == (200, 0)


def test_delay_slows_the_answer(client: WebClient, fake: FakeSlack) -> None:
    fake.delay("auth.test", 0.2)
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started >= 0.2
    fake.delay("auth.test", 0)
    assert fake.delay_for("auth.test") == 0.0


def test_reset_forgets_activity_but_keeps_the_workspace(client: WebClient, fake: FakeSlack) -> None:
    fake.add_user("U0DAVE", "dave", tz="Europe/Paris")
    client.chat_postMessage(channel=SALES, text="x")
    fake.fail_next("auth.test", status=500)
    fake.reset()
    assert (fake.messages(SALES), fake.calls, fake.violations) == ([], [], [])
    client.auth_test()  # the injected fault is gone too
    assert client.users_info(user="U0DAVE")["user"]["tz"] == "Europe/Paris"


def test_raw_http_upload_with_multipart(server: FakeSlackServer, fake: FakeSlack) -> None:
    started = fake.api(
        "files.getUploadURLExternal", {"filename": "a.txt", "length": 2}, token=DEFAULT_TOKEN
    )
    boundary = "xyz"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\nhi\r\n--{boundary}--\r\n"
    ).encode()
    request = urllib.request.Request(
        str(started.body["upload_url"]),
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.read() == b"OK - 2"
    assert fake.files[0].data == b"hi"


def test_fake_without_http_answers_directly() -> None:
    fake = FakeSlack(now=FakeClock())
    result = fake.api("chat.postMessage", {"channel": "#sales", "text": "hi"}, token=DEFAULT_TOKEN)
    assert result.ok
    assert result.body["channel"] == SALES
    assert FakeSlackServer(fake).fake is fake


def test_token_in_a_form_body_is_accepted(server: FakeSlackServer) -> None:
    body = b"token=xoxb-test&channel=C0SALES&text=hi"
    request = urllib.request.Request(
        f"{server.base_url}chat.postMessage",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        answer = json.loads(response.read())
    assert answer["ok"] is True
    assert "token" not in server.fake.calls[0].params


def test_view_submission_acks_drive_the_modal_stack(client: WebClient, fake: FakeSlack) -> None:
    root = client.views_open(trigger_id=fake.new_trigger_id(ALICE), view=modal())["view"]
    fake.receive_view_ack(
        ALICE, root["id"], json.dumps({"response_action": "push", "view": modal("2")})
    )
    [_, pushed] = fake.open_views(ALICE)
    fake.receive_view_ack(
        ALICE, pushed.id, json.dumps({"response_action": "update", "view": modal("2b")})
    )
    assert fake.open_views(ALICE)[1].view["title"]["text"] == "2b"
    fake.receive_view_ack(ALICE, pushed.id, "")  # a plain ack closes only the submitted view
    assert [v.id for v in fake.open_views(ALICE)] == [root["id"]]
    fake.receive_view_ack(ALICE, root["id"], json.dumps({"response_action": "push", "view": {}}))
    assert any("invalid view" in v for v in fake.violations)
    fake.receive_view_ack(ALICE, root["id"], json.dumps({"response_action": "clear"}))
    assert fake.open_views(ALICE) == []


def test_response_url_replaces_an_ephemeral(client: WebClient, fake: FakeSlack) -> None:
    eph = client.chat_postEphemeral(channel=SALES, user=ALICE, text="Pick one")
    hook = WebhookClient(fake.new_response_url(SALES, ALICE, ephemeral_ts=eph["message_ts"]))
    assert hook.send(text="Picked", replace_original=True).status_code == 200
    assert [e.text for e in fake.ephemerals(ALICE)] == ["Picked"]


def test_query_helpers_fail_loudly(fake: FakeSlack) -> None:
    with pytest.raises(KeyError):
        fake.messages("C0NOPE")
    with pytest.raises(TimeoutError):
        fake.wait_until(lambda: fake.messages(SALES), timeout=0.01)
