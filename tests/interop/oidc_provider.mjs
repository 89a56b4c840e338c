// A real OpenID provider for the sign-in tests: npm's oidc-provider (a certified implementation)
// with its development login and consent pages. Any login name signs in; its email is
// <name>@example.com and it belongs to the group "ops".
// Usage: node oidc_provider.mjs <port> <redirect uri> [id token lifetime in seconds]
import Provider from "oidc-provider";

const [port, redirect, idTokenTtl = "3600"] = process.argv.slice(2);
const client = (id) => ({
  client_id: id,
  client_secret: `${id}-secret`,
  redirect_uris: [redirect],
  grant_types: ["authorization_code"],
  response_types: ["code"],
});

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [client("drainboard"), client("other")],
  pkce: { required: () => true },
  scopes: ["openid", "email", "profile"],
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name", "groups"] },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({
      sub: id,
      email: `${id}@example.com`,
      email_verified: true,
      name: id,
      groups: ["ops"],
    }),
  }),
  ttl: { IdToken: Number(idTokenTtl) },
  // As Google's and Okta's do: the ID token carries the email and groups the scopes grant.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
});
provider.listen(Number(port), "127.0.0.1", () => console.log("ready"));
