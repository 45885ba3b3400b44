// A HOSTILE OpenID provider for sesame's end-to-end tests: it sends what a
// real provider never does (unsigned or alg-confused ID tokens, wrong
// issuer or audience, stale or future tokens, unknown kids, huge or broken
// JSON, a token endpoint that never answers), so tests can check that each
// is refused without a session and without stalling a worker. Node's
// built-in https and crypto only: no npm package. Tests start it through
// tests/e2e/idp.py (start_hostile).
//
// Usage: node tests/oidc/hostile.mjs --port P --cert C.pem --key K.pem
//          [--host 127.0.0.1] [--ttl 300]
// Listens on 127.0.0.1:P over TLS, issuer https://HOST:P; prints "ready".
//
// Keys, generated at start: RSA 2048 (RS256, PS256), EC P-256 (ES256),
// Ed25519 (EdDSA), all in the JWKS; plus a "rogue" RSA key that is never
// published (unknown_kid signs with it).
//
// Endpoints:
//   GET  /.well-known/openid-configuration   discovery
//   GET  /jwks                               the public keys
//   GET  /authorize?client_id&redirect_uri&state&nonce&code_challenge...
//        302 at once to redirect_uri?code=..&state=..&iss=.. (no login)
//   POST /token   authorization_code (each code answers ONCE: a replay is
//        400 invalid_grant; PKCE S256 and redirect_uri are checked) and
//        refresh_token (each refresh token works once, rotated); any client
//        secret is accepted (Basic or in the form)
//   GET  /userinfo, GET /logout              trivial answers
// Test controls:
//   POST /__mode {"mode": M, "client_id"?: C, "endpoint"?: E, "claims"?: {}}
//        sets the behaviour of endpoint E (default "token") for client C
//        (default: every client without a mode of its own). "claims" are
//        merged into the ID token's claims (null removes one).
//   GET  /__stats   {"requests": {endpoint: count}, "last_token_request":
//        {grant_type, client_id, auth, code_verifier, redirect_uri}}
//   POST /__reset   zeroes the counters
//   POST /__sign {"claims": {}, "header"?: {}, "key"?: "rsa"|"ec"|"ed25519"|
//        "rogue", "secret"?: S} -> {"jwt": compact JWS}. The algorithm is
//        header.alg or the key's own; "none" leaves the signature empty;
//        HS256 uses "secret", by default the RSA public key's PEM (the
//        classic algorithm-confusion attack). A header field set to null is
//        left out (e.g. {"kid": null}).
//
// Token endpoint modes:
//   valid, valid_ps256, valid_es256, valid_eddsa   a correct ID token
//   alg_none        {"alg":"none"}, empty signature
//   hs256_pubkey    HS256, keyed with the RSA public key PEM, kid of the RSA key
//   wrong_iss       iss = ISSUER/evil (a prefix match would accept it)
//   wrong_aud       aud = "someone-else"
//   wrong_azp       aud = [client_id, "other-client"], no azp
//   expired         exp 10 minutes ago
//   iat_future      iat one hour ahead
//   nonce_mismatch  a nonce other than the authorization request's
//   no_nonce        no nonce claim
//   missing_sub     no sub claim
//   unknown_kid     signed by the rogue key with a new kid every time
//                   (sesame should refetch the JWKS, rate limited: watch
//                   requests.jwks in /__stats)
//   oversized       a 5 MiB JSON body
//   malformed_json  a truncated JSON body
//   hang            never answers (the connection stays open)
//   error           400 {"error": "invalid_grant"}
//   no_id_token     200 without id_token
// Discovery and JWKS modes (endpoint "discovery" / "jwks"): valid,
//   oversized, malformed_json, hang, wrong_iss (discovery: issuer differs
//   from the URL it was fetched from), empty (jwks: no keys).
// Authorization modes (endpoint "authorize"): valid, wrong_state (another
//   state comes back), error (error=access_denied, no code).
import {
  constants, createHmac, createHash, generateKeyPairSync, randomBytes, sign,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as https from 'node:https';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    ttl: { type: 'string', default: '300' },
  },
});
if (!opt.port || !opt.cert || !opt.key) {
  console.error('hostile.mjs: --port, --cert and --key are required');
  process.exit(2);
}
const issuer = `https://${opt.host}:${opt.port}`;
const ttl = Number(opt.ttl);
const MIB = 1 << 20;

const b64u = (data) => Buffer.from(data).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const random = (n = 16) => randomBytes(n).toString('base64url');

