// The error walk of the contract check (scripts/ci/contract-proxy.sh): one request for
// each error a partner meets first, sent to PRIMA_URL (the Prism proxy in front of the
// server) with PRIMA_TOKEN (the demo partner token). Each must answer the status and code
// listed; Prism, meanwhile, checks every response against the spec. Exits 1 on the first
// answer that is not the one expected.
const base = process.env.PRIMA_URL;
const token = process.env.PRIMA_TOKEN;
if (!base || !token) {
  console.error("error-walk: set PRIMA_URL and PRIMA_TOKEN");
  process.exit(2);
}

let n = 0;
function key() {
  return `walk-${process.pid}-${Date.now()}-${++n}`;
}

async function call(method, path, { auth = token, body, headers = {} } = {}) {
  const h = { ...headers };
  if (auth) h.Authorization = `Bearer ${auth}`;
  if (body !== undefined) h["Content-Type"] = "application/json";
  const res = await fetch(base + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

function expect(what, res, status, code) {
  const got = res.json?.error?.code;
  if (res.status !== status || (code && got !== code)) {
    console.error(`error-walk: ${what}: ${res.status} ${res.text.slice(0, 400)}; want ${status} ${code ?? ""}`);
    process.exit(1);
  }
  console.log(`error-walk: ${what}: ${res.status}${got ? " " + got : ""}`);
  return res.json;
}

const guest = { first_name: "Ada", last_name: "Lovelace", email: "ada@example.com", phone: "+12125550143" };
const tomorrow = new Date(Date.now() + 24 * 60 * 60 * 1000).toISOString().slice(0, 10);

expect("401 without a token", await call("GET", "/v1/reservations", { auth: "" }), 401, "authentication_required");
expect("401 with an unknown token", await call("GET", "/v1/reservations", { auth: "prima_pat_nope" }), 401);
expect("403 a partner token on an operator operation", await call("GET", "/v1/operator/venues"), 403, "token_kind_invalid");
expect("404 an unknown reservation", await call("GET", "/v1/reservations/res_00000000000000000000000000"), 404, "resource_missing");
expect("400 an unknown query parameter", await call("GET", "/v1/venues?cuisin=italian"), 400, "parameter_unknown");
expect("400 a body field out of range", await call("POST", "/v1/reservations", { body: { slot_id: "slot_x", party_size: 0, guest }, headers: { "Idempotency-Key": key() } }), 400);

// 402: finalize a prime hold whose payment was never confirmed.
const prime = expect("200 search prime", await call("GET", `/v1/availability?date=${tomorrow}&party_size=2&type=prime&limit=5`), 200);
if (!prime.data.length) {
  console.error("error-walk: no prime slot tomorrow; is the demo catalogue seeded?");
  process.exit(1);
}
const held = expect("201 hold prime", await call("POST", "/v1/reservations", { body: { slot_id: prime.data[0].id, party_size: 2, guest }, headers: { "Idempotency-Key": key() } }), 201);
// A conditional GET: the hold's ETag sent back answers 304 without a body (Prism checks
// the 304 and its headers against the spec too).
const first = await call("GET", `/v1/reservations/${held.id}`);
expect("200 a reservation, with an ETag", first, 200);
const etag = first.headers.get("etag");
const again = await call("GET", `/v1/reservations/${held.id}`, { headers: { "If-None-Match": etag } });
if (!etag || again.status !== 304 || again.text !== "" || again.headers.get("etag") !== etag) {
  console.error(`error-walk: If-None-Match ${etag}: ${again.status} ETag ${again.headers.get("etag")} ${again.text.slice(0, 200)}; want 304, no body, the same ETag`);
  process.exit(1);
}
console.log("error-walk: 304 the same reservation with If-None-Match");
expect("402 finalize without payment", await call("POST", `/v1/reservations/${held.id}/finalize`, { headers: { "Idempotency-Key": key() } }), 402, "payment_required");

// 422: one Idempotency-Key, two different requests.
const reused = key();
expect("200 cancel under a key", await call("POST", `/v1/reservations/${held.id}/cancel`, { body: {}, headers: { "Idempotency-Key": reused } }), 200);
expect("422 the key again with another body", await call("POST", `/v1/reservations/${held.id}/cancel`, { body: { reason: "requested_by_guest" }, headers: { "Idempotency-Key": reused } }), 422, "idempotency_key_reused");

// 409: hold the standard slot with the fewest tables until none is left; the last hold
// answers slot_unavailable with alternatives.
const standard = expect("200 search standard", await call("GET", `/v1/availability?date=${tomorrow}&party_size=2&type=standard&limit=50`), 200);
const slot = standard.data.filter((s) => s.tables_left > 0).sort((a, b) => a.tables_left - b.tables_left)[0];
if (!slot) {
  console.error("error-walk: no standard slot tomorrow");
  process.exit(1);
}
let full;
for (let i = 0; i <= slot.tables_left; i++) {
  const r = await call("POST", "/v1/reservations", { body: { slot_id: slot.id, party_size: 2, guest }, headers: { "Idempotency-Key": key() } });
  if (r.status === 409) {
    full = r;
    break;
  }
  expect(`201 hold ${i + 1} of ${slot.tables_left}`, r, 201);
}
if (!full) {
  console.error(`error-walk: ${slot.tables_left + 1} holds on ${slot.id} never answered 409`);
  process.exit(1);
}
const unavailable = expect("409 the slot is full", full, 409, "slot_unavailable");
if (!Array.isArray(unavailable.error.alternatives)) {
  console.error(`error-walk: 409 without alternatives: ${full.text}`);
  process.exit(1);
}
console.log(`error-walk: ok (${unavailable.error.alternatives.length} alternatives offered)`);
