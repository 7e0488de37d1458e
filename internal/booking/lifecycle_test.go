package booking

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
)

// statuses is every reservation status.
var statuses = []Status{StatusHeld, StatusConfirmed, StatusCancelled, StatusCompleted, StatusNoShow, StatusExpired, StatusReleased}

// move is what the state machine answers for one (from, to) pair: allowed, or refused
// with hold_expired, or refused with a StateError naming the call.
type move struct {
	allowed     bool
	holdExpired bool
	action      string
}

var (
	allowed     = move{allowed: true}
	holdExpired = move{holdExpired: true}
)

func refusedAs(action string) move { return move{action: action} }

// TestEveryStatusPairMovesOrIsRefused walks every pair of statuses (and the creation of
// a hold) through transition: the allowed moves change the status, every other one is
// refused with the error the API answers for it and leaves the status as it was.
func TestEveryStatusPairMovesOrIsRefused(t *testing.T) {
	table := []struct {
		from, to Status
		want     move
	}{
		{statusNone, StatusHeld, allowed},
		{statusNone, StatusConfirmed, refusedAs("finalize")},
		{statusNone, StatusCancelled, refusedAs("cancel")},
		{statusNone, StatusCompleted, refusedAs("mark as completed")},
		{statusNone, StatusNoShow, refusedAs("mark as no_show")},
		{statusNone, StatusExpired, refusedAs("expire")},
		{statusNone, StatusReleased, refusedAs("cancel")},
		{StatusHeld, StatusHeld, refusedAs("hold")},
		{StatusHeld, StatusConfirmed, allowed},
		{StatusHeld, StatusCancelled, refusedAs("cancel")},
		{StatusHeld, StatusCompleted, refusedAs("mark as completed")},
		{StatusHeld, StatusNoShow, refusedAs("mark as no_show")},
		{StatusHeld, StatusExpired, allowed},
		{StatusHeld, StatusReleased, allowed},
		{StatusConfirmed, StatusHeld, refusedAs("hold")},
		{StatusConfirmed, StatusConfirmed, refusedAs("finalize")},
		{StatusConfirmed, StatusCancelled, allowed},
		{StatusConfirmed, StatusCompleted, allowed},
		{StatusConfirmed, StatusNoShow, allowed},
		{StatusConfirmed, StatusExpired, refusedAs("expire")},
		{StatusConfirmed, StatusReleased, refusedAs("cancel")},
		{StatusCancelled, StatusHeld, refusedAs("hold")},
		{StatusCancelled, StatusConfirmed, refusedAs("finalize")},
		{StatusCancelled, StatusCancelled, refusedAs("cancel")},
		{StatusCancelled, StatusCompleted, refusedAs("mark as completed")},
		{StatusCancelled, StatusNoShow, refusedAs("mark as no_show")},
		{StatusCancelled, StatusExpired, refusedAs("expire")},
		{StatusCancelled, StatusReleased, refusedAs("cancel")},
		{StatusCompleted, StatusHeld, refusedAs("hold")},
		{StatusCompleted, StatusConfirmed, refusedAs("finalize")},
		{StatusCompleted, StatusCancelled, refusedAs("cancel")},
		{StatusCompleted, StatusCompleted, refusedAs("mark as completed")},
		{StatusCompleted, StatusNoShow, refusedAs("mark as no_show")},
		{StatusCompleted, StatusExpired, refusedAs("expire")},
		{StatusCompleted, StatusReleased, refusedAs("cancel")},
		{StatusNoShow, StatusHeld, refusedAs("hold")},
		{StatusNoShow, StatusConfirmed, refusedAs("finalize")},
		{StatusNoShow, StatusCancelled, refusedAs("cancel")},
		{StatusNoShow, StatusCompleted, refusedAs("mark as completed")},
		{StatusNoShow, StatusNoShow, refusedAs("mark as no_show")},
		{StatusNoShow, StatusExpired, refusedAs("expire")},
		{StatusNoShow, StatusReleased, refusedAs("cancel")},
		{StatusExpired, StatusHeld, refusedAs("hold")},
		{StatusExpired, StatusConfirmed, holdExpired},
		{StatusExpired, StatusCancelled, holdExpired},
		{StatusExpired, StatusCompleted, refusedAs("mark as completed")},
		{StatusExpired, StatusNoShow, refusedAs("mark as no_show")},
		{StatusExpired, StatusExpired, refusedAs("expire")},
		{StatusExpired, StatusReleased, holdExpired},
		{StatusReleased, StatusHeld, refusedAs("hold")},
		{StatusReleased, StatusConfirmed, refusedAs("finalize")},
		{StatusReleased, StatusCancelled, refusedAs("cancel")},
		{StatusReleased, StatusCompleted, refusedAs("mark as completed")},
		{StatusReleased, StatusNoShow, refusedAs("mark as no_show")},
		{StatusReleased, StatusExpired, refusedAs("expire")},
		{StatusReleased, StatusReleased, refusedAs("cancel")},
	}
	seen := map[[2]Status]bool{}
	for _, c := range table {
		seen[[2]Status{c.from, c.to}] = true
		r := store.Reservation{Status: string(c.from)}
		err := transition(&r, c.to)
		if got := canTransition(c.from, c.to); got != c.want.allowed {
			t.Errorf("canTransition(%q, %q) = %v, want %v", c.from, c.to, got, c.want.allowed)
		}
		var se *StateError
		switch {
		case c.want.allowed:
			if err != nil || r.Status != string(c.to) {
				t.Errorf("%q → %q: status %q, err %v; want the move", c.from, c.to, r.Status, err)
			}
		case r.Status != string(c.from):
			t.Errorf("%q → %q refused but the status became %q", c.from, c.to, r.Status)
		case c.want.holdExpired:
			if !errors.Is(err, ErrHoldExpired) || errors.As(err, &se) {
				t.Errorf("%q → %q: err %v, want ErrHoldExpired", c.from, c.to, err)
			}
		default:
			if !errors.As(err, &se) || !errors.Is(err, ErrInvalidState) || se.Status != c.from || se.Action != c.want.action {
				t.Errorf("%q → %q: err %#v, want StateError{%q, %q}", c.from, c.to, err, c.from, c.want.action)
			}
		}
	}
	for _, from := range append([]Status{statusNone}, statuses...) {
		for _, to := range statuses {
			if !seen[[2]Status{from, to}] {
				t.Errorf("the table misses %q → %q", from, to)
			}
		}
	}
	for from, tos := range transitions {
		for _, to := range tos {
			if !seen[[2]Status{from, to}] {
				t.Errorf("transitions has %q → %q, which the table does not cover", from, to)
			}
		}
	}
}

