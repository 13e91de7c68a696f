// Package egress (beside the delivery worker, not in the SQL package) is where Remy's outbound webhook traffic may go: the
// policy that endpoint URLs are checked against when they are stored, and
// that the delivery dialer applies to every address it connects to. cmd
// builds one Policy and gives it to the repository and the delivery worker.
package egress

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"code.dny.dev/ssrf"

	"github.com/remy-crm/remy/model"
)

// Policy admits global unicast addresses only, on any port; the zero
// Policy is the production one.
type Policy struct {
	// AllowPrivate admits http:// URLs and loopback, private and other
	// non-global addresses (REMY_WEBHOOK_ALLOW_PRIVATE; development only).
	AllowPrivate bool
	// Resolver looks endpoint hosts up when a URL is checked; nil is
	// net.DefaultResolver.
	Resolver *net.Resolver
}

// lookupTimeout bounds CheckURL's DNS lookup.
const lookupTimeout = 3 * time.Second

const msgPrivateURL = "Must not point to a loopback, private, link-local or other non-public address"

func guardian() *ssrf.Guardian { return ssrf.New(ssrf.WithAnyPort()) }

// CheckURL refuses, as a validation error of the url field, a URL whose
// host is, or resolves to, an address outside the policy. A name that does
// not resolve now is accepted: the dialer checks again at every attempt.
func (p Policy) CheckURL(ctx context.Context, raw string) error {
	if p.AllowPrivate {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return model.FieldError("url", "Must be an absolute https:// URL")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return model.FieldError("url", msgPrivateURL)
	}
	g := guardian()
	if ip, err := netip.ParseAddr(host); err == nil {
		if g.SafeAddr(ip.Unmap()) != nil {
			return model.FieldError("url", msgPrivateURL)
		}
		return nil
	}
	res := p.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	lookupCtx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	addrs, err := res.LookupNetIP(lookupCtx, "ip", host)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if g.SafeAddr(a.Unmap()) != nil {
			return model.FieldError("url", msgPrivateURL)
		}
	}
	return nil
}

// Control is the net.Dialer.Control that refuses a connection to an
// address outside the policy (checked after DNS, on the address actually
// dialled); nil when private addresses are allowed.
func (p Policy) Control() func(network, address string, c syscall.RawConn) error {
	if p.AllowPrivate {
		return nil
	}
	return guardian().Safe
}

// Refused reports whether err is a connection Control refused.
func Refused(err error) bool {
	return errors.Is(err, ssrf.ErrProhibitedIP) || errors.Is(err, ssrf.ErrProhibitedPort) || errors.Is(err, ssrf.ErrProhibitedNetwork)
}
