// Signs in to sesame's built-in login form as a person would, in Debian's
// chromium driven by playwright-core, and checks what the person sees.
//
// Usage: node tests/browser/login.mjs --base https://127.0.0.1:PORT
//          --protected /private/echo --user alice [--groups staff,admins]
//          [--cookie-name __Host-sesame] [--same-site Lax] [--title "Sign in"]
//          [--screenshots build/browser] [--timeout 15000]
// The password comes from the environment (SESAME_PASSWORD; a wrong one is
// derived from it), so it never shows in a process list.
//
// The protected path must be a route with auth = "required" in front of the
// e2e upstream's /echo (JSON: the request as the app received it). Prints one
// "ok N: ..." line per step and "browser: login flow passed" at the end; on
// the first failed check prints "not ok: ..." and exits 1, after a screenshot
// of the page as it was (failure.png). Screenshots: form.png, form-phone.png,
// error.png, landed.png, logout.png.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { chromium } from 'playwright-core';

const { values: opt } = parseArgs({
  options: {
    base: { type: 'string' },
    protected: { type: 'string' },
    user: { type: 'string' },
    groups: { type: 'string', default: '' },
    'cookie-name': { type: 'string', default: '__Host-sesame' },
    'same-site': { type: 'string', default: 'Lax' },
    title: { type: 'string', default: 'Sign in' },
    screenshots: { type: 'string', default: 'build/browser' },
    timeout: { type: 'string', default: '15000' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
const password = process.env.SESAME_PASSWORD;
for (const [name, value] of Object.entries({ base: opt.base, protected: opt.protected, user: opt.user,
  SESAME_PASSWORD: password })) {
  if (!value) {
    console.error(`login.mjs: ${name} is missing (see the usage at the top of this file)`);
    process.exit(2);
  }
}
const base = opt.base.replace(/\/$/, '');
const protectedUrl = base + opt.protected;
const cookieName = opt['cookie-name'];
const expectedGroups = opt.groups ? opt.groups.split(',') : [];
const wrongPassword = password + '-wrong';
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

const shot = (page, name) => page.screenshot({ path: join(opt.screenshots, name), fullPage: true });
const pathOf = (url) => new URL(url).pathname;
const echoedHeader = (echo, name) =>
  echo.headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);

async function sessionCookie(context) {
  const found = (await context.cookies(base)).filter((c) => c.name === cookieName);
  check(found.length <= 1, `${found.length} cookies named ${cookieName}`);
  return found[0];
}

// The login page as sesame serves it, reached from `response` (the page's
// final navigation response): the form, its fields, and the headers that
// keep it out of frames and caches and stop any script.
async function checkLoginPage(page, response, returnTo) {
  equal(pathOf(page.url()), LOGIN, 'landed on the login page');
  const headers = response.headers();
  const csp = headers['content-security-policy'] || '';
  for (const directive of ["default-src 'none'", "form-action 'self'"]) {
    check(csp.includes(directive), `Content-Security-Policy ${JSON.stringify(csp)} lacks ${directive}`);
  }
  equal((headers['x-frame-options'] || '').toUpperCase(), 'DENY', 'X-Frame-Options');
  check(/no-store/.test(headers['cache-control'] || ''), `Cache-Control ${headers['cache-control']}`);
  const form = page.locator('form', { has: page.locator('input[name=password]') });
  equal(await form.count(), 1, 'forms with a password field');
  equal(await form.getAttribute('method').then((m) => (m || '').toLowerCase()), 'post', 'form method');
  equal(await form.locator('input[name=password]').getAttribute('type'), 'password', 'password field type');
  for (const name of ['username', 'password']) {
    const labels = await form.locator(`input[name=${name}]`).evaluate((el) => el.labels.length);
    check(labels > 0, `the ${name} field has no <label>`);
  }
  check((await form.locator('input[name=csrf]').inputValue()).length > 0, 'the csrf field is empty');
  if (returnTo !== undefined) {
    equal(await form.locator('input[name=return_to]').inputValue(), returnTo, 'return_to in the form');
  }
  check((await page.content()).includes(opt.title), `the page does not show the title ${opt.title}`);
  return form;
}

// Submits the login form by clicking its button; returns the POST's response.
async function submit(page, form, user, secret) {
  await form.locator('input[name=username]').fill(user);
  await form.locator('input[name=password]').fill(secret);
  const [posted] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && pathOf(r.url()) === LOGIN),
    form.locator('button, input[type=submit]').first().click(),
  ]);
  await page.waitForLoadState('load');
  return posted;
}