func TestCancelReleasesAHoldAndCancelsABooking(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	hold := store.Reservation{Status: string(StatusHeld), ExpiresAt: &later, HoldMaxAt: &later}
	if err := cancel(&hold, "guest_request", now); err != nil || hold.Status != string(StatusReleased) ||
		hold.ExpiresAt != nil || hold.HoldMaxAt != nil || hold.CancelReason != "guest_request" || !hold.CancelledAt.Equal(now) {
		t.Errorf("cancel of a hold: %+v, %v", hold, err)
	}
	booked := store.Reservation{Status: string(StatusConfirmed)}
	if err := cancel(&booked, "", now); err != nil || booked.Status != string(StatusCancelled) || !booked.CancelledAt.Equal(now) {
		t.Errorf("cancel of a booking: %+v, %v", booked, err)
	}
	done := store.Reservation{Status: string(StatusCompleted)}
	var se *StateError
	if err := cancel(&done, "", now); !errors.As(err, &se) || se.Action != "cancel" || done.CancelledAt != nil {
		t.Errorf("cancel of a completed booking: %+v, %v", done, err)
	}
	expired := store.Reservation{Status: string(StatusExpired)}
	if err := cancel(&expired, "", now); !errors.Is(err, ErrHoldExpired) {
		t.Errorf("cancel of an expired hold: %v, want ErrHoldExpired", err)
	}
}

func TestConfirmGivesACodeAndEndsTheHold(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	r := store.Reservation{Status: string(StatusHeld), ExpiresAt: &later, HoldMaxAt: &later}
	if err := confirm(&r, now); err != nil || r.ConfirmationCode == nil || !strings.HasPrefix(*r.ConfirmationCode, "PRM-") ||
		r.ExpiresAt != nil || r.HoldMaxAt != nil || !r.ConfirmedAt.Equal(now) {
		t.Errorf("confirm: %+v, %v", r, err)
	}
	expired := store.Reservation{Status: string(StatusExpired)}
	if err := confirm(&expired, now); !errors.Is(err, ErrHoldExpired) || expired.ConfirmationCode != nil {
		t.Errorf("confirm of an expired hold: %+v, %v", expired, err)
	}
}

func TestOutcomeWaitsForTheStart(t *testing.T) {
	starts := time.Date(2026, 5, 1, 19, 0, 0, 0, time.UTC)
	r := store.Reservation{Status: string(StatusConfirmed), StartsAt: starts}
	var se *StateError
	if err := recordOutcome(&r, StatusNoShow, starts.Add(-time.Minute)); !errors.As(err, &se) ||
		se.Status != "confirmed and has not started" || se.Action != "mark as no_show" || r.Status != string(StatusConfirmed) {
		t.Errorf("outcome before the start: %q, %v", r.Status, err)
	}
	if err := recordOutcome(&r, StatusCompleted, starts); err != nil || r.Status != string(StatusCompleted) || !r.UpdatedAt.Equal(starts) {
		t.Errorf("outcome at the start: %q, %v", r.Status, err)
	}
	expired := store.Reservation{Status: string(StatusExpired), StartsAt: starts}
	if err := recordOutcome(&expired, StatusCompleted, starts); !errors.As(err, &se) || se.Status != StatusExpired {
		t.Errorf("outcome of an expired hold: %v, want a StateError (not hold_expired)", err)
	}
}

