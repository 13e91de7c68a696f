// Package client is the Go SDK of the Remy API (https://app.remy.com/api/v1):
// contacts, notes, tags, the Activity Log, the change feed, webhooks,
// import and export.
//
//	c, err := client.New("https://app.remy.com", os.Getenv("REMY_API_KEY"),
//		client.WithUserAgent("crm-sync/1.4"))
//	ada, err := c.Contacts.Create(ctx, client.ContactInput{GivenName: client.Ptr("Ada")})
//	ada, err = c.Contacts.Update(ctx, ada.ID, client.Patch{"nickname": nil}, client.IfMatch(ada.ETag))
//	for ct, err := range c.Contacts.All(ctx, client.ListContactsParams{Tags: []string{"vip"}}) { … }
//	for ev, err := range c.Events.Follow(ctx, "now") { … }
//
// The module has its own go.mod and imports one small dependency (the
// Standard Webhooks library, for VerifyWebhook): none of the server's.
//
// # Retries
//
// A call that fails without an answer (a refused or broken connection, a
// timeout), or is answered 429, 502, 503 or 504, is made again, up to 3
// more times (WithMaxRetries). The wait is the answer's Retry-After, at
// most 60 s, or else an exponential backoff with jitter from 0.5 s; no
// retry starts after the context is done or when it would start after the
// context's deadline. Other 4xx answers are never retried: the request
// itself is wrong.
//
// Every POST carries an Idempotency-Key, random and the same on every
// retry of that call (or the caller's own, IdempotencyKey), so a create
// whose answer was lost on the way back is not made twice. A DELETE whose
// first answer was lost and whose retry finds nothing returns nil.
//
// # Errors
//
// An answer outside 2xx is an *Error with the server's message, a 422's
// field errors, X-Request-Id and Retry-After; errors.Is matches it against
// ErrNotFound, ErrValidation, ErrPreconditionFailed, ErrRateLimited and
// the other Err… values by status.
package client
