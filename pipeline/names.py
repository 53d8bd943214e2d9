"""When two deal names mean the same company: case, accents, punctuation and legal forms aside."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import TypeVar

# Legal forms that say nothing about which company it is ("Acme Inc" is "Acme SAS").
LEGAL_FORMS = frozenset(
    {
        "inc", "incorporated", "corp", "corporation", "co", "company", "llc", "llp", "lp",
        "ltd", "limited", "plc", "sa", "sas", "sasu", "sarl", "eurl", "gmbh", "ag", "kg",
        "bv", "nv", "oy", "ab", "as", "aps", "spa", "srl", "pty", "kk", "group", "the",
    }
)  # fmt: skip
_NOT_WORD = re.compile(r"[^\w]+")

T = TypeVar("T")


def comparable(name: str) -> str:
    """The name reduced to what identifies the company: `Acme, Inc.` and `ACME` give `acme`."""
    plain = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).casefold()
    words = [w for w in _NOT_WORD.sub(" ", plain.replace("&", " and ")).split() if w]
    kept = [w for w in words if w not in LEGAL_FORMS]
    return " ".join(kept or words)


def same_company(name: str, others: Iterable[tuple[str, T]]) -> list[T]:
    """The items whose name (first of each pair) is the same company as `name`."""
    key = comparable(name)
    return [item for other, item in others if comparable(other) == key]
