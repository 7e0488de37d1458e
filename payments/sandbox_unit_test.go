package payments_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/prima-dining/partner-api/payments"
)

// memStore is a SandboxStore in memory, with hooks to script what another process does
// between a read and a write.
type memStore struct {
	mu      sync.Mutex
	data    map[string][]byte
	version map[string]int
	keys    map[string]string // idempotency key → intent id
	writes  int

	// beforeUpdate, when set, runs before each update is applied; returning false makes
	// the update lose its race.
	beforeUpdate func(id string) bool
	// fail, when set, is returned by every call.
	fail error
}

func newMemStore() *memStore {
	return &memStore{data: map[string][]byte{}, version: map[string]int{}, keys: map[string]string{}}
}

func (m *memStore) InsertSandboxIntent(_ context.Context, id, key string, data []byte) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	if first, ok := m.keys[key]; ok && key != "" {
		return m.data[first], nil
	}
	if key != "" {
		m.keys[key] = id
	}
	m.data[id], m.version[id] = data, 1
	m.writes++
	return nil, nil
}

func (m *memStore) GetSandboxIntent(_ context.Context, id string) ([]byte, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, 0, m.fail
	}
	return m.data[id], m.version[id], nil
}

func (m *memStore) UpdateSandboxIntent(_ context.Context, id string, version int, data []byte) (bool, error) {
	m.mu.Lock()
	hook := m.beforeUpdate
	m.mu.Unlock()
	if hook != nil && !hook(id) {
		return false, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return false, m.fail
	}
	if m.version[id] != version {
		return false, nil
	}
	m.data[id], m.version[id] = data, version+1
	m.writes++
	return true, nil
}

// setStatus changes a stored intent's status behind the gateway's back, as another
// process (or a state the sandbox API cannot reach) would.
func (m *memStore) setStatus(t *testing.T, id string, status payments.IntentStatus) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	var in map[string]any
	if err := json.Unmarshal(m.data[id], &in); err != nil {
		t.Fatal(err)
	}
	in["Status"] = string(status)
	if status == payments.StatusSucceeded {
		in["AmountCaptured"] = in["Amount"]
	}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	m.data[id] = data
	m.version[id]++
}

func (m *memStore) writeCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writes
}

