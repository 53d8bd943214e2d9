"""Modals: new deal, edit, lost, log activity, snooze and log-to-deal, as pure view builders."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DatePickerElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from pipeline.dates import extract_date
from pipeline.limits import LIMITS, TextField
from pipeline.money import extract_amount
from pipeline.planning import DEFAULT_SOURCES, LostReason, default_reasons
from pipeline.schemas import DealOut, StageOut
from pipeline.types import ActivityKind
from views.common import MAX_OPTION_TEXT, MAX_OPTIONS, clip, deal_title
from views.ids import Block as BlockId
from views.ids import Callback
from views.planning_modals import lost_inputs, source_input

ViewJson = dict[str, Any]

MAX_METADATA = 3000
MAX_NAME = LIMITS[TextField.NAME]
MAX_STEP = LIMITS[TextField.NEXT_STEP]
MAX_TEXT = LIMITS[TextField.ACTIVITY]
# The currencies offered first; the team's and the deal's own are added when missing.
CURRENCIES = (
    "USD",
    "EUR",
    "GBP",
    "JPY",
    "CAD",
    "AUD",
    "CHF",
    "INR",
    "CNY",
    "SEK",
    "NOK",
    "DKK",
    "PLN",
    "BRL",
    "MXN",
    "SGD",
    "HKD",
    "NZD",
    "ZAR",
)
KIND_LABELS = {
    ActivityKind.CALL: "Call",
    ActivityKind.EMAIL: "Email",
    ActivityKind.MEETING: "Meeting",
    ActivityKind.NOTE: "Note",
}

CardKind = Literal["message", "ephemeral", "home"]


class _Compact(BaseModel):
    """Short keys in private_metadata (3000 characters at most); None and defaults left out."""

    model_config = ConfigDict(frozen=True, strict=True, validate_by_name=True)

    def compact(self) -> str:
        """This as compact JSON."""
        return self.model_dump_json(by_alias=True, exclude_none=True, exclude_defaults=True)


class CardLocation(_Compact):
    """Where a deal card is shown, so a later change can refresh it in place."""

    kind: CardKind = Field(alias="k")
    channel: str | None = Field(None, alias="c")
    ts: str | None = Field(None, alias="t")
    response_url: str | None = Field(None, alias="u")
    # False when the card shares its message with other blocks (a list or a digest).
    whole: bool = Field(True, alias="w")


class MessageRef(NamedTuple):
    """A Slack message a modal was opened from (by a message shortcut)."""

    channel: str
    ts: str


class ModalMeta(_Compact):
    """What a modal carries in private_metadata: the deal, the card, where it came from."""

    number: int | None = Field(None, alias="n")
    version: int | None = Field(None, alias="v")
    channel: str | None = Field(None, alias="ch")
    card: CardLocation | None = None
    source: MessageRef | None = Field(None, alias="src")

    def encode(self) -> str:
        """JSON within Slack's 3000 characters."""
        text = self.compact()
        if len(text) > MAX_METADATA:
            # Only a card's response_url can be long; without the card the submit still works.
            return self.model_copy(update={"card": None}).compact()
        return text

    @classmethod
    def decode(cls, text: str | None) -> ModalMeta:
        """Read private_metadata; anything unreadable gives an empty meta."""
        try:
            return cls.model_validate_json(text or "{}")
        except ValidationError:
            return cls()


@dataclass(frozen=True)
class CreatePrefill:
    """Initial values of the New deal modal."""

    name: str | None = None
    amount: str | None = None
    currency: str | None = None
    close_date: date | None = None
    source: MessageRef | None = None


_LINK = re.compile(r"<([^<>|]+)\|([^<>]+)>")
_BARE_LINK = re.compile(r"<((?:https?|mailto):[^<>]+)>")


def message_text(text: str) -> str:
    """Slack message markup to what a person reads: `<url|label>` becomes `label`."""
    return (
        _BARE_LINK.sub(r"\1", _LINK.sub(r"\2", text))
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )


