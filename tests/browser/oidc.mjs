// Signs in to sesame through a real OpenID provider (tests/oidc/provider.mjs)
// as a person would, in Debian's chromium driven by playwright-core, then
// signs out of both.
//
// Usage: node tests/browser/oidc.mjs --base https://127.0.0.1:PORT
//          --issuer https://127.0.0.1:PORT --protected /echo --account u-alice
//          --user alice [--groups staff,admins] [--after-logout /pub/echo]
//          [--cookie-name __Host-sesame] [--screenshots build/browser]
//          [--shot-prefix oidc-] [--timeout 15000]
// The account's password at the provider comes from the environment
// (SESAME_PASSWORD), so it never shows in a process list.
//
// The protected path must be a required route in front of the e2e upstream's
// /echo (JSON: the request as the app received it); --after-logout sesame's
// post_logout_redirect, a public route to /echo. Both sesame and the provider
// use certificates of the e2e test CA, which the browser does not know
// (ignoreHTTPSErrors). Prints one "ok N: ..." line per step and
// "browser: oidc flow passed" at the end; on the first failed check prints
// "not ok: ..." and exits 1, after a screenshot of the page as it was
// (failure.png). Screenshots, each name after --shot-prefix:
// provider-login.png, landed.png, logout.png, provider-logout.png,
// signed-out.png.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { chromium } from 'playwright-core';