const tag = randomBytes(4).toString('hex');
const keys = {
  rsa: { pair: generateKeyPairSync('rsa', { modulusLength: 2048 }), kid: `rsa-${tag}`, alg: 'RS256' },
  ec: { pair: generateKeyPairSync('ec', { namedCurve: 'P-256' }), kid: `ec-${tag}`, alg: 'ES256' },
  ed25519: { pair: generateKeyPairSync('ed25519'), kid: `ed25519-${tag}`, alg: 'EdDSA' },
  rogue: { pair: generateKeyPairSync('rsa', { modulusLength: 2048 }), kid: `rogue-${tag}`, alg: 'RS256' },
};
const rsaPublicPem = keys.rsa.pair.publicKey.export({ type: 'spki', format: 'pem' });
const jwks = {
  keys: ['rsa', 'ec', 'ed25519'].map((name) => ({
    ...keys[name].pair.publicKey.export({ format: 'jwk' }),
    kid: keys[name].kid,
    alg: keys[name].alg,
    use: 'sig',
  })),
};

function signJwt(claims, header = {}, keyName = 'rsa', secret = undefined) {
  const key = keys[keyName];
  if (!key) throw new Error(`no key named ${keyName}`);
  const full = { alg: key.alg, typ: 'JWT', kid: key.kid, ...header };
  for (const [name, value] of Object.entries(full)) {
    if (value === null) delete full[name];
  }
  const input = Buffer.from(`${b64u(JSON.stringify(full))}.${b64u(JSON.stringify(claims))}`);
  const priv = key.pair.privateKey;
  let signature;
  switch (full.alg) {
    case 'none':
      signature = Buffer.alloc(0);
      break;
    case 'HS256':
      signature = createHmac('sha256', secret ?? rsaPublicPem).update(input).digest();
      break;
    case 'RS256':
      signature = sign('sha256', input, priv);
      break;
    case 'PS256':
      signature = sign('sha256', input, { key: priv, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
      break;
    case 'ES256':
      signature = sign('sha256', input, { key: priv, dsaEncoding: 'ieee-p1363' });
      break;
    case 'EdDSA':
      signature = sign(null, input, priv);
      break;
    default:
      throw new Error(`cannot sign with alg ${full.alg}`);
  }
  return `${input.toString()}.${b64u(signature)}`;
}

// ---------------------------------------------------------------- state

const modes = { token: new Map(), discovery: new Map(), jwks: new Map(), authorize: new Map() };
for (const table of Object.values(modes)) table.set('*', { mode: 'valid', claims: {} });
const modeFor = (endpoint, clientId) => modes[endpoint].get(clientId) || modes[endpoint].get('*');

const codes = new Map(); // code -> { client_id, redirect_uri, nonce, code_challenge, ..., used }
const refreshTokens = new Map(); // token -> { client_id, sub, used }
let counts = {};
let lastTokenRequest = null;
let unknownKids = 0;
const hung = new Set();

function count(name) {
  counts[name] = (counts[name] || 0) + 1;
}

// ---------------------------------------------------------------- HTTP

function send(res, status, body, headers = {}) {
  const data = Buffer.isBuffer(body) || typeof body === 'string' ? Buffer.from(body) : Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': data.length,
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(data);
}

function readBody(req, limit = MIB) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function hang(res) {
  hung.add(res);
  res.on('close', () => hung.delete(res));
}

// The broken bodies every JSON endpoint can be told to send.
function sendBroken(res, mode) {
  switch (mode) {
    case 'hang':
      hang(res);
      return true;
    case 'oversized':
      send(res, 200, `{"padding":"${'A'.repeat(5 * MIB)}"}`);
      return true;
    case 'malformed_json':
      send(res, 200, '{"access_token": "x", "token_type": "Bearer", "id_token": "ey');
      return true;
    default:
      return false;
  }
}

function discovery() {
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    userinfo_endpoint: `${issuer}/userinfo`,
    jwks_uri: `${issuer}/jwks`,
    end_session_endpoint: `${issuer}/logout`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: ['openid', 'profile', 'email', 'groups', 'offline_access'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nonce', 'preferred_username', 'email',
      'email_verified', 'groups', 'sid'],
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    authorization_response_iss_parameter_supported: true,
  };
}

function clientOf(req, form) {
  const auth = req.headers.authorization || '';
  if (auth.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    return { clientId: decodeURIComponent(decoded.split(':')[0]), method: 'client_secret_basic' };
  }
  if (form.get('client_assertion')) return { clientId: form.get('client_id'), method: 'private_key_jwt' };
  if (form.get('client_secret')) return { clientId: form.get('client_id'), method: 'client_secret_post' };
  return { clientId: form.get('client_id'), method: 'none' };
}

function idTokenFor(mode, clientId, grant) {
  const t = now();
  let claims = {
    iss: issuer,
    sub: grant.sub,
    aud: clientId,
    exp: t + ttl,
    iat: t,
    auth_time: t,
    sid: grant.sid,
    preferred_username: grant.sub,
    email: `${grant.sub}@hostile.test`,
    email_verified: true,
    groups: ['hostile'],
  };
  if (grant.nonce !== undefined) claims.nonce = grant.nonce;
  let header = {};
  let key = 'rsa';
  switch (mode.mode) {
    case 'valid':
      break;
    case 'valid_ps256':
      header = { alg: 'PS256' };
      break;
    case 'valid_es256':
      key = 'ec';
      break;
    case 'valid_eddsa':
      key = 'ed25519';
      break;
    case 'alg_none':
      header = { alg: 'none', kid: null };
      break;
    case 'hs256_pubkey':
      header = { alg: 'HS256' };
      break;
    case 'wrong_iss':
      claims.iss = `${issuer}/evil`;
      break;
    case 'wrong_aud':
      claims.aud = 'someone-else';
      break;
    case 'wrong_azp':
      claims.aud = [clientId, 'other-client'];
      break;
    case 'expired':
      claims.iat = t - 1200;
      claims.auth_time = t - 1200;
      claims.exp = t - 600;
      break;
    case 'iat_future':
      claims.iat = t + 3600;
      claims.exp = t + 7200;
      break;
    case 'nonce_mismatch':
      claims.nonce = random();
      break;
    case 'no_nonce':
      delete claims.nonce;
      break;
    case 'missing_sub':
      delete claims.sub;
      break;
    case 'unknown_kid':
      key = 'rogue';
      unknownKids += 1;
      header = { kid: `unknown-${unknownKids}-${tag}` };
      break;
    default:
      throw new Error(`unknown token mode ${mode.mode}`);
  }
  claims = { ...claims, ...(mode.claims || {}) };
  for (const [name, value] of Object.entries(claims)) {
    if (value === null) delete claims[name];
  }
  return signJwt(claims, header, key);
}

async function token(req, res) {
  const form = new URLSearchParams(await readBody(req));
  const { clientId, method } = clientOf(req, form);
  lastTokenRequest = {
    grant_type: form.get('grant_type'),
    client_id: clientId,
    auth: method,
    code_verifier: form.has('code_verifier'),
    redirect_uri: form.get('redirect_uri'),
  };
  const mode = modeFor('token', clientId);
  if (sendBroken(res, mode.mode)) return;
  if (mode.mode === 'error') {
    send(res, 400, { error: 'invalid_grant', error_description: 'told to refuse' });
    return;
  }
  let grant;
  if (form.get('grant_type') === 'authorization_code') {
    grant = codes.get(form.get('code'));
    if (!grant || grant.used) {
      send(res, 400, { error: 'invalid_grant', error_description: grant ? 'code already used' : 'unknown code' });
      return;
    }
    grant.used = true;
    if (grant.client_id !== clientId || grant.redirect_uri !== form.get('redirect_uri')) {
      send(res, 400, { error: 'invalid_grant', error_description: 'client or redirect_uri mismatch' });
      return;
    }
    if (grant.code_challenge) {
      const verifier = form.get('code_verifier') || '';
      if (b64u(createHash('sha256').update(verifier).digest()) !== grant.code_challenge) {
        send(res, 400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
        return;
      }
    }
  } else if (form.get('grant_type') === 'refresh_token') {
    const old = refreshTokens.get(form.get('refresh_token'));
    if (!old || old.used || old.client_id !== clientId) {
      send(res, 400, { error: 'invalid_grant', error_description: 'refresh token unknown or used' });
      return;
    }
    old.used = true;
    grant = { client_id: clientId, sub: old.sub, sid: old.sid };
  } else {
    send(res, 400, { error: 'unsupported_grant_type' });
    return;
  }
  const refresh = random(32);
  refreshTokens.set(refresh, { client_id: clientId, sub: grant.sub, sid: grant.sid, used: false });
  const body = {
    access_token: random(32),
    token_type: 'Bearer',
    expires_in: 60,
    refresh_token: refresh,
    scope: grant.scope || 'openid',
  };
  if (mode.mode !== 'no_id_token') body.id_token = idTokenFor(mode, clientId, grant);
  send(res, 200, body);
}

function authorize(req, res, url) {
  const p = url.searchParams;
  const clientId = p.get('client_id');
  const redirectUri = p.get('redirect_uri');
  if (!clientId || !redirectUri) {
    send(res, 400, { error: 'invalid_request', error_description: 'client_id and redirect_uri are required' });
    return;
  }
  const mode = modeFor('authorize', clientId);
  const back = new URL(redirectUri);
  if (mode.mode === 'error') {
    back.searchParams.set('error', 'access_denied');
  } else {
    const code = random();
    codes.set(code, {
      client_id: clientId,
      redirect_uri: redirectUri,
      nonce: p.get('nonce') ?? undefined,
      code_challenge: p.get('code_challenge') || undefined,
      scope: p.get('scope') || 'openid',
      sub: p.get('login_hint') || 'mallory',
      sid: random(),
      used: false,
    });
    back.searchParams.set('code', code);
  }
  const state = mode.mode === 'wrong_state' ? random() : p.get('state');
  if (state !== null) back.searchParams.set('state', state);
  back.searchParams.set('iss', issuer);
  res.writeHead(302, { Location: back.toString(), 'Cache-Control': 'no-store', 'Content-Length': 0 });
  res.end();
}

async function controls(req, res, url) {
  if (req.method === 'GET' && url.pathname === '/__stats') {
    send(res, 200, { requests: counts, last_token_request: lastTokenRequest });
    return;
  }
  if (req.method !== 'POST') {
    send(res, 405, { error: 'POST only' });
    return;
  }
  const body = JSON.parse((await readBody(req)) || '{}');
  switch (url.pathname) {
    case '/__reset':
      counts = {};
      lastTokenRequest = null;
      send(res, 200, { ok: true });
      return;
    case '/__mode': {
      const endpoint = body.endpoint || 'token';
      if (!modes[endpoint] || typeof body.mode !== 'string') {
        send(res, 400, { error: 'need "mode" and an endpoint among token, discovery, jwks, authorize' });
        return;
      }
      modes[endpoint].set(body.client_id || '*', { mode: body.mode, claims: body.claims || {} });
      send(res, 200, { ok: true });
      return;
    }
    case '/__sign':
      send(res, 200, { jwt: signJwt(body.claims || {}, body.header || {}, body.key || 'rsa', body.secret) });
      return;
    default:
      send(res, 404, { error: 'no such control' });
  }
}

async function handle(req, res) {
  const url = new URL(req.url, issuer);
  if (url.pathname.startsWith('/__')) {
    await controls(req, res, url);
    return;
  }
  switch (url.pathname) {
    case '/.well-known/openid-configuration': {
      count('discovery');
      const { mode } = modeFor('discovery', '*');
      if (sendBroken(res, mode)) return;
      send(res, 200, mode === 'wrong_iss' ? { ...discovery(), issuer: `${issuer}/evil` } : discovery());
      return;
    }
    case '/jwks': {
      count('jwks');
      const { mode } = modeFor('jwks', '*');
      if (sendBroken(res, mode)) return;
      send(res, 200, mode === 'empty' ? { keys: [] } : jwks, { 'Content-Type': 'application/jwk-set+json' });
      return;
    }
    case '/authorize':
      count('authorize');
      authorize(req, res, url);
      return;
    case '/token':
      count('token');
      if (req.method !== 'POST') {
        send(res, 405, { error: 'invalid_request' });
        return;
      }
      await token(req, res);
      return;
    case '/userinfo':
      count('userinfo');
      send(res, 200, { sub: 'mallory' });
      return;
    case '/logout':
      count('end_session');
      send(res, 200, '<!DOCTYPE html><title>Signed out</title><p>Signed out.', { 'Content-Type': 'text/html' });
      return;
    default:
      count('other');
      send(res, 404, { error: 'not found' });
  }
}

const server = https.createServer({ cert: readFileSync(opt.cert), key: readFileSync(opt.key) }, (req, res) => {
  handle(req, res).catch((err) => {
    if (!res.headersSent) send(res, 400, { error: 'invalid_request', error_description: err.message });
  });
});
server.listen(Number(opt.port), '127.0.0.1', () => {
  console.log('ready');
});

function stop() {
  for (const res of hung) res.destroy();
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
