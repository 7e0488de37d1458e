// @hey-api/openapi-ts: the partner document into src/client, with the Fetch API client,
// and with the SDK validating every answer with the Zod schemas it generates, so this
// client is as strict at run time as its types are. (Requests are not validated here:
// the server does that, and 0.95.0's request validator misses headers given as an
// object, such as Idempotency-Key.) Zod accepts
// only UTC ("Z") date-times unless told otherwise; RFC 3339, which the document's
// date-time format means, allows any offset, and PRIMA answers in the venue's
// (2026-12-05T19:00:00+01:00), so offsets are allowed.
export default {
  input: "../../../openapi/partner.json",
  output: "src/client",
  plugins: [
    "@hey-api/client-fetch",
    { name: "zod", dates: { offset: true } },
    { name: "@hey-api/sdk", validator: { request: false, response: "zod" } },
  ],
};
