"""Signed session cookies (HMAC-SHA256 over JSON), holding who signed in and the CSRF token.

Stdlib only. Without DRAINBOARD_SECRET_KEY the key is random per process: sessions end when the
server restarts, which is the safe default.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from starlette.requests import Request

COOKIE = "drainboard_session"
MAX_AGE = 12 * 3600


class SessionSigner:
    def __init__(self, secret_key: str | None) -> None:
        self.key = (secret_key or secrets.token_hex(32)).encode()

    def _mac(self, payload: bytes) -> str:
        return base64.urlsafe_b64encode(
            hmac.new(self.key, payload, hashlib.sha256).digest()
        ).decode()

    def dumps(self, session: dict[str, Any]) -> str:
        payload = base64.urlsafe_b64encode(json.dumps({**session, "t": int(time.time())}).encode())
        return f"{payload.decode()}.{self._mac(payload)}"

    def loads(self, cookie: str | None) -> dict[str, Any] | None:
        if not cookie or "." not in cookie:
            return None
        payload, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac(payload.encode())):
            return None
        try:
            session = json.loads(base64.urlsafe_b64decode(payload))
        except ValueError:
            return None
        if not isinstance(session, dict) or time.time() - session.get("t", 0) > MAX_AGE:
            return None
        return session

    def cookie(self, request: Request, session: dict[str, Any]) -> str:
        """A Set-Cookie value scoped to the dashboard's path, never readable by scripts."""
        path = request.scope.get("root_path") or "/"
        secure = "; Secure" if request.url.scheme == "https" else ""
        value = self.dumps(session)
        return (
            f"{COOKIE}={value}; Path={path}; Max-Age={MAX_AGE}; HttpOnly; SameSite=Strict{secure}"
        )


def new_session(user: str | None = None) -> dict[str, Any]:
    return {"u": user, "c": secrets.token_urlsafe(32)}