# *bold*, _italic_, ~struck~ and `code` spans of Slack's mrkdwn, marker to marker.
_EMPHASIS = re.compile(r"(?<![\w*_~`])([*_~`])(?=\S)(.+?)(?<=\S)\1(?![\w*_~`])")


def unformatted(text: str) -> str:
    """A line of mrkdwn without its emphasis markers: `*Acme* Corp` reads `Acme Corp`."""
    return _EMPHASIS.sub(r"\2", text)


def prefill_from_message(
    text: str, *, currency: str, today: date, source: MessageRef | None = None
) -> CreatePrefill:
    """A new deal's name, amount and close date as read from a message."""
    plain = unformatted(message_text(text))
    first = next((line.strip() for line in plain.splitlines() if line.strip()), "")
    found_amount = extract_amount(plain, currency)
    found_date = extract_date(plain, today=today)
    return CreatePrefill(
        name=clip(first, MAX_NAME) if first else None,
        amount=plain[found_amount[1] : found_amount[2]].strip() if found_amount else None,
        currency=found_amount[0].currency if found_amount else None,
        close_date=found_date[0] if found_date else None,
        source=source,
    )


# ---------------------------------------------------------------------- elements
# Each input's action_id is its block id: unique in the view, so a submission can be read
# (and a test can fill it) by name.


def amount_text(amount: Decimal | None) -> str | None:
    """An amount as the modal shows it for editing: `50000` or `12500.50`."""
    if amount is None:
        return None
    return str(int(amount)) if amount == amount.to_integral_value() else f"{amount:.2f}"


def _option(text: str, value: str) -> Option:
    return Option(text=clip(text, MAX_OPTION_TEXT), value=value)


def _text_input(
    block: BlockId,
    label: str,
    *,
    initial: str | None = None,
    optional: bool = False,
    multiline: bool = False,
    max_length: int | None = None,
    placeholder: str | None = None,
    hint: str | None = None,
) -> InputBlock:
    return InputBlock(
        block_id=block,
        label=label,
        optional=optional,
        hint=hint,
        element=PlainTextInputElement(
            action_id=block,
            initial_value=clip(initial, max_length) if initial and max_length else initial or None,
            multiline=multiline or None,
            max_length=max_length,
            placeholder=placeholder,
        ),
    )


def _date_input(
    block: BlockId, label: str, *, initial: date | None, optional: bool = True
) -> InputBlock:
    return InputBlock(
        block_id=block,
        label=label,
        optional=optional,
        element=DatePickerElement(
            action_id=block,
            initial_date=initial.isoformat() if initial else None,
            placeholder="Pick a date",
        ),
    )


def _currency_input(selected: str, also: str | None = None) -> InputBlock:
    codes = list(CURRENCIES)
    for extra in (also, selected):
        if extra and extra not in codes:
            codes.insert(0, extra)
    options = [_option(code, code) for code in codes[:MAX_OPTIONS]]
    initial = next(o for o in options if o.value == selected)
    return InputBlock(
        block_id=BlockId.CURRENCY,
        label="Currency",
        element=StaticSelectElement(
            action_id=BlockId.CURRENCY, options=options, initial_option=initial
        ),
    )


def _stage_input(stages: list[StageOut], selected: str | None) -> InputBlock:
    options = [_option(f"{s.name} ({s.probability}%)", s.key) for s in stages[:MAX_OPTIONS]]
    initial = next((o for o, s in zip(options, stages, strict=False) if s.key == selected), None)
    return InputBlock(
        block_id=BlockId.STAGE,
        label="Stage",
        element=StaticSelectElement(
            action_id=BlockId.STAGE,
            options=options,
            initial_option=initial or (options[0] if options else None),
        ),
    )


