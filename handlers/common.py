"""What listeners share: the request at hand, what a card shows with a deal, the permission rule."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from pipeline.errors import PermissionDenied
from pipeline.schemas import DealOut, StageOut, TeamOut
from pipeline.service import PipelineService
from storage.unit_of_work import Pipe

logger = logging.getLogger("pipebot")


@dataclass
class Request:
    """One user action: who, where, and the tools to answer."""

    pipe: Pipe
    client: WebClient
    user_id: str
    channel_id: str | None
    respond: Any
    trigger_id: str | None = None

    def say_ephemeral(self, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """Answer only the acting user."""
        if self.respond is not None:
            self.respond(
                text=text, blocks=blocks, response_type="ephemeral", replace_original=False
            )
        elif self.channel_id:
            self.client.chat_postEphemeral(
                channel=self.channel_id, user=self.user_id, text=text, blocks=blocks
            )
        else:
            self.client.chat_postMessage(channel=self.user_id, text=text, blocks=blocks)


@dataclass(frozen=True)
class CardContext:
    """What a deal card shows besides the deal: the team's stages and its today."""

    stages: list[StageOut]
    today: date
    team: TeamOut


def card_context(p: PipelineService) -> CardContext:
    """The card context, read inside the request's transaction."""
    return CardContext(p.stages(), p.today(), p.team_out())


def is_admin(client: WebClient, p: PipelineService, user_id: str) -> bool:
    """Pipeline admins: the team's list, or else Slack workspace admins and owners."""
    if user_id in p.admins():
        return True
    try:
        info = client.users_info(user=user_id)["user"]
    except SlackApiError:
        logger.warning("users.info failed for %s", user_id, exc_info=True)
        return False
    return bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))


def require_admin(client: WebClient, p: PipelineService, user_id: str, doing: str) -> None:
    """Refuse unless the user is a pipeline admin."""
    if not is_admin(client, p, user_id):
        raise PermissionDenied(
            f"Only pipeline admins can {doing}. Ask a workspace admin, or an admin listed in "
            "`/deal config`."
        )


def require_owner_or_admin(
    client: WebClient, p: PipelineService, deal: DealOut, user_id: str, doing: str
) -> None:
    """Refuse unless the user owns the deal or is a pipeline admin."""
    if deal.owner_id != user_id and not is_admin(client, p, user_id):
        raise PermissionDenied(
            f"#{deal.number} belongs to <@{deal.owner_id}>: only they or a pipeline admin can "
            f"{doing}."
        )
