"""Block Kit validation as strict as Slack: slack_sdk's models plus the limits slack_sdk misses."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from slack_sdk.models.blocks import Block, BlockElement
from slack_sdk.models.views import View

Surface = Literal["message", "modal", "home"]

MAX_BLOCKS: dict[Surface, int] = {"message": 50, "modal": 100, "home": 100}
MAX_ID = 255
MAX_PRIVATE_METADATA = 3000
MAX_MODAL_TITLE = 24

TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
SELECTS_WITH_OPTIONS = frozenset({"static_select", "multi_static_select"})
VIEW_KEYS: dict[str, frozenset[str]] = {
    "modal": frozenset(
        {
            "type",
            "title",
            "submit",
            "close",
            "blocks",
            "private_metadata",
            "callback_id",
            "clear_on_close",
            "notify_on_close",
            "external_id",
            "submit_disabled",
        }
    ),
    "home": frozenset({"type", "blocks", "private_metadata", "callback_id", "external_id"}),
}
OPTION_KEYS = frozenset({"text", "value", "description", "url"})
OPTION_GROUP_KEYS = frozenset({"label", "options"})
CONFIRM_KEYS = frozenset({"title", "text", "confirm", "deny", "style"})

# slack_sdk logs a warning per unknown key; we report those ourselves, so the log is only noise.
for _name in ("slack_sdk.models", "slack_sdk.models.blocks", "slack_sdk.models.basic_objects"):
    logging.getLogger(_name).setLevel(logging.ERROR)


class _Checker:
    """Collects errors for one surface, walking the raw JSON the bot sent."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def err(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    # -- primitives -------------------------------------------------------------------

    def string(self, value: object, path: str, *, max_len: int, required: bool = False) -> None:
        if value is None:
            if required:
                self.err(path, "is required")
            return
        if not isinstance(value, str):
            self.err(path, "must be a string")
        elif len(value) > max_len:
            self.err(path, f"must be at most {max_len} characters (got {len(value)})")

    def text(
        self,
        value: object,
        path: str,
        *,
        max_len: int,
        plain_only: bool = False,
        required: bool = False,
    ) -> None:
        if value is None:
            if required:
                self.err(path, "is required")
            return
        if not isinstance(value, Mapping):
            self.err(path, "must be a text object, not a bare string")
            return
        kind = value.get("type")
        if kind not in TEXT_TYPES:
            self.err(path, f"unknown text object type {kind!r}")
            return
        if plain_only and kind != "plain_text":
            self.err(path, "must be plain_text")
        known = {"type", "text", "emoji"} | ({"verbatim"} if kind == "mrkdwn" else set())
        self.unknown_keys(value, known, path)
        body = value.get("text")
        if not isinstance(body, str):
            self.err(f"{path}.text", "must be a string")
        elif body == "":
            self.err(f"{path}.text", f"{kind} text must not be empty")
        elif len(body) > max_len:
            self.err(f"{path}.text", f"must be at most {max_len} characters (got {len(body)})")

    def unknown_keys(
        self, obj: Mapping[str, Any], known: set[str] | frozenset[str], path: str
    ) -> None:
        extra = sorted(set(obj) - set(known))
        if extra:
            self.err(path, f"unknown keys {extra}")

    def sdk_known(self, obj: Mapping[str, Any], path: str, parsed: object) -> None:
        attributes = getattr(parsed, "attributes", None)
        if isinstance(attributes, (set, frozenset)) and attributes:
            self.unknown_keys(obj, set(attributes) | {"type"}, path)

    # -- composition objects ----------------------------------------------------------

    def confirm(self, value: object, path: str) -> None:
        if value is None:
            return
        if not isinstance(value, Mapping):
            self.err(path, "must be an object")
            return
        self.unknown_keys(value, CONFIRM_KEYS, path)
        self.text(value.get("title"), f"{path}.title", max_len=100, plain_only=True, required=True)
        self.text(value.get("text"), f"{path}.text", max_len=300, required=True)
        self.text(
            value.get("confirm"), f"{path}.confirm", max_len=30, plain_only=True, required=True
        )
        self.text(value.get("deny"), f"{path}.deny", max_len=30, plain_only=True, required=True)

    def option(self, value: object, path: str, *, plain_only: bool) -> None:
        if not isinstance(value, Mapping):
            self.err(path, "must be an option object")
            return
        self.unknown_keys(value, OPTION_KEYS, path)
        self.text(
            value.get("text"), f"{path}.text", max_len=75, plain_only=plain_only, required=True
        )
        self.string(value.get("value"), f"{path}.value", max_len=150, required=True)
        self.text(value.get("description"), f"{path}.description", max_len=75)
        self.string(value.get("url"), f"{path}.url", max_len=3000)

    def options(
        self,
        value: object,
        path: str,
        *,
        min_n: int,
        max_n: int,
        plain_only: bool = True,
    ) -> None:
        if not isinstance(value, list):
            self.err(path, "must be a list")
            return
        if not min_n <= len(value) <= max_n:
            self.err(path, f"must have between {min_n} and {max_n} options (got {len(value)})")
        for i, opt in enumerate(value):
            self.option(opt, f"{path}[{i}]", plain_only=plain_only)

    # -- elements ---------------------------------------------------------------------

    def element(self, value: object, path: str) -> str | None:
        """Check one block element and return its action_id (if any)."""
        if not isinstance(value, Mapping):
            self.err(path, "must be an object")
            return None
        kind = value.get("type")
        try:
            parsed = BlockElement.parse(dict(value))
        except Exception as exc:  # slack_sdk raises TypeError/KeyError on malformed input
            self.err(path, f"cannot be parsed: {exc}")
            return None
        if parsed is None:
            self.err(path, f"unknown element type {kind!r}")
            return None
        self.sdk_known(value, path, parsed)
        action_id = value.get("action_id")
        self.string(action_id, f"{path}.action_id", max_len=MAX_ID)
        self.text(value.get("placeholder"), f"{path}.placeholder", max_len=150, plain_only=True)
        self.confirm(value.get("confirm"), f"{path}.confirm")
        if kind == "button":
            self.text(value.get("text"), f"{path}.text", max_len=75, plain_only=True, required=True)
            self.string(value.get("value"), f"{path}.value", max_len=2000)
            self.string(value.get("url"), f"{path}.url", max_len=3000)
            style = value.get("style")
            if style is not None and style not in ("primary", "danger"):
                self.err(f"{path}.style", "must be 'primary' or 'danger'")
        elif kind in SELECTS_WITH_OPTIONS:
            self._select_options(value, path)
        elif kind == "overflow":
            self.options(value.get("options"), f"{path}.options", min_n=1, max_n=5)
        elif kind in ("checkboxes", "radio_buttons"):
            self.options(
                value.get("options"), f"{path}.options", min_n=1, max_n=10, plain_only=False
            )
        return action_id if isinstance(action_id, str) else None

    def _select_options(self, value: Mapping[str, Any], path: str) -> None:
        options = value.get("options")
        groups = value.get("option_groups")
        if (options is None) == (groups is None):
            self.err(path, "must have exactly one of options or option_groups")
        if options is not None:
            self.options(options, f"{path}.options", min_n=1, max_n=100)
        if groups is None:
            return
        if not isinstance(groups, list) or not 1 <= len(groups) <= 100:
            self.err(f"{path}.option_groups", "must be a list of 1 to 100 groups")
            return
        for i, group in enumerate(groups):
            gpath = f"{path}.option_groups[{i}]"
            if not isinstance(group, Mapping):
                self.err(gpath, "must be an object")
                continue
            self.unknown_keys(group, OPTION_GROUP_KEYS, gpath)
            self.text(
                group.get("label"), f"{gpath}.label", max_len=75, plain_only=True, required=True
            )
            self.options(group.get("options"), f"{gpath}.options", min_n=1, max_n=100)

    # -- blocks -----------------------------------------------------------------------

    def blocks(self, blocks: object, surface: Surface, path: str = "blocks") -> None:
        if not isinstance(blocks, list):
            self.err(path, "must be a list of blocks")
            return
        limit = MAX_BLOCKS[surface]
        if len(blocks) > limit:
            self.err(path, f"at most {limit} blocks per {surface} (got {len(blocks)})")
        seen_block_ids: set[str] = set()
        for i, block in enumerate(blocks):
            bpath = f"{path}[{i}]"
            if not isinstance(block, Mapping):
                self.err(bpath, "must be an object")
                continue
            block_id = block.get("block_id")
            if isinstance(block_id, str):
                if block_id in seen_block_ids:
                    self.err(f"{bpath}.block_id", f"duplicate block_id {block_id!r}")
                seen_block_ids.add(block_id)
            self.block(block, bpath)

    def block(self, block: Mapping[str, Any], path: str) -> None:
        kind = block.get("type")
        try:
            parsed = Block.parse(dict(block))
        except Exception as exc:  # slack_sdk raises TypeError/KeyError on malformed input
            self.err(path, f"cannot be parsed: {exc}")
            return
        if parsed is None:
            self.err(path, f"unknown block type {kind!r}")
            return
        try:
            parsed.to_dict()  # to_dict() runs every validator, recursively
        except Exception as exc:  # SlackObjectFormationError, or a crash on malformed input
            self.err(path, f"slack_sdk: {exc}")
        self.sdk_known(block, path, parsed)
        self.string(block.get("block_id"), f"{path}.block_id", max_len=MAX_ID)
        if kind == "header":
            self.text(
                block.get("text"), f"{path}.text", max_len=150, plain_only=True, required=True
            )
        elif kind == "section":
            self._section(block, path)
        elif kind == "actions":
            self._element_list(block.get("elements"), f"{path}.elements", max_n=25, context=False)
        elif kind == "context":
            self._element_list(block.get("elements"), f"{path}.elements", max_n=10, context=True)
        elif kind == "input":
            self.text(
                block.get("label"), f"{path}.label", max_len=2000, plain_only=True, required=True
            )
            self.text(block.get("hint"), f"{path}.hint", max_len=2000, plain_only=True)
            if block.get("element") is None:
                self.err(f"{path}.element", "is required")
            else:
                self.element(block.get("element"), f"{path}.element")
        elif kind == "image":
            self.text(block.get("title"), f"{path}.title", max_len=2000, plain_only=True)
            self.string(block.get("alt_text"), f"{path}.alt_text", max_len=2000, required=True)
        elif kind == "markdown":
            self.string(block.get("text"), f"{path}.text", max_len=12000, required=True)

    def _section(self, block: Mapping[str, Any], path: str) -> None:
        text = block.get("text")
        fields = block.get("fields")
        if text is None and not fields:
            self.err(path, "section needs text or fields")
        self.text(text, f"{path}.text", max_len=3000)
        if fields is not None:
            if not isinstance(fields, list) or not 1 <= len(fields) <= 10:
                self.err(f"{path}.fields", "must be a list of 1 to 10 text objects")
            else:
                for j, field in enumerate(fields):
                    self.text(field, f"{path}.fields[{j}]", max_len=2000)
        if block.get("accessory") is not None:
            self.element(block.get("accessory"), f"{path}.accessory")

    def _element_list(self, elements: object, path: str, *, max_n: int, context: bool) -> None:
        if not isinstance(elements, list) or not 1 <= len(elements) <= max_n:
            got = len(elements) if isinstance(elements, list) else type(elements).__name__
            self.err(path, f"must be a list of 1 to {max_n} elements (got {got})")
            if not isinstance(elements, list):
                return
        seen: set[str] = set()
        for j, element in enumerate(elements):
            epath = f"{path}[{j}]"
            if context and isinstance(element, Mapping) and element.get("type") in TEXT_TYPES:
                self.text(element, epath, max_len=3000)
                continue
            if context and isinstance(element, Mapping) and element.get("type") != "image":
                self.err(epath, "context elements must be text objects or images")
                continue
            action_id = self.element(element, epath)
            if action_id is not None:
                if action_id in seen:
                    self.err(f"{epath}.action_id", f"duplicate action_id {action_id!r} in block")
                seen.add(action_id)


