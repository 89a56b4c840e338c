"""Headers on every answer: security (no inline script, no sniffing, no framing), no caching, and
what the answer cost in Redis commands."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.redis_client.counting import tally

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)

# Pages, fragments and anything else that is not JSON.
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
# A JSON answer is data: opened in a browser it is shown as text (nosniff: never read as HTML)
# and runs nothing, so its policy lets it load nothing at all, and `frame-ancestors 'none'` forbids
# framing it in every browser that reads a CSP, which is what X-Frame-Options (left to the pages,
# for browsers older than CSP) says. The referrer policy stays: a browser's JSON viewer shows
# URLs as links. Each header less is ~3 µs of a script's HTTP client per call (h11, in httpx).
JSON_CSP = b"default-src 'none'; frame-ancestors 'none'"
JSON_HEADERS = [
    (b"content-security-policy", JSON_CSP),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name for name, _ in headers}
                wanted = JSON_HEADERS if _is_json(headers) else HEADERS
                headers += [h for h in wanted if h[0] not in present]
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_json(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"content-type":
            return value.partition(b";")[0].strip() == b"application/json"
    return False


class CommandsHeader:
    """`X-Redis-Commands` on every answer (pages, fragments, JSON, errors): the commands Redis
    executed for the request, scripts' inner commands included, as its footer says. Outermost,
    so that an error answer carries what the request spent before failing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with tally() as spent:

            async def send_with_count(message: Message) -> None:
                if message["type"] == "http.response.start":
                    count = str(spent.commands).encode()
                    message["headers"] = [*message.get("headers", []), (b"x-redis-commands", count)]
                await send(message)

            await self.app(scope, receive, send_with_count)