def _owner_input(owner: str) -> InputBlock:
    return InputBlock(
        block_id=BlockId.OWNER,
        label="Owner",
        element=UserSelectElement(action_id=BlockId.OWNER, initial_user=owner),
    )


def _kind_input(initial: ActivityKind = ActivityKind.CALL) -> InputBlock:
    options = [_option(label, kind.value) for kind, label in KIND_LABELS.items()]
    return InputBlock(
        block_id=BlockId.KIND,
        label="Kind",
        element=StaticSelectElement(
            action_id=BlockId.KIND,
            options=options,
            initial_option=next(o for o in options if o.value == initial.value),
        ),
    )


def _deal_line(deal: DealOut) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=f"*{clip(deal_title(deal), 2900)}*"))


def _modal(
    callback: Callback,
    title: str,
    blocks: list[Block],
    meta: ModalMeta,
    *,
    submit: str | None = "Save",
    close: str = "Cancel",
) -> ViewJson:
    view = View(
        type="modal",
        callback_id=callback,
        title=clip(title, 24),
        submit=clip(submit, 24) if submit else None,
        close=clip(close, 24),
        blocks=blocks,
        private_metadata=meta.encode(),
    )
    return view.to_dict()


def _short_ref(deal: DealOut, verb: str) -> str:
    """`Edit #12`, falling back to the verb when the number would not fit a title."""
    title = f"{verb} #{deal.number}"
    return title if len(title) <= 24 else verb


def _deal_fields(
    stages: list[StageOut],
    *,
    name: str | None,
    amount: str | None,
    currency: str,
    deal_currency: str | None,
    stage: str | None,
    owner: str,
    close_date: date | None,
    next_step: str | None,
    next_due: date | None,
    source: str | None,
    sources: Sequence[str],
) -> list[Block]:
    return [
        _text_input(
            BlockId.NAME, "Deal name", initial=name, max_length=MAX_NAME, placeholder="Acme Corp"
        ),
        _text_input(
            BlockId.AMOUNT,
            "Amount",
            initial=amount,
            optional=True,
            max_length=100,
            placeholder="50k, 12,500, 12.5k EUR",
        ),
        _currency_input(currency, deal_currency),
        _stage_input(stages, stage),
        _owner_input(owner),
        _date_input(BlockId.CLOSE_DATE, "Expected close date", initial=close_date),
        _text_input(
            BlockId.NEXT_STEP,
            "Next step",
            initial=next_step,
            optional=True,
            max_length=MAX_STEP,
            placeholder="Send the proposal",
        ),
        _date_input(BlockId.NEXT_DUE, "Next step due", initial=next_due),
        source_input(sources, source),
    ]


# ---------------------------------------------------------------------- builders


def build_create_modal(
    stages: list[StageOut],
    *,
    sources: Sequence[str] = DEFAULT_SOURCES,
    user_id: str,
    currency: str,
    meta: ModalMeta,
    prefill: CreatePrefill | None = None,
) -> ViewJson:
    """The New deal modal; a message shortcut prefills it."""
    pre = prefill or CreatePrefill()
    blocks = _deal_fields(
        stages,
        name=pre.name,
        amount=pre.amount,
        currency=pre.currency or currency,
        deal_currency=currency,
        stage=None,
        owner=user_id,
        close_date=pre.close_date,
        next_step=None,
        next_due=None,
        source=None,
        sources=sources,
    )
    if pre.source is not None:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(text="The message's link is saved as a note on the deal.")
                ]
            )
        )
    return _modal(Callback.CREATE, "New deal", blocks, meta, submit="Create")


