package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"
)

// modulePath is this module's path, looked up in the build information of
// the program that imports it to learn its version.
const modulePath = "github.com/remy-crm/remy/api/client"

// Version is this SDK's module version as the importing program was built
// with it (e.g. "v0.3.0"), or "dev" when it has none: a replace by a local
// directory, a test of the module itself. It is sent in the User-Agent.
var Version = moduleVersion()

func moduleVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	for _, m := range append([]*debug.Module{&info.Main}, info.Deps...) {
		if m.Path == modulePath && m.Replace == nil && strings.HasPrefix(m.Version, "v") {
			return m.Version
		}
	}
	return "dev"
}

// Client is a Remy API client. It is safe for concurrent use.
type Client struct {
	Contacts *ContactsService
	Notes    *NotesService
	Events   *EventsService
	Webhooks *WebhooksService
	Activity *ActivityService
	Tags     *TagsService

	base       *url.URL
	apiKey     string
	http       *http.Client
	maxRetries int
	userAgent  string

	// sleep waits between attempts; tests replace it to see the waits
	// without spending them.
	sleep func(ctx context.Context, d time.Duration) bool
}

// Option configures a Client in New.
type Option func(*Client)

// WithHTTPClient sends requests through hc instead of the SDK's own client.
// The change feed's long polls last up to 30 s: with an hc.Timeout shorter
// than 35 s, Events.Follow waits less per poll to fit inside it.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithMaxRetries sets how many times a failed call is retried (default 3;
// 0 turns retries off). Only failures a retry can mend are retried: see
// the package documentation.
func WithMaxRetries(n int) Option {
	return func(c *Client) { c.maxRetries = max(n, 0) }
}

// WithUserAgent names the application in the User-Agent header, before the
// SDK's own "remy-go/<version>"; Remy records it in the Activity Log.
func WithUserAgent(s string) Option {
	return func(c *Client) { c.userAgent = strings.TrimSpace(s) }
}

// defaultHTTP is the client used without WithHTTPClient, shared so that
// every Client reuses one pool of connections. It gives up on a server that
// sends no response headers within 90 s (a long poll waits at most 60 s);
// a response body is bounded by the caller's context.
var defaultHTTP = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 90 * time.Second
	return &http.Client{Transport: t}
}()

// New returns a client of the Remy API at baseURL (e.g.
// "https://app.remy.com"; a trailing "/api/v1" is accepted too) that
// authenticates with apiKey.
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	if strings.TrimSpace(apiKey) == "" {
		return nil, errors.New("remy: an API key is required")
	}
	base, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, errors.New("remy: base URL: " + err.Error())
	}
	if (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, errors.New(`remy: base URL must be absolute http:// or https://, e.g. "https://app.remy.com"`)
	}
	base.Path = strings.TrimSuffix(strings.TrimSuffix(base.Path, "/"), "/api/v1")
	base.RawQuery, base.Fragment = "", ""
	c := &Client{base: base, apiKey: apiKey, http: defaultHTTP, maxRetries: 3, sleep: sleep}
	for _, o := range opts {
		o(c)
	}
	c.Contacts = &ContactsService{c}
	c.Notes = &NotesService{c}
	c.Events = &EventsService{c}
	c.Webhooks = &WebhooksService{c}
	c.Activity = &ActivityService{c}
	c.Tags = &TagsService{c}
	return c, nil
}

// userAgentHeader is the User-Agent every request carries.
func (c *Client) userAgentHeader() string {
	if c.userAgent == "" {
		return "remy-go/" + Version
	}
	return c.userAgent + " remy-go/" + Version
}

// sleep waits d, or less if ctx ends first; it reports whether it waited
// the whole time.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
