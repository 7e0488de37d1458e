package webhooks_test

import (
	"strings"
	"testing"

	"github.com/prima-dining/partner-api/internal/webhooks"
)

// ForbiddenHostSpellings are URLs whose host is a loopback, private, link-local,
// unspecified or metadata address however it is written, with the kind of address the
// refusal must name. The server's registration tests use the same table.
var ForbiddenHostSpellings = []struct{ URL, Kind string }{
	// 127.0.0.1 as inet_aton and browsers read it.
	{"http://2130706433/hook", "loopback"},
	{"http://0x7f000001/hook", "loopback"},
	{"http://0X7F000001/hook", "loopback"},
	{"http://0x7f.1/hook", "loopback"},
	{"http://0x7f.0.0.1/hook", "loopback"},
	{"http://0177.0.0.1/hook", "loopback"},
	{"http://0177.1/hook", "loopback"},
	{"http://017700000001/hook", "loopback"},
	{"http://127.1/hook", "loopback"},
	{"http://127.0.1/hook", "loopback"},
	{"http://127.0.0.1./hook", "loopback"},
	{"http://127.000.000.001/hook", "loopback"},
	{"http://１２７．０．０．１/hook", "loopback"},
	{"http://127。0。0。1/hook", "loopback"},
	{"https://127.0.0.1:8443/hook", "loopback"},
	// Private ranges, short and numeric.
	{"http://10.1/hook", "private"},
	{"http://012.1/hook", "private"},
	{"http://167772161/hook", "private"},
	{"http://0xa000001/hook", "private"},
	{"http://192.168.257/hook", "private"},
	{"http://0xc0.0xa8.1.1/hook", "private"},
	{"http://172.16.1/hook", "private"},
	// Unspecified.
	{"http://0/hook", "unspecified"},
	{"http://0.0.0.0/hook", "unspecified"},
	{"http://0x0/hook", "unspecified"},
	{"http://[::]/hook", "unspecified"},
	// IPv4-mapped and IPv4-translated IPv6.
	{"http://[::ffff:127.0.0.1]/hook", "loopback"},
	{"http://[::ffff:7f00:1]/hook", "loopback"},
	{"http://[0:0:0:0:0:ffff:7f00:1]/hook", "loopback"},
	{"http://[::ffff:a00:1]/hook", "private"},
	{"http://[::ffff:169.254.169.254]/hook", "metadata"},
	{"http://[64:ff9b::a00:1]/hook", "private"},
	{"http://[::7f00:1]/hook", "loopback"},
	{"http://[2002:c0a8:101::1]/hook", "private"},
	// IPv6 loopback, unique local, link-local.
	{"http://[::1]/hook", "loopback"},
	{"http://[0:0:0:0:0:0:0:1]/hook", "loopback"},
	{"http://[fc00::1]/hook", "private"},
	{"http://[fd12:3456::1]/hook", "private"},
	{"http://[fe80::1]/hook", "link-local"},
	{"http://[fe80::1%25eth0]/hook", "link-local"},
	// Link-local and metadata.
	{"http://169.254.1.1/hook", "link-local"},
	{"http://169.254.169.254/latest/meta-data/", "metadata"},
	{"http://0xa9fea9fe/latest/meta-data/", "metadata"},
	{"http://2852039166/latest/meta-data/", "metadata"},
	{"http://0251.0376.0251.0376/", "metadata"},
	{"http://169.254.43518/", "metadata"},
	{"http://[fd00:ec2::254]/latest/meta-data/", "metadata"},
	{"http://metadata.google.internal/computeMetadata/v1/", "metadata"},
	{"http://METADATA.GOOGLE.INTERNAL./computeMetadata/v1/", "metadata"},
	{"http://metadata/computeMetadata/v1/", "metadata"},
	{"http://instance-data.ec2.internal/", "private network"},
	// Names of this machine and its networks.
	{"http://localhost/hook", "loopback"},
	{"http://LocalHost:8080/hook", "loopback"},
	{"http://localhost./hook", "loopback"},
	{"http://api.localhost/hook", "loopback"},
	{"http://printer.local/hook", "link-local"},
	{"http://router.home.arpa/hook", "private network"},
	{"http://intranet/hook", "without a domain"},
}

func TestValidateURLRefusesEverySpellingOfAForbiddenHost(t *testing.T) {
	for _, c := range ForbiddenHostSpellings {
		err := webhooks.ValidateURL(c.URL, false)
		if err == nil {
			t.Errorf("ValidateURL(%q) = nil, want refused (%s)", c.URL, c.Kind)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, c.Kind) || !strings.HasPrefix(msg, "The URL's host is ") {
			t.Errorf("ValidateURL(%q) = %q, want a message naming %q", c.URL, msg, c.Kind)
		}
	}
}

func TestValidateURLRefusesUserInfoAndMalformedHosts(t *testing.T) {
	for _, u := range []string{
		"https://user@example.com/hook",
		"https://user:pass@example.com/hook",
		"https://example.com@127.0.0.1/hook",
		"https://:@example.com/hook",
		// Ends in a number but is no IPv4 address: browsers refuse these URLs.
		"http://1.2.3.4.5/hook",
		"http://256.1.1.1/hook",
		"http://1.2.3.256/hook",
		"http://1.2.65536/hook",
		"http://4294967296/hook",
		"http://0x100000000/hook",
		"http://08.1.1.1/hook",
		"http://example.123/hook",
		"http://[::ffff:127.0.0.1%/hook",
		"http://[1::2::3]/hook",
		"http://%31%32%37.0.0.1/hook", // Go's url.Parse refuses escapes in a host
	} {
		if err := webhooks.ValidateURL(u, false); err == nil {
			t.Errorf("ValidateURL(%q) = nil, want refused", u)
		}
	}
	// A malformed host is refused even where private addresses are allowed.
	if err := webhooks.ValidateURL("http://1.2.3.256/hook", true); err == nil {
		t.Error("ValidateURL(1.2.3.256, allowPrivate) = nil")
	}
}

func TestValidateURLAcceptsPublicHostsHoweverWritten(t *testing.T) {
	for _, u := range []string{
		"https://hooks.example.com/prima",
		"https://HOOKS.Example.COM./prima",
		"https://hooks.example.com:8443/prima?x=1#frag",
		"https://93.184.215.14/hook",
		"https://1572395790/hook",        // 93.184.215.14
		"https://0x5db8d70e/hook",        // 93.184.215.14
		"https://8.8.8.8/hook",           // public, and not a private range
		"https://8.8.2056/hook",          // 8.8.8.8
		"https://[2606:4700::1111]/hook", // public IPv6
		"https://[::ffff:8.8.8.8]/hook",
		"https://[64:ff9b::808:808]/hook",
		"https://bücher.example/hook",
		"https://xn--bcher-kva.example/hook",
		"https://my_service.example.com/hook",
		"https://1.example.com/hook",
		"https://example.com1/hook",
		"https://0x.example.com/hook",
		"https://local.example.com/hook",
		"https://internal.example.com/hook",
	} {
		if err := webhooks.ValidateURL(u, false); err != nil {
			t.Errorf("ValidateURL(%q) = %v, want accepted", u, err)
		}
	}
}
