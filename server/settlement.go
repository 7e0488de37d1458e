package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"mime"
	"strconv"
	"strings"

	"github.com/prima-dining/partner-api/gen"
	"github.com/prima-dining/partner-api/internal/booking"
)

// GetSettlementReport implements gen.StrictServerInterface: JSON pages, or with
// Accept: text/csv the whole range as CSV.
func (s *Server) GetSettlementReport(ctx context.Context, req gen.GetSettlementReportRequestObject) (gen.GetSettlementReportResponseObject, error) {
	p := req.Params
	from, to := p.From.Format("2006-01-02"), p.To.Format("2006-01-02")
	if wantsCSV(ctx) {
		rep, err := s.deps.Reservations.Settlement(ctx, partner(ctx), from, to, booking.Page{Limit: 1 << 30})
		if err != nil {
			return nil, err
		}
		body, err := settlementCSV(rep)
		if err != nil {
			return nil, err
		}
		return gen.GetSettlementReport200TextcsvResponse{Body: bytes.NewReader(body), ContentLength: int64(len(body))}, nil
	}
	rep, err := s.deps.Reservations.Settlement(ctx, partner(ctx), from, to, page(p.Limit, p.StartingAfter))
	if err != nil {
		return nil, err
	}
	out := gen.SettlementReport{
		Object: gen.SettlementReportObjectSettlementReport, From: p.From, To: p.To, HasMore: rep.HasMore,
		Totals: make([]gen.SettlementTotal, 0, len(rep.Totals)), Data: make([]gen.SettlementLine, 0, len(rep.Lines)),
	}
	for _, t := range rep.Totals {
		out.Totals = append(out.Totals, gen.SettlementTotal{
			Currency: t.Currency, Reservations: t.Reservations,
			Captured: t.Captured, Refunded: t.Refunded, Fees: t.Fees, Net: t.Net(),
		})
	}
	for _, l := range rep.Lines {
		line := gen.SettlementLine{
			Object: gen.SettlementLineObjectSettlementLine, ReservationId: l.ReservationID, VenueId: l.VenueID,
			Status: gen.ReservationStatus(l.Status), PartnerReference: optional(l.PartnerReference), Currency: l.Currency,
			Captured: l.Captured, Refunded: l.Refunded, Fees: l.Fees, Net: l.Net(),
		}
		if err := line.Date.UnmarshalText([]byte(l.LocalDate)); err != nil {
			return nil, err
		}
		out.Data = append(out.Data, line)
	}
	return gen.GetSettlementReport200JSONResponse{Body: out}, nil
}

// wantsCSV reports whether the request's Accept prefers text/csv to JSON: it names
// text/csv, and names it before any JSON type.
func wantsCSV(ctx context.Context) bool {
	accept := stateOf(ctx).accept
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch {
		case mt == "text/csv":
			return true
		case mt == "application/json" || strings.HasSuffix(mt, "+json"):
			return false
		}
	}
	return false
}

// settlementCSV is a report as RFC 4180 CSV: a header, a row per line, a total row per
// currency.
func settlementCSV(rep booking.SettlementReport) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	rows := [][]string{{"reservation_id", "date", "venue_id", "status", "partner_reference", "currency", "captured", "refunded", "fees", "net"}}
	for _, l := range rep.Lines {
		rows = append(rows, []string{l.ReservationID, l.LocalDate, l.VenueID, string(l.Status), csvSafe(l.PartnerReference), l.Currency,
			n(l.Captured), n(l.Refunded), n(l.Fees), n(l.Net())})
	}
	for _, t := range rep.Totals {
		rows = append(rows, []string{"total", "", "", "", "", t.Currency, n(t.Captured), n(t.Refunded), n(t.Fees), n(t.Net())})
	}
	if err := w.WriteAll(rows); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// csvSafe keeps a partner's own text from being read as a formula by a spreadsheet
// (CSV injection): a leading =, +, -, @, tab or carriage return is quoted away with '.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
