// Walks the partner portal (/docs/) of a running `prima serve` in Debian's Chromium,
// headless, through playwright-core (no browser download):
//
//   1. /docs/ is the getting-started page; its navigation lists every guide, the API
//      reference, the error codes and the operator reference;
//   2. every guide opens at its own URL (200, its heading, its nav entry current);
//   3. the reference (/docs/reference/) loads /v1/openapi.json; Authorize with the token,
//      then Try it out on GET /v1/availability (party of 2, tomorrow) answers 200 with
//      slots; its code samples show curl, TypeScript and Go;
//   4. /docs/errors lists the codes in the portal's layout, with no literal backticks;
//      /docs/operator/ loads the operator document; an old /docs/#/… deep link lands on
//      the reference;
//   5. no page logs an error or breaks its Content-Security-Policy, and nothing is
//      requested from another origin;
//
// and saves screenshots in test/e2e/out/ (gitignored): portal-home.png (the
// getting-started page), portal-guide.png (the five calls guide), portal-reference.png
// (the reference after Try it out, with the code samples), portal-errors.png.
//
// Env: PRIMA_URL (http://127.0.0.1:PORT), PRIMA_TOKEN (prima_pat_…),
//      PRIMA_E2E_OUT (default test/e2e/out), CHROMIUM_PATH (default /usr/bin/chromium).
// Exit status 0 when every check passes, 1 otherwise (with portal-failure.png).
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const baseUrl = requiredEnv("PRIMA_URL").replace(/\/+$/, "");
const token = requiredEnv("PRIMA_TOKEN");
const out = resolve(process.env.PRIMA_E2E_OUT || resolve(here, "out"));
const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const timeout = 20_000;

// The guides the navigation must list, in order, with their headings.
const guides = [
  ["authentication", "Authentication"],
  ["five-calls", "The five calls"],
  ["idempotency", "Idempotency"],
  ["errors", "Errors"],
  ["webhooks", "Webhooks"],
  ["sandbox", "Sandbox"],
  ["versioning", "Versioning"],
];

// Tomorrow as YYYY-MM-DD; the API reads it as each venue's local date.
const tomorrow = new Date(Date.now() + 24 * 60 * 60 * 1000).toISOString().slice(0, 10);