async function run(page, context) {
  // 1. A protected page sends an anonymous browser to the login form.
  let response = await page.goto(protectedUrl);
  const redirect = response.request().redirectedFrom();
  check(redirect !== null && pathOf(redirect.url()) === opt.protected,
    `${opt.protected} did not redirect to the login page (final ${page.url()}, status ${response.status()})`);
  equal(response.status(), 200, 'login page status');
  let form = await checkLoginPage(page, response, opt.protected);
  const anonymous = await sessionCookie(context);
  check(anonymous !== undefined, 'the login page set no session cookie (the CSRF token binds to it)');
  await shot(page, 'form.png');
  ok(`${opt.protected} -> ${LOGIN}, a labelled form with CSRF token and return_to, no frames, no cache`);

  // The same page on a phone: no sideways scrolling.
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `the form is ${overflow}px wider than a 390px phone screen`);
  await shot(page, 'form-phone.png');
  await page.setViewportSize({ width: 1024, height: 768 });
  ok('the form fits a phone screen');

  // 2. A wrong password: the form again, with the one message for every cause.
  let posted = await submit(page, form, opt.user, wrongPassword);
  equal(posted.status(), 401, 'status after a wrong password');
  check((await page.content()).includes('Wrong user name or password.'),
    'the page after a wrong password does not say "Wrong user name or password."');
  form = await checkLoginPage(page, posted);
  check((await sessionCookie(context)) !== undefined, 'the wrong password lost the session cookie');
  await shot(page, 'error.png');
  ok('a wrong password shows "Wrong user name or password." (401)');

  // 3. The right password lands on the page asked for, as the user.
  posted = await submit(page, form, opt.user, password);
  equal(posted.status(), 303, 'status after the right password');
  equal(page.url(), protectedUrl, 'page after login');
  const echo = JSON.parse(await page.locator('pre').first().innerText());
  equal(JSON.stringify(echoedHeader(echo, 'X-Remote-User')), JSON.stringify([opt.user]),
    'X-Remote-User as the app received it');
  if (expectedGroups.length > 0) {
    const groups = echoedHeader(echo, 'X-Remote-Groups').join(',').split(',').filter(Boolean);
    equal(JSON.stringify([...groups].sort()), JSON.stringify([...expectedGroups].sort()),
      'X-Remote-Groups as the app received it');
  }
  const leaked = echoedHeader(echo, 'Cookie').filter((c) => c.includes(cookieName + '='));
  check(leaked.length === 0, `the app received sesame's cookie: ${leaked}`);
  await shot(page, 'landed.png');
  ok(`logged in: ${opt.protected} shows X-Remote-User: ${opt.user} as the app saw it`);

  // 4. The session cookie: a new ID (no fixation) with the configured attributes.
  const cookie = await sessionCookie(context);
  check(cookie !== undefined, 'no session cookie after login');
  check(cookie.value !== anonymous.value, 'the session cookie kept its pre-login value (session fixation)');
  equal(cookie.httpOnly, true, 'HttpOnly');
  equal(cookie.secure, true, 'Secure');
  equal(cookie.sameSite, opt['same-site'], 'SameSite');
  equal(cookie.path, '/', 'Path');
  equal(cookie.domain, new URL(base).hostname, 'Domain (host-only)');
  const visible = await page.evaluate(() => document.cookie);
  check(!visible.includes(cookieName), `scripts can read the session cookie: ${visible}`);
  ok(`cookie ${cookieName}: new value, HttpOnly, Secure, SameSite=${opt['same-site']}, Path=/, host-only`);

  // 5. Logout: GET shows a confirmation, its button POSTs.
  response = await page.goto(base + LOGOUT);
  equal(response.status(), 200, 'logout page status');
  const confirm = page.locator(`form[action="${LOGOUT}"]`);
  equal(await confirm.count(), 1, 'sign-out forms on the logout page');
  equal((await confirm.getAttribute('method') || '').toLowerCase(), 'post', 'sign-out form method');
  await shot(page, 'logout.png');
  const [out] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && pathOf(r.url()) === LOGOUT),
    confirm.locator('button, input[type=submit]').first().click(),
  ]);
  await page.waitForLoadState('load');
  equal(out.status(), 303, 'status of the sign-out POST');
  equal(pathOf(page.url()), LOGIN, 'page after logout');
  const after = await sessionCookie(context);
  check(after === undefined || after.value !== cookie.value, 'the logged-in cookie survived the logout');
  ok(`logout: ${LOGOUT} confirmation, its button -> ${LOGIN}`);

  // 6. The protected page asks to log in again, even with the old cookie put back.
  response = await page.goto(protectedUrl);
  await checkLoginPage(page, response, opt.protected);
  await context.addCookies([{ name: cookieName, value: cookie.value, url: base, secure: true,
    httpOnly: true, sameSite: cookie.sameSite }]);
  response = await page.goto(protectedUrl);
  await checkLoginPage(page, response, opt.protected);
  ok(`after logout ${opt.protected} asks to log in again, also with the old cookie replayed`);
}

// Root cannot use chromium's sandbox (it refuses to start); anyone else keeps it.
const browser = await chromium.launch({
  executablePath: opt.chromium,
  chromiumSandbox: process.getuid() !== 0,
  // No connections to Google's services (there is no network to reach them).
  args: ['--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--no-first-run', '--disable-quic'],
});
let status = 0;
const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1024, height: 768 } });
context.setDefaultTimeout(Number(opt.timeout));
const page = await context.newPage();
try {
  await run(page, context);
  console.log(`browser: login flow passed (${step} steps, chromium ${browser.version()})`);
} catch (e) {
  status = 1;
  console.log(`not ok: ${e instanceof CheckFailed ? e.message : e.stack}`);
  console.log(`  at ${page.url()}`);
  await shot(page, 'failure.png').catch(() => {});
} finally {
  await browser.close();
}
process.exit(status);
