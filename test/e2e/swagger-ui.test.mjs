// Drives the API reference (Swagger UI at /docs/reference/) of a running `prima serve` in Debian's
// Chromium, headless, through playwright-core (no browser download):
//
//   1. every operation of /v1/openapi.json is listed on the page, with its summary;
//   2. Authorize with a partner token works;
//   3. "Try it out" on GET /v1/availability (date tomorrow, party of 2) answers 200
//      with at least one slot, sent with the token;
//   4. the page breaks none of its Content-Security-Policy and logs no errors;
//
// and saves a screenshot of the executed operation.
//
// Env: PRIMA_URL (http://127.0.0.1:PORT), PRIMA_TOKEN (prima_pat_…),
//      PRIMA_E2E_SCREENSHOT (default test/e2e/out/docs.png),
//      CHROMIUM_PATH (default /usr/bin/chromium).
// Exit status 0 when every check passes, 1 otherwise (with a screenshot of the page as
// it was, beside the screenshot path, named *-failure.png).
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const baseUrl = requiredEnv("PRIMA_URL").replace(/\/+$/, "");
const token = requiredEnv("PRIMA_TOKEN");
const screenshot = resolve(process.env.PRIMA_E2E_SCREENSHOT || resolve(here, "out/docs.png"));
const failureShot = screenshot.replace(/(\.png)?$/, "-failure.png");
const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const timeout = 20_000;

// Tomorrow as YYYY-MM-DD; the API reads it as each venue's local date.
const tomorrow = new Date(Date.now() + 24 * 60 * 60 * 1000).toISOString().slice(0, 10);

