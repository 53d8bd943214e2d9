"""One length limit per text field, said one way wherever text comes in.

The `/deal` grammar, the modals (their `max_length`), the service and import all read these,
so a name that fits one door fits every door, and a name too long gets the same sentence.
"""

from __future__ import annotations

from enum import StrEnum

from pipeline.errors import InvalidInput


class TextField(StrEnum):
    """A text a person types, named as messages name it."""

    NAME = "deal name"
    NEXT_STEP = "next step"
    ACTIVITY = "activity text"
    LOST_REASON = "lost reason"
    SOURCE = "source"


LIMITS: dict[TextField, int] = {
    TextField.NAME: 200,
    TextField.NEXT_STEP: 500,
    TextField.ACTIVITY: 3000,
    TextField.LOST_REASON: 500,
    TextField.SOURCE: 200,
}


def too_long(field: TextField, length: int) -> str:
    """The one sentence for a text over its field's limit."""
    return f"The {field} is {length:,} characters long; the limit is {LIMITS[field]:,}."


def check_text(value: str, field: TextField, *, example: str) -> str:
    """The text without its outer spaces; refused when empty or over the field's limit."""
    text = value.strip()
    if not text:
        raise InvalidInput(f"The {field} is empty.", example=example, field=field.value)
    if len(text) > LIMITS[field]:
        raise InvalidInput(too_long(field, len(text)), example=example, field=field.value)
    return text
