"""Single sign-on with OpenID Connect.

The authorization code flow with PKCE, `state` and `nonce`, through authlib's OAuth 2 client; the
ID token checked with joserfc: its signature against the keys the provider publishes, its issuer,
audience, expiry and nonce. The provider is found by discovery
(`<issuer>/.well-known/openid-configuration`), read once and kept.

What the flow must remember between the redirect to the provider and the way back (state, nonce,
PKCE verifier, the page to return to) travels in a short-lived signed cookie, so any dashboard
process can finish a sign-in another started. A `state` is used once: the way back claims it in
Redis (one SET NX), so a replayed callback URL signs nobody in.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from itsdangerous import BadSignature, URLSafeTimedSerializer
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from dashboard.config import Settings

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import AsyncOAuth2Client

DISCOVERY = "/.well-known/openid-configuration"
SCOPE = "openid email profile"
# The cookie carrying an unfinished sign-in, and how long a person has to finish it.
FLOW_COOKIE = "drainboard_oidc"
FLOW_MAX_AGE_S = 600
# Clock difference allowed between this server and the provider when checking expiry.
LEEWAY_S = 30
PROVIDER_TIMEOUT_S = 10
SIGNING_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")


class SignInError(Exception):
    """A sign-in that cannot finish; its text is the one sentence the person sees."""


class ProviderUnreachable(SignInError):
    """The provider did not answer: a 503, not the person's fault."""


@dataclass(frozen=True)
class Flow:
    state: str
    nonce: str
    verifier: str
    next: str


class OpenIdProvider:
    def __init__(
        self,
        settings: Settings,
        flows: URLSafeTimedSerializer,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        assert settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret
        self.issuer = settings.oidc_issuer
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret
        self._transport = transport
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._flows = flows

    # The provider's published configuration and keys.

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            found = await self._get_json(self.issuer + DISCOVERY)
            if found.get("issuer", "").rstrip("/") != self.issuer:
                raise SignInError(
                    f"The provider at {self.issuer} names another issuer in its discovery "
                    "document; check DRAINBOARD_OIDC_ISSUER."
                )
            self._metadata = found
        return self._metadata

    async def _signing_keys(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            published = await self._get_json((await self.metadata())["jwks_uri"])
            self._keys = KeySet.import_key_set(published)  # type: ignore[arg-type]
        return self._keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self._http() as http:
                answer = await http.get(url)
                answer.raise_for_status()
                return dict(answer.json())
        except (httpx.HTTPError, ValueError) as err:
            raise ProviderUnreachable(
                f"The sign-in provider at {self.issuer} cannot be reached ({type(err).__name__}); "
                "try again in a moment."
            ) from err

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=PROVIDER_TIMEOUT_S, transport=self._transport)

    def _client(self, redirect_uri: str) -> AsyncOAuth2Client:
        # Imported here, not with the module: authlib 1.9 prints a deprecation warning at import
        # (it prefers httpx2), which every dashboard without single sign-on would print too.
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        return AsyncOAuth2Client(
            self.client_id,
            self.client_secret,
            scope=SCOPE,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=PROVIDER_TIMEOUT_S,
            transport=self._transport,
        )

    # The way out: to the provider's sign-in page.

    async def start(self, redirect_uri: str, next_path: str) -> tuple[str, str]:
        """The provider's authorization URL, and the signed cookie value that remembers the flow."""
        endpoint = (await self.metadata())["authorization_endpoint"]
        flow = Flow(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),
            next=next_path,
        )
        async with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                endpoint, state=flow.state, code_verifier=flow.verifier, nonce=flow.nonce
            )
        return url, self._flows.dumps(flow.__dict__)

    def flow(self, cookie: str | None) -> Flow:
        if not cookie:
            raise SignInError(
                "This sign-in was not started here, or its cookie was refused; sign in again."
            )
        try:
            return Flow(**self._flows.loads(cookie, max_age=FLOW_MAX_AGE_S))
        except (BadSignature, TypeError) as err:
            raise SignInError("This sign-in has expired or was altered; sign in again.") from err

    # The way back: the code for tokens, and the ID token checked.

    async def finish(self, redirect_uri: str, code: str, flow: Flow) -> dict[str, Any]:
        """The ID token's claims, once every check has passed."""
        endpoint = (await self.metadata())["token_endpoint"]
        try:
            async with self._client(redirect_uri) as client:
                tokens = await client.fetch_token(
                    endpoint, code=code, code_verifier=flow.verifier, state=flow.state
                )
        except httpx.HTTPError as err:
            raise ProviderUnreachable(
                f"The sign-in provider at {self.issuer} cannot be reached; try again."
            ) from err
        except Exception as err:  # authlib's OAuthError and friends: the provider said no
            raise SignInError(f"The provider refused the sign-in: {err}.") from err
        id_token = tokens.get("id_token")
        if not id_token:
            raise SignInError("The provider sent no ID token; is the `openid` scope allowed?")
        return await self.check_id_token(id_token, flow.nonce)

    async def check_id_token(
        self, id_token: str, nonce: str, now: int | None = None
    ) -> dict[str, Any]:
        """The claims of an ID token signed by the provider's published keys (looked up again
        once, for a key rotated since), for this client, from this issuer, not expired, and
        carrying the nonce this sign-in sent."""
        try:
            token = await self._decode(id_token)
        except JoseError:
            try:
                token = await self._decode(id_token, refresh=True)
            except JoseError as err:
                raise SignInError(
                    "The ID token's signature does not match the provider's keys."
                ) from err
        claims = jwt.JWTClaimsRegistry(
            now=now if now is not None else int(time.time()),
            leeway=LEEWAY_S,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            claims.validate(token.claims)
        except JoseError as err:
            raise SignInError(f"The ID token was refused: {_reason(err)}.") from err
        return dict(token.claims)

    async def _decode(self, id_token: str, refresh: bool = False) -> jwt.Token:
        keys = await self._signing_keys(refresh)
        return jwt.decode(id_token, keys, algorithms=list(SIGNING_ALGORITHMS))


def rule_claims(claims: dict[str, Any]) -> dict[str, Any]:
    """The claims the users file's [[oidc]] rules look at, kept in the session so that the
    rules are applied again on each request: the email, and the groups (up to 100)."""
    kept: dict[str, Any] = {}
    if isinstance(claims.get("email"), str):
        kept["email"] = claims["email"]
    groups = claims.get("groups")
    if isinstance(groups, list):
        kept["groups"] = [group for group in groups if isinstance(group, str)][:100]
    return kept


def user_name(claims: dict[str, Any]) -> str:
    """Who signed in, as the dashboard shows and records them: email, else a name, else sub."""
    for claim in ("email", "preferred_username", "sub"):
        if isinstance(claims.get(claim), str) and claims[claim]:
            return str(claims[claim])
    return "unknown"


def _reason(err: JoseError) -> str:
    names = {
        "invalid_claim": "a claim does not match",
        "expired_token": "it has expired",
        "missing_claim": "a claim is missing",
    }
    detail = getattr(err, "description", "") or str(err)
    return f"{names.get(getattr(err, 'error', ''), 'it is not valid')} ({detail})"
