// The PRIMA partner portal's one script (served from /docs/assets/, as the docs'
// Content-Security-Policy requires). /docs/ was the Swagger UI reference until 1.5.0:
// its deep links (/docs/#/Availability/searchAvailability) now open the reference,
// which lives at /docs/reference/.
"use strict";
if (location.pathname === "/docs/" && location.hash.indexOf("#/") === 0) {
  location.replace("/docs/reference/" + location.hash);
}
