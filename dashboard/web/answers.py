"""JSON answers, written by orjson: a page of jobs took json.dumps longer than Redis took to
read it. orjson refuses what the standard library writes (integers past 64 bits, which a job's
data may hold, and keys that are not strings): those answers are written by json.dumps, as
before, so every answer says the same either way."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse as StarletteJSON


class JSONResponse(StarletteJSON):
    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except orjson.JSONEncodeError:
            return super().render(content)