func newIntent(t *testing.T, gw *payments.Sandbox) payments.Intent {
	t.Helper()
	in, err := gw.Create(context.Background(), payments.CreateIntent{Amount: 15000, Currency: "GBP"})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestSandboxCreateChecksAndReplaysByIdempotencyKey(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	gw := payments.NewSandbox(st)
	for _, bad := range []payments.CreateIntent{{Amount: 0, Currency: "usd"}, {Amount: -1, Currency: "usd"}, {Amount: 100}} {
		if _, err := gw.Create(ctx, bad); !errors.Is(err, payments.ErrInvalidState) {
			t.Errorf("Create(%+v) = %v, want ErrInvalidState", bad, err)
		}
	}
	if st.writeCount() != 0 {
		t.Fatalf("refused creates wrote %d intents", st.writeCount())
	}
	in, err := gw.Create(ctx, payments.CreateIntent{Amount: 15000, Currency: "USD", IdempotencyKey: "hold-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(in.ID, "pi_sbx_") || !strings.HasPrefix(in.ClientSecret, in.ID+"_secret_") ||
		in.Amount != 15000 || in.Currency != "usd" || in.Status != payments.StatusRequiresPaymentMethod ||
		in.AmountCaptured != 0 || in.AmountRefunded != 0 || in.DeclineCode != "" {
		t.Fatalf("created %+v", in)
	}
	again, err := gw.Create(ctx, payments.CreateIntent{Amount: 15000, Currency: "USD", IdempotencyKey: "hold-1"})
	if err != nil || again != in {
		t.Fatalf("retried create = %+v, %v; want the first %+v", again, err, in)
	}
	other, err := gw.Create(ctx, payments.CreateIntent{Amount: 15000, Currency: "USD"})
	if err != nil || other.ID == in.ID || other.ClientSecret == in.ClientSecret {
		t.Fatalf("a create without a key reused %s: %+v, %v", in.ID, other, err)
	}
	if got, err := gw.Get(ctx, in.ID); err != nil || got != in {
		t.Fatalf("Get = %+v, %v; want %+v", got, err, in)
	}
}

// Every operation from every status, as Stripe moves a manual-capture PaymentIntent.
func TestSandboxTransitionsFromEveryStatus(t *testing.T) {
	type op struct {
		name string
		do   func(ctx context.Context, gw *payments.Sandbox, id string) (payments.Intent, error)
	}
	confirm := func(pm string) op {
		return op{"confirm " + pm, func(ctx context.Context, gw *payments.Sandbox, id string) (payments.Intent, error) {
			return gw.Confirm(ctx, id, pm)
		}}
	}
	capture := op{"capture", func(ctx context.Context, gw *payments.Sandbox, id string) (payments.Intent, error) {
		return gw.Capture(ctx, id, "k")
	}}
	cancel := op{"cancel", func(ctx context.Context, gw *payments.Sandbox, id string) (payments.Intent, error) {
		return gw.Cancel(ctx, id, "k")
	}}
	refund := op{"refund", func(ctx context.Context, gw *payments.Sandbox, id string) (payments.Intent, error) {
		return gw.Refund(ctx, id, 5000, "r")
	}}
	const (
		rpm  = payments.StatusRequiresPaymentMethod
		rc   = payments.StatusRequiresConfirmation
		ra   = payments.StatusRequiresAction
		proc = payments.StatusProcessing
		capt = payments.StatusRequiresCapture
		succ = payments.StatusSucceeded
		canc = payments.StatusCanceled
	)
	cases := []struct {
		from    payments.IntentStatus
		op      op
		want    payments.IntentStatus
		wantErr error // nil: success
		writes  bool  // whether the stored intent changes
	}{
		{rpm, confirm(payments.TestCardVisa), capt, nil, true},
		{rc, confirm(payments.TestCardVisa), capt, nil, true},
		{ra, confirm(payments.TestCardVisa), capt, nil, true},
		{rpm, confirm(payments.TestCardAuthenticationRequired), ra, nil, true},
		{rpm, confirm(payments.TestCardChargeDeclined), rpm, payments.ErrDeclined, true},
		{rpm, confirm("pm_card_unknown"), rpm, payments.ErrInvalidState, false},
		{proc, confirm(payments.TestCardVisa), proc, payments.ErrInvalidState, false},
		{capt, confirm(payments.TestCardVisa), capt, payments.ErrInvalidState, false},
		{succ, confirm(payments.TestCardVisa), succ, payments.ErrInvalidState, false},
		{canc, confirm(payments.TestCardVisa), canc, payments.ErrInvalidState, false},

		{capt, capture, succ, nil, true},
		{succ, capture, succ, nil, false}, // a repeated capture is a no-op
		{rpm, capture, rpm, payments.ErrInvalidState, false},
		{ra, capture, ra, payments.ErrInvalidState, false},
		{proc, capture, proc, payments.ErrInvalidState, false},
		{canc, capture, canc, payments.ErrInvalidState, false},

		{rpm, cancel, canc, nil, true},
		{ra, cancel, canc, nil, true},
		{proc, cancel, canc, nil, true},
		{capt, cancel, canc, nil, true},  // releases the authorisation
		{canc, cancel, canc, nil, false}, // a repeated cancel is a no-op
		{succ, cancel, succ, payments.ErrInvalidState, false},

		{succ, refund, succ, nil, true},
		{capt, refund, capt, payments.ErrInvalidState, false},
		{canc, refund, canc, payments.ErrInvalidState, false},
		{rpm, refund, rpm, payments.ErrInvalidState, false},
	}
	for _, tc := range cases {
		t.Run(string(tc.from)+" "+tc.op.name, func(t *testing.T) {
			ctx := context.Background()
			st := newMemStore()
			gw := payments.NewSandbox(st)
			in := newIntent(t, gw)
			if tc.from != rpm {
				st.setStatus(t, in.ID, tc.from)
			}
			writes := st.writeCount()
			got, err := tc.op.do(ctx, gw, in.ID)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("error %v, want none", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			stored, getErr := gw.Get(ctx, in.ID)
			if getErr != nil {
				t.Fatal(getErr)
			}
			if stored.Status != tc.want {
				t.Errorf("stored status %s, want %s", stored.Status, tc.want)
			}
			if tc.wantErr == nil && got.Status != tc.want {
				t.Errorf("returned status %s, want %s", got.Status, tc.want)
			}
			if wrote := st.writeCount() > writes; wrote != tc.writes {
				t.Errorf("wrote the intent: %v, want %v", wrote, tc.writes)
			}
		})
	}
}

func TestSandboxDeclineSetsThenClearsTheDeclineCode(t *testing.T) {
	ctx := context.Background()
	gw := payments.NewSandbox(newMemStore())
	in := newIntent(t, gw)
	declined, err := gw.Confirm(ctx, in.ID, payments.TestCardChargeDeclined)
	if !errors.Is(err, payments.ErrDeclined) || declined.DeclineCode != "generic_decline" || declined.Status != payments.StatusRequiresPaymentMethod {
		t.Fatalf("declined: %+v, %v", declined, err)
	}
	ok, err := gw.Confirm(ctx, in.ID, "") // "" is pm_card_visa
	if err != nil || ok.DeclineCode != "" || ok.Status != payments.StatusRequiresCapture {
		t.Fatalf("confirm after a decline: %+v, %v", ok, err)
	}
}

func TestSandboxCaptureAndRefundAmounts(t *testing.T) {
	ctx := context.Background()
	gw := payments.NewSandbox(newMemStore())
	in := newIntent(t, gw)
	if _, err := gw.Confirm(ctx, in.ID, payments.TestCardVisa); err != nil {
		t.Fatal(err)
	}
	captured, err := gw.Capture(ctx, in.ID, "c")
	if err != nil || captured.AmountCaptured != 15000 || captured.Status != payments.StatusSucceeded {
		t.Fatalf("capture: %+v, %v", captured, err)
	}
	steps := []struct {
		amount  int64
		key     string
		want    int64
		wantErr error
	}{
		{5000, "r1", 5000, nil},
		{5000, "r1", 5000, nil}, // the same key: not paid twice
		{0, "r0", 5000, payments.ErrInvalidState},
		{-100, "rneg", 5000, payments.ErrInvalidState},
		{10001, "r2", 5000, payments.ErrInvalidState}, // above what is left
		{10000, "r3", 15000, nil},                     // exactly what is left
		{1, "r4", 15000, payments.ErrInvalidState},
		{1, "r1", 15000, nil}, // an old key is still a replay
	}
	for i, s := range steps {
		got, err := gw.Refund(ctx, in.ID, s.amount, s.key)
		if s.wantErr == nil && err != nil || s.wantErr != nil && !errors.Is(err, s.wantErr) {
			t.Fatalf("step %d refund %d %s: %v, want %v", i, s.amount, s.key, err, s.wantErr)
		}
		if stored, _ := gw.Get(ctx, in.ID); stored.AmountRefunded != s.want {
			t.Fatalf("step %d refund %d %s: refunded %d, want %d (returned %+v)", i, s.amount, s.key, stored.AmountRefunded, s.want, got)
		}
	}
}

// Another process cancels the intent between this capture's read and its write: the
// write loses, the capture reads again and refuses, and the intent stays cancelled.
func TestSandboxCaptureRacingACancelRereadsAndRefuses(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	gw := payments.NewSandbox(st)
	in := newIntent(t, gw)
	if _, err := gw.Confirm(ctx, in.ID, payments.TestCardVisa); err != nil {
		t.Fatal(err)
	}
	raced := false
	st.beforeUpdate = func(id string) bool {
		if !raced {
			raced = true
			st.setStatus(t, id, payments.StatusCanceled)
		}
		return true
	}
	if _, err := gw.Capture(ctx, in.ID, "c"); !errors.Is(err, payments.ErrInvalidState) {
		t.Fatalf("capture of an intent cancelled meanwhile = %v, want ErrInvalidState", err)
	}
	if got, _ := gw.Get(ctx, in.ID); got.Status != payments.StatusCanceled || got.AmountCaptured != 0 {
		t.Fatalf("intent after the race: %+v", got)
	}
}

func TestSandboxGivesUpUnderEndlessContention(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	gw := payments.NewSandbox(st)
	in := newIntent(t, gw)
	tries := 0
	st.beforeUpdate = func(string) bool { tries++; return false }
	_, err := gw.Cancel(ctx, in.ID, "k")
	if !errors.Is(err, payments.ErrProvider) || !strings.Contains(err.Error(), "contention") {
		t.Fatalf("cancel under endless contention = %v, want ErrProvider", err)
	}
	if tries != 10 {
		t.Fatalf("%d attempts, want 10", tries)
	}
	if got, _ := gw.Get(ctx, in.ID); got.Status != payments.StatusRequiresPaymentMethod {
		t.Fatalf("intent changed: %+v", got)
	}
}

func TestSandboxMapsStoreFailuresToProviderErrors(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	gw := payments.NewSandbox(st)
	in := newIntent(t, gw)
	down := errors.New("database is down")
	st.fail = down
	calls := map[string]func() error{
		"create":  func() error { _, err := gw.Create(ctx, payments.CreateIntent{Amount: 1, Currency: "usd"}); return err },
		"get":     func() error { _, err := gw.Get(ctx, in.ID); return err },
		"confirm": func() error { _, err := gw.Confirm(ctx, in.ID, payments.TestCardVisa); return err },
		"capture": func() error { _, err := gw.Capture(ctx, in.ID, "c"); return err },
		"cancel":  func() error { _, err := gw.Cancel(ctx, in.ID, "c"); return err },
		"refund":  func() error { _, err := gw.Refund(ctx, in.ID, 1, "r"); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, payments.ErrProvider) || !errors.Is(err, down) {
			t.Errorf("%s with the store down = %v, want ErrProvider wrapping the cause", name, err)
		}
	}
	st.fail = nil
	for _, id := range []string{"pi_sbx_unknown", ""} {
		if _, err := gw.Capture(ctx, id, "c"); !errors.Is(err, payments.ErrNotFound) {
			t.Errorf("capture of %q = %v, want ErrNotFound", id, err)
		}
	}
}

func TestIntentStatusOpenUntilCapturedOrCancelled(t *testing.T) {
	cases := map[payments.IntentStatus]bool{
		payments.StatusRequiresPaymentMethod: true,
		payments.StatusRequiresConfirmation:  true,
		payments.StatusRequiresAction:        true,
		payments.StatusProcessing:            true,
		payments.StatusRequiresCapture:       true,
		payments.StatusSucceeded:             false,
		payments.StatusCanceled:              false,
		"":                                   false,
	}
	for s, want := range cases {
		if got := s.Open(); got != want {
			t.Errorf("%q.Open() = %v, want %v", s, got, want)
		}
	}
}