def build_edit_modal(
    deal: DealOut,
    stages: list[StageOut],
    *,
    meta: ModalMeta,
    sources: Sequence[str] = DEFAULT_SOURCES,
) -> ViewJson:
    """The Edit modal, filled with the deal as it is."""
    blocks = _deal_fields(
        stages,
        name=deal.name,
        amount=amount_text(deal.amount),
        currency=deal.currency,
        deal_currency=None,
        stage=deal.stage,
        owner=deal.owner_id,
        close_date=deal.close_date,
        next_step=deal.next_step_text,
        next_due=deal.next_step_due,
        source=deal.source,
        sources=sources,
    )
    return _modal(Callback.EDIT, _short_ref(deal, "Edit"), blocks, meta)


def build_lost_modal(
    deal: DealOut, *, meta: ModalMeta, reasons: Sequence[LostReason] | None = None
) -> ViewJson:
    """The Lost modal: a reason from the team's list, and what happened in a few words."""
    blocks: list[Block] = [
        _deal_line(deal),
        *lost_inputs(default_reasons() if reasons is None else reasons),
    ]
    return _modal(Callback.LOST, "Mark deal lost", blocks, meta, submit="Mark lost")


def build_delete_modal(deal: DealOut, *, meta: ModalMeta) -> ViewJson:
    """Delete asks first: the deal and its whole history go, and that can't be undone."""
    blocks: list[Block] = [
        _deal_line(deal),
        SectionBlock(
            text=MarkdownTextObject(
                text="Delete this deal and its whole history? This can't be undone; its "
                "number is never reused."
            )
        ),
    ]
    return _modal(Callback.DELETE, "Delete deal", blocks, meta, submit="Delete")


def build_log_modal(deal: DealOut, *, meta: ModalMeta) -> ViewJson:
    """The Log activity modal: kind and what happened."""
    blocks: list[Block] = [
        _deal_line(deal),
        _kind_input(),
        _text_input(
            BlockId.TEXT,
            "What happened?",
            multiline=True,
            max_length=MAX_TEXT,
            placeholder="Spoke with their CFO about the budget",
        ),
    ]
    return _modal(Callback.LOG, "Log activity", blocks, meta, submit="Log")


def build_snooze_modal(deal: DealOut, *, meta: ModalMeta, until: date) -> ViewJson:
    """The Snooze modal: a date, prefilled, until which reminders skip the deal."""
    blocks: list[Block] = [
        _deal_line(deal),
        InputBlock(
            block_id=BlockId.UNTIL,
            label="Snooze until",
            hint="Reminders and stale lists skip the deal until then.",
            element=DatePickerElement(action_id=BlockId.UNTIL, initial_date=until.isoformat()),
        ),
    ]
    return _modal(Callback.SNOOZE, _short_ref(deal, "Snooze"), blocks, meta, submit="Snooze")


def build_log_to_deal_modal(deals: list[DealOut], *, text: str, meta: ModalMeta) -> ViewJson:
    """Log a message on a deal: which deal (open ones, most recently active first) and kind."""
    if not deals:
        blocks: list[Block] = [
            SectionBlock(
                text=MarkdownTextObject(
                    text="There is no open deal to log this message to. "
                    "Create one with `/deal add` or the *Create deal* shortcut."
                )
            )
        ]
        return _modal(Callback.LOG_TO_DEAL_SUBMIT, "Log to a deal", blocks, meta, submit=None)
    options = [_option(f"#{d.number} {d.name}", str(d.number)) for d in deals[:MAX_OPTIONS]]
    blocks = [
        InputBlock(
            block_id=BlockId.DEAL,
            label="Deal",
            element=StaticSelectElement(
                action_id=BlockId.DEAL, options=options, placeholder="Choose a deal"
            ),
        ),
        _kind_input(ActivityKind.NOTE),
        _text_input(
            BlockId.TEXT,
            "What to log",
            initial=text.strip() or None,
            multiline=True,
            max_length=MAX_TEXT,
        ),
        ContextBlock(
            elements=[MarkdownTextObject(text="A link to the message is saved with the activity.")]
        ),
    ]
    return _modal(Callback.LOG_TO_DEAL_SUBMIT, "Log to a deal", blocks, meta, submit="Log")
