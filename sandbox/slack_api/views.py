"""views.*: modals (open, push, update, the stack) and the App Home (publish), with triggers."""

from __future__ import annotations

import uuid

from sandbox.blockkit import validate_view
from sandbox.slack_api.args import ack_json, json_arg, opt_str, required
from sandbox.slack_api.block_ids import normalized_view
from sandbox.slack_api.errors import ApiError
from sandbox.slack_api.models import (
    DEFAULT_USER,
    JSON,
    MAX_MODAL_STACK,
    TRIGGER_TTL,
    Trigger,
    View,
)
from sandbox.slack_api.store import SlackStore


class ViewsApi(SlackStore):
    """The views.* methods, trigger_ids, and what Slack does with a view_submission ack."""

    def new_trigger_id(self, user_id: str = DEFAULT_USER) -> str:
        """Issue a trigger_id as a user action would: usable once, within 3 s of the fake clock."""
        with self._lock:
            trigger_id = f"{int(self.now())}.{next(self._ids)}.{uuid.uuid4().hex[:16]}"
            self._triggers[trigger_id] = Trigger(user_id, self.now())
            return trigger_id

    def close_view(self, user: str, view_id: str | None = None) -> None:
        """Close the top modal (or the whole stack above and including `view_id`)."""
        with self._lock:
            stack = self._stacks.get(user, [])
            if not stack or (view_id is not None and view_id not in stack):
                return
            index = stack.index(view_id) if view_id is not None else len(stack) - 1
            for closed in stack[index:]:
                self._views[closed].open = False
            del stack[index:]

    def receive_view_ack(self, user_id: str, view_id: str, body: str) -> None:
        """Apply a view_submission ack (response_action) to the user's modal stack."""
        payload = ack_json(body) or {}
        action = payload.get("response_action")
        with self._lock:
            current = self._views[view_id]
            if action == "errors":
                self._show_errors(current, payload.get("errors"))
            elif action in ("update", "push"):
                self._ack_view(user_id, current, str(action), payload.get("view"))
            elif action == "clear":
                stack = self._stacks.get(user_id) or [view_id]
                self.close_view(user_id, stack[0])
            else:
                if action is not None:
                    self._violate(f"view_submission ack: unknown response_action {action!r}")
                self.close_view(user_id, view_id)

    def _show_errors(self, current: View, errors: object) -> None:
        """response_action=errors: the modal stays open, each message under its block."""
        if not isinstance(errors, dict) or not errors:
            self._violate("view_submission ack: response_action=errors without errors")
            return
        known = {str(b.get("block_id")) for b in current.blocks if isinstance(b, dict)}
        unknown = sorted(set(errors) - known)
        if unknown:
            self._violate(f"view_submission ack: errors for unknown block_ids {unknown}")
        current.errors = {str(k): str(v) for k, v in errors.items()}

    def _ack_view(self, user_id: str, current: View, action: str, view: object) -> None:
        """response_action=update (replace the submitted modal) or push (stack a new one)."""
        problems = validate_view(view)
        if not problems and isinstance(view, dict) and view.get("type") != "modal":
            problems = ["view.type: must be modal"]
        if problems or not isinstance(view, dict):
            self._violate(f"view_submission ack: invalid view: {problems}")
            return
        if action == "update":
            self._replace_view(current, normalized_view(view))
            return
        try:
            self._push_view(user_id, normalized_view(view))
        except ApiError as exc:
            self._violate(f"view_submission ack: push failed: {exc.error}")

    def _use_trigger(self, trigger_id: str) -> Trigger:
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            self._violate(f"trigger_id {trigger_id!r} was never issued")
            raise ApiError("invalid_trigger_id")
        if trigger.used:
            self._violate(f"trigger_id {trigger_id!r} used twice")
            raise ApiError("exchanged_trigger_id")
        age = self.now() - trigger.issued_at
        if age > TRIGGER_TTL:
            self._violate(f"trigger_id {trigger_id!r} used {age:.1f} s after the action (max 3)")
            raise ApiError("expired_trigger_id")
        trigger.used = True
        return trigger

    def _view_arg(self, args: JSON, where: str, kind: str) -> JSON:
        view = json_arg(args, "view", "invalid_arguments")
        if view is None:
            raise ApiError("invalid_arguments", errors=["view: is required"])
        errors = validate_view(view)
        if not errors and isinstance(view, dict) and view.get("type") != kind:
            errors = [f"view.type: {where} needs a {kind} view"]
        if errors or not isinstance(view, dict):
            self._violate(f"{where}: invalid view: {errors}")
            raise ApiError(
                "invalid_arguments",
                errors=errors,
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
        external_id = opt_str(view.get("external_id"))
        if external_id is not None:
            for existing in self._views.values():
                live = existing.open or existing.type == "home"
                if (
                    live
                    and existing.external_id == external_id
                    and existing.id != args.get("view_id")
                ):
                    raise ApiError("duplicate_external_id")
        return normalized_view(view)

    def _new_view(
        self, user: str, view: JSON, *, root: str | None = None, previous: str | None = None
    ) -> View:
        view_id = self._next_id("V")
        created = View(
            id=view_id,
            user=user,
            type=str(view["type"]),
            view=view,
            hash=self._new_hash(),
            root_view_id=root or view_id,
            previous_view_id=previous,
            external_id=opt_str(view.get("external_id")),
        )
        self._views[view_id] = created
        return created

    def _new_hash(self) -> str:
        return f"{int(self.now())}.{uuid.uuid4().hex[:8]}"

    def _push_view(self, user: str, view: JSON) -> View:
        stack = self._stacks.get(user, [])
        if not stack:
            raise ApiError("not_found")
        if len(stack) >= MAX_MODAL_STACK:
            self._violate(f"views.push: modal stack for {user} already has {len(stack)} views")
            raise ApiError("push_limit_reached")
        root = self._views[stack[0]].id
        pushed = self._new_view(user, view, root=root, previous=stack[-1])
        stack.append(pushed.id)
        return pushed

    def _replace_view(self, current: View, view: JSON) -> None:
        current.history.append(current.view)
        current.view = view
        current.hash = self._new_hash()
        current.errors = None
        current.external_id = opt_str(view.get("external_id")) or current.external_id
        keep = {
            str(b.get("block_id"))
            for b in current.blocks
            if isinstance(b, dict) and "block_id" in b
        }
        current.state_values = {k: v for k, v in current.state_values.items() if k in keep}

    def _views_open(self, args: JSON, origin: str) -> JSON:
        (trigger_id,) = required(args, "trigger_id")
        view = self._view_arg(args, "views.open", "modal")
        trigger = self._use_trigger(trigger_id)
        stack = self._stacks.get(trigger.user)
        if stack:
            self.close_view(trigger.user, stack[0])
        opened = self._new_view(trigger.user, view)
        self._stacks[trigger.user] = [opened.id]
        return {"view": opened.to_api(self.team_id)}

    def _views_push(self, args: JSON, origin: str) -> JSON:
        (trigger_id,) = required(args, "trigger_id")
        view = self._view_arg(args, "views.push", "modal")
        trigger = self._use_trigger(trigger_id)
        pushed = self._push_view(trigger.user, view)
        return {"view": pushed.to_api(self.team_id)}

    def _views_update(self, args: JSON, origin: str) -> JSON:
        view_id = opt_str(args.get("view_id"))
        external_id = opt_str(args.get("external_id"))
        if view_id is None and external_id is None:
            raise ApiError("invalid_arguments", errors=["view_id or external_id is required"])
        current = self._views.get(view_id or "")
        if current is None and external_id is not None:
            current = next((v for v in self._views.values() if v.external_id == external_id), None)
        if current is None or (current.type == "modal" and not current.open):
            raise ApiError("not_found")
        view = self._view_arg({**args, "view_id": current.id}, "views.update", current.type)
        given_hash = opt_str(args.get("hash"))
        if given_hash is not None and given_hash != current.hash:
            raise ApiError("hash_conflict")
        self._replace_view(current, view)
        return {"view": current.to_api(self.team_id)}

    def _views_publish(self, args: JSON, origin: str) -> JSON:
        (user,) = required(args, "user_id")
        if user not in self.users:
            raise ApiError("user_not_found")
        view = self._view_arg(args, "views.publish", "home")
        given_hash = opt_str(args.get("hash"))
        existing_id = self._homes.get(user)
        if existing_id is not None:
            current = self._views[existing_id]
            if given_hash is not None and given_hash != current.hash:
                raise ApiError("hash_conflict")
            self._replace_view(current, view)
        else:
            current = self._new_view(user, view)
            self._homes[user] = current.id
        return {"view": current.to_api(self.team_id)}
