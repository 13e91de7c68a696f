package api

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"runtime/debug"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/remy-crm/remy/model"
)

// requestInfo travels with each request from the outermost middleware
// inwards; inner layers fill in what they learn (the key) so the one log
// line per request can say it.
type requestInfo struct {
	id        string
	clientIP  string
	userAgent string
	base      *slog.Logger
	logger    *slog.Logger // base with the request id, made on first use
	keyID     *uuid.UUID
	accountID uuid.UUID
	operation string // the Huma operation's id, once routed
}

// log is the request's logger; most requests never need one built.
func (i *requestInfo) log() *slog.Logger {
	if i.logger == nil {
		i.logger = i.base.With("request_id", i.id)
	}
	return i.logger
}

type requestInfoKey struct{}

func requestInfoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return info
}

// actor is who is making this request, for the Activity Log.
func actor(ctx context.Context) model.Actor {
	info := requestInfoFrom(ctx)
	return model.Actor{
		AccountID:  info.accountID,
		AuthMethod: model.AuthMethodAPIKey,
		APIKeyID:   info.keyID,
		IP:         info.clientIP,
		UserAgent:  info.userAgent,
	}
}

// accountID is the authenticated account of this request.
func accountID(ctx context.Context) uuid.UUID { return requestInfoFrom(ctx).accountID }

var saneRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// observe is the outermost middleware: it assigns the request id (echoing
// a sane incoming one), recovers panics into a JSON 500, and logs one line
// per request once the response is done.
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		// A client that sends its key as the request id (a misconfigured
		// header template) must not have it echoed and logged.
		if !saneRequestID.MatchString(id) || strings.HasPrefix(strings.ToLower(id), model.KeyPrefix) {
			id = rand.Text()
		}
		h := w.Header()
		h.Set("X-Request-Id", id)
		h.Set("X-Content-Type-Options", "nosniff")
		if strings.HasPrefix(r.URL.Path, "/api/") {
			// Address books are personal: no shared or browser cache keeps them.
			h.Set("Cache-Control", "no-store")
		}
		info := &requestInfo{
			id:        id,
			clientIP:  s.clientIP(r),
			userAgent: truncateUTF8(strings.ToValidUTF8(r.UserAgent(), "\uFFFD"), maxUserAgent),
		}
		info.base = s.log
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
		rec := &statusRecorder{ResponseWriter: w}

		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				info.log().Error("panic", "panic", p, "stack", string(debug.Stack()))
				if !rec.wroteHeader {
					writeError(r.Context(), rec, newError(http.StatusInternalServerError, msgInternal))
				}
			}
			route := routePattern(r)
			op := info.operation
			if op == "" {
				op = route
			}
			s.metrics.observe(op, r.Method, rec.status, time.Since(start))
			if !s.log.Enabled(r.Context(), slog.LevelInfo) && rec.status < 500 {
				return
			}
			attrs := []any{
				"method", r.Method,
				"path", route,
				"status", rec.status,
				"duration_ms", float64(time.Since(start).Microseconds()) / 1000,
				"bytes", rec.bytes,
				"ip", info.clientIP,
			}
			if info.keyID != nil {
				attrs = append(attrs, "key_id", info.keyID.String())
			}
			level := slog.LevelInfo
			if rec.status >= 500 {
				level = slog.LevelError
			}
			info.log().Log(r.Context(), level, "request", attrs...)
		}()
		next.ServeHTTP(rec, r)
	})
}

// maxUserAgent is how much of a User-Agent the Activity Log keeps, in bytes.
const maxUserAgent = 512

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// deadline gives every request but an export the configured time, minus a
// margin so that the 503 itself leaves before the deadline. Exports stream
// for as long as their client reads and are bounded by their stall rule.
func (s *server) deadline(next http.Handler) http.Handler {
	timeout := s.requestTimeout()
	work := timeout - min(timeout/10, 500*time.Millisecond)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == exportPath || r.URL.Path == eventsPath || r.URL.Path == eventsStreamPath {
			// Their reads have the timeout each (see withSlot).
			next.ServeHTTP(w, r)
			return
		}
		budget := work
		if r.URL.Path == importPath {
			budget = max(work, importTimeout)
		}
		ctx, cancel := context.WithTimeout(r.Context(), budget)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// importTimeout is the least time an import gets: 10,000 cards take a few
// seconds on two loaded cores, more than a request's default deadline
// leaves them. (The statements' own limit, StatementTimeout, still holds.)
const importTimeout = time.Minute

func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "(unmatched)"
}

type statusRecorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
		if code == http.StatusNotModified {
			// Huma labels every error it writes, even a bodiless 304.
			r.Header().Del("Content-Type")
		}
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush passes flushes through for streamed responses.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// clientIP is the TCP peer, or, when the peer is a trusted proxy, the
// right-most address in X-Forwarded-For that is not itself a trusted proxy.
func (s *server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		addr, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		addr = addr.Unmap()
		if !s.trusted(addr) {
			return addr.String()
		}
		peer = addr
	}
	return peer.String()
}

func (s *server) trusted(addr netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// authenticate is the Huma middleware in front of every operation that
// declares the bearer security scheme: it finds the key (401 without a
// usable one) and checks that the key holds the scopes the operation
// declares in its security requirement (403 otherwise).
func (s *server) authenticate(ctx huma.Context, next func(huma.Context)) {
	if info := requestInfoFrom(ctx.Context()); info != nil {
		info.operation = ctx.Operation().OperationID
	}
	if !requiresKey(ctx.Operation()) {
		next(ctx)
		return
	}
	header := ctx.Header("Authorization")
	if header == "" {
		s.unauthorized(ctx, msgMissingAuth)
		return
	}
	scheme, token, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		s.unauthorized(ctx, msgInvalidKey)
		return
	}
	key, err := s.keys.Authenticate(ctx.Context(), strings.TrimSpace(token))
	switch {
	case errors.Is(err, model.ErrNotFound):
		s.unauthorized(ctx, msgInvalidKey)
		return
	case err != nil:
		fail(ctx, problem(err, "API key"))
		return
	}
	info := requestInfoFrom(ctx.Context())
	info.keyID = &key.ID
	info.accountID = key.AccountID
	// Before anything is read or written, and before an Idempotency-Key
	// is claimed: a forbidden request leaves no trace.
	if missing := missingScope(ctx.Operation(), key.Scopes); missing != "" {
		s.forbidden(ctx, key, missing)
		return
	}
	next(ctx)
}

// requiresKey reports whether the operation declares the bearer scheme.
func requiresKey(op *huma.Operation) bool {
	for _, req := range op.Security {
		if _, ok := req["bearer"]; ok {
			return true
		}
	}
	return false
}

func (s *server) unauthorized(ctx huma.Context, msg string) {
	// Failed attempts spend from a bucket per client IP, to blunt key
	// guessing: past it, 429 instead of 401.
	if info := requestInfoFrom(ctx.Context()); info != nil && !s.limit(ctx, "ip:"+info.clientIP) {
		return
	}
	fail(ctx, newError(http.StatusUnauthorized, msg).withHeader("WWW-Authenticate", "Bearer"))
}

// requestTimeout is Config.RequestTimeout or its default.
func (s *server) requestTimeout() time.Duration {
	if s.cfg.RequestTimeout > 0 {
		return s.cfg.RequestTimeout
	}
	return DefaultRequestTimeout
}
