// The five calls of the PRIMA Partner API, with the typed client, against a running
// server with the sandbox payment gateway (`make run`, or `prima serve`):
//
//   PRIMA_URL=http://127.0.0.1:8080 PRIMA_TOKEN=prima_pat_… make sdk-example
//
// 1 search prime slots for 2 tomorrow, 2 hold one (Idempotency-Key), 3 confirm its
// payment intent in the sandbox (in production: Stripe.js on your client), 4 finalize,
// 5 read the confirmed booking back; then change it, read a week's calendar, look slots
// up by id and watch for a table. Each step is printed; any answer other than the
// one expected ends the run with exit status 1.
import { createPrimaClient, newIdempotencyKey, type PrimaError } from "../src/index.js";

const baseUrl = requiredEnv("PRIMA_URL");
const prima = createPrimaClient(baseUrl, requiredEnv("PRIMA_TOKEN"));

// "Tomorrow" as a calendar date; the API reads it as each venue's local date.
const date = new Date(Date.now() + 24 * 60 * 60 * 1000).toISOString().slice(0, 10);

// 1 Search
const search = await prima.GET("/v1/availability", {
  params: { query: { date, party_size: 2, type: "prime", limit: 5 } },
});
const slots = expectStatus("1 search", search, 200);
const slot = slots.data[0];
if (!slot) fail("1 search", `no prime slot for 2 on ${date}; is the demo catalogue seeded?`);
step("1 search", 200, `${slots.data.length} prime slot(s) on ${date}; taking ${slot.id}: ${slot.venue.name} (${slot.venue.city}) at ${slot.starts_at}, ${slot.price?.summary ?? "free"}`);

// 2 Hold
const hold = await prima.POST("/v1/reservations", {
  params: { header: { "Idempotency-Key": newIdempotencyKey() } },
  body: {
    slot_id: slot.id,
    party_size: 2,
    guest: { first_name: "Ada", last_name: "Lovelace", email: "ada@example.com", phone: "+12125550143" },
    notes: "Booked by sdk/typescript/examples/five-calls.ts",
    partner_reference: `ts-sdk-${Date.now()}`,
  },
});
const held = expectStatus("2 hold", hold, 201);
if (held.status !== "held") fail("2 hold", `status ${held.status}, want held`);
if (!held.payment) fail("2 hold", "a prime hold came back without a payment");
step("2 hold", 201, `${held.id} held until ${held.expires_at}; payment intent ${held.payment.payment_intent_id} for ${held.payment.amount} ${held.payment.currency} (${held.payment.status})`);

// 3 Pay (sandbox stand-in for stripe.confirmCardPayment(payment.client_secret))
const confirm = await prima.POST("/v1/sandbox/payment_intents/{payment_intent_id}/confirm", {
  params: {
    path: { payment_intent_id: held.payment.payment_intent_id },
    header: { "Idempotency-Key": newIdempotencyKey() },
  },
  body: { outcome: "succeeded" },
});
const intent = expectStatus("3 pay", confirm, 200);
if (intent.status !== "requires_capture") fail("3 pay", `intent status ${intent.status}, want requires_capture`);
step("3 pay", 200, `${intent.id} authorised (${intent.status}), capture on finalize`);

// 4 Finalize
const finalize = await prima.POST("/v1/reservations/{reservation_id}/finalize", {
  params: {
    path: { reservation_id: held.id },
    header: { "Idempotency-Key": newIdempotencyKey() },
  },
});
const confirmed = expectStatus("4 finalize", finalize, 200);
if (confirmed.status !== "confirmed" || !confirmed.confirmation_code) {
  fail("4 finalize", `status ${confirmed.status}, confirmation code ${confirmed.confirmation_code}; want confirmed with a code`);
}
step("4 finalize", 200, `${confirmed.id} confirmed, code ${confirmed.confirmation_code}; payment ${confirmed.payment?.status}, captured ${confirmed.payment?.amount_captured}; venue sync ${confirmed.venue_sync.status}`);

// 5 Return
const get = await prima.GET("/v1/reservations/{reservation_id}", {
  params: { path: { reservation_id: held.id } },
});
const booking = expectStatus("5 get", get, 200);
if (booking.status !== "confirmed" || booking.confirmation_code !== confirmed.confirmation_code) {
  fail("5 get", `status ${booking.status}, code ${booking.confirmation_code}; want confirmed, ${confirmed.confirmation_code}`);
}
if (booking.payment?.amount_captured !== booking.payment?.amount) {
  fail("5 get", `captured ${booking.payment?.amount_captured} of ${booking.payment?.amount}`);
}
step("5 get", 200, `${booking.id}: ${booking.status}, ${booking.party_size} at ${booking.venue.name} ${booking.starts_at}, code ${booking.confirmation_code}`);

