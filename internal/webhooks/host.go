package webhooks

import (
	"errors"
	"net/netip"
	"strings"

	"golang.org/x/net/idna"
)

// errBadHost is a host no resolver would accept: a malformed address, or a name IDNA
// refuses.
var errBadHost = errors.New("webhooks: not a valid host")

// canonicalHost returns the address a URL's host names, or its name (lower case, ASCII,
// without a trailing dot) when it is not an address. It reads the host the way browsers
// (the WHATWG URL standard) and inet_aton do, so every spelling of an address is one
// address here: 2130706433, 0x7f000001, 0x7f.1, 0177.0.0.1 and 127.1 are all 127.0.0.1,
// and a fullwidth １２７。０。０。１ is mapped (UTS 46, as net/http maps a host before
// dialling it) before it is read. host is url.URL.Hostname(): percent-decoded, without
// the brackets of an IPv6 literal.
func canonicalHost(host string) (netip.Addr, string, error) {
	if strings.Contains(host, ":") {
		a, err := netip.ParseAddr(host)
		if err != nil {
			return netip.Addr{}, "", errBadHost
		}
		return a, "", nil
	}
	name := host
	if !isASCII(name) {
		// As net/http does before dialling (idnaASCII): ASCII hosts are used as they are.
		ascii, err := idna.Lookup.ToASCII(name)
		if err != nil {
			return netip.Addr{}, "", errBadHost
		}
		name = ascii
	}
	if name == "" {
		return netip.Addr{}, "", errBadHost
	}
	name = strings.ToLower(name)
	if a, isAddr, err := parseIPv4Host(name); isAddr {
		if err != nil {
			return netip.Addr{}, "", err
		}
		return a, "", nil
	}
	return netip.Addr{}, strings.TrimSuffix(name, "."), nil
}

// parseIPv4Host is the WHATWG URL standard's IPv4 parser: isAddr says whether host must
// be read as an IPv4 address (its last label is a number), and err whether it is not a
// valid one (then browsers refuse the URL). Up to four dot-separated parts (one trailing
// dot allowed), each decimal, octal with a leading 0, or hex with 0x; every part but the
// last is one byte, the last fills the remaining bytes: 127.1 is 127.0.0.1, 10.1 is
// 10.0.0.1, 2130706433 is 127.0.0.1. inet_aton(3) accepts the same forms.
func parseIPv4Host(host string) (addr netip.Addr, isAddr bool, err error) {
	parts := strings.Split(host, ".")
	if len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	last := parts[len(parts)-1]
	if _, ok := ipv4Number(last); !ok && !allDigits(last) {
		return netip.Addr{}, false, nil // a name, such as example.com
	}
	if len(parts) > 4 {
		return netip.Addr{}, true, errBadHost
	}
	var v uint64
	for i, p := range parts {
		n, ok := ipv4Number(p)
		if !ok {
			return netip.Addr{}, true, errBadHost
		}
		if i < len(parts)-1 {
			if n > 255 {
				return netip.Addr{}, true, errBadHost
			}
			v |= n << (8 * (3 - i))
			continue
		}
		if n >= 1<<(8*(5-len(parts))) {
			return netip.Addr{}, true, errBadHost
		}
		v |= n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true, nil
}

// ipv4Number reads one part of an IPv4 host: 0x/0X hex (an empty 0x is 0), a leading 0
// octal, else decimal. Values beyond 2^32 are refused rather than wrapped.
func ipv4Number(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	base := uint64(10)
	switch {
	case len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X"):
		base, s = 16, s[2:]
	case len(s) >= 2 && s[0] == '0':
		base, s = 8, s[1:]
	}
	var n uint64
	for _, c := range []byte(s) {
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, false
		}
		if d >= base {
			return 0, false
		}
		n = n*base + d
		if n > 1<<32 {
			return 0, false
		}
	}
	return n, true
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// forbiddenNames are host names that reach the cloud's metadata service or the
// machine's own network without being addresses. Names that resolve to a private
// address later are refused when dialled (dialGuard).
var forbiddenNames = map[string]string{
	"metadata.google.internal": "a cloud metadata service",
	"metadata.goog":            "a cloud metadata service",
	"metadata":                 "a cloud metadata service",
	"instance-data":            "a cloud metadata service",
}

// forbiddenNameSuffixes are special-use domains that never name a public host:
// localhost (RFC 6761), .internal (reserved by ICANN for private use; GCP's and AWS's
// internal DNS), .local (mDNS, the link), .home.arpa (RFC 8375).
var forbiddenNameSuffixes = []struct{ suffix, what string }{
	{"localhost", "a loopback address"},
	{"internal", "a private network name"},
	{"local", "a link-local name"},
	{"home.arpa", "a private network name"},
}

// forbiddenName names the kind of a forbidden host name, or "". A name without a dot is
// refused too: the resolver completes it with the machine's search domains, inside the
// private network.
func forbiddenName(name string) string {
	if what, ok := forbiddenNames[name]; ok {
		return what
	}
	for _, s := range forbiddenNameSuffixes {
		if name == s.suffix || strings.HasSuffix(name, "."+s.suffix) {
			return s.what
		}
	}
	if !strings.Contains(name, ".") {
		return "a name without a domain"
	}
	return ""
}
