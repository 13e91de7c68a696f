package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/remy-crm/remy/model"
	"github.com/remy-crm/remy/repo"
)

// Idempotency keys (the IETF Idempotency-Key draft, as Stripe does it): a POST
// that carries one is performed once per account and key; a retry with the
// same request replays the first response for 24 hours.
const (
	headerIdempotencyKey = "Idempotency-Key"
	maxIdempotencyKeyLen = 255
	// idempotencyTTL is how long a key and its stored response live.
	idempotencyTTL = 24 * time.Hour
	// idempotencyLease is how long a running request blocks its key; after
	// it a retry may take the key over (the process that held it died).
	idempotencyLease = time.Minute
)

// IdempotencyKeyParam opts an operation into idempotency keys: embed it in
// the operation's input (next to Body) and the idempotency middleware does
// the rest. It also documents the header and has Huma validate its length.
type IdempotencyKeyParam struct {
	IdempotencyKey string `header:"Idempotency-Key" minLength:"1" maxLength:"255" doc:"Makes this request safe to retry for 24 hours: a retry with the same key and the same request gets the original status and body again (with Idempotent-Replayed: true) and creates nothing new. The same key with a different request is a 422; while the first request is still running, a 409. Failed requests are not remembered. Keys are per account; use a fresh random one (e.g. a UUID) per logical request." example:"5f0c1b0e-9a4e-4c53-8d8b-2f6f0d6a7c41"`
}

// IdempotentReplayedHeader documents the replay marker: embed it in the
// output of an operation that embeds IdempotencyKeyParam in its input. The
// middleware sets it; handlers leave it empty.
type IdempotentReplayedHeader struct {
	IdempotentReplayed string `header:"Idempotent-Replayed" doc:"true when this response is the stored response of an earlier request with the same Idempotency-Key." example:"true"`
}

// takesIdempotencyKey reports whether op's input embeds IdempotencyKeyParam.
func takesIdempotencyKey(op *huma.Operation) bool {
	for _, p := range op.Parameters {
		if p.In == "header" && p.Name == headerIdempotencyKey {
			return true
		}
	}
	return false
}

// idempotency is the Huma middleware (after authenticate) behind
// Idempotency-Key. The key is claimed in Postgres with one atomic statement,
// so concurrent requests, on this process or another, agree on who runs.
func (s *server) idempotency(ctx huma.Context, next func(huma.Context)) {
	key := ctx.Header(headerIdempotencyKey)
	info := requestInfoFrom(ctx.Context())
	if key == "" || utf8.RuneCountInString(key) > maxIdempotencyKeyLen ||
		info == nil || info.keyID == nil || !takesIdempotencyKey(ctx.Operation()) {
		// An over-long key is left to Huma's validation: a 422, not stored.
		next(ctx)
		return
	}
	body, tooLarge, err := readIdempotentBody(ctx)
	switch {
	case err != nil:
		fail(ctx, err)
		return
	case tooLarge:
		// Huma answers 413 and nothing is claimed.
		next(&capture{humaContext: ctx, body: io.MultiReader(bytes.NewReader(body), ctx.BodyReader()), passthrough: true})
		return
	}
	h := sha256.New()
	u := ctx.URL()
	h.Write([]byte(ctx.Method() + " " + u.Path + "?" + u.RawQuery + "\n"))
	h.Write(body)
	fingerprint := h.Sum(nil)

	claim, rec, err := s.store.Idempotency.Claim(ctx.Context(), info.accountID, key, fingerprint, idempotencyLease, idempotencyTTL)
	switch {
	case err != nil:
		fail(ctx, problem(err, "Idempotency key"))
	case rec != nil:
		answerFromRecord(ctx, rec, fingerprint)
	default:
		s.runClaimed(ctx, next, claim, body)
	}
}

// readIdempotentBody reads the request body, before Huma would and under
// its deadline, up to the operation's limit; tooLarge says it went past it
// (body then holds what was read).
func readIdempotentBody(ctx huma.Context) (body []byte, tooLarge bool, err error) {
	limit := ctx.Operation().MaxBodyBytes
	if limit <= 0 { // unlimited for Huma; the stored body is not
		limit = 1 << 20
	}
	if t := ctx.Operation().BodyReadTimeout; t > 0 {
		_ = ctx.SetReadDeadline(time.Now().Add(t))
	}
	body, err = io.ReadAll(io.LimitReader(ctx.BodyReader(), limit+1))
	if err != nil {
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			return nil, false, newError(http.StatusRequestTimeout, msgBodyTimeout)
		}
		return nil, false, newError(http.StatusBadRequest, "Cannot read request body")
	}
	return body, int64(len(body)) > limit, nil
}