const { values: opt } = parseArgs({
  options: {
    base: { type: 'string' },
    issuer: { type: 'string' },
    protected: { type: 'string' },
    account: { type: 'string' },
    user: { type: 'string' },
    groups: { type: 'string', default: '' },
    'after-logout': { type: 'string', default: '' },
    'cookie-name': { type: 'string', default: '__Host-sesame' },
    screenshots: { type: 'string', default: 'build/browser' },
    'shot-prefix': { type: 'string', default: 'oidc-' },
    timeout: { type: 'string', default: '15000' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
const password = process.env.SESAME_PASSWORD;
for (const [name, value] of Object.entries({ base: opt.base, issuer: opt.issuer, protected: opt.protected,
  account: opt.account, user: opt.user, SESAME_PASSWORD: password })) {
  if (!value) {
    console.error(`oidc.mjs: ${name} is missing (see the usage at the top of this file)`);
    process.exit(2);
  }
}
const base = opt.base.replace(/\/$/, '');
const issuer = opt.issuer.replace(/\/$/, '');
const protectedUrl = base + opt.protected;
const cookieName = opt['cookie-name'];
const expectedGroups = opt.groups ? opt.groups.split(',') : [];
const LOGIN = '/.sesame/login';
const LOGOUT = '/.sesame/logout';
mkdirSync(opt.screenshots, { recursive: true });

class CheckFailed extends Error {}
let step = 0;
function ok(what) {
  step += 1;
  console.log(`ok ${step}: ${what}`);
}
function check(condition, what) {
  if (!condition) throw new CheckFailed(what);
}
function equal(actual, expected, what) {
  check(actual === expected, `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

const shot = (page, name) =>
  page.screenshot({ path: join(opt.screenshots, opt['shot-prefix'] + name), fullPage: true });
const pathOf = (url) => new URL(url).pathname;
const echoedHeader = (echo, name) =>
  echo.headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);

// The URLs a navigation went through, oldest first, ending with `response`'s.
function chain(response) {
  const urls = [];
  for (let r = response.request(); r; r = r.redirectedFrom()) urls.unshift(r.url());
  return urls;
}

async function sessionCookie(context) {
  const found = (await context.cookies(base)).filter((c) => c.name === cookieName);
  check(found.length <= 1, `${found.length} cookies named ${cookieName}`);
  return found[0];
}

// The provider's login form (devInteractions): login and password fields.
async function checkProviderLogin(page) {
  check(page.url().startsWith(`${issuer}/interaction/`),
    `not on the provider's login page: ${page.url()}`);
  const form = page.locator('form', { has: page.locator('input[name=password]') });
  equal(await form.count(), 1, "provider forms with a password field");
  return form;
}

async function echoOnPage(page) {
  return JSON.parse(await page.locator('pre').first().innerText());
}

async function run(page, context) {
  // 1. A protected page: sesame sends the browser through /.sesame/login to
  // the provider's authorization endpoint and its login page.
  const response = await page.goto(protectedUrl);
  const urls = chain(response);
  equal(urls[0], protectedUrl, 'first URL');
  check(urls.some((u) => u.startsWith(base + LOGIN)), `the way to the provider skipped ${LOGIN}: ${urls}`);
  const auth = urls.find((u) => u.startsWith(issuer));
  check(auth !== undefined, `never reached the provider: ${urls}`);
  const q = new URL(auth).searchParams;
  equal(q.get('redirect_uri'), `${base}/.sesame/oidc/callback`, 'redirect_uri');
  equal(q.get('code_challenge_method'), 'S256', 'code_challenge_method');
  check(q.get('state') && q.get('nonce'), 'no state or nonce in the authorization request');
  const form = await checkProviderLogin(page);
  const anonymous = await sessionCookie(context);
  check(anonymous !== undefined, 'sesame kept no pre-login session for the sign-in');
  await shot(page, 'provider-login.png');
  ok(`${opt.protected} -> ${LOGIN} -> the provider's login page (PKCE S256, state, nonce)`);

  // 2. Sign in at the provider: back on the page asked for, as the user.
  await form.locator('input[name=login]').fill(opt.account);
  await form.locator('input[name=password]').fill(password);
  await Promise.all([
    page.waitForURL(protectedUrl),
    form.locator('button[type=submit], input[type=submit]').first().click(),
  ]);
  await page.waitForLoadState('load');
  equal(page.url(), protectedUrl, 'page after the provider sign-in');
  const echo = await echoOnPage(page);
  equal(JSON.stringify(echoedHeader(echo, 'X-Remote-User')), JSON.stringify([opt.user]),
    'X-Remote-User as the app received it');
  if (expectedGroups.length > 0) {
    const groups = echoedHeader(echo, 'X-Remote-Groups').join(',').split(',').filter(Boolean);
    equal(JSON.stringify([...groups].sort()), JSON.stringify([...expectedGroups].sort()),
      'X-Remote-Groups as the app received it');
  }
  const leaked = echo.headers.filter(([n, v]) => /oidc/i.test(n) || v.includes(cookieName + '='));
  check(leaked.length === 0, `the app received ${JSON.stringify(leaked)}`);
  await shot(page, 'landed.png');
  ok(`back on ${opt.protected} as ${opt.user}, as the app saw it`);

  const cookie = await sessionCookie(context);
  check(cookie !== undefined, 'no session cookie after the sign-in');
  check(cookie.value !== anonymous.value, 'the session cookie kept its pre-login value (session fixation)');
  equal(cookie.httpOnly, true, 'HttpOnly');
  equal(cookie.secure, true, 'Secure');
  ok(`cookie ${cookieName}: a new value, HttpOnly, Secure`);

  // 3. Sign out: sesame's button, then the provider's own confirmation
  // (the form's redirect to the provider passes sesame's form-action CSP).
  const providerSession = async () => (await context.cookies(issuer)).some((c) => c.name === '_session');
  check(await providerSession(), "no provider session cookie (_session) after the sign-in");
  await page.goto(base + LOGOUT);
  const confirm = page.locator(`form[action="${LOGOUT}"]`);
  equal(await confirm.count(), 1, 'sign-out forms on the logout page');
  await shot(page, 'logout.png');
  const [signedOff, endSession] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && pathOf(r.url()) === LOGOUT),
    page.waitForResponse((r) => r.url().startsWith(`${issuer}/session/end?`)),
    confirm.locator('button, input[type=submit]').first().click(),
  ]);
  equal(signedOff.status(), 303, 'status of the sign-out POST');
  // The provider ends the session its cookie names: sesame's sign-out must
  // leave the provider's cookies alone (same host here, as a provider at
  // sso.example.com is the same site as an app at app.example.com).
  const sent = (await endSession.request().allHeaders()).cookie || '';
  check(/(^|; )_session=/.test(sent),
    `the browser reached the provider's end-session endpoint without the provider's session cookie (sent: ${
      JSON.stringify(sent)}; sesame's sign-out answer had Clear-Site-Data: ${
      JSON.stringify((await signedOff.allHeaders())['clear-site-data'])}): the provider cannot end its session`);
  await page.waitForLoadState('load');
  const yes = page.locator('button[name=logout][value=yes]');
  equal(await yes.count(), 1, "the provider's sign-out confirmation button");
  await shot(page, 'provider-logout.png');
  ok(`${LOGOUT} -> the provider's end-session page`);
  const after = opt['after-logout'] ? base + opt['after-logout'] : `${base}/`;
  await Promise.all([page.waitForURL((u) => u.href.startsWith(after)), yes.click()]);
  await page.waitForLoadState('load');
  if (opt['after-logout']) {
    const out = await echoOnPage(page);
    equal(echoedHeader(out, 'X-Remote-User').length, 0, 'X-Remote-User after sign-out');
  }
  const left = await sessionCookie(context);
  check(left === undefined || left.value !== cookie.value, 'the signed-in cookie survived the sign-out');
  await shot(page, 'signed-out.png');
  ok(`the provider sent the browser back to ${after}, signed out`);

  // 4. Signed out at the provider too: the protected page asks for a password again.
  await page.goto(protectedUrl);
  await checkProviderLogin(page);
  ok(`${opt.protected} asks the provider's login form again`);
}

// Root cannot use chromium's sandbox (it refuses to start); anyone else keeps it.
const browser = await chromium.launch({
  executablePath: opt.chromium,
  chromiumSandbox: process.getuid() !== 0,
  // No connections to Google's services (there is no network to reach them).
  args: ['--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--no-first-run', '--disable-quic', '--disable-gpu'],
});
let status = 0;
const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1024, height: 768 } });
context.setDefaultTimeout(Number(opt.timeout));
// The provider's pages import web fonts: nothing leaves loopback.
await context.route((url) => !['127.0.0.1', 'localhost'].includes(url.hostname), (route) => route.abort());
const page = await context.newPage();
try {
  await run(page, context);
  console.log(`browser: oidc flow passed (${step} steps, chromium ${browser.version()})`);
} catch (e) {
  status = 1;
  console.log(`not ok: ${e instanceof CheckFailed ? e.message : e.stack}`);
  console.log(`  at ${page.url()}`);
  await shot(page, 'failure.png').catch(() => {});
} finally {
  await browser.close();
}
process.exit(status);
