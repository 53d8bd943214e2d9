"""/deal admin subcommands."""

from __future__ import annotations

from handlers.commands.deals import Verb

VERBS: dict[str, Verb] = {}
