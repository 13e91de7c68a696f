package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func event(id, typ string) string {
	return fmt.Sprintf(`{"id":%q,"type":%q,"timestamp":"2026-01-02T03:04:05Z","data":{"object":{"id":"c1","givenName":"Ada"},"activity":{"id":%q,"action":%q}}}`, id, typ, id, typ)
}

func feedPage(cursor string, hasMore bool, events ...string) http.HandlerFunc {
	return answer(200, fmt.Sprintf(`{"data":[%s],"nextCursor":%q,"hasMore":%v}`, strings.Join(events, ","), cursor, hasMore))
}

// Follow from "now": the head cursor first, then long polls from each
// page's cursor (at once while hasMore), through a failure, until the
// context ends.
func TestFollow(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, f, waits := setup(t, []http.HandlerFunc{
		feedPage("c0", false),
		feedPage("c1", true, event("e1", "contact.created"), event("e2", "note.created")),
		answer(500, `{"error":"Internal server error"}`),
		feedPage("c2", false, event("e3", "contact.deleted")),
		feedPage("c2", false),
	})
	var got, saved []string
	var reported []error
	opts := []FollowOption{
		FollowTypes("contact.created", "note.created", "contact.deleted"),
		FollowCheckpoint(func(cursor string) { saved = append(saved, cursor) }),
		FollowOnError(func(err error) { reported = append(reported, err) }),
	}
	for ev, err := range c.Events.Follow(ctx, "now", opts...) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.ID+" "+ev.Type)
		if ev.ID == "e3" {
			cancel()
		}
	}
	if strings.Join(got, ",") != "e1 contact.created,e2 note.created,e3 contact.deleted" {
		t.Fatalf("events %v", got)
	}
	var uris []string
	for _, r := range f.got() {
		uris = append(uris, r.URL.RequestURI())
	}
	const types = "&types=contact.created%2Cnote.created%2Ccontact.deleted"
	want := []string{
		"/api/v1/events?after=now" + types,
		"/api/v1/events?after=c0" + types + "&wait=30",
		"/api/v1/events?after=c1" + types, // hasMore: no waiting
		"/api/v1/events?after=c1" + types, // the 500's retry, unchanged
	}
	if strings.Join(uris, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests\n%s\nwant\n%s", strings.Join(uris, "\n"), strings.Join(want, "\n"))
	}
	if strings.Join(saved, ",") != "c0,c1,c2" || len(reported) != 1 || len(*waits) != 1 {
		t.Fatalf("checkpoints %v, errors %v, waits %v", saved, reported, *waits)
	}
}

// An error no retry mends is yielded, and ends the iteration.
func TestFollow_Gone(t *testing.T) {
	c, f, _ := setup(t, []http.HandlerFunc{answer(410, `{"error":"Cursor expired: resync"}`)})
	var errs []error
	for ev, err := range c.Events.Follow(context.Background(), "old") {
		if ev != nil {
			t.Fatalf("event %+v", ev)
		}
		errs = append(errs, err)
	}
	if len(errs) != 1 || !errors.Is(errs[0], ErrGone) || len(f.got()) != 1 {
		t.Fatalf("errors %v after %d requests; want one ErrGone", errs, len(f.got()))
	}
}

// The long poll fits inside the HTTP client's own timeout.
func TestFollow_WaitFitsTheClientTimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, f, _ := setup(t, []http.HandlerFunc{feedPage("c1", false, event("e1", "contact.created"))})
	c.http = &http.Client{Timeout: 12 * time.Second, Transport: c.http.Transport}
	for range c.Events.Follow(ctx, "c0") {
		cancel()
	}
	if q := f.got()[0].URL.Query(); q.Get("wait") != "7" {
		t.Fatalf("wait=%s with a 12 s client timeout, want 7", q.Get("wait"))
	}
}

func TestEvent_Objects(t *testing.T) {
	ev := &Event{ID: "e1", Type: "contact.updated", Data: EventData{Object: []byte(`{"id":"c1","givenName":"Ada"}`)}}
	ct, err := ev.Contact()
	if err != nil || ct.ID != "c1" || *ct.GivenName != "Ada" {
		t.Fatalf("%+v, %v", ct, err)
	}
	if _, err := ev.Note(); err == nil {
		t.Fatal("a contact event decoded as a note")
	}
	ping := &Event{Type: "webhook.ping", Data: EventData{Object: []byte(`{"id":"w1","url":"https://x.example"}`)}}
	if w, err := ping.Webhook(); err != nil || w.URL != "https://x.example" {
		t.Fatalf("%+v, %v", w, err)
	}
}
