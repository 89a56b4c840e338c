"""The alerts page at /alerts, `GET api/alerts` and the "Send a test" button.

A visit reads the stored state (one HGETALL) and the last 100 sends (one XREVRANGE); the rules
themselves are the file's, in memory.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard import i18n
from dashboard.i18n import N_
from dashboard.web.answers import JSONResponse
from dashboard.web.lookup import board_of, notice, whole_board
from dashboard.web.openapi.parts import errors, json_body
from dashboard.web.render import render


async def _view(request: Request) -> dict[str, Any]:
    alerts = board_of(request).alerts
    stored, sent = await alerts.read()
    stored.update(alerts.local)  # `redis` rules: state kept by this process, not in Redis
    # Alerts about queues outside the reader's grants are as invisible as those queues.
    hidden = set(whole_board(request).catalog.cached()) - set(board_of(request).catalog.cached())
    sent = [entry for entry in sent if entry.get("queue") not in hidden]
    rules = []
    for rule in alerts.config.rules:
        firing = {
            key.partition("|")[2]: value
            for key, value in stored.items()
            if key.partition("|")[0] == rule.id and key.partition("|")[2] not in hidden
        }
        rules.append(
            {
                "id": rule.id,
                "kind": rule.kind,
                "queues": rule.queues,
                "condition": rule.describe(),
                "repeatMinutes": rule.repeat,
                "send": list(rule.send),
                "firing": [
                    {"queue": queue, "since": value.get("since"), "text": value.get("text")}
                    for queue, value in sorted(firing.items())
                ],
            }
        )
    destinations = [
        {"name": d.name, "url": d.shown, "format": d.format}
        for d in alerts.config.destinations.values()
    ]
    return {"rules": rules, "destinations": destinations, "sent": sent}


async def alerts_page(request: Request) -> Response:
    board = board_of(request)
    context = {
        **await _view(request),
        "watcher_per_minute": board.watcher.commands_per_minute(),
        "watching": board.watcher.running,
        "title": N_("Alerts"),
    }
    return render(request, "alerts.html", context)


async def alerts_json(request: Request) -> Response:
    with i18n.speaking(i18n.DEFAULT_LOCALE):  # the JSON API is English, whoever asks
        return JSONResponse(await _view(request))


async def send_test(request: Request) -> Response:
    alerts = board_of(request).alerts
    if not alerts.config.destinations:
        raise HTTPException(
            409, detail=N_("No destination to test: give --alerts with a [destination].")
        )
    with i18n.speaking(i18n.server_locale()):  # what a team channel receives
        results = await alerts.test()
    names = alerts.config.destinations
    said = ", ".join(f"{n}: {r}" for n, r in zip(names, results, strict=True))
    sent = N_("Test sent (%(results)s).", results=said)
    return notice(request, sent, ok=all(r.startswith("2") for r in results))


routes = [
    Route("/alerts", alerts_page, name="alerts_page"),
    Route("/api/alerts", alerts_json, name="alerts_json"),
    Route("/alerts/test", send_test, methods=["POST"], name="alerts_test"),
]

openapi = {
    "/api/alerts": {
        "get": {
            "summary": "Alert rules, what fires now and the last 100 sends (2 commands).",
            "responses": {
                "200": json_body({"type": "object", "required": ["rules", "destinations", "sent"]}),
                **errors(),
            },
        }
    }
}
