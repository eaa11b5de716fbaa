// Drives Debian's Chromium (headless) for the dashboard tests and screenshots, through
// playwright-core from dashboard_frontend/node_modules (scripts/setup-dashboard.sh installs
// both). Python sends one JSON request per line on stdin, with an id; each answer is one JSON
// line on stdout: {id, ok, value} or {id, ok: false, error}. Page errors and console errors
// are collected per page so that tests can assert there were none.
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const require = createRequire(new URL("../../dashboard_frontend/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const profile = mkdtempSync(join(tmpdir(), "plclink-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.PLCLINK_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const pages = new Map();
let nextPage = 1;

// A function's source called with a JSON argument, as one expression (the page's
// Content-Security-Policy forbids eval, but not the DevTools protocol's evaluation).
const call = (source, arg) => `(${source})(${JSON.stringify(arg ?? null)})`;

function locate(page, { selector, text }) {
  const locator = page.locator(selector);
  return text === undefined || text === null ? locator : locator.filter({ hasText: text });
}

const operations = {
  async open({ width, height }) {
    const page = await context.newPage();
    await page.setViewportSize({ width, height });
    const id = nextPage++;
    page.problems = [];
    page.on("pageerror", (error) => page.problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") page.problems.push(`console error: ${message.text()}`);
    });
    pages.set(id, page);
    return id;
  },
  goto: (page, { url }) => page.goto(url).then(() => null),
  fill: (page, request) => locate(page, request).fill(request.value),
  click: (page, request) => locate(page, request).click({ timeout: request.timeout }),
  check: (page, request) => locate(page, request).setChecked(request.checked, { timeout: request.timeout }),
  text: (page, request) => locate(page, request).innerText({ timeout: request.timeout }),
  count: (page, request) => locate(page, request).count(),
  wait: (page, request) => locate(page, request).first().waitFor({ state: request.state, timeout: request.timeout }),
  evaluate: (page, { source, arg }) => page.evaluate(call(source, arg)),
  async waitFunction(page, { source, arg, timeout }) {
    // Polled from here: waitForFunction would evaluate the string with eval, inside the page.
    const deadline = Date.now() + timeout;
    for (;;) {
      const value = await page.evaluate(call(source, arg));
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${source}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  },
  async drag(page, request) {
    // A mouse drag across an element, from and to fractions of its width, at mid-height.
    const target = locate(page, request);
    await target.scrollIntoViewIfNeeded({ timeout: request.timeout });
    const box = await target.boundingBox({ timeout: request.timeout });
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * request.from, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * request.to, y, { steps: 8 });
    await page.mouse.up();
  },
  viewport: (page, { width, height }) => page.setViewportSize({ width, height }),
  // The whole page, or one element when a selector is given.
  screenshot: (page, request) => (request.selector
    ? locate(page, request).screenshot({ path: request.path, timeout: request.timeout })
    : page.screenshot({ path: request.path, fullPage: request.fullPage })).then(() => null),
  problems: (page) => page.problems,
  close: (page, _, id) => { pages.delete(id); return page.close(); },
};

const lines = createInterface({ input: process.stdin });
process.stdout.write(JSON.stringify({ ready: true, version: context.browser()?.version() ?? null }) + "\n");
for await (const line of lines) {
  const request = JSON.parse(line);
  let answer;
  try {
    const operation = operations[request.op];
    if (!operation) throw new Error(`unknown operation ${request.op}`);
    const value = request.op === "open"
      ? await operation(request)
      : await operation(pages.get(request.page), request, request.page);
    answer = { id: request.id, ok: true, value: value ?? null };
  } catch (error) {
    answer = { id: request.id, ok: false, error: String(error.message || error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
await context.close();
rmSync(profile, { recursive: true, force: true });
