package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

type bar struct {
	label string
	value float64
	text  string
	col   color.RGBA
}

type panel struct {
	title string
	bars  []bar
}

var (
	colAPI     = color.RGBA{0x1f, 0x77, 0xb4, 0xff}
	colCeiling = color.RGBA{0x99, 0x99, 0x99, 0xff}
	colAlt     = color.RGBA{0xff, 0x7f, 0x0e, 0xff}
	colText    = color.RGBA{0x22, 0x22, 0x22, 0xff}
	colGood    = color.RGBA{0x2c, 0xa0, 0x2c, 0xff}
	colBad     = color.RGBA{0xd6, 0x27, 0x28, 0xff}
)

// writeChart draws the report as horizontal bar panels in one PNG, with Go's standard
// image packages and the fixed 7×13 font of golang.org/x/image (no plotting library).
func writeChart(path string, r *Report) error {
	ms := func(v float64) string { return fmt.Sprintf("%.2f ms", v) }
	ps := func(v float64, unit string) string { return fmt.Sprintf("%.0f %s", v, unit) }
	panels := []panel{
		{fmt.Sprintf("Search throughput, concurrency %d (ratio %.2f)", r.Search.Concurrency, r.SearchRatio), []bar{
			{"API GET /v1/availability", r.Search.PerSecond, ps(r.Search.PerSecond, "req/s"), colAPI},
			{"same SQL via pgx", r.SearchCeiling.PerSecond, ps(r.SearchCeiling.PerSecond, "q/s"), colCeiling},
			{"token lookup + SQL via pgx", r.SearchCeilingAuth.PerSecond, ps(r.SearchCeilingAuth.PerSecond, "q/s"), colCeiling},
		}},
		{"Search latency", []bar{
			{"API p50", r.Search.P50ms, ms(r.Search.P50ms), colAPI},
			{"API p99", r.Search.P99ms, ms(r.Search.P99ms), colAPI},
			{"SQL p50", r.SearchCeiling.P50ms, ms(r.SearchCeiling.P50ms), colCeiling},
			{"SQL p99", r.SearchCeiling.P99ms, ms(r.SearchCeiling.P99ms), colCeiling},
		}},
		{fmt.Sprintf("Booking: hold + finalize on distinct slots (ratio %.2f)", r.BookingRatio), []bar{
			{"API flows", r.Booking.PerSecond, ps(r.Booking.PerSecond, "flows/s"), colAPI},
			{"same writes via pgx", r.BookingCeiling.PerSecond, ps(r.BookingCeiling.PerSecond, "flows/s"), colCeiling},
		}},
		{fmt.Sprintf("Growth: search latency, %d vs %d venues (p50 x %.2f)", r.SmallVenues, r.Venues, r.GrowthP50Ratio), []bar{
			{fmt.Sprintf("%d venues p50", r.SmallVenues), r.GrowthSmall.P50ms, ms(r.GrowthSmall.P50ms), colAlt},
			{fmt.Sprintf("%d venues p99", r.SmallVenues), r.GrowthSmall.P99ms, ms(r.GrowthSmall.P99ms), colAlt},
			{fmt.Sprintf("%d venues p50", r.Venues), r.GrowthLarge.P50ms, ms(r.GrowthLarge.P50ms), colAPI},
			{fmt.Sprintf("%d venues p99", r.Venues), r.GrowthLarge.P99ms, ms(r.GrowthLarge.P99ms), colAPI},
		}},
		{"Overhead: trivial GET on loopback", []bar{
			{"auth GET /v1/venues/{id}", r.Overhead.PerSecond, ps(r.Overhead.PerSecond, "req/s"), colAPI},
			{"bare Echo handler", r.OverheadBare.PerSecond, ps(r.OverheadBare.PerSecond, "req/s"), colCeiling},
		}},
	}
	const (
		width   = 1160
		barH    = 16
		gap     = 6
		labelW  = 230
		barMaxW = 700
		left    = 12
	)
	height := 60
	for _, p := range panels {
		height += 26 + len(p.bars)*(barH+gap) + 8
	}
	height += 60
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.White}, image.Point{}, draw.Src)
	y := 22
	text(img, left, y, fmt.Sprintf("PRIMA Partner API benchmark  %s  %d venues x %d days (%d slots)  PostgreSQL %s  %d CPUs",
		r.StartedAt.Format("2006-01-02 15:04 MST"), r.Venues, r.Days, r.Slots, r.Postgres, r.CPUs), colText)
	y += 30
	for _, p := range panels {
		text(img, left, y+12, p.title, colText)
		y += 22
		maxV := 0.0
		for _, b := range p.bars {
			maxV = max(maxV, b.value)
		}
		for _, b := range p.bars {
			text(img, left+8, y+12, b.label, colText)
			w := 0
			if maxV > 0 {
				w = int(b.value / maxV * barMaxW)
			}
			draw.Draw(img, image.Rect(left+labelW, y, left+labelW+max(w, 1), y+barH), &image.Uniform{b.col}, image.Point{}, draw.Src)
			text(img, left+labelW+w+8, y+12, b.text, colText)
			y += barH + gap
		}
		y += 12
	}
	c := r.Contention
	verdict, col := "no overbooking", colGood
	if !c.OK {
		verdict, col = "CHECK FAILED", colBad
	}
	text(img, left, y+12, fmt.Sprintf("Contention: %d concurrent holds on one %d-table slot over %d processes: %d x 201, %d x 409 slot_unavailable; db tables_taken %d: %s",
		c.Attempts, c.Tables, c.Processes, c.Created, c.Unavailable, c.TablesTaken, verdict), col)
	y += 22
	met := 0
	for _, t := range r.Targets {
		if t.Met {
			met++
		}
	}
	text(img, left, y+12, fmt.Sprintf("Targets met: %d of %d (see latest.json)", met, len(r.Targets)), colText)

	f, err := os.Create(path) //nolint:gosec // G304: the output path is the operator's -out flag
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func text(img draw.Image, x, y int, s string, col color.Color) {
	d := &font.Drawer{Dst: img, Src: image.NewUniform(col), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
