package api

import (
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
	if path := ctx.Operation().Path; s.admitted == nil || path == exportPath || !strings.HasPrefix(path, "/api/") {
		next(ctx)
		return
	}
	select {
	case s.admitted <- struct{}{}:
	case <-ctx.Context().Done():
		fail(ctx, problem(ctx.Context().Err(), ""))
		return
	}
	defer func() { <-s.admitted }()
	next(ctx)
}
