package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"

	"github.com/remy-crm/remy/api/contactfile"
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
func (e *Error) Error() string             { return e.Message }
func (e *Error) GetStatus() int            { return e.status }
func (e *Error) GetHeaders() http.Header   { return e.headers }
func (e *Error) ContentType(string) string { return "application/json" }

// withHeader sets a response header of the error, replacing any default.
func (e *Error) withHeader(k, v string) *Error {
	if e.headers == nil {
		e.headers = http.Header{}
	}
	e.headers.Set(k, v)
	return e
}

// newError is an error response. Every 503 says when to come back: in a
// second, unless the caller says otherwise.
func newError(status int, msg string) *Error {
	e := &Error{status: status, Message: msg}
	if status == http.StatusServiceUnavailable {
		e.withHeader("Retry-After", "1")
	}
	return e
}
func validationError(d *ValidationDetails) *Error {
	return &Error{status: 422, Message: "Validation failed", Details: d}
}

// Messages used in more than one place. The two 401 messages are the
// published contract, letter for letter.
const (
	msgMissingAuth      = "Missing Authorization header"
	msgInvalidKey       = "Invalid, expired, or revoked API key"
	msgInternal         = "Internal server error"
	msgUnavailable      = "Service temporarily unavailable"
	msgNotFoundRoute    = "Not found"
	msgMethodNotAllowed = "Method not allowed"

	msgBodyRequired          = "Request body is required"
	msgBodyTimeout           = "Request body read timeout"
	msgIdempotencyInProgress = "A request with this Idempotency-Key is still in progress; retry shortly"
	msgIdempotencyReused     = "This key was already used for a different request; use a new key for a new request"
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
	case status == http.StatusBadRequest && msg == "request body is required" && len(details) > 0:
		// The parameters were wrong too, and they are checked first: a
		// request with an unknown parameter is a 422 whatever its body.
		return validationError(flatten(details))
	case status == http.StatusBadRequest && msg == "request body is required":
		return newError(status, msgBodyRequired)
	case status == http.StatusUnprocessableEntity:
		return validationError(flatten(details))
	case status == http.StatusUnsupportedMediaType:
		return newError(status, unsupportedType(nil))
	case status == http.StatusRequestEntityTooLarge:
		return newError(status, bodyTooLarge(nil))
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
	if status == http.StatusRequestEntityTooLarge {
		return newError(status, bodyTooLarge(ctx.Operation()))
	}
	return newHumaError(status, msg, errs...)
}

// bodyTooLarge is the 413 message of op (nil: an operation with Huma's
// default limit), which states its limit.
func bodyTooLarge(op *huma.Operation) string {
	limit := int64(1 << 20)
	if op != nil && op.MaxBodyBytes > 0 {
		limit = op.MaxBodyBytes
	}
	return fmt.Sprintf("Request body too large: the limit is %d MiB", limit>>20)
}

// unsupportedType is the 415 message of op (nil: one that takes JSON),
// which names the media types its body may have.
func unsupportedType(op *huma.Operation) string {
	types := []string{"application/json"}
	if op != nil && op.RequestBody != nil && len(op.RequestBody.Content) > 0 {
		types = slices.Sorted(maps.Keys(op.RequestBody.Content))
	}
	if n := len(types); n > 1 {
		types = append(types[:n-2], types[n-2]+" or "+types[n-1])
	}
	return "Unsupported Content-Type: send " + strings.Join(types, ", ")
}

