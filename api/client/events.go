package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Event is one change in the account, as the change feed serves it and a
// webhook delivers it: ID is the Activity Log entry's id (a webhook's
// webhook-id), Type e.g. "contact.updated".
type Event struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"` // when the change was made
	Data      EventData `json:"data"`
}

// EventData is what changed: the object as the API shows it (after the
// change, or as it was when deleted) and the Activity Log entry, with the
// changed fields. A webhook.ping has the endpoint as object and no
// activity.
type EventData struct {
	Object   json.RawMessage `json:"object"`
	Activity Activity        `json:"activity"`
}

// Contact decodes the object of a contact.* event.
func (e *Event) Contact() (*Contact, error) { return eventObject[Contact](e, "contact.") }

// Note decodes the object of a note.* event.
func (e *Event) Note() (*Note, error) { return eventObject[Note](e, "note.") }

// Webhook decodes the object of a webhook.ping event: the endpoint.
func (e *Event) Webhook() (*Webhook, error) { return eventObject[Webhook](e, "webhook.") }

func eventObject[T any](e *Event, prefix string) (*T, error) {
	if !strings.HasPrefix(e.Type, prefix) {
		return nil, fmt.Errorf("remy: a %s event does not hold a %s object", e.Type, strings.TrimSuffix(prefix, "."))
	}
	var v T
	if err := json.Unmarshal(e.Data.Object, &v); err != nil {
		return nil, fmt.Errorf("remy: %s event %s: %w", e.Type, e.ID, err)
	}
	return &v, nil
}

// EventPage is one page of the change feed.
type EventPage struct {
	Data       []Event `json:"data"`
	NextCursor string  `json:"nextCursor"` // pass as After to read on from here
	HasMore    bool    `json:"hasMore"`    // more events are ready: read on without waiting
}

// ListEventsParams reads the change feed.
type ListEventsParams struct {
	After string        // a NextCursor; "" for the oldest event kept, "now" for none but the head cursor
	Types []string      // only these event types
	Limit int           // events per page (0: the server's default)
	Wait  time.Duration // long poll: with nothing new, wait up to this long (at most 60 s) for an event
}

// EventsService reads the change feed: Client.Events.
type EventsService struct{ c *Client }

// List reads one page of the change feed. Errors: ErrGone when After is
// older than the feed keeps (start again from a full sync), ErrBadRequest
// for a malformed cursor, ErrForbidden without activity:read.
func (s *EventsService) List(ctx context.Context, p ListEventsParams) (*EventPage, error) {
	r := newRequest(http.MethodGet, "/api/v1/events", nil)
	if p.After != "" {
		r.query.Set("after", p.After)
	}
	if len(p.Types) > 0 {
		r.query.Set("types", strings.Join(p.Types, ","))
	}
	if p.Limit > 0 {
		r.query.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Wait > 0 {
		r.query.Set("wait", strconv.Itoa(int(p.Wait.Round(time.Second)/time.Second)))
	}
	var page EventPage
	if _, err := s.c.call(ctx, r, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// FollowOption adjusts Events.Follow.
type FollowOption func(*follower)

// FollowTypes follows only these event types.
func FollowTypes(types ...string) FollowOption {
	return func(f *follower) { f.types = types }
}

// FollowCheckpoint calls save with the feed's cursor each time every event
// before it has been yielded and the loop body has returned. Store it and
// pass it to Follow to resume there after a restart; events after the last
// saved cursor may then arrive again (deduplicate by Event.ID).
func FollowCheckpoint(save func(cursor string)) FollowOption {
	return func(f *follower) { f.checkpoint = save }
}

// FollowOnError calls report with each failure that Follow retries by
// itself (a lost connection, a 5xx), for logging.
func FollowOnError(report func(err error)) FollowOption {
	return func(f *follower) { f.onError = report }
}

// longPoll is how long each of Follow's requests waits for an event.
const longPoll = 30 * time.Second

// Follow yields the account's events as they happen, from the cursor
// after ("now": from this moment; "": from the oldest event kept). It
// long-polls the feed, and goes on after failures a retry can mend,
// waiting longer after each (up to 30 s; see FollowOnError). It ends when
// ctx ends, when the loop breaks, or after yielding an error no retry can
// mend: ErrGone (the cursor is older than the feed keeps), ErrUnauthorized,
// ErrForbidden, ErrBadRequest.
//
//	for ev, err := range c.Events.Follow(ctx, "now") {
//		if err != nil {
//			return err
//		}
//		…
//	}
func (s *EventsService) Follow(ctx context.Context, after string, opts ...FollowOption) iter.Seq2[*Event, error] {
	f := &follower{s: s, cursor: after}
	for _, o := range opts {
		o(f)
	}
	return func(yield func(*Event, error) bool) { f.run(ctx, yield) }
}

// follower is the state of one Follow.
type follower struct {
	s          *EventsService
	cursor     string
	types      []string
	checkpoint func(string)
	onError    func(error)
}

func (f *follower) run(ctx context.Context, yield func(*Event, error) bool) {
	wait, failures := f.pollWait(), 0
	if f.cursor == "now" {
		wait = 0 // the head cursor is answered at once
	}
	for ctx.Err() == nil {
		page, err := f.s.List(ctx, ListEventsParams{After: f.cursor, Types: f.types, Wait: wait})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !retryable(err) {
				yield(nil, err)
				return
			}
			if f.onError != nil {
				f.onError(err)
			}
			failures++
			if !f.s.c.sleep(ctx, backoff(failures)) {
				return
			}
			continue
		}
		failures = 0
		for i := range page.Data {
			if !yield(&page.Data[i], nil) {
				return
			}
		}
		if page.NextCursor != "" && page.NextCursor != f.cursor {
			f.cursor = page.NextCursor
			if f.checkpoint != nil {
				f.checkpoint(f.cursor)
			}
		}
		wait = f.pollWait()
		if page.HasMore {
			wait = 0
		}
	}
}

// pollWait is longPoll, shortened to fit in the HTTP client's own Timeout
// (with 5 s to spare for the answer).
func (f *follower) pollWait() time.Duration {
	if t := f.s.c.http.Timeout; t > 0 {
		return max(0, min(longPoll, t-5*time.Second))
	}
	return longPoll
}

// retryable reports whether a failed call may succeed if made again
// unchanged: anything but a 4xx answer (429 and 408 excepted).
func retryable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return true
	}
	return e.Status/100 != 4 || e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout
}
