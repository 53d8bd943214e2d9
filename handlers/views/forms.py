"""Reading modal submissions into typed forms, and mapping errors onto the right input."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from pipeline.dates import check_planned
from pipeline.errors import AlreadyApplied, PipebotError
from pipeline.money import Money, parse_amount
from pipeline.planning import NONE
from pipeline.schemas import DealOut
from pipeline.service import NextStep
from views.ids import Block

# Domain errors name the field they are about; the modal shows them on that input.
FIELD_BLOCKS: dict[str, Block] = {
    "name": Block.NAME,
    "amount": Block.AMOUNT,
    "currency": Block.CURRENCY,
    "owner": Block.OWNER,
    "next step": Block.NEXT_STEP,
    "source": Block.SOURCE,
    "reason": Block.REASON,
    "lost reason": Block.LOST_DETAIL,
    "period": Block.PERIOD,
    "kind": Block.KIND,
    "text": Block.TEXT,
}
MENTION = re.compile(r"<@([A-Z0-9_-]+)(?:\|[^>]*)?>")


class FormErrors(Exception):
    """Errors to show in the modal, keyed by input block id."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


@contextmanager
def blame(block: Block) -> Iterator[None]:
    """Turn a domain error into a modal error on its field's input, else on `block`."""
    try:
        yield
    except (AlreadyApplied, FormErrors):
        raise
    except PipebotError as exc:
        target = FIELD_BLOCKS.get(exc.field or "", block)
        raise FormErrors({target: exc.message}) from exc


def state_values(view: Mapping[str, Any]) -> dict[str, str | None]:
    """Each input block's value as a string (selected option value, user, date or text)."""
    values: dict[str, str | None] = {}
    blocks = ((view.get("state") or {}).get("values")) or {}
    for block_id, actions in blocks.items():
        for entry in (actions or {}).values():
            values[block_id] = _entry_value(entry or {})
            break
    return values


def _entry_value(entry: Mapping[str, Any]) -> str | None:
    option = entry.get("selected_option")
    if isinstance(option, Mapping):
        return _clean(option.get("value"))
    for key in ("selected_user", "selected_date", "selected_conversation", "selected_channel"):
        if key in entry:
            return _clean(entry.get(key))
    return _clean(entry.get("value"))


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


class Fields(BaseModel):
    """A modal's raw values by block id; dates parsed from the datepickers' ISO strings."""

    model_config = ConfigDict(frozen=True)

    name: str | None = None
    amount: str | None = None
    currency: str | None = None
    stage: str | None = None
    owner: str | None = None
    close_date: date | None = None
    next_step: str | None = None
    next_due: date | None = None
    source: str | None = None
    reason: str | None = None
    lost_detail: str | None = None
    period: str | None = None
    kind: str | None = None
    text: str | None = None
    deal: int | None = None
    until: date | None = None


def read_fields(view: Mapping[str, Any]) -> Fields:
    """The submitted values; a malformed one becomes an error on its input."""
    try:
        return Fields.model_validate(state_values(view))
    except ValidationError as exc:
        errors = {str(e["loc"][0]): "That value can't be read." for e in exc.errors() if e["loc"]}
        raise FormErrors(errors or {Block.NAME: "The form could not be read."}) from exc


@dataclass(frozen=True)
class DealInput:
    """A New deal / Edit form, checked as far as it can be without the database."""

    name: str
    amount: Money | None
    stage: str | None
    owner: str | None
    close_date: date | None
    next_step: NextStep | None
    source: str | None


def _planned(
    errors: dict[str, str], block: Block, value: date | None, today: date, kept: date | None
) -> None:
    """A date picked for the future: today to five years ahead, unless left as it was."""
    if value is None or value == kept:
        return
    try:
        check_planned(value, today=today, what="date", example="next friday")
    except PipebotError as exc:
        errors[block] = exc.message


def read_deal(
    fields: Fields,
    *,
    default_currency: str,
    today: date,
    kept: DealOut | None = None,
) -> DealInput:
    """The deal form, with every input's problem at once; `kept` dates may stay as they are."""
    errors: dict[str, str] = {}
    _planned(errors, Block.CLOSE_DATE, fields.close_date, today, kept.close_date if kept else None)
    _planned(errors, Block.NEXT_DUE, fields.next_due, today, kept.next_step_due if kept else None)
    if not fields.name:
        errors[Block.NAME] = "Give the deal a name."
    amount: Money | None = None
    if fields.amount:
        try:
            amount = parse_amount(fields.amount, fields.currency or default_currency)
        except PipebotError as exc:
            errors[FIELD_BLOCKS.get(exc.field or "", Block.AMOUNT)] = exc.message
    step: NextStep | None = None
    if fields.next_step and fields.next_due is None:
        errors[Block.NEXT_DUE] = "Pick a due date for the next step."
    elif fields.next_due is not None and not fields.next_step:
        errors[Block.NEXT_STEP] = "Say what the next step is, or clear its due date."
    elif fields.next_step and fields.next_due is not None:
        step = NextStep(fields.next_step, fields.next_due)
    if errors:
        raise FormErrors(errors)
    return DealInput(
        name=fields.name or "",
        amount=amount,
        stage=fields.stage,
        owner=fields.owner,
        close_date=fields.close_date,
        next_step=step,
        # "No source" is an option of its own: a select can't be emptied once picked.
        source=None if fields.source == NONE else fields.source,
    )


def required(value: str | date | int | None, block: Block, message: str) -> None:
    """A required input left empty (Slack checks it too, but whitespace passes there)."""
    if value is None:
        raise FormErrors({block: message})


def view_key(view: Mapping[str, Any], suffix: str = "") -> str:
    """An idempotency key for one submission: the view id and its hash."""
    return f"view:{view.get('id')}:{view.get('hash')}{suffix}"


def plain_errors(client: WebClient, errors: Mapping[str, str]) -> dict[str, str]:
    """Modal errors are plain text: show `@name` instead of `<@U123>`."""
    names: dict[str, str] = {}

    def name_of(match: re.Match[str]) -> str:
        user_id = match.group(1)
        if user_id not in names:
            try:
                info = client.users_info(user=user_id)["user"]
                names[user_id] = str(
                    (info.get("profile") or {}).get("display_name") or info.get("name") or user_id
                )
            except SlackApiError:
                names[user_id] = user_id
        return f"@{names[user_id]}"

    return {block: MENTION.sub(name_of, text)[:2000] for block, text in errors.items()}
