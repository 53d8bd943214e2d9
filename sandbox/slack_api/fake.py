"""FakeSlack: one in-memory workspace answering every Web API family the bot uses."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Unpack

from sandbox.slack_api.args import opt_str
from sandbox.slack_api.chat import ChatApi
from sandbox.slack_api.conversations import ConversationsApi
from sandbox.slack_api.errors import ApiError, fault_result
from sandbox.slack_api.files import FilesApi
from sandbox.slack_api.models import (
    DEFAULT_CHANNEL,
    JSON,
    RESPONSE_URL_METHOD,
    UPLOAD_METHOD,
    ApiResult,
    Call,
    Channel,
    Ephemeral,
    Fault,
    Message,
    UploadedFile,
    User,
    View,
)
from sandbox.slack_api.responses import ResponsesApi
from sandbox.slack_api.socket_mode import (
    APPS_CONNECTIONS_OPEN,
    EnvelopeKind,
    SocketAck,
    SocketModeHub,
)
from sandbox.slack_api.store import StoreOptions
from sandbox.slack_api.users import UsersApi
from sandbox.slack_api.views import ViewsApi

Handler = Callable[[JSON, str], JSON]


class FakeSlack(ChatApi, ConversationsApi, UsersApi, ViewsApi, FilesApi, ResponsesApi):
    """Thread-safe in-memory Slack workspace answering Web API calls like Slack would.

    Built from keyword options (store.StoreOptions: team, token, clock, rate limit, members and
    channels); each API family's methods come from its mixin, the state from SlackStore.
    """

    def __init__(self, **options: Unpack[StoreOptions]) -> None:
        super().__init__(**options)
        self._in_flight = 0
        self._methods: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.info": self._conversations_info,
            "conversations.open": self._conversations_open,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }
        self.socket_mode: SocketModeHub = SocketModeHub(self, self._changed)
        # Methods called with the app-level token (xapp-…); their handler checks the token.
        self._app_methods: dict[str, Callable[[str | None, str], JSON]] = {
            APPS_CONNECTIONS_OPEN: self.socket_mode.connections_open,
        }

    # ------------------------------------------------------------------ setup & test hooks

    def reset(self) -> None:
        """Forget all activity (messages, views, files, calls, faults...); keep users/channels."""
        with self._lock:
            self._init_activity()
            self.socket_mode.reset()

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        tz: str = "UTC",
    ) -> User:
        """Add (or replace) a workspace member."""
        user = User(user_id, name, real_name or name.title(), is_admin, is_owner, tz)
        with self._lock:
            self.users[user_id] = user
        return user

    def add_channel(self, channel_id: str, name: str, *, is_private: bool = False) -> Channel:
        """Add (or replace) a channel."""
        channel = Channel(channel_id, name, is_private=is_private)
        with self._lock:
            self.channels[channel_id] = channel
        return channel

    def post_user_message(
        self, channel: str, user_id: str, text: str, *, thread_ts: str | None = None
    ) -> Message:
        """Simulate a human posting a message (e.g. to run a message shortcut on it)."""
        with self._lock:
            channel_id = self._resolve_channel(channel)
            msg = Message(channel_id, self._next_ts(), text, user=user_id, thread_ts=thread_ts)
            self._messages.setdefault(channel_id, []).append(msg)
            return copy.deepcopy(msg)

    def fail_next(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int | None = None,
        retry_after: int | None = None,
        times: int = 1,
        side_effect: bool = False,
        drop: bool = False,
    ) -> None:
        """Make the next `times` calls of `method` (or "response_url"/"file_upload") fail.

        side_effect=True applies the call before failing: a 5xx may come after Slack posted.
        drop=True closes the connection without an answer instead (with side_effect=True:
        the call was applied and its answer lost on the way, the outcome unknown to the caller).
        """
        with self._lock:
            fault = Fault(error, status, retry_after, times, side_effect, drop)
            self._faults.setdefault(method, []).append(fault)

    def delay(self, method: str, seconds: float) -> None:
        """Answer `method` only after `seconds` of real time (0 removes the delay)."""
        with self._lock:
            if seconds > 0:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Count a call as in flight while the server answers it (its delay included)."""
        with self._lock:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._changed:
                self._in_flight -= 1
                self._changed.notify_all()

    def wait_answered(self, timeout: float = 30.0) -> None:
        """Block until no call is being answered (a delayed one lands even if its caller died)."""
        self.wait_until(lambda: self._in_flight == 0, timeout)

    def rate_limit_one_in(self, method: str, every: int) -> None:
        """Answer 429 (Retry-After: 1) to the first attempt of one `method` call in `every`.

        Which calls is a hash of the call's channel, thread, text and metadata, so the choice
        is deterministic and a retry of the same call goes through; the failed attempt applies
        nothing, as Slack's 429 does. `every` 0 turns it off.
        """
        with self._lock:
            if every > 0:
                self._sampled_429[method] = every
            else:
                self._sampled_429.pop(method, None)

    def delays(self) -> dict[str, float]:
        """Every configured delay, by method."""
        with self._lock:
            return dict(self._delays)

    def delay_for(self, method: str) -> float:
        """The configured delay for a method (0.0 when none)."""
        with self._lock:
            return self._delays.get(method, 0.0)

    # ------------------------------------------------------------------ queries for tests

    def messages(self, channel: str = DEFAULT_CHANNEL) -> list[Message]:
        """Top-level messages of a channel as they read now (deleted ones left out)."""
        with self._lock:
            channel_id = self._channel_for_query(channel)
            return [
                copy.deepcopy(m)
                for m in self._messages.get(channel_id, [])
                if not m.deleted and (not m.is_reply or m.reply_broadcast)
            ]

    def thread(self, channel: str, ts: str) -> list[Message]:
        """Replies in the thread under `ts` (the parent itself left out)."""
        with self._lock:
            channel_id = self._channel_for_query(channel)
            return [
                copy.deepcopy(m)
                for m in self._messages.get(channel_id, [])
                if not m.deleted and m.is_reply and m.thread_ts == ts
            ]

    def message(self, channel: str, ts: str) -> Message | None:
        """One message (top-level or reply) by ts, or None."""
        with self._lock:
            found = self._find_message(self._channel_for_query(channel), ts)
            return copy.deepcopy(found) if found is not None else None

    def ephemerals(self, user: str | None = None) -> list[Ephemeral]:
        """Ephemeral messages still shown, optionally only those for one user."""
        with self._lock:
            return [
                copy.deepcopy(e)
                for e in self._ephemerals
                if not e.deleted and (user is None or e.user == user)
            ]

    def ephemeral(self, ts: str) -> Ephemeral | None:
        """One ephemeral message by its message_ts, or None."""
        with self._lock:
            found = self._find_ephemeral(ts)
            return copy.deepcopy(found) if found is not None else None

    def views_for(self, user: str) -> list[View]:
        """Every modal ever opened for a user (open or not), oldest first."""
        with self._lock:
            return [
                copy.deepcopy(v)
                for v in self._views.values()
                if v.user == user and v.type == "modal"
            ]

    def open_views(self, user: str) -> list[View]:
        """The user's modal stack, bottom first (empty when no modal is open)."""
        with self._lock:
            return [copy.deepcopy(self._views[v]) for v in self._stacks.get(user, [])]

    def view(self, view_id: str) -> View | None:
        """One view by id, or None."""
        with self._lock:
            found = self._views.get(view_id)
            return copy.deepcopy(found) if found is not None else None

    def home(self, user: str) -> View | None:
        """The App Home view published for a user, or None."""
        with self._lock:
            view_id = self._homes.get(user)
            return copy.deepcopy(self._views[view_id]) if view_id else None

    @property
    def files(self) -> list[UploadedFile]:
        """Every file upload started, in order."""
        with self._lock:
            return [copy.deepcopy(f) for f in self._files.values()]

    def message_counts(self, channel: str = DEFAULT_CHANNEL) -> tuple[int, int]:
        """(top-level messages, thread replies) of a channel, not deleted; cheap, no copies."""
        with self._lock:
            kept = [m for m in self._messages.get(channel, []) if not m.deleted]
            replies = sum(1 for m in kept if m.is_reply)
            return len(kept) - replies, replies

    def call_log(self) -> list[Call]:
        """Every recorded call so far, oldest first (a snapshot)."""
        with self._lock:
            return list(self.calls)

    def calls_to(self, method: str) -> list[Call]:
        """Recorded calls of one method."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def socket_send(self, kind: EnvelopeKind, payload: JSON, **options: Any) -> str:
        """Push a Socket Mode envelope to the connected app; returns its envelope_id."""
        return self.socket_mode.send(kind, payload, **options)

    @property
    def socket_acks(self) -> list[SocketAck]:
        """The Socket Mode acks received, in order (with their response payloads)."""
        return self.socket_mode.acks

    # ------------------------------------------------------------------ simulated client side

    def set_view_state(self, view_id: str, values: JSON) -> None:
        """Set what the user has typed/selected in a view (state.values)."""
        with self._lock:
            self._views[view_id].state_values = copy.deepcopy(values)

    def view_payload(self, view_id: str) -> JSON:
        """The view as Slack puts it in interaction payloads."""
        with self._lock:
            return self._views[view_id].to_api(self.team_id)

    def message_payload(self, channel: str, ts: str) -> JSON:
        """The message as Slack puts it in interaction payloads."""
        with self._lock:
            found = self._find_message(self._channel_for_query(channel), ts)
            if found is None:
                raise KeyError(ts)
            return found.to_api(self.team_id)

    # ------------------------------------------------------------------ transport entry points

    def api(
        self,
        method: str,
        params: Mapping[str, Any],
        *,
        token: str | None = None,
        origin: str | None = None,
    ) -> ApiResult:
        """Answer one Web API call; `origin` is the app's root URL as the caller reached it."""
        with self._lock:
            args = dict(params)
            body_token = args.pop("token", None)
            token = token or opt_str(body_token)
            if method in self._app_methods:
                app_handler = self._app_methods[method]
                result = self._with_faults(
                    method, lambda: app_handler(token, origin or self.public_url)
                )
            elif method not in self._methods:
                result = ApiResult(
                    200, {"ok": False, "error": "unknown_method", "req_method": method}
                )
            elif token is None:
                result = ApiResult(200, {"ok": False, "error": "not_authed"})
            elif token != self.token:
                result = ApiResult(200, {"ok": False, "error": "invalid_auth"})
            else:
                handler = self._methods[method]
                if self._sampled_out(method, args):
                    result = fault_result(Fault(None, 429, 1, 1, False))
                else:
                    result = self._with_faults(
                        method, lambda: handler(args, origin or self.public_url)
                    )
            self._record(method, args, result)
            return result

    def upload(self, file_id: str, data: bytes) -> ApiResult:
        """Receive the bytes POSTed to an upload_url (step 2 of files_upload_v2)."""
        with self._lock:
            result = self._with_faults(UPLOAD_METHOD, lambda: self._receive_upload(file_id, data))
            self._record(UPLOAD_METHOD, {"file_id": file_id, "bytes": len(data)}, result)
            return result

    def respond(self, response_id: str, payload: Mapping[str, Any]) -> ApiResult:
        """Receive a POST to a response_url."""
        with self._lock:
            args = dict(payload)
            result = self._with_faults(
                RESPONSE_URL_METHOD, lambda: self._use_response_url(response_id, args)
            )
            self._record(RESPONSE_URL_METHOD, {"id": response_id, **args}, result)
            return result

    def _with_faults(self, method: str, run: Callable[[], JSON]) -> ApiResult:
        fault = self._take_fault(method)
        if fault is not None and not fault.side_effect:
            return fault_result(fault)
        try:
            result = ApiResult(200, {"ok": True, **run()})
        except ApiError as exc:
            body: JSON = {"ok": False, "error": exc.error, **exc.extra}
            result = ApiResult(exc.status, body, exc.headers)
        return fault_result(fault) if fault is not None else result

    def _sampled_out(self, method: str, args: JSON) -> bool:
        every = self._sampled_429.get(method, 0)
        if every <= 0:
            return False
        ident = repr(tuple(args.get(k) for k in ("channel", "thread_ts", "text", "metadata")))
        digest = int.from_bytes(hashlib.sha256(ident.encode()).digest()[:8], "big")
        if digest % every != 0 or ident in self._sampled_seen:
            return False
        self._sampled_seen.add(ident)
        self.injected_429 += 1
        return True

    def _take_fault(self, method: str) -> Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    def wait_until(self, predicate: Callable[[], object], timeout: float = 5.0) -> None:
        """Block until `predicate()` is truthy (re-checked per answered call), else TimeoutError."""
        # Bolt acks first and finishes the listener in a thread: tests wait for the side effect.
        with self._changed:
            if not self._changed.wait_for(predicate, timeout):
                raise TimeoutError(f"condition not met within {timeout} s")

    def _record(self, method: str, params: JSON, result: ApiResult) -> None:
        self.calls.append(
            Call(
                method, copy.deepcopy(params), copy.deepcopy(result.body), result.status, self.now()
            )
        )
        self._changed.notify_all()
