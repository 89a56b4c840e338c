"""Signed session cookies holding who signed in and the CSRF token, signed by itsdangerous
(Starlette's own choice for signed sessions).

The signing key mixes three things, so that changing any one ends every earlier session:
- DRAINBOARD_SECRET_KEY (random per process when unset: sessions end when the server restarts);
- the configured credentials, so a changed password or token ends every session;
- the session generation, a counter kept in Redis that sign-out increments. Each process reads it
  once (one GET) and increments it on sign-out; another process sharing the secret key sees a
  sign-out made elsewhere when it restarts.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from redis.exceptions import RedisError
from starlette.requests import Request

from dashboard.bullmq.keys import session_generation_key
from dashboard.config import Settings
from dashboard.redis_client.connection import Client
from dashboard.redis_client.counting import count_reads
from dashboard.web.paths import root_of

COOKIE = "drainboard_session"
MAX_AGE = 12 * 3600
# Cookies whose signature was checked, kept with the time they were signed: checking one again
# (base64, HMAC, JSON) was a tenth of a small JSON answer's time. Emptied when full.
VERIFIED_KEPT = 1024


class SessionSigner:
    def __init__(self, settings: Settings, redis: Client) -> None:
        credentials = "\0".join(
            value or "" for value in (settings.username, settings.password, settings.token)
        )
        self._key = "\0".join(
            (
                settings.secret_key or secrets.token_hex(32),
                hashlib.sha256(credentials.encode()).hexdigest(),
            )
        )
        self._redis = redis
        self._generation_key = session_generation_key(settings.prefix)
        self._generation: str | None = None
        self._verified: dict[str, tuple[dict[str, Any], int]] = {}
        self._serializer = self._make_serializer("unloaded")

    def serializer(self, purpose: str) -> URLSafeTimedSerializer:
        """Signed values for another purpose (a sign-in under way) under the same key."""
        return URLSafeTimedSerializer(self._key, salt=f"drainboard-{purpose}")

    def _make_serializer(self, generation: str) -> URLSafeTimedSerializer:
        # A new generation ends every session: none checked under the old one is kept.
        self._verified = {}
        return URLSafeTimedSerializer(self._key, salt=f"drainboard-session:{generation}")

    async def load_generation(self) -> None:
        """Read the session generation once; until Redis answers, a per-process one is used
        (sessions signed meanwhile end when the real one is read)."""
        if self._generation is not None:
            return
        try:
            generation = await self._redis.get(self._generation_key)
        except (RedisError, OSError):
            return
        count_reads(1)  # once per process, in the figure of the request that read it
        self._generation = str(generation or 0)
        self._serializer = self._make_serializer(self._generation)

    async def end_all_sessions(self) -> None:
        """Sign-out: every cookie signed before now stops being valid."""
        generation = await self._redis.incr(self._generation_key)
        count_reads(1)
        self._generation = str(generation)
        self._serializer = self._make_serializer(self._generation)

    def dumps(self, session: dict[str, Any]) -> str:
        return self._serializer.dumps(session)

    def loads(self, cookie: str | None) -> dict[str, Any] | None:
        if not cookie:
            return None
        known = self._verified.get(cookie)
        if known is not None and 0 <= time.time() - known[1] <= MAX_AGE:
            return dict(known[0])
        try:
            session, signed = self._serializer.loads(cookie, max_age=MAX_AGE, return_timestamp=True)
        except BadSignature:  # also expired ones (SignatureExpired is a BadSignature)
            return None
        if not isinstance(session, dict) or "c" not in session:
            return None
        if len(self._verified) >= VERIFIED_KEPT:
            self._verified = {}
        self._verified[cookie] = (session, int(signed.timestamp()))
        return dict(session)

    def cookie(self, request: Request, session: dict[str, Any]) -> str:
        """A Set-Cookie value scoped to the dashboard's path, never readable by scripts."""
        path = root_of(request.scope) or "/"
        secure = "; Secure" if request.url.scheme == "https" else ""
        value = self.dumps(session)
        return (
            f"{COOKIE}={value}; Path={path}; Max-Age={MAX_AGE}; HttpOnly; SameSite=Strict{secure}"
        )


def new_session(
    user: str | None = None, kind: str | None = None, claims: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`kind` says where the user's rights come from on each request (web/middleware/guard.py):
    "env" (the single username and password), "user" (the users file) or "oidc" (single
    sign-on, with the `claims` the users file's [[oidc]] rules look at)."""
    session: dict[str, Any] = {"u": user, "k": kind, "c": secrets.token_urlsafe(32)}
    if claims:
        session["claims"] = claims
    return session
