"""What a user picks in Block Kit elements, as Slack writes it into actions and view state."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from sandbox.blockkit import block_elements
from sandbox.slack_api import View

JSON = dict[str, Any]

_SINGLE_OPTION = frozenset({"static_select", "radio_buttons", "overflow", "external_select"})
_MULTI_OPTION = frozenset({"multi_static_select", "checkboxes", "multi_external_select"})
_SELECTED_KEY = {
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
    "rich_text_input": "rich_text_value",
}
_INITIAL_KEY = {
    "users_select": "initial_user",
    "multi_users_select": "initial_users",
    "conversations_select": "initial_conversation",
    "multi_conversations_select": "initial_conversations",
    "channels_select": "initial_channel",
    "multi_channels_select": "initial_channels",
    "datepicker": "initial_date",
    "timepicker": "initial_time",
    "datetimepicker": "initial_date_time",
    "rich_text_input": "initial_value",
}


def action_ts_now() -> str:
    """An action_ts as Slack stamps it: the current time with microseconds."""
    return f"{time.time():.6f}"


def _find_option(element: Mapping[str, Any], value: object) -> JSON:
    if isinstance(value, Mapping):
        return dict(value)
    options: list[Any] = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    for option in options:
        if option.get("value") == value:
            return dict(option)
    raise LookupError(f"no option with value {value!r} in {element.get('action_id')!r}")


def selection(element: Mapping[str, Any], value: object) -> JSON:
    """The keys Slack uses for a chosen value of this element (`selected_option`, `value`...)."""
    kind = str(element.get("type"))
    if kind in _SINGLE_OPTION:
        return {"selected_option": None if value is None else _find_option(element, value)}
    if kind in _MULTI_OPTION:
        values = value if isinstance(value, list) else ([] if value is None else [value])
        return {"selected_options": [_find_option(element, v) for v in values]}
    if kind in _SELECTED_KEY:
        return {_SELECTED_KEY[kind]: value}
    return {"value": None if value is None else str(value)}


def _initial_selection(element: Mapping[str, Any]) -> JSON:
    kind = str(element.get("type"))
    if kind in _SINGLE_OPTION:
        return {"selected_option": element.get("initial_option")}
    if kind in _MULTI_OPTION:
        return {"selected_options": list(element.get("initial_options") or [])}
    if kind in _SELECTED_KEY:
        return {_SELECTED_KEY[kind]: element.get(_INITIAL_KEY[kind])}
    return {"value": element.get("initial_value")}


def action_for(
    element: Mapping[str, Any], block_id: str, *, value: object = None, action_ts: str | None = None
) -> JSON:
    """One entry of block_actions' `actions`, as Slack builds it for a click/selection."""
    kind = str(element.get("type"))
    action: JSON = {"type": kind, "action_id": element.get("action_id"), "block_id": block_id}
    if kind in ("button", "workflow_button"):
        action["text"] = element.get("text")
        if element.get("value") is not None:
            action["value"] = element.get("value")
        if element.get("style") is not None:
            action["style"] = element.get("style")
    else:
        action.update(selection(element, value))
    action["action_ts"] = action_ts or action_ts_now()
    return action


def view_state(
    blocks: Sequence[Mapping[str, Any]], values: Mapping[str, Any] | None = None
) -> JSON:
    """Build view.state.values: input blocks as the user left them, `values` keyed by action_id."""
    values = dict(values or {})
    state: JSON = {}
    for block_id, element in block_elements(blocks):
        action_id = str(element.get("action_id"))
        in_input = any(b.get("block_id") == block_id and b.get("type") == "input" for b in blocks)
        if action_id in values:
            chosen = selection(element, values.pop(action_id))
        elif in_input:
            chosen = _initial_selection(element)
        else:
            continue
        state.setdefault(block_id, {})[action_id] = {"type": element.get("type"), **chosen}
    if values:
        raise LookupError(f"no element with action_id {sorted(values)} in the view")
    return state


def find_element(
    blocks: Sequence[Mapping[str, Any]], action_id: str, in_block: str | None = None
) -> tuple[str, Mapping[str, Any]]:
    """(block_id, element) of the element with `action_id` (in block `in_block` when given)."""
    for block_id, element in block_elements(blocks):
        if element.get("action_id") == action_id and in_block in (None, block_id):
            return block_id, element
    raise LookupError(f"no element with action_id {action_id!r} (block {in_block!r})")


def top_view(views: Sequence[View]) -> View | None:
    """The top of a modal stack (None when empty)."""
    return views[-1] if views else None