// TestStatusWrittenOnlyByLifecycle fails when a reservation's status is written anywhere
// in this package but lifecycle.go: an assignment to the Status field of a
// store.Reservation, or a store.Reservation literal that sets it. The package is
// type-checked from source with the packages outside the module stubbed out; an
// assignment to a Status field whose owner's type cannot be told counts as a write.
func TestStatusWrittenOnlyByLifecycle(t *testing.T) {
	root, module := moduleRoot(t)
	fset := token.NewFileSet()
	im := &sourceImporter{fset: fset, root: root, module: module, pkgs: map[string]*types.Package{}}
	files, err := parseDir(fset, ".")
	if err != nil {
		t.Fatal(err)
	}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}}
	conf := types.Config{Importer: im, Error: func(error) {}}
	_, _ = conf.Check(module+"/internal/booking", fset, files, info)

	// isReservation says whether e is a store.Reservation (or a pointer to one), and
	// whether its type is known at all.
	isReservation := func(e ast.Expr) (is, known bool) {
		typ := info.TypeOf(e)
		if typ == nil {
			return false, false
		}
		if p, ok := typ.Underlying().(*types.Pointer); ok {
			typ = p.Elem()
		}
		named, ok := typ.(*types.Named)
		if !ok {
			b, basic := typ.(*types.Basic)
			return false, !basic || b.Kind() != types.Invalid
		}
		obj := named.Obj()
		return obj.Pkg() != nil && obj.Pkg().Path() == module+"/store" && obj.Name() == "Reservation", true
	}
	inLifecycle := 0
	for _, f := range files {
		name := filepath.Base(fset.Position(f.Pos()).Filename)
		ast.Inspect(f, func(n ast.Node) bool {
			var writes []ast.Node
			switch n := n.(type) {
			case *ast.AssignStmt:
				for _, lhs := range n.Lhs {
					if sel, ok := lhs.(*ast.SelectorExpr); ok && sel.Sel.Name == "Status" {
						if is, known := isReservation(sel.X); is || !known {
							writes = append(writes, lhs)
						}
					}
				}
			case *ast.CompositeLit:
				if is, _ := isReservation(n); is {
					for _, el := range n.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok {
							if key, ok := kv.Key.(*ast.Ident); ok && key.Name == "Status" {
								writes = append(writes, kv)
							}
						}
					}
				}
			}
			for _, w := range writes {
				if name == "lifecycle.go" {
					inLifecycle++
					continue
				}
				t.Errorf("%s: a reservation status is written outside the state machine (lifecycle.go)", fset.Position(w.Pos()))
			}
			return true
		})
	}
	if inLifecycle == 0 {
		t.Error("no status write found in lifecycle.go either: the check no longer sees reservations")
	}
}

// sourceImporter type-checks the module's own packages from source and stubs out every
// other one: enough to tell which struct a field belongs to, in milliseconds.
type sourceImporter struct {
	fset         *token.FileSet
	root, module string
	pkgs         map[string]*types.Package
}

func (im *sourceImporter) Import(importPath string) (*types.Package, error) {
	if p, ok := im.pkgs[importPath]; ok {
		return p, nil
	}
	rel, ours := strings.CutPrefix(importPath, im.module+"/")
	if !ours {
		p := types.NewPackage(importPath, path.Base(importPath))
		p.MarkComplete()
		im.pkgs[importPath] = p
		return p, nil
	}
	files, err := parseDir(im.fset, filepath.Join(im.root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	conf := types.Config{Importer: im, Error: func(error) {}}
	p, _ := conf.Check(importPath, im.fset, files, nil)
	im.pkgs[importPath] = p
	return p, nil
}

// parseDir parses the non-test Go files of dir.
func parseDir(fset *token.FileSet, dir string) ([]*ast.File, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []*ast.File
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// moduleRoot finds go.mod above the package and returns its directory and module path.
func moduleRoot(t *testing.T) (dir, module string) {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if body, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			for _, line := range strings.Split(string(body), "\n") {
				if mod, ok := strings.CutPrefix(line, "module "); ok {
					return dir, strings.TrimSpace(mod)
				}
			}
			t.Fatal("go.mod names no module")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the package")
		}
		dir = parent
	}
}
