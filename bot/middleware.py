"""Bolt middleware: the tenant and its unit of work (`pipe`) in every request's context."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext

from pipeline.clock import Clock
from pipeline.service import TeamDefaults
from storage.db import Database
from storage.inbox import Ticket
from storage.unit_of_work import Pipe

# The context key of the request's inbox row (set by bot.inbox before this middleware runs).
TICKET = "inbox_ticket"


def tenant_of(context: BoltContext) -> str | None:
    """The tenant key: the org for org-wide installs, else the workspace."""
    if context.is_enterprise_install and context.enterprise_id:
        return context.enterprise_id
    return context.team_id


def pipe_middleware(db: Database, clock: Clock, defaults: TeamDefaults) -> Callable[..., Any]:
    """Bolt middleware that puts a `pipe` (and the tenant) into every request's context."""

    def middleware(context: BoltContext, next: Callable[[], Any]) -> Any:
        tenant = tenant_of(context)
        if tenant:
            context["tenant"] = tenant
            ticket = context.get(TICKET)
            context["pipe"] = Pipe(
                db=db,
                tenant=tenant,
                clock=clock,
                defaults=defaults,
                ticket=ticket if isinstance(ticket, Ticket) else None,
            )
        return next()

    return middleware
