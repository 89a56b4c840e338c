"""The language of each answer: the Settings picker's cookie, else Accept-Language, else the
server's default (DRAINBOARD_LOCALE). Outermost of the middleware, so error pages rendered by
any layer below speak the same language as the page that linked to them."""

from __future__ import annotations

import functools

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard import i18n

VARY = (b"vary", b"Accept-Language, Cookie")
_COOKIE = i18n.COOKIE.encode()


class RequestLocale:
    def __init__(self, app: ASGIApp, default: str = i18n.DEFAULT_LOCALE) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The first of each header, as Starlette's Headers.get reads them, without building one.
        cookie = accept = None
        for name, value in scope["headers"]:
            if name == b"cookie" and cookie is None:
                cookie = value
            elif name == b"accept-language" and accept is None:
                accept = value
        chosen = None
        if cookie is not None and _COOKIE in cookie:
            chosen = cookie_parser(cookie.decode("latin-1")).get(i18n.COOKIE)
        locale = _negotiated(
            None if accept is None else accept.decode("latin-1"),
            chosen,
            self.default or i18n.server_locale(),
        )
        scope.setdefault("state", {})["locale"] = locale

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                # Pages and fragments speak the locale; JSON stays English (machine clients).
                html = any(
                    name.lower() == b"content-type" and value.startswith(b"text/html")
                    for name, value in headers
                )
                if html and b"content-language" not in names:
                    headers.append((b"content-language", i18n.html_lang(locale).encode()))
                # A cache must not give one reader's language to another.
                headers.append(VARY)
                message["headers"] = headers
            await send(message)

        with i18n.speaking(locale):
            await self.app(scope, receive, send_with_language)


@functools.lru_cache(maxsize=256)
def _negotiated(accept_language: str | None, chosen: str | None, default: str) -> str:
    """i18n.negotiate, kept: a browser sends the same Accept-Language with every request."""
    return i18n.negotiate(accept_language, chosen, default)
