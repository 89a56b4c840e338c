"""The settings page: a form that static/settings.js keeps in localStorage, and the language
picker, which the server must know (it writes the pages), kept in a cookie."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from dashboard import i18n
from dashboard.i18n import N_
from dashboard.web.paths import root_of
from dashboard.web.render import render

# A year: a language is chosen once, not per visit.
LANGUAGE_COOKIE_AGE = 365 * 86400


async def settings_page(request: Request) -> Response:
    chosen = i18n.known_locale(request.cookies.get(i18n.COOKIE))
    return render(request, "settings.html", {"title": N_("Settings"), "chosen_locale": chosen})


async def set_language(request: Request) -> Response:
    """Keep the picked language in a cookie (an empty choice clears it: Accept-Language again)
    and show the settings page again, in that language. An htmx form is told to reload the
    whole page, as `<html lang>` and the navigation change too."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    chosen = i18n.known_locale((form.get("locale") or [""])[0])
    response: Response = RedirectResponse(f"{root_of(request.scope)}/settings", status_code=303)
    if "hx-request" in request.headers:
        response = Response(status_code=204, headers={"HX-Refresh": "true"})
    path = root_of(request.scope) or "/"
    if chosen:
        response.set_cookie(
            i18n.COOKIE, chosen, max_age=LANGUAGE_COOKIE_AGE, path=path, samesite="lax"
        )
    else:
        response.delete_cookie(i18n.COOKIE, path=path)
    return response


routes = [
    Route("/settings", settings_page, name="settings_page"),
    Route("/settings/language", set_language, methods=["POST"], name="set_language"),
]
