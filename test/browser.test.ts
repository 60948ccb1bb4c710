import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import t from 'tap'
import { startServer } from './helper.js'
import { ROOT } from './cli-helper.js'

// Swagger UI in a real browser: Debian's chromium driven by playwright-core
// (never a downloaded browser). With auth on: open /docs, authorize with the
// token, find the example `greet` skill, "Try it out", execute with a body and
// read the skill's answer on the page. A screenshot is kept in
// test-artifacts/. Without chromium this test fails: .ci/run installs it.

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARTIFACTS = join(ROOT, 'test-artifacts')
const TOKEN = 'browser-token-0123456789abcdef'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

t.test('Swagger UI: authorize, try the greet skill, see its answer', async (t) => {
  t.ok(existsSync(CHROMIUM), `chromium at ${CHROMIUM} (apt-get install chromium)`)
  const server = await startServer(t, {
    token: TOKEN,
    config: `[core]\nexample = ${JSON.stringify(join(ROOT, 'plugins/example'))}\n`
  })
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true })
  t.teardown(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1280, height: 1800 } })
  page.setDefaultTimeout(30_000)
  mkdirSync(ARTIFACTS, { recursive: true })
  try {
    await page.goto(`${server.url}/docs`)
    const greet = page.locator('.opblock-summary-path[data-path="/skills/example/greet"]')
    await greet.waitFor()
    t.pass('the greet skill is listed')

    // Authorize: the token goes into every "Try it out" request.
    await page.locator('button.authorize').first().click()
    await page.locator('.modal-ux input[type="text"], .modal-ux input[type="password"]').first().fill(TOKEN)
    await page.locator('.modal-ux button.modal-btn.auth.authorize').click()
    await page.locator('.modal-ux button.modal-btn.auth.btn-done, .modal-ux .close-modal').first().click()

    await greet.click()
    const operation = page.locator('.opblock-post', { has: greet })
    await operation.locator('button.try-out__btn').click()
    await operation.locator('textarea.body-param__text').fill('{"name": "Ada"}')
    await operation.locator('button.execute').click()

    const answer = operation.locator('.live-responses-table .response-col_description pre')
    await answer.first().waitFor()
    t.match(await answer.first().innerText(), /"Hello, Ada!"/, 'the skill\'s answer is on the page')
    t.match(await operation.locator('.live-responses-table tr.response .response-col_status').first().innerText(), /200/)
    t.match(await operation.locator('.curl-command, .curl').first().innerText(), /Authorization: Bearer/, 'the request carried the token')
  } finally {
    await page.screenshot({ path: join(ARTIFACTS, 'swagger-ui-greet.png'), fullPage: true })
  }
  t.ok(existsSync(join(ARTIFACTS, 'swagger-ui-greet.png')), 'screenshot kept in test-artifacts/')
})