def validate_blocks(blocks: object, surface: Surface = "message") -> list[str]:
    """Return every reason Slack would reject these blocks (empty list when valid)."""
    checker = _Checker()
    checker.blocks(blocks, surface)
    return checker.errors


def validate_view(view: object) -> list[str]:
    """Return every reason Slack would reject this modal or App Home view."""
    checker = _Checker()
    if not isinstance(view, Mapping):
        return ["view: must be an object"]
    kind = view.get("type")
    if kind not in VIEW_KEYS:
        return [f"view.type: must be 'modal' or 'home' (got {kind!r})"]
    surface: Surface = "modal" if kind == "modal" else "home"
    try:
        View(**dict(view)).validate_json()
    except Exception as exc:  # SlackObjectFormationError, or a crash on malformed input
        checker.err("view", f"slack_sdk: {exc}")
    checker.unknown_keys(view, VIEW_KEYS[kind], "view")
    if kind == "modal":
        checker.text(
            view.get("title"), "view.title", max_len=MAX_MODAL_TITLE, plain_only=True, required=True
        )
        checker.text(view.get("submit"), "view.submit", max_len=MAX_MODAL_TITLE, plain_only=True)
        checker.text(view.get("close"), "view.close", max_len=MAX_MODAL_TITLE, plain_only=True)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, Mapping) and b.get("type") == "input" for b in blocks
        )
        if has_input and view.get("submit") is None:
            checker.err("view.submit", "a modal with input blocks needs a submit button")
    checker.string(
        view.get("private_metadata"), "view.private_metadata", max_len=MAX_PRIVATE_METADATA
    )
    checker.string(view.get("callback_id"), "view.callback_id", max_len=MAX_ID)
    checker.string(view.get("external_id"), "view.external_id", max_len=MAX_ID)
    if "blocks" not in view:
        checker.err("view.blocks", "is required")
    else:
        checker.blocks(view.get("blocks"), surface, "view.blocks")
    return checker.errors


def block_elements(blocks: Sequence[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    """List (block_id, element) for every interactive element in these blocks."""
    found: list[tuple[str, Mapping[str, Any]]] = []
    for block in blocks:
        block_id = str(block.get("block_id", ""))
        kind = block.get("type")
        if kind == "actions":
            found.extend((block_id, e) for e in block.get("elements", []) if isinstance(e, Mapping))
        elif kind == "section" and isinstance(block.get("accessory"), Mapping):
            found.append((block_id, block["accessory"]))
        elif kind == "input" and isinstance(block.get("element"), Mapping):
            found.append((block_id, block["element"]))
    return found
