package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/remy-crm/remy/model"
)

// Error is the one error body Remy writes: {"error": "..."} plus, for
// validation failures, the field-level breakdown in details. It is installed
// as Huma's error model, so every error path (validation, handlers,
// middleware) produces it and /openapi.json documents it.
type Error struct {
	status  int
	headers http.Header

	Message string             `json:"error" doc:"Human-readable message." example:"Contact not found"`
	Details *ValidationDetails `json:"details,omitempty" doc:"Present on 422: what failed, by field."`
}

// ValidationDetails is the shape of Zod's flatten(): problems keyed by the
// first path segment of the offending field, request-level problems in
// formErrors. Both keys are always present.
type ValidationDetails struct {
	FieldErrors map[string][]string `json:"fieldErrors" doc:"Messages keyed by the top-level field they concern." example:"{\"givenName\":[\"expected length <= 100\"]}"`
	FormErrors  []string            `json:"formErrors" doc:"Messages about the request as a whole."`
}

// Error, GetStatus, ContentType and GetHeaders make *Error a huma.StatusError
// and huma.HeadersError, always written as application/json.
func (e *Error) Error() string                 { return e.Message }
func (e *Error) GetStatus() int                { return e.status }
func (e *Error) ContentType(string) string     { return "application/json" }
func (e *Error) GetHeaders() http.Header       { return e.headers }
func (e *Error) withHeader(k, v string) *Error { e.headers = http.Header{k: {v}}; return e }
func newError(status int, msg string) *Error   { return &Error{status: status, Message: msg} }
func validationError(d *ValidationDetails) *Error {
	return &Error{status: 422, Message: "Validation failed", Details: d}
}

// Messages used in more than one place. The two 401 messages are the
// published contract, letter for letter.
const (
	msgMissingAuth     = "Missing Authorization header"
	msgInvalidKey      = "Invalid, expired, or revoked API key"
	msgInternal        = "Internal server error"
	msgUnavailable     = "Service temporarily unavailable"
	msgNotFoundRoute   = "Not found"
	msgMethodNotAllowd = "Method not allowed"
)

// newHumaError replaces huma.NewError: it turns Huma's own failures
// (validation, malformed JSON, body size, content type) into Remy's statuses
// and messages.
func newHumaError(status int, msg string, errs ...error) huma.StatusError {
	var details []*huma.ErrorDetail
	for _, err := range errs {
		var d *huma.ErrorDetail
		if errors.As(err, &d) {
			details = append(details, d)
		}
	}
	for _, d := range details {
		// Huma reports a malformed path UUID as 422; the contract says 400.
		if name, ok := strings.CutPrefix(d.Location, "path."); ok {
			return newError(http.StatusBadRequest, fmt.Sprintf("Malformed %s in path: must be a UUID", name))
		}
	}
	switch {
	case status == http.StatusBadRequest && len(details) > 0 && details[0].Location == "body":
		return newError(status, "Malformed JSON: "+details[0].Message)
	case status == http.StatusBadRequest && msg == "request body is required":
		return newError(status, "Request body is required")
	case status == http.StatusUnprocessableEntity:
		return validationError(flatten(details))
	case status == http.StatusUnsupportedMediaType:
		return newError(status, "Unsupported Content-Type: send application/json")
	case status == http.StatusRequestEntityTooLarge:
		return newError(status, "Request body too large: the limit is 1 MiB")
	case status == http.StatusServiceUnavailable:
		return newError(status, msgUnavailable)
	case status >= 500:
		return newError(status, msgInternal)
	}
	return newError(status, capitalize(msg))
}

// newHumaErrorWithContext is newHumaError plus a log line, with the request
// id, for the 5xx errors whose cause the client must not see.
func newHumaErrorWithContext(ctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
	if status >= 500 && status != http.StatusServiceUnavailable {
		logger(ctx.Context()).ErrorContext(ctx.Context(), "internal error", "error", errors.Join(errs...), "msg", msg)
	}
	return newHumaError(status, msg, errs...)
}

var requiredProperty = regexp.MustCompile(`^expected required property (\S+) to be present$`)

// flatten keys Huma's validation details the way Zod's flatten() does.
func flatten(details []*huma.ErrorDetail) *ValidationDetails {
	out := &ValidationDetails{FieldErrors: map[string][]string{}, FormErrors: []string{}}
	for _, d := range details {
		loc := d.Location
		msg := d.Message
		// A missing property is reported at its parent; Zod reports it at the property.
		if m := requiredProperty.FindStringSubmatch(msg); m != nil {
			loc += "." + m[1]
			msg = "Required"
		}
		// An unknown property is a problem of the object that holds it.
		if msg == "unexpected property" {
			name := loc[strings.LastIndexAny(loc, ".")+1:]
			loc = loc[:strings.LastIndexAny(loc, ".")]
			msg = fmt.Sprintf("Unrecognized key: %q", name)
		}
		if field := firstSegment(loc); field != "" {
			out.FieldErrors[field] = append(out.FieldErrors[field], capitalize(msg))
		} else {
			out.FormErrors = append(out.FormErrors, capitalize(msg))
		}
	}
	return out
}

