package api

import (
	"context"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// admission lets at most as many API operations run at once as the
// database pool has connections, and queues the rest in arrival order.
//
// Without it, under load, requests queue inside database/sql's pool, which
// hands a freed connection to a random waiter, so a write's p99 grows far
// past its p50 (README, Performance, has the figures). A waiting
// request gives up at its deadline with the same 503 as a stalled database.
// Exports stream for seconds and have their own slots, so they do not queue
// here; nor do /healthz and /readyz, which must answer within their own
// limits precisely when the database is stalled and the queue full.
func (s *server) admission(ctx huma.Context, next func(huma.Context)) {
	if path := ctx.Operation().Path; s.admitted == nil || unqueued(path) || !strings.HasPrefix(path, "/api/") {
		next(ctx)
		return
	}
	release, err := s.admit(ctx.Context())
	if err != nil {
		fail(ctx, problem(err, ""))
		return
	}
	defer release()
	next(ctx)
}

// unqueued are the operations that do not hold a slot for their whole
// run: exports (slots of their own), and the change feed's, which take one
// only for each read and none while they wait.
func unqueued(path string) bool {
	return path == exportPath || path == eventsPath || path == eventsStreamPath
}

// admit waits for a slot, in arrival order, until ctx ends.
func (s *server) admit(ctx context.Context) (release func(), err error) {
	if s.admitted == nil {
		return func() {}, nil
	}
	select {
	case s.admitted <- struct{}{}:
		return func() { <-s.admitted }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
