"""Block ids Slack fills in when an app gives none; payloads then carry them."""

from __future__ import annotations

import copy
import hashlib
import json

from sandbox.slack_api.models import JSON

_TEXT = ("plain_text", "mrkdwn")


def with_block_ids(blocks: list[JSON]) -> list[JSON]:
    """A copy of the blocks with a block_id on each and an action_id on each element."""
    out = copy.deepcopy(blocks)
    for index, block in enumerate(out):
        if not isinstance(block, dict):
            continue
        if "block_id" not in block:
            block["block_id"] = _short_hash(f"{index}:{json.dumps(block, sort_keys=True)}")
        for position, element in enumerate(_elements_of(block)):
            if "action_id" not in element and element.get("type") not in ("image", *_TEXT):
                element["action_id"] = _short_hash(f"{block['block_id']}:{position}")
    return out


def normalized_view(view: JSON) -> JSON:
    """A copy of the view with its blocks' ids filled in."""
    out = copy.deepcopy(view)
    if isinstance(out.get("blocks"), list):
        out["blocks"] = with_block_ids(out["blocks"])
    return out


def _elements_of(block: JSON) -> list[JSON]:
    kind = block.get("type")
    if kind == "actions":
        return [e for e in block.get("elements") or [] if isinstance(e, dict)]
    key = {"section": "accessory", "input": "element"}.get(str(kind))
    element = block.get(key) if key else None
    return [element] if isinstance(element, dict) else []


def _short_hash(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()[:5]