// firstSegment returns the top-level field of a Huma location:
// body.emails[0].value -> emails, query.limit -> limit, body -> "".
func firstSegment(loc string) string {
	_, rest, ok := strings.Cut(loc, ".")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, ".["); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// problem maps a domain error to its HTTP error: the one table from
// model's sentinels to statuses. resource names the thing for a 404 message,
// which is the same whether the thing is missing or another account's.
// Unknown errors are returned as they are, so Huma logs them and answers 500.
func problem(err error, resource string) error {
	var verr *model.ValidationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &verr):
		d := &ValidationDetails{FieldErrors: verr.Fields, FormErrors: verr.Form}
		if d.FieldErrors == nil {
			d.FieldErrors = map[string][]string{}
		}
		if d.FormErrors == nil {
			d.FormErrors = []string{}
		}
		return validationError(d)
	case errors.Is(err, model.ErrNotFound):
		return newError(http.StatusNotFound, resource+" not found")
	case errors.Is(err, model.ErrConflict):
		return newError(http.StatusConflict, "Conflict with the current state of the resource")
	case errors.Is(err, model.ErrPreconditionFailed):
		return newError(http.StatusPreconditionFailed, "Precondition failed: the "+strings.ToLower(resource)+" has changed; fetch it again and retry with its current ETag")
	case errors.Is(err, model.ErrUnavailable):
		return newError(http.StatusServiceUnavailable, msgUnavailable).withHeader("Retry-After", "1")
	case errors.Is(err, context.DeadlineExceeded):
		// The request's deadline passed while waiting on the database: it
		// is stalled or unreachable, and the client may try again.
		return newError(http.StatusServiceUnavailable, msgUnavailable).withHeader("Retry-After", "1")
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this, but the log shows 499.
		return newError(499, "Client closed request")
	}
	return err
}

// writeError writes the error body outside Huma (router fallbacks, panics).
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Error{Message: msg})
}

func logger(ctx context.Context) *slog.Logger {
	if info := requestInfoFrom(ctx); info != nil && info.logger != nil {
		return info.logger
	}
	return slog.Default()
}

// documentErrorExamples gives each error response in /openapi.json an
// example of the body a client will actually see for that status.
func documentErrorExamples(_ *huma.OpenAPI, op *huma.Operation) {
	resource := "Resource"
	if len(op.Tags) > 0 {
		resource = strings.TrimSuffix(op.Tags[0], "s")
	}
	examples := map[int]map[string]*Error{
		400: {"malformed": {Message: "Malformed JSON: unexpected end of JSON input"}},
		401: {"missing": {Message: msgMissingAuth}, "invalid": {Message: msgInvalidKey}},
		404: {"notFound": {Message: resource + " not found"}},
		409: {"conflict": {Message: "A request with this Idempotency-Key is still in progress; retry shortly"}},
		412: {"stale": {Message: "Precondition failed: the " + strings.ToLower(resource) + " has changed; fetch it again and retry with its current ETag"}},
		413: {"tooLarge": {Message: "Request body too large: the limit is 1 MiB"}},
		415: {"contentType": {Message: "Unsupported Content-Type: send application/json"}},
		422: {"validation": {Message: "Validation failed", Details: &ValidationDetails{
			FieldErrors: map[string][]string{"givenName": {"Expected length <= 100"}},
			FormErrors:  []string{},
		}}},
		429: {"rateLimited": {Message: "Rate limit exceeded, retry in 3 seconds"}},
		500: {"internal": {Message: msgInternal}},
		503: {"unavailable": {Message: msgUnavailable}},
	}
	for code, resp := range op.Responses {
		status, err := strconv.Atoi(code)
		if err != nil || status < 400 || resp.Content == nil {
			continue
		}
		mt := resp.Content["application/json"]
		if mt == nil || examples[status] == nil {
			continue
		}
		mt.Examples = map[string]*huma.Example{}
		for name, body := range examples[status] {
			mt.Examples[name] = &huma.Example{Summary: body.Message, Value: body}
		}
	}
}

// writeHumaError writes err from a Huma middleware: an *Error with its
// status and headers, anything else as a logged 500.
func writeHumaError(ctx huma.Context, err error) {
	var e *Error
	if !errors.As(err, &e) {
		logger(ctx.Context()).ErrorContext(ctx.Context(), "internal error", "error", err)
		e = newError(http.StatusInternalServerError, msgInternal)
	}
	for k, vs := range e.headers {
		for _, v := range vs {
			ctx.AppendHeader(k, v)
		}
	}
	ctx.SetHeader("Content-Type", "application/json")
	ctx.SetStatus(e.status)
	_ = json.NewEncoder(ctx.BodyWriter()).Encode(e)
}
