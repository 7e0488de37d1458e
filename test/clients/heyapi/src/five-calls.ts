// The five calls with a client @hey-api/openapi-ts generates from the published partner
// document (openapi/partner.json), a generator the project does not use itself: search,
// hold, pay (the sandbox's confirm), finalize, get. Then the same client decodes the
// booking and a search as a later v1 could send them: a field on every object that this
// client does not know, and enum values it has never seen.
//
// Env: PRIMA_URL (http://127.0.0.1:PORT), PRIMA_TOKEN (prima_pat_…). Exit status 1 on
// the first step that does not answer as expected.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient } from "./client/client/index.js";
import {
  confirmSandboxPaymentIntent,
  createReservation,
  finalizeReservation,
  getReservation,
  searchAvailability,
  type Reservation,
} from "./client/index.js";

const baseUrl = requiredEnv("PRIMA_URL").replace(/\/+$/, "");
const token = requiredEnv("PRIMA_TOKEN");
const client = createClient({ baseUrl, auth: () => token });
const order = Date.now().toString(36);
const tomorrow = new Date(Date.now() + 24 * 60 * 60 * 1000).toISOString().slice(0, 10);

// 1 Search: prime slots for two, tomorrow.
const found = await searchAvailability({ client, query: { date: tomorrow, party_size: 2, type: "prime" } });
const slot = found.data?.data[0];
if (!slot) fail("1 search", found);
log("1 search", `${slot.id} at ${slot.starts_at} (${slot.type})`);

// 2 Hold, with an Idempotency-Key so that a retry never holds twice.
const held = await createReservation({
  client,
  headers: { "Idempotency-Key": `heyapi-${order}-hold` },
  body: {
    slot_id: slot.id,
    party_size: 2,
    guest: { first_name: "Ada", last_name: "Lovelace", email: "ada@example.com", phone: "+12125550143" },
  },
});
const hold = held.data;
if (!hold || hold.status !== "held" || !hold.payment) fail("2 hold", held);
log("2 hold", `${hold.id} ${hold.status}, intent ${hold.payment.payment_intent_id}`);

// 3 Pay: the sandbox confirms the intent as Stripe.js would.
const paid = await confirmSandboxPaymentIntent({
  client,
  path: { payment_intent_id: hold.payment.payment_intent_id },
  body: { outcome: "succeeded" },
});
if (paid.data?.status !== "requires_capture") fail("3 pay", paid);
log("3 pay", `${paid.data.id} ${paid.data.status}`);

// 4 Finalize.
const done = await finalizeReservation({
  client,
  path: { reservation_id: hold.id },
  headers: { "Idempotency-Key": `heyapi-${order}-finalize` },
});
if (done.data?.status !== "confirmed" || !done.data.confirmation_code) fail("4 finalize", done);
log("4 finalize", `${done.data.id} confirmed, code ${done.data.confirmation_code}`);

// 5 Get.
const got = await getReservation({ client, path: { reservation_id: hold.id } });
if (got.data?.status !== "confirmed" || got.data.confirmation_code !== done.data.confirmation_code) fail("5 get", got);
log("5 get", `${got.data.id} ${got.data.status}, code ${got.data.confirmation_code}`);

// What a later v1 may add: the real answers, extended, served from here.
const answers = new Map<string, unknown>([
  [
    `/v1/reservations/${hold.id}`,
    extend(await raw(`/v1/reservations/${hold.id}`), {
      status: "waitlisted",
      type: "counter",
      "venue_sync.status": "queued",
      "payment.status": "requires_reauthorization",
      "payment.provider": "adyen",
      "cancellation_policy.fee_type": "tiered",
    }),
  ],
  [
    "/v1/availability",
    extend(await raw(`/v1/availability?type=prime&party_size=2&limit=1&date=${tomorrow}`), {
      "data.0.type": "counter",
      "data.0.price.per": "table",
    }),
  ],
]);
const later = createServer((req, res) => {
  const body = answers.get(new URL(req.url ?? "/", "http://x").pathname);
  res.writeHead(body ? 200 : 404, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body ?? { error: { code: "resource_missing" } }));
});
await new Promise<void>((ok) => later.listen(0, "127.0.0.1", ok));
try {
  const laterClient = createClient({ baseUrl: `http://127.0.0.1:${(later.address() as AddressInfo).port}`, auth: () => token });
  const r = await getReservation({ client: laterClient, path: { reservation_id: hold.id } });
  const b: Reservation | undefined = r.data;
  if (
    b?.id !== hold.id || b.status !== "waitlisted" || b.type !== "counter" || b.venue_sync.status !== "queued" ||
    b.payment?.provider !== "adyen" || b.payment.status !== "requires_reauthorization" || b.cancellation_policy.fee_type !== "tiered"
  ) {
    fail("extended reservation", r);
  }
  const s = await searchAvailability({ client: laterClient, query: { date: tomorrow, party_size: 2 } });
  const first = s.data?.data[0];
  if (s.data?.data.length !== 1 || first?.type !== "counter" || first.price?.per !== "table") fail("extended search", s);
  log("later v1", `decoded ${b.status} / ${first.type} / ${first.price.per} with an added field on every object`);
} finally {
  later.close();
}

async function raw(path: string): Promise<unknown> {
  const res = await fetch(baseUrl + path, { headers: { Authorization: `Bearer ${token}` } });
  if (res.status !== 200) fail(`GET ${path}`, { status: res.status, body: await res.text() });
  return res.json();
}

// extend adds a field this client does not know to every object, and sets each dotted
// path (array indexes are numbers) to a new value; a path not in the answer fails.
function extend(doc: unknown, values: Record<string, string>): unknown {
  const add = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(add);
    else if (v && typeof v === "object") {
      Object.values(v).forEach(add);
      (v as Record<string, unknown>)["added_in_a_later_v1"] = { note: "a field this client does not know" };
    }
  };
  add(doc);
  for (const [path, value] of Object.entries(values)) {
    const keys = path.split(".");
    let node = doc as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) node = node?.[k] as Record<string, unknown>;
    const last = keys[keys.length - 1]!;
    if (!node || !(last in node)) fail("extend", `${path} is not in the answer`);
    node[last] = value;
  }
  return doc;
}

function log(step: string, what: string): void {
  console.log(`${step.padEnd(20)} ${what}`);
}

function fail(step: string, got: unknown): never {
  const shown = got && typeof got === "object" && "response" in got
    ? { status: (got as { response?: Response }).response?.status, data: (got as { data?: unknown }).data, error: (got as { error?: unknown }).error }
    : got;
  console.error(`${step}: unexpected answer:`, JSON.stringify(shown));
  process.exit(1);
}

function requiredEnv(name: string): string {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} is not set`);
    process.exit(1);
  }
  return v;
}
