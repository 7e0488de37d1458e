package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// DefaultTimeout bounds one delivery when SenderConfig.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// maxResponseBytes is how much of a reply is read: enough for a platform's reference.
const maxResponseBytes = 64 << 10

// maxURLLength bounds a webhook URL.
const maxURLLength = 2048

// ErrAddressNotAllowed is returned (wrapped) when a delivery would reach a loopback,
// private, link-local, unspecified, multicast or reserved address and private addresses
// are not allowed.
var ErrAddressNotAllowed = errors.New("webhooks: address not allowed")

// StatusError is a reply other than 2xx (a redirect included: redirects are never
// followed).
type StatusError struct {
	StatusCode int
	Body       []byte // the start of the reply, for operators' logs
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("webhooks: endpoint answered HTTP %d", e.StatusCode)
}

// URLError says why a URL may not receive deliveries, in a sentence for humans (it is
// shown as an API error message).
type URLError struct{ Reason string }

func (e *URLError) Error() string { return e.Reason }

func urlError(format string, args ...any) error {
	return &URLError{Reason: fmt.Sprintf(format, args...)}
}

// ValidateURL says whether raw may receive deliveries: an absolute http or https URL,
// without credentials, whose host is not a loopback, private, link-local, unspecified,
// multicast or reserved address (nor "localhost", a cloud metadata name or another
// special-use name), unless allowPrivate. The host is read as browsers and inet_aton
// read it, so 2130706433, 0x7f.1, 0177.0.0.1, 127.1 and [::ffff:7f00:1] are all
// 127.0.0.1 (canonicalHost). Host names are not resolved here; the sender checks every
// address it dials, so a name that resolves to a forbidden address later (DNS
// rebinding) is refused then. The error is a *URLError, whose message is for humans (an
// API error message).
func ValidateURL(raw string, allowPrivate bool) error {
	if len(raw) > maxURLLength {
		return urlError("The URL is longer than %d characters.", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return urlError("The URL is not a valid absolute URL.")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return urlError("The URL must start with https:// or http://.")
	}
	if u.User != nil {
		return urlError("The URL must not contain a user name or password.")
	}
	host := u.Hostname()
	if host == "" {
		return urlError("The URL must name a host.")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return urlError("The URL's port is not valid.")
		}
	}
	addr, name, err := canonicalHost(host)
	if err != nil {
		return urlError("The URL's host is not a valid host name or IP address.")
	}
	if allowPrivate {
		return nil
	}
	if addr.IsValid() {
		if what := forbiddenAddr(addr); what != "" {
			return urlError("The URL's host is %s, which is not allowed.", what)
		}
		return nil
	}
	if what := forbiddenName(name); what != "" {
		return urlError("The URL's host is %s, which is not allowed.", what)
	}
	return nil
}

// reservedPrefixes are ranges netip has no predicate for that must not be reachable
// either: "this network", carrier-grade NAT, IETF protocol assignments, benchmarking,
// reserved (and broadcast), IPv6 discard and local-use NAT64.
var reservedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
}

// forbiddenAddr names the kind of a forbidden address ("a private address"), or "".
func forbiddenAddr(a netip.Addr) string {
	a = a.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	if metadataAddrs[a] {
		return "a cloud metadata service address"
	}
	switch {
	case a.IsLoopback():
		return "a loopback address"
	case a.IsPrivate():
		return "a private address"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "a link-local address"
	case a.IsUnspecified():
		return "an unspecified address"
	case a.IsMulticast(), a.IsInterfaceLocalMulticast():
		return "a multicast address"
	}
	for _, p := range reservedPrefixes {
		if p.Contains(a) {
			return "a reserved address"
		}
	}
	if v4, ok := embeddedIPv4(a); ok { // 64:ff9b::a00:1 reaches 10.0.0.1
		return forbiddenAddr(v4)
	}
	return ""
}

// metadataAddrs are the instance metadata services of the large clouds (AWS, GCP and
// Azure on 169.254.169.254, AWS's IPv6 one, Alibaba's, Oracle's): each is also in a
// refused range, but is named as what it is.
var metadataAddrs = map[netip.Addr]bool{
	netip.MustParseAddr("169.254.169.254"): true,
	netip.MustParseAddr("fd00:ec2::254"):   true,
	netip.MustParseAddr("100.100.100.200"): true,
	netip.MustParseAddr("192.0.0.192"):     true,
}

