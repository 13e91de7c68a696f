package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/remy-crm/remy/model"
	"github.com/remy-crm/remy/repo"
)

const (
	eventsPath       = "/api/v1/events"
	eventsStreamPath = "/api/v1/events/stream"

	msgMalformedCursor = "Malformed cursor"
	msgCursorExpired   = "Cursor expired: events after it were pruned (see REMY_EVENTS_RETENTION). List the resources again, then follow the feed from a new cursor (after=now, taken before the listing)."
	msgTooManyWaiting  = "Too many waiting requests for this API key, retry in 1 seconds"

	// maxWaitingPerKey caps one key's long-polls and streams on one instance.
	maxWaitingPerKey = 20
	// pendingPoll is how soon a waiting request looks again when events
	// have committed but wait behind the horizon, and listenlessPoll how
	// often it looks while no LISTEN connection can wake it.
	pendingPoll    = 20 * time.Millisecond
	listenlessPoll = 500 * time.Millisecond
)

// EventsParams are the feed's query.
type EventsParams struct {
	After string   `query:"after" doc:"A cursor: nextCursor of a previous page, or the id of a streamed event. Absent: from the oldest retained event. now: an empty page whose nextCursor is after every event committed so far; take it before listing resources, then follow it." example:"now"`
	Limit int      `query:"limit" minimum:"1" maximum:"100" default:"100" doc:"At most this many events."`
	Types []string `query:"types" explode:"false" enum:"contact.created,contact.updated,contact.deleted,note.created,note.updated,note.deleted" doc:"Only events of these types (comma-separated)."`
	Wait  int      `query:"wait" minimum:"0" maximum:"60" default:"0" doc:"Long-poll: when nothing follows the cursor, hold the request up to this many seconds until an event commits, then answer (an empty page when none did)."`
}

// FeedPage is the feed's answer.
type FeedPage struct {
	Data       []model.Event `json:"data" doc:"The events after the cursor, in commit order; each exactly as a webhook delivers it."`
	NextCursor string        `json:"nextCursor" doc:"Where to continue: pass it as after. Always set, also on an empty page."`
	HasMore    bool          `json:"hasMore" doc:"More events follow now: ask again at once."`
}

type feedResponse struct {
	CacheControl string `header:"Cache-Control" doc:"no-store: a page of the feed is personal data, and changes." example:"no-store"`
	Body         FeedPage
}

const eventsDescription = `The change feed: every change of the account's contacts and notes (the
events webhooks deliver, side effects included), in commit order, each exactly once when you
follow ` + "`nextCursor`" + `. An event is served only once every transaction that began before it
has ended, so a slow write can never appear behind a cursor that has moved past it: a long
transaction delays the feed, it never loses from it (see README, Change feed).

Sync a copy: take ` + "`after=now`" + `, list the resources, then follow the cursor (with ` + "`wait`" + ` to
long-poll). Cursors are opaque and belong to one account; events are kept for the server's
retention (default 30 days); a cursor older than that is answered 410.`

// feedWaiters counts the waiting requests (long-polls and streams) of each key.
type feedWaiters struct {
	mu sync.Mutex
	n  map[uuid.UUID]int
}

// enter counts one more waiting request of key, false if it has its share.
func (w *feedWaiters) enter(key uuid.UUID) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n[key] >= maxWaitingPerKey {
		return false
	}
	if w.n == nil {
		w.n = map[uuid.UUID]int{}
	}
	w.n[key]++
	return true
}

func (w *feedWaiters) leave(key uuid.UUID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n[key]--; w.n[key] <= 0 {
		delete(w.n, key)
	}
}

// feedOperation is what the feed's two operations share: scope, tag and
// errors (cursors, retention, the cap on waiting requests).
func feedOperation(id, path, summary, description string) huma.Operation {
	return huma.Operation{
		OperationID: id,
		Method:      http.MethodGet,
		Path:        path,
		Summary:     summary,
		Description: description,
		Tags:        []string{"Events"},
		Security:    requireScope(model.ScopeActivityRead),
		Errors:      errs(http.StatusBadRequest, http.StatusGone, http.StatusUnprocessableEntity),
		Metadata: map[string]any{errorExamplesKey: map[int][]string{
			http.StatusBadRequest: {msgMalformedCursor}, http.StatusGone: {msgCursorExpired},
			http.StatusTooManyRequests: {msgTooManyWaiting}}},
	}
}

