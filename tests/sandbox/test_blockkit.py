"""Block Kit validation: strict where Slack is, silent on what slack_sdk builds correctly."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    ImageBlock,
    ImageElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    OptionGroup,
    OverflowMenuElement,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from sandbox.blockkit import validate_blocks, validate_view


def sdk_blocks() -> list[dict[str, Any]]:
    confirm = ConfirmObject(title="Sure?", text="Really", confirm="Yes", deny="No")
    blocks = [
        HeaderBlock(text="Deal"),
        SectionBlock(
            text="*Acme*",
            fields=["Stage", "Amount"],
            accessory=ButtonElement(text="Go", action_id="go", value="1", confirm=confirm),
        ),
        DividerBlock(),
        ActionsBlock(
            elements=[
                ButtonElement(text="Won", action_id="won", style="primary"),
                StaticSelectElement(
                    action_id="stage", placeholder="Stage", options=[Option(text="x", value="x")]
                ),
                OverflowMenuElement(action_id="more", options=[Option(text="e", value="e")]),
                DatePickerElement(action_id="close_date"),
                UserSelectElement(action_id="owner", placeholder="Owner"),
            ]
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(text="updated"),
                ImageElement(image_url="https://x/y.png", alt_text="y"),
            ]
        ),
        InputBlock(
            label="Amount",
            element=PlainTextInputElement(action_id="amount", placeholder="100"),
            hint="USD",
            optional=True,
        ),
        ImageBlock(image_url="https://x/y.png", alt_text="chart", title="Chart"),
        SectionBlock(
            text=MarkdownTextObject(text="pick"),
            accessory=CheckboxesElement(
                action_id="flags",
                options=[Option(text=MarkdownTextObject(text="*a*"), value="a", description="d")],
            ),
        ),
        ActionsBlock(
            elements=[
                StaticSelectElement(
                    action_id="grouped",
                    placeholder="p",
                    option_groups=[OptionGroup(label="L", options=[Option(text="1", value="1")])],
                ),
                RadioButtonsElement(action_id="radio", options=[Option(text="1", value="1")]),
            ]
        ),
    ]
    return [b.to_dict() for b in blocks]


def test_blocks_built_with_slack_sdk_pass() -> None:
    assert validate_blocks(sdk_blocks()) == []


def test_views_built_with_slack_sdk_pass() -> None:
    blocks = sdk_blocks()
    modal = View(
        type="modal",
        title="New deal",
        submit="Save",
        close="Cancel",
        callback_id="deal",
        private_metadata="{}",
        blocks=blocks,
    )
    assert validate_view(modal.to_dict()) == []
    assert validate_view(View(type="home", blocks=blocks[:3]).to_dict()) == []


def test_errors_name_the_path() -> None:
    blocks = [
        {"type": "divider"},
        {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}},
    ]
    assert validate_blocks(blocks) == [
        "blocks[1]: slack_sdk: text attribute cannot exceed 3000 characters",
        "blocks[1].text.text: must be at most 3000 characters (got 3001)",
    ]


def test_limits_slack_sdk_misses() -> None:
    option = {"text": {"type": "plain_text", "text": "o"}, "value": "v"}
    cases: dict[str, list[dict[str, Any]]] = {
        "select with 101 options": [
            {
                "type": "actions",
                "elements": [
                    {"type": "static_select", "action_id": "s", "options": [option] * 101}
                ],
            }
        ],
        "26 actions": [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": f"b{i}",
                        "text": {"type": "plain_text", "text": "b"},
                    }
                    for i in range(26)
                ],
            }
        ],
        "11 context elements": [
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}
        ],
        "11 fields": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
        "option value 151": [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "static_select",
                        "action_id": "s",
                        "options": [{**option, "value": "v" * 151}],
                    }
                ],
            }
        ],
        "block_id 256": [{"type": "divider", "block_id": "b" * 256}],
        "empty overflow": [
            {"type": "actions", "elements": [{"type": "overflow", "action_id": "o", "options": []}]}
        ],
    }
    for name, blocks in cases.items():
        assert validate_blocks(blocks), name


def test_view_limits() -> None:
    base = {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": []}
    blocks = [{"type": "divider"}]
    assert validate_view({**base, "blocks": blocks}) == []
    assert validate_view({**base, "blocks": blocks, "id": "V1"}) == ["view: unknown keys ['id']"]
    assert validate_view({**base, "blocks": blocks, "submit": {"type": "plain_text", "text": ""}})
    assert validate_view({**base, "blocks": blocks, "type": "dialog"})
    assert validate_view({"type": "home", "blocks": [{"type": "divider"}] * 101})
