// A REAL OpenID provider for sesame's end-to-end tests: oidc-provider (an
// OpenID Certified implementation), served over TLS on loopback. Tests start
// it through tests/e2e/idp.py (start_provider); this header is its manual.
//
// Usage: node tests/oidc/provider.mjs CONFIG.json
//        node tests/oidc/provider.mjs --keygen rsa|ec|ed25519 [KID]
//          (prints a private JWK; needs no npm package)
//        node tests/oidc/provider.mjs --pem < JWK.json
//          (prints that private JWK as PKCS#8 PEM, e.g. for an RP's
//          private_key_jwt client key)
// Prints "ready" on stdout once it listens. SIGTERM/SIGINT stop it.
//
// CONFIG.json:
//   issuer        "https://127.0.0.1:PORT" (the host may be localhost)
//   port          the port to listen on, on 127.0.0.1 only
//   cert, key     PEM files of its TLS certificate (idp.py: signed by a test CA)
//   keys          private signing JWKs (each with kid), all published; the
//                 FIRST key of the client's algorithm signs
//                 (id_token_signed_response_alg, default RS256: the first
//                 RSA key). Key rotation: restart with [new, old] (same
//                 type) and the ID tokens carry a kid the RP never saw.
//   cookie_keys   secrets for its signed cookies (stable across restarts)
//   state_file    where sessions, grants and tokens persist, so a restart
//                 (key rotation) keeps the RP's refresh tokens and the
//                 browser's provider session valid
//   access_ttl, id_token_ttl, refresh_ttl, session_ttl   seconds
//   refresh       "always": every code exchange of a client allowed the
//                 refresh_token grant returns a refresh token (default);
//                 "offline_access": only when that scope was granted.
//                 Refresh tokens ALWAYS rotate: each use returns a new one,
//                 and presenting a used one again is invalid_grant AND
//                 revokes the whole grant (oidc-provider's reuse detection),
//                 so a relying party whose parallel refreshes race loses the
//                 session. Tokens also end with the provider session (logout)
//                 unless offline_access was granted.
//   consent       false (default): no consent page, a grant with every
//                 requested scope is made on the fly (a first-party client,
//                 as Keycloak treats its confidential clients); true: the
//                 devInteractions consent page ("Continue") appears.
//   clients       oidc-provider client metadata (client_id, client_secret or
//                 jwks + token_endpoint_auth_method "private_key_jwt",
//                 redirect_uris, post_logout_redirect_uris,
//                 backchannel_logout_uri, ...). Defaults: grant_types
//                 authorization_code + refresh_token, response_types code,
//                 backchannel_logout_session_required true (logout tokens
//                 and ID tokens carry sid).
//   accounts      { ID: { password?, claims: { preferred_username, email,
//                 email_verified, groups, name, ... } } }; sub = ID.
//   api_audience  optional: access tokens become JWTs (RFC 9068, typ
//                 at+jwt, RS256, aud = this value, scope "api" when asked)
//                 for every client, as for a bearer-token API behind the RP;
//                 such a token is not good at the userinfo endpoint.
//                 Without it access tokens are opaque.
//
// Scopes and claims: openid (sub), profile (preferred_username, name),
// email (email, email_verified), groups (groups), offline_access. Claims of
// the granted scopes are put in the ID token itself (conformIdTokenClaims
// off), from the token endpoint and from every refresh. PKCE (S256) is
// required for every client. The claims request parameter is off.
//
// Sign-in (devInteractions, the library's built-in pages):
//   GET  /auth?...                       302 to /interaction/UID
//   GET  /interaction/UID                login form: input[name=login] (the
//                                        account ID), input[name=password],
//                                        hidden prompt=login
//   POST /interaction/UID  login=ID&password=PW&prompt=login
//        303 back to the form when the account is unknown or its password
//        (if it has one) is wrong; else 303 to /auth/UID, which redirects to
//        the redirect_uri with code (or, with consent on, to the consent
//        form: POST /interaction/UID prompt=consent, button "Continue").
// Sign-out (RP-initiated logout, its confirm form):
//   GET  /session/end?id_token_hint=..&post_logout_redirect_uri=..&state=..
//        a page with <form id="op.logoutForm"> holding a hidden xsrf and a
//        button name=logout value=yes ("Yes, sign me out")
//   POST /session/end/confirm  xsrf=..&logout=yes
//        ends the provider session, POSTs a logout token to the
//        backchannel_logout_uri of every client of that session (waits for
//        the answers), then 303 to post_logout_redirect_uri?state=..
//        (or /session/end/success).
// Test controls (loopback only, JSON in and out; no browser session needed):
//   POST /__admin/logout  {"account": ID}  ends every provider session of
//        that account as the confirm form would, sending the back-channel
//        logout tokens; answers {"sessions": N, "backchannel": [{client_id,
//        sid, ok, error?}]}
//   POST /__admin/backchannel  {"client_id", "sub", "sid"?}  sends one
//        provider-signed logout token to that client and answers {ok, error?}
//   GET  /__admin/sessions  [{account, sids: {client_id: sid}}]
// Outgoing back-channel POSTs verify TLS with the default CAs plus
// NODE_EXTRA_CA_CERTS (idp.py points it at the test CAs) and resolve names
// to IPv4 only (sesame listens on 127.0.0.1; "localhost" may be ::1 first).
import { createPrivateKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import * as dns from 'node:dns';
import { readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import * as https from 'node:https';

if (process.argv[2] === '--keygen') {
  const kind = process.argv[3];
  const kid = process.argv[4] || `${kind}-${randomUUID().slice(0, 8)}`;
  const pair = kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : kind === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : kind === 'ed25519' ? generateKeyPairSync('ed25519') : null;
  if (!pair) {
    console.error('provider.mjs --keygen: kind must be rsa, ec or ed25519');
    process.exit(2);
  }
  const alg = { rsa: 'RS256', ec: 'ES256', ed25519: 'EdDSA' }[kind];
  console.log(JSON.stringify({ ...pair.privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' }));
  process.exit(0);
}

// stdout carries only "ready": the library's notices go to stderr (the log).
console.info = console.error;
if (process.argv[2] === '--pem') {
  const jwk = JSON.parse(readFileSync(0, 'utf8'));
  process.stdout.write(createPrivateKey({ key: jwk, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' }));
  process.exit(0);
}

const { default: Provider, errors } = await import('oidc-provider');

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

// Sessions, grants and tokens in one JSON file, rewritten on every change:
// a test provider holds a handful of entries, and a restart must keep them.
class FileAdapter {
  static entries = new Map(); // "Model:id" -> { payload, expiresAt (ms) }

  static load(path) {
    if (!path || !existsSync(path)) return;
    for (const [key, value] of Object.entries(JSON.parse(readFileSync(path, 'utf8')))) {
      FileAdapter.entries.set(key, value);
    }
  }

  static save() {
    if (!config.state_file) return;
    const now = Date.now();
    const out = {};
    for (const [key, value] of FileAdapter.entries) {
      if (!value.expiresAt || value.expiresAt > now) out[key] = value;
    }
    const tmp = `${config.state_file}.tmp`;
    writeFileSync(tmp, JSON.stringify(out));
    renameSync(tmp, config.state_file);
  }

  static live(key) {
    const value = FileAdapter.entries.get(key);
    if (!value) return undefined;
    if (value.expiresAt && value.expiresAt <= Date.now()) {
      FileAdapter.entries.delete(key);
      return undefined;
    }
    return value.payload;
  }

  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    FileAdapter.entries.set(this.key(id), {
      payload,
      expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : 0,
    });
    FileAdapter.save();
  }

  async find(id) {
    return FileAdapter.live(this.key(id));
  }

  async findByUid(uid) {
    for (const key of FileAdapter.entries.keys()) {
      if (!key.startsWith(`${this.model}:`)) continue;
      const payload = FileAdapter.live(key);
      if (payload && payload.uid === uid) return payload;
    }
    return undefined;
  }

  async findByUserCode(userCode) {
    for (const key of FileAdapter.entries.keys()) {
      if (!key.startsWith(`${this.model}:`)) continue;
      const payload = FileAdapter.live(key);
      if (payload && payload.userCode === userCode) return payload;
    }
    return undefined;
  }

  async consume(id) {
    const payload = FileAdapter.live(this.key(id));
    if (payload) {
      payload.consumed = Math.floor(Date.now() / 1000);
      FileAdapter.save();
    }
  }

  async destroy(id) {
    FileAdapter.entries.delete(this.key(id));
    FileAdapter.save();
  }

  async revokeByGrantId(grantId) {
    FileAdapter.revokeGrant(grantId);
    FileAdapter.save();
  }

  static revokeGrant(grantId) {
    for (const [key, value] of FileAdapter.entries) {
      if (value.payload && value.payload.grantId === grantId) FileAdapter.entries.delete(key);
    }
    FileAdapter.entries.delete(`Grant:${grantId}`);
  }

  static sessions() {
    const out = [];
    for (const key of FileAdapter.entries.keys()) {
      if (!key.startsWith('Session:')) continue;
      const payload = FileAdapter.live(key);
      if (payload) out.push({ id: key.slice('Session:'.length), payload });
    }
    return out;
  }
}
FileAdapter.load(config.state_file);

const accounts = config.accounts || {};
const clients = (config.clients || []).map((c) => ({
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  ...(c.backchannel_logout_uri ? { backchannel_logout_session_required: true } : {}),
  ...c,
}));
const refreshPolicy = config.refresh || 'always';

function v4lookup(hostname, options, callback) {
  return dns.lookup(hostname, { ...options, family: 4 }, callback);
}

const provider = new Provider(config.issuer, {
  adapter: FileAdapter,
  clients,
  jwks: { keys: config.keys },
  cookies: { keys: config.cookie_keys || [randomUUID()] },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...(account.claims || {}) };
      },
    };
  },
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
  conformIdTokenClaims: false,
  responseTypes: ['code'],
  features: {
    devInteractions: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    claimsParameter: { enabled: false },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    ...(config.api_audience ? {
      resourceIndicators: {
        enabled: true,
        defaultResource: () => config.api_audience,
        useGrantedResource: () => true,
        getResourceServerInfo(ctx, indicator) {
          if (indicator !== config.api_audience) throw new errors.InvalidTarget();
          return {
            scope: 'api',
            audience: indicator,
            accessTokenTTL: config.access_ttl || 20,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    } : {}),
  },
  ttl: {
    AccessToken: config.access_ttl || 20,
    IdToken: config.id_token_ttl || 3600,
    RefreshToken: config.refresh_ttl || 86400,
    AuthorizationCode: 60,
    Interaction: 600,
    Session: config.session_ttl || 86400,
    Grant: config.refresh_ttl || 86400,
  },
  rotateRefreshToken: true,
  async issueRefreshToken(ctx, client, code) {
    if (!client.grantTypeAllowed('refresh_token')) return false;
    return refreshPolicy === 'always' || code.scopes.has('offline_access');
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (config.consent) {
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
    }
    const grant = (grantId && await ctx.oidc.provider.Grant.find(grantId))
      || new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
    grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
    if (config.api_audience) {
      grant.addResourceScope(config.api_audience, ctx.oidc.requestParamScopes.has('api') ? 'api' : '');
    }
    await grant.save();
    return grant;
  },
  httpOptions() {
    return { dnsLookup: v4lookup, signal: AbortSignal.timeout(5000) };
  },
});

provider.on('backchannel.error', (ctx, err, client) => {
  console.error(`backchannel logout to ${client.clientId} failed: ${err.message}`);
});
provider.on('server_error', (ctx, err) => {
  console.error(`server_error: ${err.stack}`);
});

async function readJson(ctx) {
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

async function backchannel(clientId, sub, sid) {
  const client = await provider.Client.find(clientId);
  if (!client) return { client_id: clientId, sid, ok: false, error: 'no such client' };
  if (!client.backchannelLogoutUri) return { client_id: clientId, sid, ok: false, error: 'no backchannel_logout_uri' };
  try {
    await client.backchannelLogout(sub, sid);
    return { client_id: clientId, sid, ok: true };
  } catch (err) {
    return { client_id: clientId, sid, ok: false, error: err.message };
  }
}

// Test controls, and the password check the library's login form lacks.
provider.use(async (ctx, next) => {
  if (ctx.path.startsWith('/__admin/')) {
    ctx.type = 'json';
    if (ctx.method === 'GET' && ctx.path === '/__admin/sessions') {
      ctx.body = FileAdapter.sessions().map(({ payload }) => ({
        account: payload.accountId,
        sids: Object.fromEntries(Object.entries(payload.authorizations || {}).map(([c, a]) => [c, a.sid])),
      }));
      return;
    }
    if (ctx.method === 'POST' && ctx.path === '/__admin/backchannel') {
      const body = await readJson(ctx);
      ctx.body = await backchannel(body.client_id, body.sub, body.sid);
      return;
    }
    if (ctx.method === 'POST' && ctx.path === '/__admin/logout') {
      const body = await readJson(ctx);
      const results = [];
      let count = 0;
      for (const { id, payload } of FileAdapter.sessions()) {
        if (payload.accountId !== body.account) continue;
        count += 1;
        for (const [clientId, authorization] of Object.entries(payload.authorizations || {})) {
          results.push(await backchannel(clientId, payload.accountId, authorization.sid));
          if (authorization.grantId && !authorization.persistsLogout) {
            FileAdapter.revokeGrant(authorization.grantId);
          }
        }
        FileAdapter.entries.delete(`Session:${id}`);
      }
      FileAdapter.save();
      ctx.body = { sessions: count, backchannel: results };
      return;
    }
    ctx.status = 404;
    ctx.body = { error: 'no such test control' };
    return;
  }
  if (ctx.method === 'POST' && /^\/interaction\/[^/]+$/.test(ctx.path)
      && ctx.is('application/x-www-form-urlencoded')) {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    const raw = Buffer.concat(chunks).toString('utf8');
    const form = new URLSearchParams(raw);
    if (form.get('prompt') === 'login') {
      const account = accounts[form.get('login')];
      const password = account && account.password;
      if (!account || (password !== undefined && password !== form.get('password'))) {
        ctx.status = 303;
        ctx.redirect(ctx.path);
        return;
      }
    }
    // The library reads an already consumed body from request.body.
    ctx.request.body = raw;
  }
  await next();
});

const server = https.createServer({
  cert: readFileSync(config.cert),
  key: readFileSync(config.key),
}, provider.callback());
server.listen(config.port, '127.0.0.1', () => {
  console.log('ready');
});

function stop() {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
