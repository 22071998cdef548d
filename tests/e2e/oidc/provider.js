// A real OpenID Connect provider on loopback for the single sign-on browser test
// (tests/e2e/test_single_sign_on.py): the certified `oidc-provider` package, pinned by
// package-lock.json, with its own sign-in and consent pages (devInteractions).
//
// node provider.js PORT  reads a JSON configuration on standard input:
//   {"client_id", "client_secret", "redirect_uri", "role_claim", "agency_claim",
//    "accounts": {"login": {claims...}}}
// and prints "ready" once it listens. The ID token carries the accounts' claims for the
// scopes the client asks for (`scorecard` holds the role and agency claims); it is signed
// with an RSA key made at start-up. The sign-in page takes any password: the scorecard is
// tested as the relying party, and an account the provider does not know is refused.

import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";

import Provider from "oidc-provider";

const port = Number(process.argv[2]);
const config = JSON.parse(readFileSync(0, "utf8"));
// Exported as JWK by the key generation itself: exporting the KeyObject afterwards
// (privateKey.export) deadlocked Node 20 when a garbage collection ran during the export
// and finalised the generation job, which takes the same lock (seen 1 Dec 2026: the
// provider never printed "ready", main thread in ExportJWKRsaKey -> ~KeyGenJob).
const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  publicKeyEncoding: { format: "jwk" },
  privateKeyEncoding: { format: "jwk" },
});
const signingKey = { ...privateKey, use: "sig", alg: "RS256", kid: "scorecard-test" };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: config.client_id,
    client_secret: config.client_secret,
    redirect_uris: [config.redirect_uri],
    grant_types: ["authorization_code"],
    response_types: ["code"],
  }],
  scopes: ["openid", "email", "profile", "scorecard"],
  claims: {
    openid: ["sub"],
    email: ["email"],
    profile: ["name"],
    scorecard: [config.role_claim, config.agency_claim],
  },
  // The claims of the granted scopes in the ID token itself (Streamlit reads only it).
  conformIdTokenClaims: false,
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString("hex")] },
  features: { devInteractions: { enabled: true } },
  async findAccount(_ctx, id) {
    const claims = config.accounts[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
});
provider.on("server_error", (_ctx, error) => console.error("server_error", error));

provider.listen(port, "127.0.0.1", () => console.log("ready"));
