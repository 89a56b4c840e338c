"""Every change made through the dashboard goes into the audit trail (observe/audit.py), here,
around every route, so that a write route cannot be added without being recorded.

A change is any POST, PUT, PATCH or DELETE that reached a route: those refused before one (an
unknown host, a missing sign-in, a wrong CSRF token) change nothing and are not recorded, so a
stranger cannot fill the trail. The entry is written before the answer's first byte is sent, so
the answer's `X-Redis-Commands` includes it (one XADD) and a crash cannot leave a change unsaid.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Hashable
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.access import NOBODY
from dashboard.config import Settings
from dashboard.observe.audit import outcome_of, record
from dashboard.web.middleware.guard import SAFE_METHODS, bearer_token
from dashboard.web.middleware.throttle import client_of
from dashboard.web.paths import connection_in, path_value

# Body kept for the entry's parameters: enough for any action's options, never a job's data.
BODY_KEPT = 4096
ANSWER_KEPT = 4096
VALUE_KEPT = 100
MESSAGE_KEPT = 200
IDS_KEPT = 200
DRAINS = ("cron_drain", "drain_now")
# Path parameters with a field of their own in the entry; any other is one of its parameters.
NAMED_PARAMS = ("queue", "job_id")
# Never recorded, whatever route they come to.
SECRET_FIELDS = re.compile(r"pass|secret|token|key", re.IGNORECASE)
TAGS = re.compile(r"<[^>]+>")


class AuditTrail:
    def __init__(self, app: ASGIApp, settings: Settings, actions: dict[object, str]) -> None:
        self.app = app
        self.settings = settings
        self.actions = actions  # route endpoint -> route name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        body = bytearray()

        async def receive_kept() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) < BODY_KEPT:
                body.extend(message.get("body", b"")[: BODY_KEPT - len(body)])
            return message

        start: Message | None = None
        recorded = False

        async def send_recorded(message: Message) -> None:
            nonlocal start, recorded
            if message["type"] == "http.response.start":
                start = message  # held until the body says how the change ended
                return
            if not recorded and start is not None:
                recorded = True
                answer = message.get("body", b"")[:ANSWER_KEPT]
                await self._record(scope, bytes(body), start["status"], answer)
                await send(start)
            await send(message)

        try:
            await self.app(scope, receive_kept, send_recorded)
        except Exception:
            if not recorded:
                await self._record(scope, bytes(body), 500, b"")
            raise

    async def _record(self, scope: Scope, body: bytes, status: int, answer: bytes) -> None:
        endpoint = scope.get("endpoint")
        # Under a connection's mount with no route matched, the mount's router stands there:
        # no action, and not hashable.
        action = self.actions.get(endpoint) if isinstance(endpoint, Hashable) else None
        if action is None:
            return  # refused before any route: nothing changed
        request = Request(scope)
        state = scope["app"].state
        board = state.boards.get(connection_in(scope), state.board)
        path_params = scope.get("path_params", {})
        said = _json_answer(answer)
        queue = path_value(path_params["queue"]) if "queue" in path_params else None
        entry: dict[str, Any] = {
            "at": int(time.time() * 1000),
            "user": _who(request, action, body),
            "role": _role(request, board, queue),
            "action": action,
            "connection": board.connection,
            "method": scope["method"],
            "queue": queue,
            "job": path_value(path_params["job_id"]) if "job_id" in path_params else None,
            "params": {
                **{k: path_value(v) for k, v in path_params.items() if k not in NAMED_PARAMS},
                **request.query_params,
                **_body_params(action, body),
            },
            "from": client_of(request),
            "status": status,
            "outcome": outcome_of(status),
            **_answer(answer, said),
        }
        store = not self.settings.read_only
        if action in DRAINS:
            entry["trigger"] = _trigger(request, action)
            store = store and not _idle_drain(status, said)
        await record(board.redis, board.settings.prefix, entry, store=store)


def _who(request: Request, action: str, body: bytes) -> str:
    """Who asked: the signed-in user, the token a script sent, or, for a sign-in, the name
    typed (never the password)."""
    if action == "login":
        typed = parse_qs(body.decode(errors="replace")).get("username", [""])[0]
        return typed[:VALUE_KEPT] or "anonymous"
    if action == "cron_drain":
        return "cron token"
    if bearer_token(request) is not None:
        return request.scope.get("state", {}).get("access", NOBODY).who
    user = request.scope.get("state", {}).get("user")
    return str(user) if user else "anonymous"


def _role(request: Request, board: Any, queue: str | None) -> str | None:
    """The role the change was made with: the caller's on its queue (or its `?queue=`), else the
    highest they hold on any queue known now (no command). A sign-in and the cron endpoint
    (its own tokens, outside the roles) have none."""
    access = request.scope.get("state", {}).get("access", NOBODY)
    queue = queue or request.query_params.get("queue")
    held = access.role_on(queue) if queue else access.top(board.catalog.cached())
    return held.label if held else None


def _trigger(request: Request, action: str) -> str:
    if action == "cron_drain":
        return "cron"
    return "dashboard" if "hx-request" in request.headers else "api"


def _body_params(action: str, body: bytes) -> dict[str, Any]:
    """A JSON body's options: short values as sent, longer or nested ones by their size, and no
    secret. A sign-in's form is never read."""
    if action == "login" or not body:
        return {}
    try:
        sent = json.loads(body)
    except (ValueError, RecursionError):
        return {"body": f"{len(body)} bytes"}
    if not isinstance(sent, dict):
        return {"body": f"{len(body)} bytes"}
    kept: dict[str, Any] = {}
    for name, value in sent.items():
        if SECRET_FIELDS.search(str(name)):
            continue
        as_sent = _short(value) or _ids(value)
        kept[str(name)] = value if as_sent else f"{len(json.dumps(value))} bytes"
    return kept


def _short(value: Any) -> bool:
    return isinstance(value, (int, float, bool)) or (
        isinstance(value, str) and len(value) <= VALUE_KEPT
    )


def _ids(value: Any) -> bool:
    """A list of job ids (a selection acted on) is kept as sent, up to a page of them."""
    return isinstance(value, list) and len(value) <= IDS_KEPT and all(map(_short, value))


def _json_answer(answer: bytes) -> dict[str, Any] | None:
    """The answer as a JSON object, or None: a notice, or JSON cut short by what is kept of it."""
    try:
        said = json.loads(answer)
    except (ValueError, RecursionError):  # nested past Python's limit, too
        return None
    return said if isinstance(said, dict) else None


def _idle_drain(status: int, said: dict[str, Any] | None) -> bool:
    """A drain that found nothing changed nothing: it is logged, but a cron tick every minute
    must not add a command a minute to the trail. Drain now's notice is kept: a person pressed
    it."""
    return (
        status == 200
        and said is not None
        and not said.get("totalProcessed")
        and not said.get("totalFailed")
    )


def _answer(answer: bytes, said: dict[str, Any] | None) -> dict[str, Any]:
    """What the answer said: a JSON outcome's message and count, or a notice's text."""
    if said is not None:
        return _outcome_fields(said)
    if answer.lstrip().startswith((b"{", b"[")):
        return {}  # JSON, but not an object, or cut short
    text = " ".join(TAGS.sub(" ", answer.decode(errors="replace")).split())
    return {"message": text[:MESSAGE_KEPT]} if text else {}


def _outcome_fields(said: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {"message": said.get("message") or said.get("error")}
    count = said.get("count", said.get("totalProcessed"))
    if isinstance(count, int):
        kept["count"] = count
    return kept
