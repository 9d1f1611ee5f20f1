// The operator console in a real browser (Debian's Chromium through playwright-core): sign in
// as an admin, create a staff account, filter the audit log, open the webhooks page, sign in
// as staff, get 403 on an admin page, and see a form posted without its CSRF token refused. Screenshots go to ./screenshots (git-ignored).
// Usage: node console.test.mjs BASE_URL ADMIN_USERNAME ADMIN_PASSWORD
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import assert from 'node:assert/strict';

const [base, adminName, adminPassword] = process.argv.slice(2);
assert.ok(base && adminName && adminPassword, 'usage: BASE_URL ADMIN_USERNAME ADMIN_PASSWORD');
const shots = new URL('./screenshots/', import.meta.url).pathname;
mkdirSync(shots, { recursive: true });

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

  await step('staff sign in, see their grant, and get 403 on an admin page', async () => {
    const staff = await browser.newContext();
    const staffPage = await staff.newPage();
    await signIn(staffPage, 'sam', 'staff password 456');
    await staffPage.waitForURL(`${base}/console`);
    await staffPage.getByText('openemr:clinic-a').waitFor();
    assert.equal(await staffPage.getByRole('link', { name: 'Accounts' }).count(), 0);
    const answer = await staffPage.goto(`${base}/console/accounts`);
    assert.equal(answer.status(), 403);
    await staffPage.getByText('This page is for console admins').waitFor();
    await staffPage.screenshot({ path: `${shots}staff-403.png`, fullPage: true });
    await staff.close();
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
}
