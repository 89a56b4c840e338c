"""JSON answers: orjson's bytes, or json.dumps' for what orjson refuses, saying the same."""

from __future__ import annotations

import json

from dashboard.i18n import N_
from dashboard.web.answers import JSONResponse


def test_answers_say_what_json_dumps_says_even_where_orjson_refuses() -> None:
    job = {"id": "7", "data": {"ü": [1, 2.5, None, True]}, "error": N_("No page at this address.")}
    assert json.loads(JSONResponse(job).body) == job
    # A job's data may hold integers past 64 bits (JSON.parse in Node would round them; the
    # stored text is what Python decodes), and a dict may have keys that are not strings.
    for refused in ({"n": 2**70}, {1: "one"}):
        answer = JSONResponse(refused).body
        assert answer == json.dumps(refused, separators=(",", ":")).encode()
