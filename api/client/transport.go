package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net/http"
	"net/url"
	"time"
)

// Retry timing. A Retry-After longer than maxRetryAfter is cut to it, so a
// misconfigured proxy cannot park a call for hours.
const (
	maxRetryAfter = 60 * time.Second
	baseBackoff   = 500 * time.Millisecond
	maxBackoff    = 30 * time.Second
)

// request is one API call. Its body is kept as bytes so that every attempt
// sends exactly the same request.
type request struct {
	method      string
	path        string // escaped, under the base URL: "/api/v1/contacts/…"
	query       url.Values
	body        []byte
	contentType string      // of body; "" is application/json
	header      http.Header // the call's own headers: If-Match, Idempotency-Key
	stream      bool        // hand a 2xx body to the caller unread

	// lost is set once an attempt ended without an answer: the server may
	// have acted on it all the same.
	lost bool
}

// response is a 2xx answer.
type response struct {
	header http.Header
	body   []byte        // the whole body, unless the request streams
	stream io.ReadCloser // the body of a streamed request
}

// CallOption adjusts one call: IfMatch, IdempotencyKey.
type CallOption func(*request)

// IfMatch makes an update, delete or merge conditional on the resource
// still having this ETag (from a Get, Create or Update): if it changed in
// between, the call fails with ErrPreconditionFailed and changes nothing.
func IfMatch(etag string) CallOption {
	return func(r *request) { r.header.Set("If-Match", etag) }
}

// IdempotencyKey sends key instead of the random Idempotency-Key every POST
// gets. Reuse a key of your own to make a create safe across restarts of
// your program, not only across the SDK's retries: Remy answers a repeated
// key with the first answer for 24 hours.
func IdempotencyKey(key string) CallOption {
	return func(r *request) { r.header.Set("Idempotency-Key", key) }
}

func newRequest(method, path string, opts []CallOption) *request {
	r := &request{method: method, path: path, query: url.Values{}, header: http.Header{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// jsonBody sets v, encoded as JSON, as the request body.
func (r *request) jsonBody(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("remy: encoding the request: %w", err)
	}
	r.body = b
	return nil
}

// do sends r, retrying what a retry can mend (see retryWait), and returns
// the 2xx answer or the last attempt's error. A POST gets an
// Idempotency-Key once, before the first attempt, so every retry carries
// the same one and the server performs it at most once.
func (c *Client) do(ctx context.Context, r *request) (*response, error) {
	if r.method == http.MethodPost && r.header.Get("Idempotency-Key") == "" {
		r.header.Set("Idempotency-Key", newIdempotencyKey())
	}
	for attempt := 0; ; attempt++ {
		res, transient, err := c.attempt(ctx, r)
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		wait, ok := c.retryWait(ctx, err, transient, attempt)
		if !ok {
			return nil, err
		}
		if !c.sleep(ctx, wait) {
			return nil, fmt.Errorf("remy: %w while waiting to retry after: %w", ctx.Err(), err)
		}
	}
}

// attempt sends r once. transient reports a failure without an answer
// (a broken connection, a timeout) that the next attempt may well not
// meet; a certificate the client refuses is not one.
func (c *Client) attempt(ctx context.Context, r *request) (res *response, transient bool, err error) {
	req, err := c.httpRequest(ctx, r)
	if err != nil {
		return nil, false, err
	}
	hres, err := c.http.Do(req)
	if err != nil {
		r.lost = true
		var cert *tls.CertificateVerificationError
		return nil, !errors.As(err, &cert), err
	}
	if hres.StatusCode/100 == 2 && r.stream {
		return &response{header: hres.Header, stream: hres.Body}, false, nil
	}
	body, err := io.ReadAll(hres.Body)
	_ = hres.Body.Close()
	if err != nil {
		r.lost = true
		return nil, true, fmt.Errorf("remy: %s %s: reading the answer: %w", r.method, r.path, err)
	}
	if hres.StatusCode/100 != 2 {
		return nil, false, apiError(hres.StatusCode, hres.Header, body)
	}
	return &response{header: hres.Header, body: body}, false, nil
}

// retryWait decides whether a failed attempt is tried again, and after how
// long: connection failures, 429, 502, 503 and 504 are; nothing else is (a
// 4xx says the request itself is wrong). The wait is the answer's
// Retry-After (at most a minute), else exponential backoff with jitter. A
// retry that could only start after the context's deadline is not made.
func (c *Client) retryWait(ctx context.Context, err error, transient bool, attempt int) (time.Duration, bool) {
	if attempt >= c.maxRetries {
		return 0, false
	}
	wait := backoff(attempt)
	var e *Error
	switch {
	case errors.As(err, &e):
		switch e.Status {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		default:
			return 0, false
		}
		if e.RetryAfter > 0 {
			wait = min(e.RetryAfter, maxRetryAfter)
		}
	case !transient:
		return 0, false
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
		return 0, false
	}
	return wait, true
}

// backoff is the wait before retry n+1 without a Retry-After: doubling from
// baseBackoff up to maxBackoff, each a random point in its upper half, so
// that clients failed by one outage do not come back in step.
func backoff(attempt int) time.Duration {
	d := maxBackoff
	if attempt < 16 {
		d = min(baseBackoff<<attempt, maxBackoff)
	}
	return d/2 + mathrand.N(d/2+1)
}

func (c *Client) httpRequest(ctx context.Context, r *request) (*http.Request, error) {
	u := c.base.String() + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("remy: %w", err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("User-Agent", c.userAgentHeader())
	if !r.stream {
		req.Header.Set("Accept", "application/json")
	}
	if r.body != nil {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	return req, nil
}

// call sends r and decodes a JSON answer into out (nil: the body is not
// wanted), returning the answer's headers.
func (c *Client) call(ctx context.Context, r *request, out any) (http.Header, error) {
	res, err := c.do(ctx, r)
	if err != nil {
		// A DELETE whose first answer was lost and whose retry finds
		// nothing has done what was asked: the lost attempt deleted it.
		if r.method == http.MethodDelete && r.lost && errors.Is(err, ErrNotFound) {
			return http.Header{}, nil
		}
		return nil, err
	}
	if out != nil {
		if err := json.Unmarshal(res.body, out); err != nil {
			return nil, fmt.Errorf("remy: %s %s: decoding the answer: %w", r.method, r.path, err)
		}
	}
	return res.header, nil
}

// newIdempotencyKey is a random (version 4) UUID.
func newIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on the platforms Go supports
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
