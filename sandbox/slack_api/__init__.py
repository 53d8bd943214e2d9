"""An in-memory Slack Web API that enforces Slack's rules, served over real HTTP.

`FakeSlack` (fake.py) is one workspace: its state and shared checks (store.py) plus one module
per Web API family: chat.py, conversations.py, users.py (and auth.test), views.py, files.py,
responses.py (slash command acks, response_url) and socket_mode.py (apps.connections.open and
the WebSocket). models.py holds the records, errors.py the error type, server.py the HTTP side.
"""

from sandbox.slack_api.errors import ApiError
from sandbox.slack_api.fake import FakeSlack
from sandbox.slack_api.models import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_CHANNEL,
    DEFAULT_TEAM_ID,
    DEFAULT_TOKEN,
    DEFAULT_USER,
    RESPONSE_URL_METHOD,
    UPLOAD_METHOD,
    ApiResult,
    Call,
    Channel,
    Edit,
    Ephemeral,
    FakeClock,
    Fault,
    Message,
    MessageVersion,
    RateLimit,
    UploadedFile,
    User,
    View,
    default_channels,
    default_users,
)
from sandbox.slack_api.server import FakeSlackServer, ThreadedServer, create_app, parse_body
from sandbox.slack_api.socket_mode import (
    DEFAULT_APP_TOKEN,
    Envelope,
    EnvelopeKind,
    SocketAck,
    SocketConnection,
    SocketModeHub,
)

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_APP_TOKEN",
    "DEFAULT_CHANNEL",
    "DEFAULT_TEAM_ID",
    "DEFAULT_TOKEN",
    "DEFAULT_USER",
    "RESPONSE_URL_METHOD",
    "UPLOAD_METHOD",
    "ApiError",
    "ApiResult",
    "Call",
    "Channel",
    "Edit",
    "Envelope",
    "EnvelopeKind",
    "Ephemeral",
    "FakeClock",
    "FakeSlack",
    "FakeSlackServer",
    "Fault",
    "Message",
    "MessageVersion",
    "RateLimit",
    "SocketAck",
    "SocketConnection",
    "SocketModeHub",
    "ThreadedServer",
    "UploadedFile",
    "User",
    "View",
    "create_app",
    "default_channels",
    "default_users",
    "parse_body",
]
