// The hosted connect page in a real browser (Debian's Chromium through playwright-core). Popup
// mode: an app page at an allowed origin opens a connect link with window.open; the user
// picks the sandbox-backed Google and allows at the sandbox; the result page posts
// {type: "tether:connect", …} to the opener at that origin and closes. Redirect mode: the
// result page goes back to return_to with the outcome. No CSP violation on the way.
// Usage: node connect.test.mjs BASE_URL SERVICE_KEY
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';

const [base, serviceKey] = process.argv.slice(2);
assert.ok(base && serviceKey, 'usage: BASE_URL SERVICE_KEY');
const origin = new URL(base).origin;
// The product's page, served by the test at Tether's origin: the default return_to allowlist
// is Tether's public URL, so that is the allowed opener origin here.
const appUrl = `${base}/app-under-test`;

async function createSession(body) {
  const answer = await fetch(`${base}/api/v1/connect-sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${serviceKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await answer.text();
  assert.equal(answer.status, 201, text);
  return JSON.parse(text);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update'],
});
const cspViolations = [];
const watch = (page) => page.on('console', (m) => {
  if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
});
const step = async (name, fn) => {
  process.stdout.write(`- ${name} ... `);
  await fn();
  console.log('ok');
};

try {
  const context = await browser.newContext();
  await context.route(appUrl + '**', (route) => route.fulfill({
    contentType: 'text/html',
    body: '<!doctype html><title>The app</title><p>The app</p>',
  }));

  await step('a popup posts the outcome to its opener and closes', async () => {
    const app = await context.newPage();
    watch(app);
    await app.goto(appUrl);
    const session = await createSession({
      user_id: 'browser-user', providers: ['google'], opener_origin: origin,
    });
    const opened = app.waitForEvent('popup');
    const received = app.evaluate((url) => new Promise((resolve) => {
      window.addEventListener('message', (e) => resolve({ origin: e.origin, data: e.data }),
        { once: true });
      window.open(url, 'tether-connect', 'popup,width=520,height=720');
    }), session.url);
    const popup = await opened;
    watch(popup);
    await popup.getByRole('button', { name: 'Continue with Google' }).click();
    await popup.getByLabel('Username').fill('browser-user');
    await popup.getByRole('button', { name: 'Allow' }).click();
    const message = await received;
    assert.equal(message.origin, origin);
    assert.equal(message.data.type, 'tether:connect');
    assert.equal(message.data.outcome, 'connected');
    assert.equal(message.data.provider, 'google');
    assert.match(message.data.integration_id, /^[0-9a-f-]{36}$/);
    if (!popup.isClosed()) {
      await popup.waitForEvent('close', { timeout: 5000 });
    }
  });

  await step('a redirect session returns to the app with the outcome', async () => {
    const session = await createSession({
      user_id: 'browser-user', providers: ['google'], return_to: appUrl,
    });
    const page = await context.newPage();
    watch(page);
    await page.goto(session.url);
    await page.getByRole('button', { name: 'Continue with Google' }).click();
    await page.getByLabel('Username').fill('browser-user');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByText('is connected', { exact: false }).first().waitFor();
    await page.waitForURL((url) => url.pathname === '/app-under-test'
      && url.searchParams.get('outcome') === 'connected', { timeout: 10000 });
  });

  await step('a spent link says so', async () => {
    const session = await createSession({
      user_id: 'browser-user', providers: ['google'], return_to: appUrl,
    });
    const page = await context.newPage();
    watch(page);
    await page.goto(session.url);
    await page.getByRole('button', { name: 'Continue with Google' }).click();
    const again = await page.goto(session.url);
    assert.equal(again.status(), 410);
    await page.getByRole('heading', { name: 'Link already used' }).waitFor();
  });

  assert.deepEqual(cspViolations, [], 'no CSP violation');
} finally {
  await browser.close();
}