// And after: change the booking in place (PATCH), then read its history.
const change = await prima.PATCH("/v1/reservations/{reservation_id}", {
  params: {
    path: { reservation_id: held.id },
    header: { "Idempotency-Key": newIdempotencyKey() },
  },
  body: { notes: "Window table, please.", partner_reference: "sdk-example-2" },
});
const changed = expectStatus("6 change", change, 200);
if (changed.notes !== "Window table, please." || changed.status !== "confirmed" || changed.pending_change !== null) {
  fail("6 change", `notes ${changed.notes}, status ${changed.status}; want the new notes on the confirmed booking`);
}
const history = await prima.GET("/v1/reservations/{reservation_id}/events", {
  params: { path: { reservation_id: held.id } },
});
const events = expectStatus("6 history", history, 200);
const types = events.data.map((e) => e.type).join(" ");
if (!types.endsWith("reservation.confirmed reservation.updated")) {
  fail("6 history", `history ${types}; want it to end with the confirmation and the change`);
}
step("6 change", 200, `${changed.id}: notes "${changed.notes}", venue sync ${changed.venue_sync.status}; history: ${types}`);

// Mirror and watch: a week's calendar of the slot's city, a batch lookup of saved slot
// ids, and a watch for a table at the slot's venue and time.
const week = await prima.GET("/v1/availability/calendar", {
  params: { query: { city: slot.venue.city, party_size: 2, from: date, to: addDays(date, 6) } },
});
const calendar = expectStatus("7 calendar", week, 200);
if (calendar.data.length !== 7) fail("7 calendar", `${calendar.data.length} days, want 7`);
step("7 calendar", 200, calendar.data.map((d) => `${d.date} ${d.status} (${d.bookable_slots})`).join(", "));

const lookup = await prima.POST("/v1/availability/lookup", {
  body: { party_size: 2, slot_ids: [slot.id, "slot_unknown"] },
});
const standing = expectStatus("8 lookup", lookup, 200);
if (standing.data.length !== 2 || standing.data[1]?.status !== "not_found") {
  fail("8 lookup", `answers ${JSON.stringify(standing.data)}; want 2, the unknown id not_found`);
}
step("8 lookup", 200, standing.data.map((a) => `${a.slot_id}: ${a.status}, ${a.tables_left} left`).join("; "));

const watch = await prima.POST("/v1/watches", {
  params: { header: { "Idempotency-Key": newIdempotencyKey() } },
  body: {
    venue_id: slot.venue.id,
    date: slot.local_date,
    time_from: slot.local_time,
    time_to: slot.local_time,
    party_size: 2,
    guest: { first_name: "Ada", last_name: "Lovelace", email: "ada@example.com", phone: "+12125550143" },
    auto_hold: false,
  },
});
const watching = expectStatus("9 watch", watch, 201);
step("9 watch", 201, `${watching.id} ${watching.status}${watching.slot_id ? ` (matched ${watching.slot_id})` : ""}`);
if (watching.status === "active") {
  const stop = await prima.POST("/v1/watches/{watch_id}/cancel", {
    params: { path: { watch_id: watching.id }, header: { "Idempotency-Key": newIdempotencyKey() } },
  });
  const stopped = expectStatus("9 unwatch", stop, 200);
  if (stopped.status !== "cancelled") fail("9 unwatch", `status ${stopped.status}, want cancelled`);
  step("9 unwatch", 200, `${stopped.id} ${stopped.status}`);
}

console.log(`five calls ok against ${baseUrl}`);

// addDays adds days to a YYYY-MM-DD date.
function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 24 * 60 * 60 * 1000).toISOString().slice(0, 10);
}

// expectStatus returns the body of a response that has the wanted status, and
// otherwise prints what came back (with the API error's code and request id) and exits.
function expectStatus<T>(
  name: string,
  result: { data?: T; error?: unknown; response: Response },
  want: number,
): T {
  const got = result.response.status;
  if (got === want && result.data !== undefined) return result.data;
  const detail = (result.error as PrimaError | undefined)?.error;
  fail(
    name,
    detail
      ? `HTTP ${got}, want ${want}: ${detail.code}: ${detail.message} (request ${detail.request_id})`
      : `HTTP ${got}, want ${want}: ${JSON.stringify(result.error ?? result.data)}`,
  );
}

function step(name: string, status: number, what: string): void {
  console.log(`${name.padEnd(11)} ${status}  ${what}`);
}

function fail(name: string, why: string): never {
  console.error(`${name.padEnd(11)} FAILED  ${why}`);
  process.exit(1);
}

function requiredEnv(name: string): string {
  const v = process.env[name];
  if (!v) {
    console.error(`five-calls: set ${name}`);
    process.exit(2);
  }
  return v;
}
