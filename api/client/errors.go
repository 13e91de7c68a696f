package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/remy-crm/remy/api/client/internal/wire"
)

// Error is an error answer of the Remy API: its status, the server's
// message and, for a 422, what failed by field. errors.Is matches it
// against the Err… values by status, so callers need not compare numbers:
//
//	if errors.Is(err, client.ErrNotFound) { … }
//
// Failures without an answer (a refused connection, a cancelled context)
// are returned as the errors they are, not as an *Error.
type Error struct {
	Status      int                 // the HTTP status
	Message     string              // the server's "error" text, e.g. "Contact not found"
	FieldErrors map[string][]string // a 422's details.fieldErrors, by top-level field
	FormErrors  []string            // a 422's details.formErrors, about the request as a whole
	RequestID   string              // X-Request-Id: quote it when reporting a problem
	RetryAfter  time.Duration       // Retry-After, as the server sent it (0: none)
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "remy: %d %s", e.Status, e.Message)
	for _, f := range slices.Sorted(maps.Keys(e.FieldErrors)) {
		fmt.Fprintf(&b, "; %s: %s", f, strings.Join(e.FieldErrors[f], ", "))
	}
	for _, m := range e.FormErrors {
		b.WriteString("; " + m)
	}
	if e.RequestID != "" {
		b.WriteString(" (request " + e.RequestID + ")")
	}
	return b.String()
}

// The values errors.Is matches an *Error against, by its status.
var (
	ErrBadRequest         = errors.New("remy: malformed request")               // 400
	ErrUnauthorized       = errors.New("remy: missing or invalid API key")      // 401
	ErrForbidden          = errors.New("remy: the API key lacks the scope")     // 403
	ErrNotFound           = errors.New("remy: not found")                       // 404
	ErrConflict           = errors.New("remy: conflict")                        // 409
	ErrGone               = errors.New("remy: gone")                            // 410: a change feed cursor older than the feed keeps
	ErrPreconditionFailed = errors.New("remy: precondition failed")             // 412: the If-Match ETag is not the current one
	ErrValidation         = errors.New("remy: validation failed")               // 422
	ErrRateLimited        = errors.New("remy: rate limited")                    // 429
	ErrUnavailable        = errors.New("remy: service temporarily unavailable") // 502, 503, 504
)

var sentinels = map[int]error{
	http.StatusBadRequest:          ErrBadRequest,
	http.StatusUnauthorized:        ErrUnauthorized,
	http.StatusForbidden:           ErrForbidden,
	http.StatusNotFound:            ErrNotFound,
	http.StatusConflict:            ErrConflict,
	http.StatusGone:                ErrGone,
	http.StatusPreconditionFailed:  ErrPreconditionFailed,
	http.StatusUnprocessableEntity: ErrValidation,
	http.StatusTooManyRequests:     ErrRateLimited,
	http.StatusBadGateway:          ErrUnavailable,
	http.StatusServiceUnavailable:  ErrUnavailable,
	http.StatusGatewayTimeout:      ErrUnavailable,
}

// Is reports whether target is the Err… value of e's status.
func (e *Error) Is(target error) bool {
	s, ok := sentinels[e.Status]
	return ok && s == target
}

// apiError builds the *Error of a non-2xx answer. A body that is not
// Remy's JSON (a proxy's HTML page) leaves the status text as the message.
func apiError(status int, h http.Header, body []byte) *Error {
	e := &Error{
		Status:     status,
		Message:    http.StatusText(status),
		RequestID:  h.Get("X-Request-Id"),
		RetryAfter: retryAfter(h.Get("Retry-After"), time.Now()),
	}
	var w wire.Error
	if json.Unmarshal(body, &w) == nil && w.Error != "" {
		e.Message = w.Error
		if w.Details != nil {
			e.FieldErrors, e.FormErrors = w.Details.FieldErrors, w.Details.FormErrors
		}
	}
	return e
}

// retryAfter reads a Retry-After value: seconds, or an HTTP date (RFC 9110
// allows both). Anything else, or a moment already past, is 0.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
