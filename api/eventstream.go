package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/remy-crm/remy/model"
	"github.com/remy-crm/remy/repo"
)

const (
	// streamLifetime closes a stream after an hour, so load balancers can
	// rebalance; the client reconnects with Last-Event-ID.
	streamLifetime = time.Hour
	// heartbeatEvery keeps idle streams (and the proxies between) alive.
	heartbeatEvery = 15 * time.Second
	// streamWriteTimeout cuts a client that stops reading.
	streamWriteTimeout = 30 * time.Second
)

// EventStreamParams are the stream's query and resume header.
type EventStreamParams struct {
	After       string   `query:"after" doc:"Where to start, as for GET /api/v1/events (absent: the oldest retained event; now: only what commits from here on)." example:"now"`
	Types       []string `query:"types" explode:"false" enum:"contact.created,contact.updated,contact.deleted,note.created,note.updated,note.deleted" doc:"Only events of these types (comma-separated)."`
	LastEventID string   `header:"Last-Event-ID" doc:"Resume right after this event (the id of the last event received); wins over after."`
}

const eventStreamDescription = `The change feed as Server-Sent Events: each event as
` + "`id: <cursor after it>`, `event: <type>`, `data: <the event JSON>`" + `, the same events in the same
order as GET /api/v1/events. A comment line is sent every 15 s while nothing happens. The
stream closes after an hour; reconnect with ` + "`Last-Event-ID`" + ` (EventSource does) and it resumes
right after the last event received. Errors (400, 401, 403, 410, 429) are JSON, answered before
the stream starts.`

func (s *server) registerEventStream() {
	op := feedOperation("streamEvents", eventsStreamPath, "Stream the change feed (Server-Sent Events)", eventStreamDescription)
	op.Responses = map[string]*huma.Response{"200": {
		Description: "A text/event-stream of events; each data line is an Event (see the Event schema).",
		Content: map[string]*huma.MediaType{"text/event-stream": {
			Schema: &huma.Schema{Type: huma.TypeString, Description: "Server-Sent Events; data lines hold Event JSON."},
		}},
	}}
	huma.Register(s.api, op, func(ctx context.Context, in *EventStreamParams) (*huma.StreamResponse, error) {
		after := in.After
		if in.LastEventID != "" {
			after = in.LastEventID
		}
		q, err := s.feedQuery(ctx, after, in.Types, 100)
		if err != nil {
			return nil, feedProblem(err)
		}
		key := *requestInfoFrom(ctx).keyID
		if !s.waiters.enter(key) {
			return nil, newError(http.StatusTooManyRequests, msgTooManyWaiting).withHeader("Retry-After", "1")
		}
		// The first page is read before the stream starts, so a bad
		// cursor is still a JSON error.
		page := model.FeedPage{Next: q.After}
		if after != "now" {
			if page, err = s.feedPage(ctx, q); err != nil {
				s.waiters.leave(key)
				return nil, feedProblem(err)
			}
		}
		return &huma.StreamResponse{Body: func(hc huma.Context) {
			defer s.waiters.leave(key)
			s.streamEvents(hc, q, page)
		}}, nil
	})
}

// sseWriter writes events and comments to a stream, flushing each.
type sseWriter struct {
	bw      *bufio.Writer
	rc      *http.ResponseController
	account uuid.UUID
}

func (w *sseWriter) flush() error {
	_ = w.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	if err := w.bw.Flush(); err != nil {
		return err
	}
	return w.rc.Flush()
}

// events writes page's events, each with the cursor right after it.
func (w *sseWriter) events(q repo.FeedQuery, page model.FeedPage) error {
	for _, e := range page.Events {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		at := e.Position()
		if at.XID < model.SnapshotXmax(q.After.Snapshot) {
			at.Snapshot = q.After.Snapshot
		}
		fmt.Fprintf(w.bw, "id: %s\nevent: %s\ndata: %s\n\n", model.EncodeCursor(w.account, at), e.Type, b)
	}
	return w.flush()
}

// streamEvents serves the stream until the client leaves, the database
// fails, or streamLifetime passes.
func (s *server) streamEvents(hc huma.Context, q repo.FeedQuery, page model.FeedPage) {
	ctx := hc.Context()
	hc.SetHeader("Content-Type", "text/event-stream")
	hc.SetHeader("Cache-Control", "no-store")
	hc.SetStatus(http.StatusOK)
	rw, ok := hc.BodyWriter().(http.ResponseWriter)
	if !ok {
		return
	}
	w := &sseWriter{bw: bufio.NewWriter(rw), rc: http.NewResponseController(rw), account: accountID(ctx)}
	_ = w.rc.SetReadDeadline(time.Time{}) // the server's ReadTimeout is for reading requests
	defer func() { _ = w.rc.SetWriteDeadline(time.Time{}) }()
	wake, stop := s.store.Feed.Subscribe(w.account)
	defer stop()
	end := time.NewTimer(streamLifetime)
	defer end.Stop()
	beat := time.NewTicker(heartbeatEvery)
	defer beat.Stop()
	for {
		if err := w.events(q, page); err != nil {
			return
		}
		q.After, q.FromStart = page.Next, false
		if !page.HasMore {
			if !s.awaitEvents(ctx, w, wake, beat.C, end.C, page.Pending) {
				return
			}
		}
		var err error
		if page, err = s.sharedFeedPage(ctx, q); err != nil {
			return // the client reconnects with Last-Event-ID
		}
	}
}

// awaitEvents waits until the feed may have more, writing heartbeats;
// false when the stream must end.
func (s *server) awaitEvents(ctx context.Context, w *sseWriter, wake <-chan struct{}, beat, end <-chan time.Time, pending bool) bool {
	var poll <-chan time.Time
	switch {
	case pending:
		poll = time.After(pendingPoll)
	case !s.store.Feed.Listening():
		poll = time.After(listenlessPoll)
	}
	for {
		select {
		case <-wake:
			return true
		case <-poll:
			return true
		case <-beat:
			if _, err := w.bw.WriteString(": heartbeat\n\n"); err != nil || w.flush() != nil {
				return false
			}
		case <-end:
			return false
		case <-ctx.Done():
			return false
		}
	}
}
