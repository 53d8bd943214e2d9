"""One unit of work per request: a command writes and reads what its reply needs in one go."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from sqlalchemy.orm import Session

from handlers.commands import deals
from handlers.common import Request
from pipeline.service import TeamDefaults
from storage.db import Database
from storage.unit_of_work import Pipe
from tests.conftest import FrozenClock

T = "T0UOW"
ALICE = "U0ALICE"


class Client:
    """Records the messages a handler posts (only what these commands call)."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        self.posted.append(kwargs)
        return {"ok": True, "ts": f"1.{len(self.posted)}"}


def _counted(
    scope: Callable[[], AbstractContextManager[Session]], opened: list[str], name: str
) -> Callable[[], AbstractContextManager[Session]]:
    @contextmanager
    def counting() -> Iterator[Session]:
        opened.append(name)
        with scope() as session:
            yield session

    return counting


@pytest.fixture
def opened(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The transactions opened on `db` from now on, in order."""
    seen: list[str] = []
    monkeypatch.setattr(db, "session_scope", _counted(db.session_scope, seen, "write"))
    monkeypatch.setattr(db, "read_scope", _counted(db.read_scope, seen, "read"))
    return seen


def _request(db: Database, clock: FrozenClock, client: Client) -> Request:
    pipe = Pipe(db, T, clock, TeamDefaults())
    return Request(pipe=pipe, client=client, user_id=ALICE, channel_id="C0SALES", respond=None)  # type: ignore[arg-type]


def test_deal_add_is_one_transaction(db: Database, clock: FrozenClock, opened: list[str]) -> None:
    client = Client()
    deals.add(_request(db, clock, client), "Acme Corp 50k demo close:2026-12-18")
    assert opened == ["write"]
    assert [m["channel"] for m in client.posted] == ["C0SALES"]
    assert "Acme Corp" in client.posted[0]["text"]


def test_deal_move_is_one_transaction(db: Database, clock: FrozenClock, opened: list[str]) -> None:
    client = Client()
    req = _request(db, clock, client)
    deals.add(req, "Acme Corp 50k")
    opened.clear()
    deals.move(req, "#1 proposal")
    assert opened == ["write"]
    assert client.posted[-1]["text"] == f"<@{ALICE}> moved #1 to Proposal"
