package inventory

import (
	"errors"
	"strings"
	"testing"

	"github.com/prima-dining/partner-api/internal/booking"
	"github.com/prima-dining/partner-api/store"
)

func TestPlatformURLOnAPrivateHostIsRefusedUnlessAllowed(t *testing.T) {
	for _, u := range []string{"http://0x7f000001/x", "http://127.1/x", "http://[::ffff:7f00:1]/x", "http://169.254.169.254/", "http://metadata.google.internal/"} {
		row := store.Venue{}
		c := fullVenue()
		c.Platform = &Platform{Kind: "webhook", URL: u}
		_, err := applyVenueChange(&row, c, false)
		var pe *booking.ParamError
		if !errors.As(err, &pe) || pe.Param != "platform.url" || !strings.HasPrefix(pe.Message, "The URL's host is ") {
			t.Errorf("%s: %v, want a ParamError on platform.url", u, err)
		}
		if row.PlatformURL != "" || row.PlatformSecret != "" {
			t.Errorf("%s: written onto the row: %+v", u, row)
		}
		// PRIMA_WEBHOOK_ALLOW_PRIVATE=1 (development) lets it through, as for partners.
		row = store.Venue{}
		if secret, err := applyVenueChange(&row, c, true); err != nil || row.PlatformURL != u || secret == "" {
			t.Errorf("%s with private addresses allowed: %v, row %q", u, err, row.PlatformURL)
		}
	}
}