const started = Date.now();
function log(msg) {
  console.log(`[portal e2e +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
}

await mkdir(out, { recursive: true });
const browser = await chromium.launch({
  executablePath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
let page;
let failed = false;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(timeout);

  // Anything a page logs as an error (CSP violations included) or throws fails the test,
  // as does a request to another origin.
  const pageErrors = [];
  page.on("console", (m) => {
    if (m.type() === "error") pageErrors.push(`${page.url()}: console: ${m.text()}`);
  });
  page.on("pageerror", (e) => pageErrors.push(`${page.url()}: uncaught: ${e.message}`));
  page.on("response", (r) => {
    if (r.status() >= 400) pageErrors.push(`${page.url()}: ${r.request().method()} ${r.url()} answered ${r.status()}`);
  });
  const foreign = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(baseUrl + "/") && !r.url().startsWith("data:")) foreign.push(r.url());
  });

  // open: GET path in the page; 200, text/html, the docs' CSP, the navigation.
  async function open(path) {
    const res = await page.goto(`${baseUrl}${path}`);
    check(res?.status() === 200, `GET ${path} answered ${res?.status()}`);
    const h = res.headers();
    check((h["content-type"] ?? "").startsWith("text/html"), `GET ${path}: Content-Type ${h["content-type"]}`);
    const csp = h["content-security-policy"] ?? "";
    check(/default-src 'none'/.test(csp) && /script-src 'self'(;|$)/.test(csp), `GET ${path}: CSP ${csp}`);
    await page.locator("nav.sidebar").waitFor();
    return res;
  }

  // 1. The getting-started page and its navigation.
  await open("/docs/");
  check((await page.locator("main h1").textContent()).trim() === "Getting started", "/docs/ is not the getting-started page");
  const navLinks = await page.locator("nav.sidebar a").evaluateAll((as) => as.map((a) => ({ href: a.getAttribute("href"), text: a.textContent.trim() })));
  for (const [slug, heading] of guides) {
    check(navLinks.some((l) => l.href === `/docs/guides/${slug}` && l.text === heading), `the navigation lacks the guide ${slug} (${heading})`);
  }
  for (const href of ["/docs/", "/docs/reference/", "/docs/errors", "/docs/operator/"]) {
    check(navLinks.some((l) => l.href === href), `the navigation lacks ${href}`);
  }
  check((await page.locator('nav.sidebar a[aria-current="page"]').getAttribute("href")) === "/docs/", "Getting started is not marked current");
  await page.screenshot({ path: resolve(out, "portal-home.png"), fullPage: true });
  log(`/docs/: getting started, ${navLinks.length} navigation links`);

  // 2. Every guide, reached through the navigation.
  for (const [slug, heading] of guides) {
    await Promise.all([page.waitForURL(`${baseUrl}/docs/guides/${slug}`), page.locator(`nav.sidebar a[href="/docs/guides/${slug}"]`).click()]);
    const res = await open(`/docs/guides/${slug}`);
    check(res.status() === 200, `guide ${slug}: ${res.status()}`);
    const h1 = (await page.locator("main h1").textContent()).trim();
    check(h1 === heading, `guide ${slug}: heading "${h1}", want "${heading}"`);
    check((await page.locator('nav.sidebar a[aria-current="page"]').getAttribute("href")) === `/docs/guides/${slug}`, `guide ${slug} is not marked current`);
    check(!(await page.locator("main").textContent()).includes("```"), `guide ${slug} shows a literal code fence`);
    if (slug === "five-calls") await page.screenshot({ path: resolve(out, "portal-guide.png"), fullPage: true });
  }
  log(`all ${guides.length} guides open, each with its heading`);

  // 3. The reference: the partner document, Authorize, Try it out, code samples.
  const specLoad = page.waitForResponse((r) => new URL(r.url()).pathname === "/v1/openapi.json");
  await page.locator('nav.sidebar a[href="/docs/reference/"]').click();
  check((await specLoad).status() === 200, "the reference did not load /v1/openapi.json");
  await page.locator(".opblock").first().waitFor();
  await page.locator(".information-container .title").waitFor();

  await page.locator(".scheme-container .btn.authorize").click();
  const modal = page.locator(".modal-ux");
  await modal.waitFor();
  const bearer = modal.locator(".auth-container").filter({ hasText: "bearerAuth" });
  await bearer.locator("input").fill(token);
  await bearer.getByRole("button", { name: "Apply credentials" }).click();
  await bearer.getByRole("button", { name: "Remove authorization" }).waitFor();
  await modal.locator(".btn-done").click();
  await modal.waitFor({ state: "detached" });
  check(await page.locator(".scheme-container .btn.authorize.locked").isVisible(), "the Authorize button is not locked after authorizing");
  log("reference: authorized with the token");

  const op = page.locator("#operations-Availability-searchAvailability");
  await op.locator(".opblock-summary-control").click();
  // The code samples: one tab per language, each showing its source.
  const samples = op.locator(".prima-code-samples");
  await samples.waitFor();
  const tabs = (await samples.locator(".prima-code-tab").allTextContents()).map((t) => t.trim());
  check(JSON.stringify(tabs) === JSON.stringify(["curl", "TypeScript", "Go"]), `code sample tabs ${JSON.stringify(tabs)}`);
  const want = { curl: "curl -sS", TypeScript: "prima.GET(\"/v1/availability\"", Go: "c.SearchAvailabilityWithResponse(" };
  for (const tab of tabs) {
    await samples.locator(".prima-code-tab", { hasText: tab }).click();
    const src = await samples.locator(".prima-code-source").textContent();
    check(src.includes(want[tab]), `the ${tab} sample lacks ${want[tab]}: ${src.slice(0, 200)}`);
  }
  await samples.locator(".prima-code-tab", { hasText: "curl" }).click();
  log("reference: code samples in curl, TypeScript and Go");

  await op.getByRole("button", { name: "Try it out" }).click();
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
  check((await apiResponse.request().headerValue("authorization")) === `Bearer ${token}`, "Try it out did not send the token");
  check(apiResponse.status() === 200, `Try it out answered ${apiResponse.status()}: ${await apiResponse.text()}`);
  const body = await apiResponse.json();
  check(Array.isArray(body.data) && body.data.length > 0, `no slot in the answer: ${JSON.stringify(body).slice(0, 300)}`);
  const live = op.locator(".live-responses-table");
  await live.waitFor();
  const status = (await live.locator("tbody .response-col_status").first().textContent()).trim();
  check(status === "200", `the page shows status ${status}, want 200`);
  log(`reference: Try it out answered 200 with ${body.data.length} slot(s) on ${tomorrow}`);
  // From the top (the navigation, the sticky bar where it belongs) to the live response.
  await page.evaluate(() => window.scrollTo(0, 0));
  const to = await live.boundingBox();
  await page.screenshot({
    path: resolve(out, "portal-reference.png"),
    fullPage: true,
    clip: { x: 0, y: 0, width: 1280, height: to.y + to.height + 16 },
  });

  // 4. The error codes, the operator reference, an old deep link.
  await open("/docs/errors");
  check((await page.locator("main h1").textContent()).trim() === "Error codes", "/docs/errors has no Error codes heading");
  const rows = await page.locator("main table tbody tr").count();
  check(rows >= 30, `/docs/errors lists ${rows} codes`);
  check(!(await page.locator("main table").textContent()).includes("`"), "/docs/errors shows literal backticks");
  check(await page.locator("#slot_unavailable").isVisible(), "/docs/errors has no #slot_unavailable row");
  await page.screenshot({ path: resolve(out, "portal-errors.png"), fullPage: false });
  log(`/docs/errors: ${rows} codes`);

  const operatorSpec = page.waitForResponse((r) => new URL(r.url()).pathname === "/v1/operator/openapi.json");
  await open("/docs/operator/");
  check((await operatorSpec).status() === 200, "/docs/operator/ did not load /v1/operator/openapi.json");
  await page.locator(".opblock").first().waitFor();
  const opTitle = (await page.locator(".information-container .title").textContent()).trim();
  check(opTitle.startsWith("PRIMA Operator API"), `/docs/operator/ shows "${opTitle}"`);
  log("/docs/operator/: the operator document");

  await page.goto(`${baseUrl}/docs/#/Availability/searchAvailability`);
  await page.waitForURL(`${baseUrl}/docs/reference/#/Availability/searchAvailability`);
  await page.locator("#operations-Availability-searchAvailability").waitFor();
  log("an old /docs/#/… deep link lands on the reference");

  // 5. Nothing went wrong on the way.
  check(pageErrors.length === 0, `the pages logged errors:\n  ${pageErrors.join("\n  ")}`);
  check(foreign.length === 0, `the pages requested other origins:\n  ${foreign.join("\n  ")}`);
  log(`screenshots in ${out}: portal-home.png, portal-guide.png, portal-reference.png, portal-errors.png`);
  log("ok");
} catch (err) {
  failed = true;
  console.error(`portal e2e FAILED: ${err instanceof Error ? err.message : err}`);
  if (page) {
    await page.screenshot({ path: resolve(out, "portal-failure.png"), fullPage: true }).catch(() => {});
    console.error(`page as it was: ${resolve(out, "portal-failure.png")} (${page.url()})`);
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
    console.error(`portal.test.mjs: set ${name}`);
    process.exit(2);
  }
  return v;
}