// answerFromRecord answers a request whose key was claimed before: the
// stored response, or why there is none to give.
func answerFromRecord(ctx huma.Context, rec *model.IdempotencyRecord, fingerprint []byte) {
	switch {
	case rec.State != model.IdempotencyDone:
		fail(ctx, newError(http.StatusConflict, msgIdempotencyInProgress).withHeader("Retry-After", "1"))
	case !bytes.Equal(rec.Fingerprint, fingerprint):
		fail(ctx, validationError(&ValidationDetails{
			FieldErrors: map[string][]string{headerIdempotencyKey: {msgIdempotencyReused}},
			FormErrors:  []string{},
		}))
	default:
		setHeaders(ctx, rec.Headers)
		ctx.SetHeader("Idempotent-Replayed", "true")
		ctx.SetStatus(rec.Status)
		_, _ = ctx.BodyWriter().Write(rec.Body)
	}
}

// runClaimed runs the operation whose key is ours into a buffer, inside one
// transaction with the storing of its response: a success and its stored
// response commit together or not at all, so a retry can never run a
// committed request a second time. Anything else rolls back and gives the
// key back.
func (s *server) runClaimed(ctx huma.Context, next func(huma.Context), claim *repo.IdempotencyClaim, body []byte) {
	bg := context.WithoutCancel(ctx.Context())
	released := false
	release := func() {
		if released {
			return
		}
		released = true
		if err := s.store.Idempotency.Release(bg, claim); err != nil && !errors.Is(err, context.Canceled) {
			logger(ctx.Context()).ErrorContext(ctx.Context(), "release idempotency key", "error", err)
		}
	}
	defer release() // also on a panic on its way to the recoverer
	c := &capture{humaContext: ctx, body: bytes.NewReader(body), header: http.Header{}}
	err := s.store.InTx(ctx.Context(), func(txCtx context.Context) error {
		c.ctx = txCtx
		next(c)
		if c.status == 0 {
			c.status = http.StatusOK
		}
		if c.status < 200 || c.status >= 300 {
			return errNotStored
		}
		return s.store.Idempotency.Complete(txCtx, claim, c.status, c.header, c.buf.Bytes())
	})
	switch {
	case err == nil:
		released = true // stored: nothing to give back
	case errors.Is(err, errNotStored):
		release()
	default:
		// The operation succeeded but could not be committed with its
		// stored response, so it did not happen: say so instead.
		release()
		fail(ctx, problem(err, "Idempotency key"))
		return
	}
	setHeaders(ctx, c.header)
	ctx.SetStatus(c.status)
	_, _ = ctx.BodyWriter().Write(c.buf.Bytes())
}

// errNotStored rolls back an idempotent request that did not succeed.
var errNotStored = errors.New("idempotency: response not stored")

// setHeaders sets each header of h on the response, replacing any value.
func setHeaders(ctx huma.Context, h map[string][]string) {
	for k, vs := range h {
		for i, v := range vs {
			if i == 0 {
				ctx.SetHeader(k, v)
			} else {
				ctx.AppendHeader(k, v)
			}
		}
	}
}

// humaContext lets a struct embed huma.Context, whose field name would
// otherwise clash with its Context method.
type humaContext = huma.Context

// capture is a huma.Context whose request body is given and whose response
// (status, headers set by the operation, body) is buffered, unless
// passthrough is set.
type capture struct {
	humaContext
	ctx         context.Context // the operation's context, if not the request's
	body        io.Reader
	passthrough bool

	status int
	header http.Header
	buf    bytes.Buffer
}

func (c *capture) BodyReader() io.Reader { return c.body }

func (c *capture) Context() context.Context {
	if c.ctx != nil {
		return c.ctx
	}
	return c.humaContext.Context()
}

func (c *capture) SetStatus(code int) {
	if c.passthrough {
		c.humaContext.SetStatus(code)
		return
	}
	c.status = code
}

func (c *capture) Status() int {
	if c.passthrough {
		return c.humaContext.Status()
	}
	return c.status
}

func (c *capture) SetHeader(name, value string) {
	if c.passthrough {
		c.humaContext.SetHeader(name, value)
		return
	}
	c.header.Set(name, value)
}

func (c *capture) AppendHeader(name, value string) {
	if c.passthrough {
		c.humaContext.AppendHeader(name, value)
		return
	}
	c.header.Add(name, value)
}

func (c *capture) BodyWriter() io.Writer {
	if c.passthrough {
		return c.humaContext.BodyWriter()
	}
	return &c.buf
}
