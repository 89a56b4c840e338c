"""Single sign-on routes: `/login/oidc` sends a person to the OpenID provider, and
`/login/oidc/callback` signs them in when the provider sends them back (web/oidc.py checks it all).
Both are open paths, like the password form beside them."""

from __future__ import annotations

from html import escape

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from dashboard.bullmq.keys import sign_in_state_key
from dashboard.i18n import N_
from dashboard.web.lookup import board_of
from dashboard.web.middleware.sessions import new_session
from dashboard.web.oidc import (
    FLOW_COOKIE,
    FLOW_MAX_AGE_S,
    OpenIdProvider,
    ProviderUnreachable,
    SignInError,
    rule_claims,
    user_name,
)
from dashboard.web.paths import local_path, root_of


def _provider(request: Request) -> OpenIdProvider:
    provider = board_of(request).oidc
    if provider is None:
        raise HTTPException(404, detail=N_("Single sign-on is not configured here."))
    return provider


def _callback_url(request: Request) -> str:
    return str(request.url.replace(query="", fragment="").replace(path=_callback_path(request)))


def _callback_path(request: Request) -> str:
    return f"{root_of(request.scope)}/login/oidc/callback"


def _cookie_path(request: Request) -> str:
    return f"{root_of(request.scope)}/login/oidc"


async def start(request: Request) -> Response:
    provider = _provider(request)
    target = local_path(request.query_params.get("next"), root_of(request.scope))
    try:
        url, flow = await provider.start(_callback_url(request), target)
    except SignInError as err:
        raise _refusal(err) from err
    response = RedirectResponse(url, status_code=303)
    # Lax, not Strict: the provider's redirect back is a navigation from another site.
    response.set_cookie(
        FLOW_COOKIE,
        flow,
        max_age=FLOW_MAX_AGE_S,
        path=_cookie_path(request),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


async def callback(request: Request) -> Response:
    provider = _provider(request)
    board = board_of(request)
    query = request.query_params
    if "error" in query:
        said = query.get("error_description") or query["error"]
        raise HTTPException(401, detail=f"The provider did not sign you in: {said[:200]}.")
    try:
        flow = provider.flow(request.cookies.get(FLOW_COOKIE))
        if not query.get("code") or query.get("state") != flow.state:
            raise SignInError("This sign-in's state does not match the one sent; sign in again.")
        # Used once: a replayed callback (a copied URL and cookie) signs nobody in.
        claimed = await board.redis.set(
            sign_in_state_key(board.settings.prefix, flow.state), 1, nx=True, ex=FLOW_MAX_AGE_S
        )
        if not claimed:
            raise SignInError("This sign-in was already used; sign in again.")
        claims = await provider.finish(_callback_url(request), query["code"], flow)
    except SignInError as err:
        raise _refusal(err) from err
    session = new_session(user_name(claims), "oidc", rule_claims(claims))
    # The session cookie is SameSite=Strict, so a redirect from here (still the provider's
    # navigation) would arrive without it: this page moves on from the dashboard's own origin.
    target = escape(flow.next, quote=True)
    page = (
        '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">'
        f'<meta http-equiv="refresh" content="0;url={target}">'
        f'<title>Signed in</title><p>Signed in. <a href="{target}">Continue</a>.</p>'
    )
    response = HTMLResponse(page)
    response.headers.append("set-cookie", board.signer.cookie(request, session))
    response.delete_cookie(FLOW_COOKIE, path=_cookie_path(request))
    return response


def _refusal(err: SignInError) -> HTTPException:
    return HTTPException(503 if isinstance(err, ProviderUnreachable) else 400, detail=str(err))


routes = [
    Route("/login/oidc", start, name="oidc_start"),
    Route("/login/oidc/callback", callback, name="oidc_callback"),
]
