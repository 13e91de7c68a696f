package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestObserve_PanicIsJSON500(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s := newServer(Config{}, Deps{Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	h := s.observe(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("secret internal detail: db password hunter2")
	}))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/contacts", nil)
	req.Header.Set("X-Request-Id", "req-123")
	h.ServeHTTP(rec, req)

	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body) != 1 || body["error"] != "Internal server error" {
		t.Fatalf("body = %s (%v)", rec.Body, err)
	}
	if strings.Contains(rec.Body.String(), "hunter2") {
		t.Fatal("panic value leaked to the client")
	}
	if !strings.Contains(logs.String(), `"request_id":"req-123"`) || !strings.Contains(logs.String(), "hunter2") {
		t.Fatalf("the panic must be logged with the request id: %s", logs.String())
	}
	if !strings.Contains(logs.String(), `"status":500`) {
		t.Fatalf("the request line must say 500: %s", logs.String())
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	trusting := newServer(Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, Deps{})
	plain := newServer(Config{}, Deps{})
	tests := []struct {
		name   string
		s      *server
		remote string
		xff    []string
		want   string
	}{
		{"peer only", plain, "192.0.2.1:5555", nil, "192.0.2.1"},
		{"untrusted peer's XFF ignored", plain, "192.0.2.1:5555", []string{"203.0.113.9"}, "192.0.2.1"},
		{"trusted proxy", trusting, "10.1.2.3:5555", []string{"203.0.113.9"}, "203.0.113.9"},
		{"chain of trusted proxies", trusting, "10.1.2.3:5555", []string{"198.51.100.7, 203.0.113.9, 10.9.9.9"}, "203.0.113.9"},
		{"spoofed left-most entry ignored", trusting, "10.1.2.3:5555", []string{"1.1.1.1", "203.0.113.9"}, "203.0.113.9"},
		{"garbage XFF", trusting, "10.1.2.3:5555", []string{"nonsense"}, "10.1.2.3"},
		{"IPv6 peer", plain, "[2001:db8::1]:443", nil, "2001:db8::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := tt.s.clientIP(r); got != tt.want {
				t.Fatalf("clientIP = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFlatten(t *testing.T) {
	t.Parallel()
	tests := []struct{ loc, want string }{
		{"body.emails[0].value", "emails"},
		{"body.givenName", "givenName"},
		{"query.limit", "limit"},
		{"body", ""},
	}
	for _, tt := range tests {
		if got := firstSegment(tt.loc); got != tt.want {
			t.Errorf("firstSegment(%q) = %q, want %q", tt.loc, got, tt.want)
		}
	}
}
