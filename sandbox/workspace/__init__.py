"""A local Slack workspace in the browser: the fake Web API, the real bot and a page to drive both.

`build_demo` (wiring.py) wires one Starlette app that serves, on one port:

- `/` and `/static/...`: the workspace page (plain HTML/CSS/JS from sandbox/static);
- `/workspace/...`: the page's JSON endpoints (routes.py: state, and every user action);
- `/api/...`, `/upload/...`, `/response/...`: the project's FakeSlack (the Web API the bot calls);
- `/slack/events`, `/healthz`: the bot itself, in HTTP mode with real signature checks.

Every user action goes through SlackClientSimulator (actions.py), so the bot receives exactly
what Slack sends (signed, form-encoded); nothing in the bot knows it is talking to a sandbox.
page.py renders what the page draws; clock.py is the demo's movable clock.
"""

from sandbox.workspace.actions import ActionError, Logged, Workspace
from sandbox.workspace.clock import DemoClock
from sandbox.workspace.page import page_state
from sandbox.workspace.routes import workspace_routes
from sandbox.workspace.wiring import CHATTER, Demo, build_demo, has_deals, post_chatter

__all__ = [
    "CHATTER",
    "ActionError",
    "Demo",
    "DemoClock",
    "Logged",
    "Workspace",
    "build_demo",
    "has_deals",
    "page_state",
    "post_chatter",
    "workspace_routes",
]
