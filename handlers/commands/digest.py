"""`/deal digest preview|send`: the weekly digest on demand."""

from __future__ import annotations

from handlers.commands.deals import Verb
from handlers.commands.grammar import first_word
from handlers.common import Request, require_admin
from pipeline.dates import iso_week
from pipeline.digest import collect_digest
from pipeline.errors import InvalidInput, Refused
from scheduler.jobs import digest_posts
from scheduler.sender import Outcome, Sender
from views.digest import build_digest

MAX_PREVIEW_BLOCKS = 48


def digest(req: Request, text: str) -> None:
    """Preview the digest privately, or (admins) post it to the team channel now."""
    action, _ = first_word(text)
    if action in ("", "preview"):
        with req.pipe.reports() as r:
            data = collect_digest(r.source, now=r.now)
        message = build_digest(data)
        blocks = message.blocks[:MAX_PREVIEW_BLOCKS]
        req.say_ephemeral(message.text, blocks)
        return
    if action != "send":
        raise InvalidInput(f"`digest {action}` is not a digest command.", example="digest preview")
    now = req.pipe.clock()
    with req.pipe.reports() as r:
        require_admin(req.client, r.service, req.user_id, "post the digest")
        if not r.team.channel_id:
            raise Refused(
                "There is no team channel to post the digest to.",
                example="config channel #sales",
            )
        period = f"{iso_week(r.today)}+{int(now.timestamp())}"
    sender = Sender(req.pipe.db, req.client, worker=f"command:{req.user_id}", clock=req.pipe.clock)
    outcomes = [sender.deliver(post) for post in digest_posts(req.pipe, period=period, now=now)]
    if Outcome.FAILED in outcomes:
        req.say_ephemeral(":warning: Slack refused the digest; check `/deal config channel`.")
    elif Outcome.RETRY in outcomes:
        req.say_ephemeral(":hourglass: Slack did not take the digest yet; pipebot retries it.")
    else:
        req.say_ephemeral(":newspaper: The weekly digest is posted.")


VERBS: dict[str, Verb] = {"digest": digest}
