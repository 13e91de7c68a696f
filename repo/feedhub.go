package repo

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
)

// eventsChannel is where migration 000008's trigger announces, with the
// account's id, every commit that wrote events.
const eventsChannel = "remy_events"

// feedHub wakes the requests waiting on an account's feed (long-polls and
// streams, possibly thousands) from one LISTEN connection per process;
// they hold no database connection while they wait.
type feedHub struct {
	mu     sync.Mutex
	subs   map[uuid.UUID]map[chan struct{}]struct{}
	listen atomic.Bool
}

// Subscribe returns a channel that receives (coalesced) when an event of
// account commits, on any instance, and the function that ends the
// subscription. Subscribe before reading, so nothing committed between the
// read and the wait goes unheard.
func (r *FeedRepo) Subscribe(account uuid.UUID) (<-chan struct{}, func()) {
	h := &r.hub
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[uuid.UUID]map[chan struct{}]struct{}{}
	}
	if h.subs[account] == nil {
		h.subs[account] = map[chan struct{}]struct{}{}
	}
	h.subs[account][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.subs[account], ch)
		if len(h.subs[account]) == 0 {
			delete(h.subs, account)
		}
	}
}

// Listening reports whether the LISTEN connection is up; while it is not,
// waiting requests must look for themselves now and then.
func (r *FeedRepo) Listening() bool { return r.hub.listen.Load() }

// Waiting is how many requests wait on the feed in this process.
func (r *FeedRepo) Waiting() int {
	r.hub.mu.Lock()
	defer r.hub.mu.Unlock()
	n := 0
	for _, s := range r.hub.subs {
		n += len(s)
	}
	return n
}

// wake signals account's subscribers, or everyone's when all is set.
func (h *feedHub) wake(account uuid.UUID, all bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	signal := func(subs map[chan struct{}]struct{}) {
		for ch := range subs {
			select {
			case ch <- struct{}{}:
			default: // already signalled
			}
		}
	}
	if all {
		for _, subs := range h.subs {
			signal(subs)
		}
		return
	}
	signal(h.subs[account])
}

// Listen keeps a LISTEN connection to dsn for the feed's wake-ups until
// ctx ends, reconnecting with backoff.
func (r *FeedRepo) Listen(ctx context.Context, dsn string, log *slog.Logger) error {
	return listener{
		channel: eventsChannel,
		off:     "change feed wake-ups off until their LISTEN connection is back; waiting requests poll meanwhile",
		live: func(up bool) {
			r.hub.listen.Store(up)
			if up {
				// Whatever committed while no one listened: everyone looks again.
				r.hub.wake(uuid.Nil, true)
			}
		},
		notify: func(payload string) {
			if id, err := uuid.Parse(payload); err == nil {
				r.hub.wake(id, false)
			}
		},
	}.start(ctx, dsn, log)
}
