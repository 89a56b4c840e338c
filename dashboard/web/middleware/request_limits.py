"""Size limits on what a client may send, checked before a handler reads anything.

- URL (path and query): 8 KiB, else 414. Header block: 16 KiB, else 431. uvicorn's parser runs
  first with its own default limits (h11's is 16 KiB a header block); the app's answer, a
  sentence, is what a client meets within them.
- Request bodies: 4 KiB for forms and anything else (the login form, htmx buttons), 1 MiB for
  `application/json` (job data sent by scripts), else 413. A declared Content-Length past the
  limit is refused before a byte is read; a chunked body is counted as it arrives and refused
  the moment it passes the limit, so memory stays bounded either way.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.i18n import N_
from dashboard.web.errors import as_routed, problem

MAX_URL_BYTES = 8 * 1024
MAX_HEADER_BYTES = 16 * 1024
MAX_FORM_BODY = 4 * 1024
MAX_JSON_BODY = 1024 * 1024


def body_limit(content_type: str) -> int:
    is_json = content_type.split(";")[0].strip() == "application/json"
    return MAX_JSON_BODY if is_json else MAX_FORM_BODY


def too_large(limit: int) -> HTTPException:
    return HTTPException(413, detail=N_("The request body is larger than %(n)s bytes.", n=limit))


class RequestLimits:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = _refusal(scope)
        if refusal is not None:
            status, message = refusal
            await problem(Request(as_routed(scope)), status, message)(scope, receive, send)
            return
        headers = dict(scope["headers"])
        limit = body_limit(headers.get(b"content-type", b"").decode("latin-1"))
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and len(declared) < 20 and int(declared) > limit:
            message = str(too_large(limit).detail)
            await problem(Request(as_routed(scope)), 413, message)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit)
            return message

        await self.app(scope, counting_receive, send)


def _refusal(scope: Scope) -> tuple[int, str] | None:
    url_bytes = len(scope.get("raw_path") or scope["path"].encode()) + len(scope["query_string"])
    if url_bytes > MAX_URL_BYTES:
        return 414, f"The URL is longer than {MAX_URL_BYTES:,} bytes."
    header_bytes = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
    if header_bytes > MAX_HEADER_BYTES:
        return 431, f"The request headers are larger than {MAX_HEADER_BYTES:,} bytes."
    return None