// patternMessages say in words what a pattern of the document means, for
// the 422 of a value that does not match it: Huma's own message quotes the
// expression, and its patternDescription tag is not a JSON Schema keyword
// (document validators refuse it).
var patternMessages = map[string]string{
	fmt.Sprintf(validation.MsgExpectedMatchPattern, model.DatePattern): "Must be a date written YYYY-MM-DD, or --MM-DD without the year",
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
		// A null where the schema has no null: said as the model says it.
		if d.Value == nil && strings.HasPrefix(msg, "expected ") && strings.HasPrefix(loc, "body.") {
			msg = "Must not be null"
		}
		if m, ok := patternMessages[msg]; ok {
			msg = m
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

// validationDetails is verr as a 422 states it, both keys present.
func validationDetails(verr *model.ValidationError) *ValidationDetails {
	d := &ValidationDetails{FieldErrors: verr.Fields, FormErrors: verr.Form}
	if d.FieldErrors == nil {
		d.FieldErrors = map[string][]string{}
	}
	if d.FormErrors == nil {
		d.FormErrors = []string{}
	}
	return d
}

// problem maps a domain error to its HTTP error: the one table from
// model's sentinels to statuses. resource names the thing for a 404 message,
// which is the same whether the thing is missing or another account's.
// Unknown errors are returned as they are, so Huma logs them and answers 500.
func problem(err error, resource string) error {
	var verr *model.ValidationError
	var ferr *contactfile.FormatError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &verr):
		return validationError(validationDetails(verr))
	case errors.As(err, &ferr):
		return newError(http.StatusBadRequest, ferr.Error())
	case errors.Is(err, model.ErrNotFound):
		return newError(http.StatusNotFound, resource+" not found")
	case errors.Is(err, model.ErrConflict):
		return newError(http.StatusConflict, "Conflict with the current state of the resource")
	case errors.Is(err, model.ErrPreconditionFailed):
		return newError(http.StatusPreconditionFailed, preconditionMessage(resource))
	case errors.Is(err, model.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		// Unreachable, or the request's deadline passed while waiting on
		// the database: it is stalled, and the client may try again.
		return newError(http.StatusServiceUnavailable, msgUnavailable)
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this, but the log shows 499.
		return newError(499, "Client closed request")
	}
	return err
}

// writeError is the one function that writes an error response (Huma
// writes the errors handlers return, in the same model): an *Error with its
// status and headers, anything else as a logged 500 whose cause the client
// does not see.
func writeError(ctx context.Context, w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		logger(ctx).ErrorContext(ctx, "internal error", "error", err)
		e = newError(http.StatusInternalServerError, msgInternal)
	}
	h := w.Header()
	for k, vs := range e.headers {
		h[k] = vs
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_ = jsonFormat.Marshal(w, e)
}

// fail writes err from a Huma middleware, through the Huma context (which
// the idempotency middleware may be buffering).
func fail(ctx huma.Context, err error) {
	writeError(ctx.Context(), &humaResponse{ctx: ctx, header: http.Header{}}, err)
}

// humaResponse is a huma.Context seen as an http.ResponseWriter.
type humaResponse struct {
	ctx    huma.Context
	header http.Header
}

func (r *humaResponse) Header() http.Header         { return r.header }
func (r *humaResponse) Write(b []byte) (int, error) { return r.ctx.BodyWriter().Write(b) }
func (r *humaResponse) WriteHeader(status int) {
	setHeaders(r.ctx, r.header)
	r.ctx.SetStatus(status)
}

func logger(ctx context.Context) *slog.Logger {
	if info := requestInfoFrom(ctx); info != nil && info.base != nil {
		return info.log()
	}
	return slog.Default()
}

// errorExamplesKey is the Operation.Metadata key under which an operation
// lists the messages of the errors only it sends (status → messages), for
// documentErrorExamples to show beside the common ones.
const errorExamplesKey = "remyErrorExamples"

// Headers the server sends, documented by documentErrorExamples on every
// response that can carry them.
var (
	headerRequestID = &huma.Param{Description: "The request's id: the client's X-Request-Id when it is 1–128 characters of [A-Za-z0-9._:-], otherwise a fresh one. Quote it when reporting a problem; the server's log line for the request carries it.",
		Schema: &huma.Schema{Type: huma.TypeString, Examples: []any{"JBSWY3DPEHPK3PXP"}}}
	headerRateLimitPolicy = &huma.Param{Description: "The rate-limit policy (draft-ietf-httpapi-ratelimit-headers-10): q is the burst of requests allowed, w the seconds an empty bucket takes to refill. Sent when rate limiting is on.",
		Schema: &huma.Schema{Type: huma.TypeString, Examples: []any{`"default";q=20;w=2`}}}
	headerRateLimit = &huma.Param{Description: "Where this caller stands (draft-ietf-httpapi-ratelimit-headers-10): r is the requests left now, t the seconds until the bucket is full again. Sent when rate limiting is on.",
		Schema: &huma.Schema{Type: huma.TypeString, Examples: []any{`"default";r=19;t=1`}}}
	headerRetryAfter = &huma.Param{Description: "Seconds to wait before retrying.",
		Schema: &huma.Schema{Type: huma.TypeInteger, Minimum: ptr(1.0), Examples: []any{3}}}
	// The next three are strings with examples, not enums: a proxy may add
	// a directive (Cache-Control: no-store, private) and RFC 6750 allows
	// parameters (Bearer error="invalid_token"), and a client that
	// validated an enum would refuse a good response.
	headerWWWAuthenticate = &huma.Param{Description: "The scheme to authenticate with: Bearer (RFC 6750). The server sends `Bearer`; parameters such as `error=\"invalid_token\"` may follow it.",
		Schema: &huma.Schema{Type: huma.TypeString, Examples: []any{"Bearer"}}}
	headerNoSniff = &huma.Param{Description: "The server sends nosniff: browsers must not guess another content type.",
		Schema: &huma.Schema{Type: huma.TypeString, Examples: []any{"nosniff"}}}
	headerNoStore = &huma.Param{Description: "The server sends no-store under /api: address books are personal, so no shared or browser cache keeps them. A proxy may add directives (such as private).",
		Schema: &huma.Schema{Type: huma.TypeString, Examples: []any{"no-store"}}}
	headerAllow = &huma.Param{Description: "The methods this path does have.",
		Schema: &huma.Schema{Type: huma.TypeString, Examples: []any{"GET, POST"}}}
)

func ptr[T any](v T) *T { return &v }

// documentErrorExamples is the OnAddOperation hook that makes each
// operation's responses say what the server really sends: every status the
// operation can answer (worked out from what it takes: path ids, a body, a
// key, an Idempotency-Key, If-Match), an example with the real message for
// that operation, and every header on every response that carries it.
func documentErrorExamples(oapi *huma.OpenAPI, op *huma.Operation) {
	documentErrorBodies(oapi, op, errorExamples(op))
	documentHeaders(op)
}

// examples are the error bodies an operation can send, by status.
type examples map[int][]*Error

func (ex examples) add(status int, msgs ...string) {
	for _, m := range msgs {
		ex[status] = append(ex[status], &Error{Message: m})
	}
}

// errorExamples lists the errors op can answer, with their messages.
func errorExamples(op *huma.Operation) examples {
	ex := examples{}
	ex.add(http.StatusMethodNotAllowed, msgMethodNotAllowed)
	ex.add(http.StatusInternalServerError, msgInternal)
	invalid := &Error{Message: "Validation failed", Details: &ValidationDetails{FieldErrors: map[string][]string{}, FormErrors: []string{}}}
	ex.addParams(op, invalid)
	if op.RequestBody != nil {
		if op.RequestBody.Content["application/json"] != nil {
			ex.add(http.StatusBadRequest, "Malformed JSON: unexpected end of JSON input")
		}
		if op.RequestBody.Required {
			ex.add(http.StatusBadRequest, msgBodyRequired)
		}
		ex.add(http.StatusRequestTimeout, msgBodyTimeout)
		ex.add(http.StatusRequestEntityTooLarge, bodyTooLarge(op))
		ex.add(http.StatusUnsupportedMediaType, unsupportedType(op))
		invalid.Details.FieldErrors = bodyExample(op)
	}
	if !op.SkipValidateParams {
		// Unknown query parameters are refused, so any operation that
		// validates its parameters can answer 422.
		if len(invalid.Details.FieldErrors) == 0 {
			invalid.Details.FieldErrors["sort"] = []string{"Unknown query parameter"}
		}
		ex[http.StatusUnprocessableEntity] = append([]*Error{invalid}, ex[http.StatusUnprocessableEntity]...)
	}
	if requiresKey(op) {
		ex.add(http.StatusUnauthorized, msgMissingAuth, msgInvalidKey)
		if scope := missingScope(op, nil); scope != "" {
			ex.add(http.StatusForbidden, forbiddenMessage(scope))
		}
		ex.add(http.StatusTooManyRequests, "Rate limit exceeded, retry in 3 seconds")
		ex.add(http.StatusServiceUnavailable, msgUnavailable)
	}
	if own, ok := op.Metadata[errorExamplesKey].(map[int][]string); ok {
		for status, msgs := range own {
			ex.add(status, msgs...)
		}
	}
	return ex
}

// addParams adds the errors op's parameters bring; the first query
// parameter gives invalid its example.
func (ex examples) addParams(op *huma.Operation, invalid *Error) {
	resource := resourceOf(op.Path)
	for _, p := range op.Parameters {
		switch {
		case p.In == "path":
			ex.add(http.StatusBadRequest, fmt.Sprintf("Malformed %s in path: must be a UUID", p.Name))
			ex.add(http.StatusNotFound, resource+" not found")
		case p.In == "header" && p.Name == headerIdempotencyKey:
			ex.add(http.StatusConflict, msgIdempotencyInProgress)
			ex[http.StatusUnprocessableEntity] = append(ex[http.StatusUnprocessableEntity], &Error{Message: "Validation failed", Details: &ValidationDetails{
				FieldErrors: map[string][]string{headerIdempotencyKey: {msgIdempotencyReused}}, FormErrors: []string{}}})
		case p.In == "header" && p.Name == "If-Match":
			ex.add(http.StatusPreconditionFailed, preconditionMessage(resource))
		case p.In == "query" && len(invalid.Details.FieldErrors) == 0:
			invalid.Details.FieldErrors[p.Name] = []string{queryExample(p)}
		}
	}
}

// documentErrorBodies gives each error status of op its response, the
// Error schema and one example per distinct message.
func documentErrorBodies(oapi *huma.OpenAPI, op *huma.Operation, ex examples) {
	errSchema := oapi.Components.Schemas.Schema(reflect.TypeFor[Error](), true, "Error")
	delete(op.Responses, "default")
	for status, list := range ex {
		code := strconv.Itoa(status)
		resp := op.Responses[code]
		if resp == nil {
			resp = &huma.Response{Description: http.StatusText(status)}
			op.Responses[code] = resp
		}
		mt := &huma.MediaType{Schema: errSchema, Examples: map[string]*huma.Example{}}
		resp.Content = map[string]*huma.MediaType{"application/json": mt}
		seen := map[string]bool{}
		for _, e := range list {
			if seen[e.Message] {
				continue
			}
			seen[e.Message] = true
			mt.Examples[exampleName(e.Message)] = &huma.Example{Summary: e.Message, Value: e}
		}
	}
}

// documentHeaders names, on every response of op, the headers the server
// sends with it.
func documentHeaders(op *huma.Operation) {
	authenticated := requiresKey(op)
	for code, resp := range op.Responses {
		status, _ := strconv.Atoi(code)
		if resp.Headers == nil {
			resp.Headers = map[string]*huma.Param{}
		}
		for _, h := range resp.Headers {
			// Huma puts an output header's doc tag on its schema; clients
			// and renderers read the header's own description.
			if h.Description == "" && h.Schema != nil {
				h.Description, h.Schema.Description = h.Schema.Description, ""
			}
		}
		resp.Headers["X-Request-Id"] = headerRequestID
		resp.Headers["X-Content-Type-Options"] = headerNoSniff
		if strings.HasPrefix(op.Path, "/api/") && resp.Headers["Cache-Control"] == nil {
			resp.Headers["Cache-Control"] = headerNoStore
		}
		if authenticated {
			resp.Headers["RateLimit-Policy"] = headerRateLimitPolicy
			resp.Headers["RateLimit"] = headerRateLimit
		}
		switch status {
		case http.StatusUnauthorized:
			resp.Headers["WWW-Authenticate"] = headerWWWAuthenticate
		case http.StatusConflict, http.StatusTooManyRequests, http.StatusServiceUnavailable:
			resp.Headers["Retry-After"] = headerRetryAfter
		case http.StatusMethodNotAllowed:
			resp.Headers["Allow"] = headerAllow
			resp.Description = "Method Not Allowed: this path does not have the request's method (Allow lists the ones it has)."
		}
	}
}

// resourceOf names the resource an /api/v1 path is about, as 404 messages
// do: /api/v1/contacts/{contactId}/notes is about a Contact.
func resourceOf(path string) string {
	seg := strings.Split(strings.TrimPrefix(path, "/api/v1/"), "/")[0]
	seg = strings.TrimSuffix(seg, "s")
	if seg == "" {
		return "Resource"
	}
	return capitalize(seg)
}

// preconditionMessage is the 412 message for a resource.
func preconditionMessage(resource string) string {
	return "Precondition failed: the " + strings.ToLower(resource) + " has changed; fetch it again and retry with its current ETag"
}

// queryExample is a validation message for a query parameter, worded as
// Huma words it.
func queryExample(p *huma.Param) string {
	switch {
	case p.Schema != nil && p.Schema.Maximum != nil:
		return capitalize(fmt.Sprintf(validation.MsgExpectedMaximumNumber, *p.Schema.Maximum))
	case p.Schema != nil && len(p.Schema.Enum) > 0:
		vals := make([]string, len(p.Schema.Enum))
		for i, v := range p.Schema.Enum {
			vals[i] = fmt.Sprint(v)
		}
		return capitalize(fmt.Sprintf(validation.MsgExpectedOneOf, strings.Join(vals, ", ")))
	}
	return "Unknown query parameter"
}

// bodyExample is a realistic fieldErrors for an operation's body.
func bodyExample(op *huma.Operation) map[string][]string {
	switch id := strings.ToLower(op.OperationID); {
	case strings.Contains(id, "note"):
		return map[string][]string{"body": {"Must not be blank"}}
	case strings.Contains(id, "merge"):
		return map[string][]string{"sourceIds": {model.MsgMergeTarget}}
	}
	return map[string][]string{"givenName": {capitalize(fmt.Sprintf(validation.MsgExpectedMaxLength, 100))}}
}

// exampleName turns a message into an example key: its first three words,
// camelCased.
func exampleName(msg string) string {
	words := strings.FieldsFunc(msg, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	var b strings.Builder
	for i, w := range words[:min(len(words), 3)] {
		if i == 0 {
			b.WriteString(strings.ToLower(w))
		} else {
			b.WriteString(capitalize(strings.ToLower(w)))
		}
	}
	return b.String()
}
