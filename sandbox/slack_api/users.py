"""auth.test and users.*: who the bot is, and the workspace's members."""

from __future__ import annotations

from sandbox.slack_api.args import required
from sandbox.slack_api.errors import ApiError
from sandbox.slack_api.models import APP_ID, BOT_ID, BOT_USER_ID, JSON
from sandbox.slack_api.store import SlackStore


class UsersApi(SlackStore):
    """auth.test and the users.* methods of the fake Web API."""

    def _auth_test(self, args: JSON, origin: str) -> JSON:
        out: JSON = {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_domain.title(),
            "user": self.users[BOT_USER_ID].name if BOT_USER_ID in self.users else "pipebot",
            "team_id": self.team_id,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "is_enterprise_install": False,
        }
        if self.enterprise_id:
            out["enterprise_id"] = self.enterprise_id
        return out

    def _users_info(self, args: JSON, origin: str) -> JSON:
        (user,) = required(args, "user")
        if user not in self.users:
            raise ApiError("user_not_found")
        return {"user": self.users[user].to_api(self.team_id, self.now())}

    def _users_list(self, args: JSON, origin: str) -> JSON:
        now = self.now()
        return {
            "members": [u.to_api(self.team_id, now) for u in self.users.values()],
            "response_metadata": {"next_cursor": ""},
        }
