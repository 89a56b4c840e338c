"""Single sign-on against a real OpenID provider, npm's oidc-provider (certified), started here:
the whole code flow with PKCE, state and nonce; sign-out; the password and the API token beside
it; and the hostile cases: a replayed callback, a tampered ID token, one for another audience,
an expired one and one with another nonce, each refused with one sentence."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from authlib.integrations.httpx_client import OAuth2Client

from dashboard.config import Settings
from dashboard.web import create_app
from dashboard.web.oidc import FLOW_COOKIE, LEEWAY_S, OpenIdProvider, SignInError
from tests.helpers import (
    free_port,
    make_jobs,
    openid_provider,
    serving,
    sign_in_at_provider,
    sso_settings,
)

pytestmark = pytest.mark.interop

BASE = "/admin/queues"


@dataclass
class SignIn:
    origin: str
    issuer: str
    app: object


@pytest.fixture(scope="module")
def sso(valkey_url: str) -> Iterator[SignIn]:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    settings = Settings(
        redis_url=valkey_url,
        username="ops",
        password="pw",
        token="t0k",
        secret_key="k",
        oidc_issuer=issuer,
        oidc_client_id="drainboard",
        oidc_client_secret="drainboard-secret",
    )
    app = create_app(settings)
    with serving(app) as origin, openid_provider(port, f"{origin}{BASE}/login/oidc/callback"):
        yield SignIn(origin, issuer, app)


def test_a_person_signs_in_through_the_provider_and_out_again(sso: SignIn) -> None:
    with httpx.Client(base_url=sso.origin) as http:
        assert http.get(f"{BASE}/").headers["location"].startswith(f"{BASE}/login")
        login = http.get(f"{BASE}/login")
        assert "Sign in with single sign-on" in login.text and 'name="password"' in login.text
        callback = sign_in_at_provider(
            http, f"{sso.origin}{BASE}/login/oidc?next={BASE}/redis", "alice"
        )
        landed = http.get(callback)
        assert landed.status_code == 200, landed.text
        assert f'url={BASE}/redis"' in landed.text  # on to the page asked for, from this origin
        page = http.get(f"{BASE}/redis")
        assert page.status_code == 200 and "alice@example.com" in page.text
        csrf = page.text.split('"X-CSRF-Token": "')[1].split('"')[0]
        out = http.post(f"{BASE}/logout", headers={"X-CSRF-Token": csrf, "Origin": sso.origin})
        assert out.status_code == 303
        assert http.get(f"{BASE}/redis").status_code == 303  # signed out: back to the form
    # The password and the API token keep working beside single sign-on.
    with httpx.Client(base_url=sso.origin) as http:
        form = http.post(
            f"{BASE}/login",
            data={"username": "ops", "password": "pw"},
            headers={"Origin": sso.origin},
        )
        assert form.status_code == 303 and http.get(f"{BASE}/").status_code == 200
    bearer = httpx.get(f"{sso.origin}{BASE}/api/queues", headers={"Authorization": "Bearer t0k"})
    assert bearer.status_code == 200


def test_a_replayed_callback_signs_nobody_in(sso: SignIn) -> None:
    with httpx.Client(base_url=sso.origin) as http:
        callback = sign_in_at_provider(http, f"{sso.origin}{BASE}/login/oidc", "bob")
        flow_cookie = http.cookies.get(FLOW_COOKIE)
        assert http.get(callback).status_code == 200
    # Someone with the URL and a copy of the cookie tries it again.
    with httpx.Client(base_url=sso.origin, cookies={FLOW_COOKIE: flow_cookie}) as replay:
        again = replay.get(callback)
        assert again.status_code == 400
        assert "This sign-in was already used; sign in again." in again.text
        assert replay.get(f"{BASE}/redis").status_code == 303  # still not signed in
    # A state that is not the one sent is refused too.
    with httpx.Client(base_url=sso.origin) as http:
        callback = sign_in_at_provider(http, f"{sso.origin}{BASE}/login/oidc", "carol")
        forged = http.get(callback.copy_set_param("state", "forged"))
    assert forged.status_code == 400 and "state does not match" in forged.text


def provider_id_token(sso: SignIn) -> tuple[str, str]:
    """A real ID token the provider issued to this dashboard's client, and its nonce: the
    dashboard starts the flow, the test plays the browser and exchanges the code itself."""
    provider: OpenIdProvider = sso.app.state.board.oidc  # type: ignore[attr-defined]
    redirect = f"{sso.origin}{BASE}/login/oidc/callback"
    url, cookie = asyncio.run(provider.start(redirect, "/"))
    flow = provider.flow(cookie)
    with httpx.Client() as http:
        callback = sign_in_at_provider(http, url, "dave")
    code = callback.params["code"]
    metadata = httpx.get(f"{sso.issuer}/.well-known/openid-configuration").json()
    with OAuth2Client("drainboard", "drainboard-secret", redirect_uri=redirect) as client:
        tokens = client.fetch_token(
            metadata["token_endpoint"], code=code, code_verifier=flow.verifier
        )
    return tokens["id_token"], flow.nonce


def checked(provider: OpenIdProvider, token: str, nonce: str, now: int | None = None) -> str:
    try:
        claims = asyncio.run(provider.check_id_token(token, nonce, now))
    except SignInError as err:
        return str(err)
    return f"accepted {claims['sub']}"


def test_hostile_id_tokens_are_refused(sso: SignIn) -> None:
    token, nonce = provider_id_token(sso)
    ours: OpenIdProvider = sso.app.state.board.oidc  # type: ignore[attr-defined]
    assert checked(ours, token, nonce) == "accepted dave"

    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert "signature does not match" in checked(ours, f"{header}.{forged}.{signature}", nonce)

    other_settings = Settings(
        oidc_issuer=sso.issuer, oidc_client_id="other", oidc_client_secret="other-secret"
    )
    theirs = OpenIdProvider(other_settings, ours._flows)
    assert "ID token was refused" in checked(theirs, token, nonce)  # issued for "drainboard"

    after_expiry = claims["exp"] + LEEWAY_S + 1
    assert "expired" in checked(ours, token, nonce, now=after_expiry)
    assert "ID token was refused" in checked(ours, token, "another nonce")


def test_the_providers_groups_and_email_claims_give_roles_per_queue(
    valkey_url: str, tmp_path: Path
) -> None:
    """The provider puts everyone in the group "ops", with an @example.com address: the users
    file makes "ops" operator on billing-*, and example.com a viewer everywhere."""
    redis.Redis.from_url(valkey_url).flushall()
    for queue in ("billing-eu", "mail"):
        asyncio.run(make_jobs(valkey_url, queue))
    users = tmp_path / "users.toml"
    users.write_text(
        '[[oidc]]\ngroup = "ops"\ngrants = [{ queues = "billing-*", role = "operator" }]\n'
        '[[oidc]]\nemail_domain = "example.com"\ngrants = [{ queues = "*", role = "viewer" }]\n'
    )
    port = free_port()
    settings = sso_settings(valkey_url, port, users=str(users))
    app = create_app(settings)
    with (
        serving(app) as origin,
        openid_provider(port, f"{origin}{BASE}/login/oidc/callback"),
        httpx.Client(base_url=origin) as http,
    ):
        landed = http.get(sign_in_at_provider(http, f"{origin}{BASE}/login/oidc", "erin"))
        assert landed.status_code == 200
        page = http.get(f"{BASE}/queue/billing-eu")
        csrf = page.text.split('"X-CSRF-Token": "')[1].split('"')[0]
        headers = {"X-CSRF-Token": csrf, "Origin": origin}
        assert 'hx-post="' + f"{BASE}/api/queues/billing-eu/pause" in page.text
        paused = http.post(f"{BASE}/api/queues/billing-eu/pause", headers=headers)
        assert paused.status_code == 200, paused.text
        refused = http.post(f"{BASE}/api/queues/mail/pause", headers=headers)
        assert refused.status_code == 403
        assert refused.json()["error"] == (
            "This needs the operator role on queue 'mail', and you are viewer there."
        )
        emptied = http.post(f"{BASE}/api/queues/billing-eu/empty", headers=headers)
        assert emptied.status_code == 403  # operator, not admin
        trail = http.get(f"{BASE}/api/audit").json()["entries"]
    assert ("erin@example.com", "operator", "pause", "done") in [
        (e["user"], e["role"], e["action"], e["outcome"]) for e in trail
    ]