func (s *server) registerEvents() {
	huma.Register(s.api, feedOperation("listEvents", eventsPath, "Follow the change feed", eventsDescription), func(ctx context.Context, in *EventsParams) (*feedResponse, error) {
		q, err := s.feedQuery(ctx, in.After, in.Types, in.Limit)
		if err != nil || in.After == "now" {
			return s.feedOut(ctx, model.FeedPage{Next: q.After}, err)
		}
		if in.Wait == 0 {
			page, err := s.feedPage(ctx, q)
			return s.feedOut(ctx, page, err)
		}
		key := *requestInfoFrom(ctx).keyID
		if !s.waiters.enter(key) {
			return nil, newError(http.StatusTooManyRequests, msgTooManyWaiting).withHeader("Retry-After", "1")
		}
		defer s.waiters.leave(key)
		page, err := s.longPoll(ctx, q, time.Duration(in.Wait)*time.Second)
		return s.feedOut(ctx, page, err)
	})
	s.registerEventStream()
}

// feedQuery reads the cursor: "" is the start, "now" the head.
func (s *server) feedQuery(ctx context.Context, after string, types []string, limit int) (repo.FeedQuery, error) {
	q := repo.FeedQuery{Types: types, Limit: limit}
	var err error
	switch after {
	case "":
		q.FromStart = true
	case "now":
		err = s.withSlot(ctx, func(ctx context.Context) error {
			q.After, err = s.store.Feed.Head(ctx)
			return err
		})
	default:
		q.After, err = model.DecodeCursor(accountID(ctx), after)
	}
	return q, err
}

func (s *server) feedOut(ctx context.Context, page model.FeedPage, err error) (*feedResponse, error) {
	if err != nil {
		return nil, feedProblem(err)
	}
	if page.Events == nil {
		page.Events = []model.Event{}
	}
	return &feedResponse{CacheControl: "no-store", Body: FeedPage{Data: page.Events,
		NextCursor: model.EncodeCursor(accountID(ctx), page.Next), HasMore: page.HasMore}}, nil
}

func feedProblem(err error) error {
	switch {
	case errors.Is(err, model.ErrMalformedCursor):
		return newError(http.StatusBadRequest, msgMalformedCursor)
	case errors.Is(err, model.ErrCursorExpired):
		return newError(http.StatusGone, msgCursorExpired)
	}
	return problem(err, "Event")
}

// feedPage reads one page, holding an admission slot only while it does.
func (s *server) feedPage(ctx context.Context, q repo.FeedQuery) (model.FeedPage, error) {
	var page model.FeedPage
	err := s.withSlot(ctx, func(ctx context.Context) error {
		var err error
		page, err = s.store.Feed.Page(ctx, accountID(ctx), q)
		return err
	})
	return page, err
}

// sharedFeedPage is feedPage for woken waiters: the many requests one
// commit wakes, at the same cursor (a sync client's fleet, a thousand
// streams), share one read instead of queueing a thousand. A shared read
// may have begun before this caller was woken, so an empty one is read
// again: that read begins after the first ended, so after the wake.
func (s *server) sharedFeedPage(ctx context.Context, q repo.FeedQuery) (model.FeedPage, error) {
	key := fmt.Sprintf("%s|%d|%d|%s|%s|%d|%t", accountID(ctx), q.After.XID, q.After.Seq, q.After.Snapshot,
		strings.Join(q.Types, ","), q.Limit, q.FromStart)
	for try := 0; ; try++ {
		v, err, shared := s.feedReads.Do(key, func() (any, error) {
			// Not the caller's context: one caller leaving must not fail the others.
			ctx := context.WithoutCancel(ctx)
			return s.feedPage(ctx, q)
		})
		page, _ := v.(model.FeedPage)
		if err != nil || !shared || len(page.Events) > 0 || try == 1 {
			return page, err
		}
	}
}

// withSlot runs fn holding an admission slot, within the request timeout:
// waiting requests hold neither a slot nor a connection between reads.
func (s *server) withSlot(ctx context.Context, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.requestTimeout())
	defer cancel()
	release, err := s.admit(ctx)
	if err != nil {
		return err
	}
	defer release()
	return fn(ctx)
}

// longPoll reads pages until one has events or wait has passed: it sleeps
// on the account's wake-ups (a NOTIFY from any instance's commit), looking
// again soon when events wait behind the horizon, and now and then when
// no LISTEN connection is up.
func (s *server) longPoll(ctx context.Context, q repo.FeedQuery, wait time.Duration) (model.FeedPage, error) {
	deadline := time.Now().Add(wait)
	wake, stop := s.store.Feed.Subscribe(accountID(ctx))
	defer stop()
	for first := true; ; first = false {
		read := s.sharedFeedPage
		if first {
			read = s.feedPage
		}
		page, err := read(ctx, q)
		left := time.Until(deadline)
		if err != nil || len(page.Events) > 0 || left <= 0 {
			return page, err
		}
		q.After, q.FromStart = page.Next, false
		if page.Pending {
			left = min(left, pendingPoll)
		} else if !s.store.Feed.Listening() {
			left = min(left, listenlessPoll)
		}
		t := time.NewTimer(left)
		select {
		case <-wake:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return page, nil // the client left: whatever it gets is moot
		}
		t.Stop()
	}
}
