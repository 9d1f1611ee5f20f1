// The operator console in a real browser (Debian's Chromium through playwright-core): sign in
// as an admin, create a staff account scoped to one OpenEMR site, filter the audit log, open
// the webhooks page; as that staff account configure the site against a fake OpenEMR
// (discover, register, a passing and a failing connection test) and get 403 elsewhere; see a
// form posted without its CSRF token refused. Screenshots of every page go to ./screenshots
// (git-ignored).
// Usage: node console.test.mjs BASE_URL ADMIN_USERNAME ADMIN_PASSWORD
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import assert from 'node:assert/strict';

const [base, adminName, adminPassword] = process.argv.slice(2);
assert.ok(base && adminName && adminPassword, 'usage: BASE_URL ADMIN_USERNAME ADMIN_PASSWORD');
const shots = new URL('./screenshots/', import.meta.url).pathname;
mkdirSync(shots, { recursive: true });

// A fake OpenEMR site on loopback (plain http is accepted for loopback only): a SMART
// configuration, dynamic registration, and a token endpoint that knows one client — its
// answer to Tether's probe is invalid_grant (credentials accepted), invalid_client otherwise.
const EMR_CLIENT = 'emr-client-7';
const EMR_SECRET = 'emr-secret-shown-once';
const emr = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    const origin = `http://127.0.0.1:${emr.address().port}`;
    const oauth = `${origin}/oauth2/default`;
    const json = (status, value) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (req.method === 'GET' && req.url === '/apis/default/fhir/.well-known/smart-configuration') {
      return json(200, {
        issuer: oauth, authorization_endpoint: `${oauth}/authorize`, token_endpoint: `${oauth}/token`,
        registration_endpoint: `${oauth}/registration`, capabilities: ['launch-standalone', 'permission-v2'],
        token_endpoint_auth_methods_supported: ['client_secret_post'], code_challenge_methods_supported: ['S256'],
      });
    }
    if (req.method === 'POST' && req.url === '/oauth2/default/registration') {
      return json(201, { client_id: EMR_CLIENT, client_secret: EMR_SECRET,
        scope: 'openid fhirUser offline_access api:fhir patient/Patient.rs' });
    }
    if (req.method === 'POST' && req.url === '/oauth2/default/token') {
      const form = new URLSearchParams(body);
      const known = form.get('client_id') === EMR_CLIENT && form.get('client_secret') === EMR_SECRET;
      return known ? json(400, { error: 'invalid_grant' }) : json(401, { error: 'invalid_client' });
    }
    json(404, { error: 'not_found' });
  });
});
await new Promise((resolve) => emr.listen(0, '127.0.0.1', resolve));
const emrUrl = `http://127.0.0.1:${emr.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update'],
});
const cspViolations = [];
const step = async (name, fn) => {
  process.stdout.write(`- ${name} ... `);
  await fn();
  console.log('ok');
};

async function signIn(page, username, password) {
  await page.goto(`${base}/console/sign-in`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

try {
  const admin = await browser.newContext();
  const page = await admin.newPage();
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });

  await step('the home page links to the console', async () => {
    await page.goto(`${base}/`);
    await page.getByRole('link', { name: '/console' }).click();
    await page.waitForURL(`${base}/console/sign-in`);
  });

  await step('an admin signs in and sees the overview', async () => {
    await signIn(page, adminName, adminPassword);
    await page.waitForURL(`${base}/console`);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.screenshot({ path: `${shots}overview.png`, fullPage: true });
  });

  await step('the admin creates a staff account with a grant', async () => {
    await page.getByRole('link', { name: 'Accounts' }).click();
    await page.getByLabel('Username').fill('sam');
    await page.getByLabel('Role').selectOption('staff');
    await page.getByLabel('Initial password').fill('staff password 456');
    await page.getByLabel('Grants (staff)').fill('openemr:clinic-a');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('The account was created.').waitFor();
    await page.getByRole('link', { name: 'sam' }).waitFor();
    await page.screenshot({ path: `${shots}accounts.png`, fullPage: true });
  });

  await step('the admin filters the audit log and opens the webhooks page', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Action').selectOption('console_account_created');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/action=console_account_created/);
    await page.getByRole('cell', { name: 'console_account_created' }).first().waitFor();
    assert.equal(await page.getByRole('cell', { name: 'console_sign_in' }).count(), 0);
    await page.screenshot({ path: `${shots}audit.png`, fullPage: true });
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByText('No webhook endpoints yet.').waitFor();
    await page.getByLabel('URL').waitFor();
    await page.screenshot({ path: `${shots}webhooks.png`, fullPage: true });
  });

  await step('a form posted without its CSRF token is refused with 403', async () => {
    // The browser's own cookies (the admin session), but no token in the form.
    const answer = await page.request.post(`${base}/console/api-keys`, {
      form: { name: 'sneaky', role: 'admin' },
      maxRedirects: 0,
    });
    assert.equal(answer.status(), 403);
    await page.goto(`${base}/console/api-keys`);
    assert.equal(await page.getByText('sneaky').count(), 0, 'no key was created');
  });

  const staff = await browser.newContext();
  const staffPage = await staff.newPage();
  staffPage.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });

  await step('staff sign in, see their grant, and get 403 on admin pages and other providers', async () => {
    await signIn(staffPage, 'sam', 'staff password 456');
    await staffPage.waitForURL(`${base}/console`);
    await staffPage.getByText('openemr:clinic-a').waitFor();
    await staffPage.screenshot({ path: `${shots}staff-overview.png`, fullPage: true });
    assert.equal(await staffPage.getByRole('link', { name: 'Accounts' }).count(), 0);
    assert.equal(await staffPage.getByRole('link', { name: 'Integrations' }).count(), 0);
    for (const path of ['/console/accounts', '/console/integrations', '/console/api-keys',
      '/console/providers/notion', '/console/providers/openemr:clinic-b']) {
      const answer = await staffPage.goto(`${base}${path}`);
      assert.equal(answer.status(), 403, path);
    }
    await staffPage.screenshot({ path: `${shots}staff-403.png`, fullPage: true });
  });

  await step('staff discover their OpenEMR site and register Tether with it', async () => {
    await staffPage.goto(`${base}/console/providers`);
    await staffPage.screenshot({ path: `${shots}providers-staff.png`, fullPage: true });
    await staffPage.getByRole('link', { name: /OpenEMR — clinic-a/ }).click();
    await staffPage.getByText('not configured').first().waitFor();
    await staffPage.screenshot({ path: `${shots}provider-openemr-new.png`, fullPage: true });
    await staffPage.locator('#discover-url').fill(emrUrl);
    await staffPage.getByRole('button', { name: 'Discover' }).click();
    await staffPage.getByText('The site publishes a SMART configuration.').waitFor();
    await staffPage.getByText(`${emrUrl}/oauth2/default/token`).waitFor();
    await staffPage.screenshot({ path: `${shots}provider-openemr-discovered.png`, fullPage: true });
    await staffPage.getByLabel(/Contact e-mail/).fill('it@clinic-a.example');
    await staffPage.getByRole('button', { name: 'Register Tether' }).click();
    await staffPage.getByRole('heading', { name: 'Tether is registered' }).waitFor();
    await staffPage.getByText(EMR_CLIENT).first().waitFor();
    assert.equal(await staffPage.getByText(EMR_SECRET).count(), 0, 'the secret is never shown');
    await staffPage.screenshot({ path: `${shots}provider-openemr-registered.png`, fullPage: true });
  });

  await step('staff test the connection: it works, then fails with a mistyped secret', async () => {
    await staffPage.getByRole('link', { name: 'test the connection' }).click();
    await staffPage.getByText('configured in Tether (stored, enabled)').waitFor();
    await staffPage.getByRole('button', { name: 'Test the connection' }).click();
    await staffPage.getByText(/The connection works/).waitFor();
    await staffPage.screenshot({ path: `${shots}provider-openemr-test-ok.png`, fullPage: true });
    await staffPage.getByLabel(/Client secret/).fill('a mistyped secret');
    await staffPage.getByRole('button', { name: 'Save' }).click();
    await staffPage.getByText('The configuration was saved and applied.').waitFor();
    await staffPage.getByRole('button', { name: 'Test the connection' }).click();
    await staffPage.getByText(/The connection test failed/).waitFor();
    await staffPage.getByText(/a newly registered client must be enabled/).waitFor();
    await staffPage.screenshot({ path: `${shots}provider-openemr-test-failed.png`, fullPage: true });
    // Put the right secret back for the rest of the journey.
    await staffPage.getByLabel(/Client secret/).fill(EMR_SECRET);
    await staffPage.getByRole('button', { name: 'Save' }).click();
    await staffPage.getByText('The configuration was saved and applied.').waitFor();
  });

  await step('a staff form posted without its CSRF token is refused with 403', async () => {
    const answer = await staffPage.request.post(`${base}/console/providers/openemr:clinic-a/remove`, {
      form: {}, maxRedirects: 0,
    });
    assert.equal(answer.status(), 403);
    await staffPage.goto(`${base}/console/providers/openemr:clinic-a`);
    await staffPage.getByText('configured in Tether (stored, enabled)').waitFor();
    await staff.close();
  });

  let serviceKey = '';
  await step('the admin creates a service key for the product backend (shown once)', async () => {
    await page.goto(`${base}/console/api-keys`);
    await page.getByLabel('Name').fill('assistant-backend');
    await page.getByLabel('Role').selectOption('service');
    await page.getByRole('button', { name: 'Create key' }).click();
    serviceKey = (await page.locator('#new-key').innerText()).trim();
    assert.match(serviceKey, /^tk_/);
    await page.screenshot({ path: `${shots}api-key-created.png`, fullPage: true });
    await page.goto(`${base}/console/api-keys`);
    assert.equal(await page.getByText(serviceKey).count(), 0, 'the key is not shown again');
  });

  const user = `journey-${Date.now()}`;
  await step('a backend opens a connect session; the user connects through the hosted page', async () => {
    const answer = await fetch(`${base}/api/v1/connect-sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${serviceKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: user, providers: ['google', 'notion'], return_to: `${base}/` }),
    });
    const text = await answer.text();
    assert.equal(answer.status, 201, text);
    const session = JSON.parse(text);
    const person = await browser.newContext();
    const userPage = await person.newPage();
    userPage.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
    await userPage.goto(session.url);
    await userPage.getByRole('button', { name: 'Continue with Google' }).waitFor();
    await userPage.screenshot({ path: `${shots}connect-picker.png`, fullPage: true });
    await userPage.getByRole('button', { name: 'Continue with Google' }).click();
    await userPage.getByLabel('Username').fill('ada');
    await userPage.getByRole('button', { name: 'Allow' }).click();
    await userPage.getByText('is connected', { exact: false }).first().waitFor();
    await userPage.screenshot({ path: `${shots}connect-result.png`, fullPage: true });
    await person.close();
  });

  await step('the admin finds the integration, refreshes it, tests it and disconnects it', async () => {
    await page.goto(`${base}/console`);
    await page.getByRole('link', { name: 'Integrations' }).click();
    await page.getByLabel('User id').fill(user);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.screenshot({ path: `${shots}integrations.png`, fullPage: true });
    await page.getByRole('link', { name: /ada/ }).click();
    await page.getByText('Working: tokens are valid').waitFor();
    const detail = page.url().split('?')[0];
    await page.screenshot({ path: `${shots}integration.png`, fullPage: true });
    await page.getByRole('button', { name: 'Refresh now' }).click();
    await page.getByText('The integration was refreshed').waitFor();
    await page.getByRole('button', { name: 'Test the connection' }).click();
    await page.getByText(/Connection test passed/).waitFor();
    // A refresh posted without the page's CSRF token changes nothing.
    const forged = await page.request.post(`${detail}/refresh`, { form: {}, maxRedirects: 0 });
    assert.equal(forged.status(), 403);
    await page.getByRole('link', { name: 'Disconnect…' }).click();
    await page.screenshot({ path: `${shots}integration-disconnect.png`, fullPage: true });
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.getByText(/^Disconnected/).waitFor();
    await page.getByText('revoked', { exact: true }).first().waitFor();
    assert.equal(await page.getByRole('button', { name: 'Refresh now' }).count(), 0);
    await page.screenshot({ path: `${shots}integration-revoked.png`, fullPage: true });
  });

  await step('the overview and providers pages render', async () => {
    await page.goto(`${base}/console`);
    await page.screenshot({ path: `${shots}overview-after.png`, fullPage: true });
    await page.goto(`${base}/console/providers`);
    await page.getByRole('heading', { name: 'Add an OpenEMR site' }).waitFor();
    await page.screenshot({ path: `${shots}providers.png`, fullPage: true });
  });

  await step('signing out ends the session', async () => {
    await page.goto(`${base}/console`);
    await page.getByRole('button', { name: 'Sign out' }).first().click();
    await page.waitForURL(/\/console\/sign-in/);
    await page.goto(`${base}/console/accounts`);
    await page.waitForURL(`${base}/console/sign-in`);
  });

  assert.deepEqual(cspViolations, [], 'no Content-Security-Policy violations');
  console.log('console browser test passed; screenshots in tests/browser/screenshots/');
} finally {
  await browser.close();
  // Tether keeps pooled connections to the fake site open: end them, or node stays alive.
  emr.close();
  emr.closeAllConnections();
}