// translatedPrefixes carry an IPv4 address in their last 32 bits and reach it through a
// translator (NAT64, RFC 6052) or IPv4-compatible addressing (deprecated, ::/96); 6to4
// (2002::/16) carries it in bits 16-47.
var (
	translatedPrefixes = []netip.Prefix{
		netip.MustParsePrefix("64:ff9b::/96"),
		netip.MustParsePrefix("::/96"),
	}
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// embeddedIPv4 returns the IPv4 address an IPv6 address reaches through a translator.
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	for _, p := range translatedPrefixes {
		if p.Contains(a) {
			return netip.AddrFrom4([4]byte(b[12:16])), true
		}
	}
	if sixToFour.Contains(a) {
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// dialGuard refuses, at connect time, every address ValidateURL would refuse: the name
// was resolved by then, so a host whose DNS answer changed since validation cannot
// reach the private network either.
func dialGuard(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse %q", ErrAddressNotAllowed, address)
	}
	if what := forbiddenAddr(ap.Addr()); what != "" {
		return fmt.Errorf("%w: %s is %s", ErrAddressNotAllowed, ap.Addr(), what)
	}
	return nil
}

// SenderConfig tunes a Sender.
type SenderConfig struct {
	// Timeout bounds one delivery, reply included (default 10 s). A shorter context
	// deadline wins.
	Timeout time.Duration
	// AllowPrivate lets deliveries reach loopback and private addresses
	// (PRIMA_WEBHOOK_ALLOW_PRIVATE=1; development and tests).
	AllowPrivate bool
	// HTTPClient replaces the sender's own client (tests). Redirects are refused
	// whatever its CheckRedirect; the dial-time address check is the caller's business.
	HTTPClient *http.Client
}

// Sender POSTs signed JSON deliveries.
type Sender struct {
	client       *http.Client
	timeout      time.Duration
	allowPrivate bool
}

// NewSender returns a Sender.
func NewSender(cfg SenderConfig) *Sender {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	var client http.Client
	if cfg.HTTPClient != nil {
		client = *cfg.HTTPClient
	} else {
		dialer := &net.Dialer{Timeout: min(cfg.Timeout, 5*time.Second), KeepAlive: 30 * time.Second}
		if !cfg.AllowPrivate {
			dialer.Control = dialGuard
		}
		client = http.Client{
			Transport: &http.Transport{
				Proxy:                 nil, // a proxy would be dialled instead of the endpoint, defeating the address check
				DialContext:           dialer.DialContext,
				ForceAttemptHTTP2:     true,
				TLSHandshakeTimeout:   min(cfg.Timeout, 5*time.Second),
				ResponseHeaderTimeout: cfg.Timeout,
				MaxIdleConns:          100,
				MaxIdleConnsPerHost:   4,
				IdleConnTimeout:       90 * time.Second,
			},
			Timeout: cfg.Timeout,
		}
	}
	// A redirect is an answer like any other non-2xx: it is not followed (it could
	// point anywhere, the private network included) and counts as a failure.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Sender{client: &client, timeout: cfg.Timeout, allowPrivate: cfg.AllowPrivate}
}

// Delivery is one signed POST.
type Delivery struct {
	URL    string
	Secret string // whsec_…
	// AlsoSecrets sign the delivery too, each signature appended to webhook-signature
	// after a space (Standard Webhooks): a rotated endpoint's previous secret, during
	// the overlap.
	AlsoSecrets []string
	MessageID   string // webhook-id
	Timestamp   time.Time
	Body        []byte // JSON
}

// Response is a 2xx reply.
type Response struct {
	StatusCode int
	Body       []byte // at most 64 KiB
}

// Send POSTs d.Body to d.URL with the Standard Webhooks headers. A reply other than 2xx
// is a *StatusError; a refused address wraps ErrAddressNotAllowed.
func (s *Sender) Send(ctx context.Context, d Delivery) (Response, error) {
	if err := ValidateURL(d.URL, s.allowPrivate); err != nil {
		return Response{}, fmt.Errorf("%w: %s", ErrAddressNotAllowed, err.Error())
	}
	sig, err := Sign(d.Secret, d.MessageID, d.Timestamp, d.Body)
	if err != nil {
		return Response{}, err
	}
	for _, secret := range d.AlsoSecrets {
		also, err := Sign(secret, d.MessageID, d.Timestamp, d.Body)
		if err != nil {
			return Response{}, err
		}
		sig += " " + also
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return Response{}, fmt.Errorf("webhooks: request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(HeaderWebhookID, d.MessageID)
	req.Header.Set(HeaderWebhookTimestamp, strconv.FormatInt(d.Timestamp.Unix(), 10))
	req.Header.Set(HeaderWebhookSignature, sig)
	resp, err := s.client.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("webhooks: post: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Response{}, &StatusError{StatusCode: resp.StatusCode, Body: body}
	}
	if err != nil {
		// The endpoint said 2xx: the delivery counts even if its reply broke off.
		return Response{StatusCode: resp.StatusCode}, nil
	}
	return Response{StatusCode: resp.StatusCode, Body: body}, nil
}
