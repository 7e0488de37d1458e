// Partner self-service with the typed client: catch up on the events missed since the
// last one handled (LAST_EVENT_ID), and print a month's settlement totals.
//
//   PRIMA_URL=http://127.0.0.1:8080 PRIMA_TOKEN=prima_pat_… LAST_EVENT_ID=evt_… node dist/examples/self-service.js
import { createPrimaClient } from "../src/index.js";

const prima = createPrimaClient(requiredEnv("PRIMA_URL"), requiredEnv("PRIMA_TOKEN"));
const lastHandled = process.env.LAST_EVENT_ID ?? "";

// Newest first: page back until the last event handled, then handle oldest first.
const missed: { id: string; type: string }[] = [];
let startingAfter: string | undefined;
pages: for (;;) {
  const { data, error } = await prima.GET("/v1/events", {
    params: { query: { limit: 100, starting_after: startingAfter } },
  });
  if (!data) throw new Error(`list events: ${JSON.stringify(error)}`);
  for (const ev of data.data) {
    if (ev.id === lastHandled) break pages;
    missed.push({ id: ev.id, type: ev.type });
    startingAfter = ev.id;
  }
  if (!data.has_more) break;
}
for (const ev of missed.reverse()) console.log(`missed ${ev.id} ${ev.type}`);

// November's settlement, totals per currency (the same on every page).
const report = await prima.GET("/v1/reports/settlement", {
  params: { query: { from: "2026-11-01", to: "2026-11-30" } },
});
// The operation also answers text/csv (with Accept: text/csv); this request takes JSON.
if (!report.data || typeof report.data === "string") throw new Error(`settlement: ${JSON.stringify(report.error)}`);
for (const t of report.data.totals) {
  console.log(`${t.currency}: ${t.reservations} reservations, captured ${t.captured}, refunded ${t.refunded}, fees ${t.fees}, net ${t.net}`);
}

function requiredEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}