const started = Date.now();
function log(msg) {
  console.log(`[docs e2e +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
}

// The operations the page must list, read from the spec the server serves.
const specRes = await fetch(`${baseUrl}/v1/openapi.json`);
if (specRes.status !== 200) {
  console.error(`GET /v1/openapi.json answered ${specRes.status}`);
  process.exit(1);
}
const spec = await specRes.json();
const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const operations = [];
for (const [path, item] of Object.entries(spec.paths)) {
  for (const method of methods) {
    const op = item[method];
    if (op) operations.push({ method, path, id: op.operationId, summary: op.summary, tags: op.tags ?? ["default"] });
  }
}
log(`the spec has ${operations.length} operations`);

await mkdir(dirname(screenshot), { recursive: true });
const browser = await chromium.launch({
  executablePath,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
let page;
let failed = false;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(timeout);

  // Anything the page logs as an error (CSP violations included) or throws fails the test.
  const pageErrors = [];
  page.on("console", (m) => {
    if (m.type() === "error") pageErrors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => pageErrors.push(`uncaught: ${e.message}`));
  // Only this origin may be contacted (the CSP says so too; this catches a CDN or the
  // public validator before the CSP would).
  const foreign = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(baseUrl + "/") && !r.url().startsWith("data:")) foreign.push(r.url());
  });

  const docs = await page.goto(`${baseUrl}/docs/reference/`);
  check(docs?.status() === 200, `GET /docs/reference/ answered ${docs?.status()}`);
  check(/script-src 'self'/.test(docs.headers()["content-security-policy"] ?? ""), "/docs/reference/ has no script-src 'self' CSP");
  await page.locator(".opblock").first().waitFor();
  await page.locator(".information-container .title").waitFor();
  log(`page loaded: ${await page.title()}`);

  // 1. Every operation is listed once per tag, with its method, path and summary.
  const rendered = await page.locator(".opblock").evaluateAll((nodes) =>
    nodes.map((n) => ({
      domId: n.id,
      method: n.querySelector(".opblock-summary-method")?.textContent?.trim().toLowerCase(),
      path: n.querySelector(".opblock-summary-path")?.getAttribute("data-path"),
      summary: n.querySelector(".opblock-summary-description")?.textContent?.trim(),
    })),
  );
  const missing = [];
  let expected = 0;
  for (const op of operations) {
    for (const tag of op.tags) {
      expected++;
      const r = rendered.find((x) => x.domId === `operations-${tag}-${op.id}`);
      if (!r) missing.push(`${op.method.toUpperCase()} ${op.path} (${op.id}, tag ${tag}) is not listed`);
      else if (r.method !== op.method || r.path !== op.path || r.summary !== op.summary) {
        missing.push(`${op.id} is listed as ${r.method} ${r.path} "${r.summary}", want ${op.method} ${op.path} "${op.summary}"`);
      }
    }
  }
  check(missing.length === 0, `operations not listed as the spec says:\n  ${missing.join("\n  ")}`);
  check(rendered.length === expected, `the page lists ${rendered.length} operations, the spec ${expected}`);
  log(`all ${operations.length} operations listed (${rendered.length} blocks)`);

  // 2. Authorize with the token.
  await page.locator(".scheme-container .btn.authorize").click();
  const modal = page.locator(".modal-ux");
  await modal.waitFor();
  const bearer = modal.locator(".auth-container").filter({ hasText: "bearerAuth" });
  await bearer.locator("input").fill(token);
  // Swagger UI labels its buttons for screen readers: "Authorize" is "Apply credentials",
  // and once authorized "Logout" is "Remove authorization".
  await bearer.getByRole("button", { name: "Apply credentials" }).click();
  await bearer.getByRole("button", { name: "Remove authorization" }).waitFor();
  await bearer.getByRole("heading", { name: "Authorized" }).waitFor();
  await modal.locator(".btn-done").click();
  await modal.waitFor({ state: "detached" });
  check(await page.locator(".scheme-container .btn.authorize.locked").isVisible(), "the Authorize button is not locked after authorizing");
  log("authorized with the token");

  // 3. Try it out: GET /v1/availability for 2 tomorrow.
  const op = page.locator("#operations-Availability-searchAvailability");
  await op.locator(".opblock-summary-control").click();
  await op.getByRole("button", { name: "Try it out" }).click();
  // Swagger UI fills every parameter with its example from the spec. The optional
  // filters' examples (one venue id, a city, a cuisine, 19:30 to 19:30, a
  // starting_after cursor, …) together match nothing, so clear them as a person
  // would, and fill the two required ones.
  const optional = op.locator("tr[data-param-name]").filter({ has: page.locator(".parameter__name:not(.required)") });
  for (const row of await optional.all()) {
    for (const input of await row.locator("input[type=text], input:not([type])").all()) await input.fill("");
    for (const select of await row.locator("select").all()) await select.selectOption("");
  }
  await op.locator('tr[data-param-name="date"] input').fill(tomorrow);
  await op.locator('tr[data-param-name="party_size"] input').fill("2");
  const [apiResponse] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === "/v1/availability"),
    op.getByRole("button", { name: "Execute" }).click(),
  ]);
  const sent = apiResponse.request();
  const url = new URL(sent.url());
  check(url.searchParams.get("date") === tomorrow && url.searchParams.get("party_size") === "2", `sent ${url.search}, want date=${tomorrow}&party_size=2`);
  check((await sent.headerValue("authorization")) === `Bearer ${token}`, "the request did not carry the bearer token");
  check(apiResponse.status() === 200, `GET ${url.pathname}${url.search} answered ${apiResponse.status()}: ${await apiResponse.text()}`);
  const body = await apiResponse.json();
  check(Array.isArray(body.data) && body.data.length > 0, `no slot in the answer: ${JSON.stringify(body).slice(0, 300)}`);
  check(body.data.every((s) => s.object === "slot" && s.local_date === tomorrow), "the answer has items that are not slots on that date");

  // What the page shows: the live response table, status 200, the slots in the body.
  const live = op.locator(".live-responses-table");
  await live.waitFor();
  const status = (await live.locator("tbody .response-col_status").first().textContent()).trim();
  check(status === "200", `the page shows status ${status}, want 200`);
  const shownBody = await live.locator(".response-col_description .highlight-code, .response-col_description pre").first().textContent();
  check(shownBody.includes(body.data[0].id), "the page does not show the first slot's id in the response body");
  const curl = await op.locator(".curl-command, .request-snippets").first().textContent();
  check(curl.includes("Authorization: Bearer"), "the curl snippet lacks the Authorization header");
  log(`Try it out: 200 with ${body.data.length} slot(s) on ${tomorrow}, first ${body.data[0].id} at ${body.data[0].venue.name}`);

  // 4. No CSP violation, console error or uncaught exception; nothing fetched elsewhere.
  check(pageErrors.length === 0, `the page logged errors:\n  ${pageErrors.join("\n  ")}`);
  check(foreign.length === 0, `the page requested other origins:\n  ${foreign.join("\n  ")}`);

  // The screenshot the path names shows the executed operation, from its summary
  // (the padlock closed) to the live response; the -full one, the whole page.
  await op.scrollIntoViewIfNeeded();
  const scrollY = await page.evaluate(() => window.scrollY);
  const from = await op.boundingBox();
  const to = await live.boundingBox();
  await page.screenshot({
    path: screenshot,
    fullPage: true,
    clip: { x: from.x, y: from.y + scrollY, width: from.width, height: to.y + to.height - from.y + 8 },
  });
  await page.screenshot({ path: screenshot.replace(/(\.png)?$/, "-full.png"), fullPage: true });
  log(`screenshots: ${screenshot} and ${screenshot.replace(/(\.png)?$/, "-full.png")}`);
  log("ok");
} catch (err) {
  failed = true;
  console.error(`docs e2e FAILED: ${err instanceof Error ? err.message : err}`);
  if (page) {
    await page.screenshot({ path: failureShot, fullPage: true }).catch(() => {});
    console.error(`page as it was: ${failureShot}`);
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);

function check(ok, message) {
  if (!ok) throw new Error(message);
}

function requiredEnv(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`swagger-ui.test.mjs: set ${name}`);
    process.exit(2);
  }
  return v;
}
