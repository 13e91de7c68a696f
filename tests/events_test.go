package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/remy-crm/remy/model"
)

// feedEvent is an event as the feed serves it.
type feedEvent struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
	raw       json.RawMessage
}

func (e feedEvent) object(t testing.TB) map[string]any {
	t.Helper()
	var d struct {
		Object   map[string]any `json:"object"`
		Activity map[string]any `json:"activity"`
	}
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d.Object
}

type feedPage struct {
	Data       []json.RawMessage `json:"data"`
	NextCursor string            `json:"nextCursor"`
	HasMore    bool              `json:"hasMore"`
}

// events reads one page of the feed (failing on anything but 200).
func (c *client) events(t testing.TB, key, query string) ([]feedEvent, feedPage) {
	t.Helper()
	evs, p, err := c.sendEvents(key, query)
	if err != nil {
		t.Fatal(err)
	}
	return evs, p
}

func (c *client) sendEvents(key, query string) ([]feedEvent, feedPage, error) {
	res, err := c.send(http.MethodGet, "/api/v1/events?"+query, key, nil)
	if err != nil {
		return nil, feedPage{}, err
	}
	if res.Status != http.StatusOK {
		return nil, feedPage{}, fmt.Errorf("GET /events?%s: %d %s", query, res.Status, res.Body)
	}
	var p feedPage
	if err := json.Unmarshal(res.Body, &p); err != nil {
		return nil, p, err
	}
	if p.NextCursor == "" {
		return nil, p, fmt.Errorf("no nextCursor: %s", res.Body)
	}
	evs := make([]feedEvent, len(p.Data))
	for i, raw := range p.Data {
		if err := json.Unmarshal(raw, &evs[i]); err != nil {
			return nil, p, err
		}
		evs[i].raw = raw
	}
	return evs, p, nil
}

// followN follows the feed from cursor until it has served n events,
// for up to 10 s: the horizon is the cluster's, so other tests' write
// transactions can hold the feed back for a moment.
func (c *client) followN(t testing.TB, key, cursor string, n int) ([]feedEvent, string) {
	t.Helper()
	var all []feedEvent
	eventually(t, 10*time.Second, func() error {
		var evs []feedEvent
		evs, cursor = c.follow(t, key, cursor)
		if all = append(all, evs...); len(all) < n {
			return fmt.Errorf("%d of %d events: %v", len(all), n, eventTypes(all))
		}
		return nil
	})
	return all, cursor
}

// follow reads the feed from cursor until a page is empty and has no
// more, and returns the events and the cursor to go on from.
func (c *client) follow(t testing.TB, key, cursor string) ([]feedEvent, string) {
	t.Helper()
	var all []feedEvent
	for {
		q := "limit=7"
		if cursor != "" {
			q += "&after=" + url.QueryEscape(cursor)
		}
		evs, p := c.events(t, key, q)
		all = append(all, evs...)
		cursor = p.NextCursor
		if len(evs) == 0 && !p.HasMore {
			return all, cursor
		}
	}
}

func eventTypes(evs []feedEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

func TestEvents_EveryChangeInOrderAsWebhooksDeliverIt(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tn := s.newTenant(t)
	other := s.newTenant(t)
	s.do(t, "POST", "/api/v1/contacts", other.Key, map[string]any{"givenName": "Elsewhere"})

	ada := s.do(t, "POST", "/api/v1/contacts", tn.Key, map[string]any{"givenName": "Ada"}).Data(t)
	bob := s.do(t, "POST", "/api/v1/contacts", tn.Key, map[string]any{"givenName": "Bob", "introducedById": ada["id"]}).Data(t)
	note := s.do(t, "POST", "/api/v1/contacts/"+ada["id"].(string)+"/notes", tn.Key, map[string]any{"body": "Met at the salon"}).Data(t)
	s.do(t, "PATCH", "/api/v1/contacts/"+ada["id"].(string), tn.Key, map[string]any{"familyName": "Lovelace"})
	if res := s.do(t, "DELETE", "/api/v1/contacts/"+ada["id"].(string), tn.Key, nil); res.Status != http.StatusOK {
		t.Fatalf("delete: %d %s", res.Status, res.Body)
	}

	evs, cursor := s.followN(t, tn.Key, "", 7)
	want := []string{"contact.created", "contact.created", "note.created", "contact.updated",
		"contact.updated", "note.deleted", "contact.deleted"}
	if got := eventTypes(evs); !slices.Equal(got, want) {
		t.Fatalf("types = %v, want %v", got, want)
	}
	// The delete's side effect: Bob loses his introducer, with an event.
	unlink := evs[4]
	if o := unlink.object(t); o["id"] != bob["id"] || o["introducedById"] != nil {
		t.Fatalf("side-effect event object = %v", o)
	}
	if !strings.Contains(string(unlink.Data), `"changes":{"introducedById":{"before":"`+ada["id"].(string)+`","after":null}}`) {
		t.Fatalf("side-effect event changes: %s", unlink.Data)
	}
	if o := evs[5].object(t); o["id"] != note["id"] {
		t.Fatalf("note.deleted object = %v", o)
	}
	if o := evs[6].object(t); o["familyName"] != "Lovelace" {
		t.Fatalf("contact.deleted carries the contact as it was: %v", o)
	}
	if o := evs[3].object(t); o["familyName"] != "Lovelace" || o["updatedAt"] == evs[0].object(t)["updatedAt"] {
		t.Fatalf("contact.updated carries the contact right after: %v", o)
	}
	// The feed's entries are the Activity Log's.
	act := s.do(t, "GET", "/api/v1/activity?limit=100", tn.Key, nil)
	for _, e := range evs {
		if !strings.Contains(string(act.Body), `"id":"`+e.ID+`"`) {
			t.Fatalf("event %s (%s) is not an Activity Log entry", e.ID, e.Type)
		}
	}
	// Nothing more, and the cursor holds.
	if more, _ := s.follow(t, tn.Key, cursor); len(more) != 0 {
		t.Fatalf("after the end: %v", eventTypes(more))
	}
	// The other account sees only its own.
	if evs, _ := s.followN(t, other.Key, "", 1); len(evs) != 1 {
		t.Fatalf("other account sees %v", eventTypes(evs))
	}
}

func TestEvents_PagesAndTypes(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tn := s.newTenant(t)
	for i := range 12 {
		c := s.do(t, "POST", "/api/v1/contacts", tn.Key, map[string]any{"givenName": fmt.Sprint("C", i)}).Data(t)
		s.do(t, "PATCH", "/api/v1/contacts/"+c["id"].(string), tn.Key, map[string]any{"company": "X"})
	}
	s.followN(t, tn.Key, "", 24) // all served
	evs, p := s.events(t, tn.Key, "limit=5")
	if len(evs) != 5 || !p.HasMore {
		t.Fatalf("first page: %d events, hasMore %v", len(evs), p.HasMore)
	}
	rest, _ := s.follow(t, tn.Key, p.NextCursor)
	if len(evs)+len(rest) != 24 {
		t.Fatalf("%d + %d events, want 24", len(evs), len(rest))
	}
	seen := map[string]bool{}
	for _, e := range append(evs, rest...) {
		if seen[e.ID] {
			t.Fatalf("event %s twice", e.ID)
		}
		seen[e.ID] = true
	}
	upd, p := s.events(t, tn.Key, "types=contact.updated,note.created")
	if len(upd) != 12 || p.HasMore {
		t.Fatalf("types filter: %d events", len(upd))
	}
	for _, e := range upd {
		if e.Type != "contact.updated" {
			t.Fatalf("types filter let %s through", e.Type)
		}
	}
}

func TestEvents_Errors(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tn := s.newTenant(t)
	other := s.newTenant(t)
	s.do(t, "POST", "/api/v1/contacts", other.Key, map[string]any{"givenName": "Ada"})
	_, otherCursor := s.followN(t, other.Key, "", 1)
	noScope := s.newKey(t, tn.Account.ID, model.ScopeContactsRead)
	s.wantErrors(t, tn.Key, []errorCase{
		{name: "garbage cursor", method: "GET", path: "/api/v1/events?after=xyz", status: 400, msg: "Malformed cursor"},
		{name: "other account's cursor", method: "GET", path: "/api/v1/events?after=" + otherCursor, status: 400, msg: "Malformed cursor"},
		{name: "stream, garbage cursor", method: "GET", path: "/api/v1/events/stream?after=xyz", status: 400, msg: "Malformed cursor"},
		{name: "limit 0", method: "GET", path: "/api/v1/events?limit=0", status: 422, field: "limit"},
		{name: "limit 101", method: "GET", path: "/api/v1/events?limit=101", status: 422, field: "limit"},
		{name: "wait 61", method: "GET", path: "/api/v1/events?wait=61", status: 422, field: "wait"},
		{name: "unknown type", method: "GET", path: "/api/v1/events?types=contact.exploded", status: 422},
		{name: "no scope", method: "GET", path: "/api/v1/events", headers: []header{{"Authorization", "Bearer " + noScope}}, status: 403},
	})

	// A cursor older than the retention is 410; from the start is fine.
	s.do(t, "POST", "/api/v1/contacts", tn.Key, map[string]any{"givenName": "Old"})
	_, first := s.followN(t, tn.Key, "", 1) // after Old
	if _, err := s.Store.Feed.Prune(context.Background(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	s.do(t, "POST", "/api/v1/contacts", tn.Key, map[string]any{"givenName": "New"})
	res := s.do(t, "GET", "/api/v1/events?after="+url.QueryEscape(first), tn.Key, nil)
	if res.Status != http.StatusOK {
		// first was after the pruned event: nothing after it was pruned.
		t.Fatalf("cursor after the pruned event: %d %s", res.Status, res.Body)
	}
	s.do(t, "POST", "/api/v1/contacts", tn.Key, map[string]any{"givenName": "Newer"})
	s.followN(t, tn.Key, first, 2) // New and Newer are served, then pruned
	if _, err := s.Store.Feed.Prune(context.Background(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	res = s.do(t, "GET", "/api/v1/events?after="+url.QueryEscape(first), tn.Key, nil)
	wantError(t, res, http.StatusGone, "")
	if evs, _ := s.events(t, tn.Key, ""); len(evs) != 0 {
		t.Fatalf("from the start after pruning everything: %v", eventTypes(evs))
	}
}

// A transaction that got its id before others and commits seconds after
// them: a follower must still get its event, and a "now" cursor taken
// while it runs must not miss it.
//
// Not parallel: its 2 s transaction holds back every feed of the cluster.
func TestEvents_SlowTransactionIsNeverSkipped(t *testing.T) {
	s := newServer(t)
	tn := s.newTenant(t)
	db := s.openDB(t)
	if _, err := db.Exec(`CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.given_name = 'Slow' THEN PERFORM pg_sleep(2); END IF; RETURN NULL; END $$;
		CREATE TRIGGER slow AFTER INSERT ON contacts FOR EACH ROW EXECUTE FUNCTION slow();`); err != nil {
		t.Fatal(err)
	}
	_, base := s.events(t, tn.Key, "after=now")
	var wg sync.WaitGroup
	wg.Go(func() {
		if res, err := s.send("POST", "/api/v1/contacts", tn.Key, map[string]any{"givenName": "Slow"}); err != nil || res.Status != 201 {
			t.Errorf("slow POST: %v %v", err, res)
		}
	})
	time.Sleep(300 * time.Millisecond) // the slow one has its id and sleeps
	for i := range 3 {
		s.do(t, "POST", "/api/v1/contacts", tn.Key, map[string]any{"givenName": fmt.Sprint("Fast", i)})
	}
	// The fast ones have committed; "now" is after them, not after Slow.
	_, now := s.events(t, tn.Key, "after=now")
	early, cursor := s.follow(t, tn.Key, base.NextCursor)
	if len(early) != 0 {
		t.Fatalf("served %v while an older transaction was running", eventTypes(early))
	}
	wg.Wait()
	var got []feedEvent
	eventually(t, 5*time.Second, func() error {
		evs, c := s.follow(t, tn.Key, cursor)
		got, cursor = append(got, evs...), c
		if len(got) < 4 {
			return fmt.Errorf("%d events", len(got))
		}
		return nil
	})
	names := []string{}
	for _, e := range got {
		names = append(names, e.object(t)["givenName"].(string))
	}
	if !slices.Equal(names, []string{"Slow", "Fast0", "Fast1", "Fast2"}) {
		t.Fatalf("order = %v", names)
	}
	fromNow, _ := s.follow(t, tn.Key, now.NextCursor)
	if len(fromNow) != 1 || fromNow[0].object(t)["givenName"] != "Slow" {
		t.Fatalf("from the cursor taken while Slow ran: %v", eventTypes(fromNow))
	}
}

func TestEvents_LongPollWakesAcrossInstances(t *testing.T) {
	t.Parallel()
	a := newServer(t)
	b := newServerOn(t, a.DSN)
	tn := a.newTenant(t)
	_, head := a.events(t, tn.Key, "after=now")
	var lat []time.Duration
	cursor := head.NextCursor
	for i := range 10 {
		type result struct {
			evs  []feedEvent
			p    feedPage
			err  error
			when time.Time
		}
		done := make(chan result, 1)
		go func() {
			evs, p, err := a.sendEvents(tn.Key, "wait=20&after="+url.QueryEscape(cursor))
			done <- result{evs, p, err, time.Now()}
		}()
		time.Sleep(100 * time.Millisecond)
		res := b.do(t, "POST", "/api/v1/contacts", tn.Key, map[string]any{"givenName": fmt.Sprint("Woken", i)})
		r := <-done
		if r.err != nil || len(r.evs) != 1 {
			t.Fatalf("long-poll: %v, %d events", r.err, len(r.evs))
		}
		lat = append(lat, r.when.Sub(res.Received))
		cursor = r.p.NextCursor
	}
	slices.Sort(lat)
	t.Logf("commit (POST answered) → long-poll answered: median %v, max %v", lat[len(lat)/2], lat[len(lat)-1])
	// Woken, not timed out (wait=20): the horizon is the cluster's, so
	// other tests' transactions may hold an answer back for a moment; the
	// latency on a quiet database is BenchmarkEventsWaiting's (README).
	if lat[len(lat)-1] > 5*time.Second {
		t.Fatalf("a long-poll took %v to wake", lat[len(lat)-1])
	}
	// wait runs out: 200, empty, usable cursor.
	start := time.Now()
	evs, p := a.events(t, tn.Key, "wait=1&after="+url.QueryEscape(cursor))
	if len(evs) != 0 || time.Since(start) < 900*time.Millisecond || p.NextCursor == "" {
		t.Fatalf("timed-out long-poll: %d events after %v", len(evs), time.Since(start))
	}
}

func TestEvents_WaitingRequestsHoldNoConnection(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tn := s.newTenant(t)
	keys := []string{tn.Key, s.newKey(t, tn.Account.ID, model.ScopeActivityRead)}
	_, head := s.events(t, tn.Key, "after=now")
	var wg sync.WaitGroup
	results := make(chan int, 40)
	for i := range 40 {
		wg.Go(func() {
			evs, _, err := s.sendEvents(keys[i%2], "wait=30&after="+url.QueryEscape(head.NextCursor))
			if err != nil {
				t.Error(err)
			}
			results <- len(evs)
		})
	}
	db := s.openDB(t)
	eventually(t, 10*time.Second, func() error {
		if n := s.Store.Feed.Waiting(); n < 40 {
			return fmt.Errorf("%d waiting", n)
		}
		return nil
	})
	var busy int
	if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND pid <> pg_backend_pid() AND state NOT IN ('idle')`).Scan(&busy); err != nil {
		t.Fatal(err)
	}
	if busy != 0 {
		t.Fatalf("%d busy connections while 40 long-polls wait", busy)
	}
	// The 21st waiting request of one key is refused.
	res := s.do(t, "GET", "/api/v1/events?wait=5&after="+url.QueryEscape(head.NextCursor), tn.Key, nil)
	wantError(t, res, http.StatusTooManyRequests, "")
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	s.do(t, "POST", "/api/v1/contacts", tn.Key, map[string]any{"givenName": "Wake"})
	wg.Wait()
	close(results)
	for n := range results {
		if n != 1 {
			t.Fatalf("a long-poll got %d events", n)
		}
	}
}

// sseEvent is one event read from a stream.
type sseEvent struct{ id, typ, data string }

// readSSE reads events from r until n have arrived.
func readSSE(t testing.TB, sc *bufio.Scanner, n int) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	for len(out) < n && sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.data != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			cur.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			cur.typ = line[7:]
		case strings.HasPrefix(line, "data: "):
			cur.data = line[6:]
		}
	}
	if len(out) < n {
		t.Fatalf("stream ended after %d events: %v", len(out), sc.Err())
	}
	return out
}

func openStream(t testing.TB, s *testServer, key, query string, headers ...header) (*bufio.Scanner, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/api/v1/events/stream?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	for _, h := range headers {
		req.Header.Set(h.Name, h.Value)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	return bufio.NewScanner(res.Body), func() { cancel(); res.Body.Close() }
}

func TestEvents_StreamAndResume(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tn := s.newTenant(t)
	s.do(t, "POST", "/api/v1/contacts", tn.Key, map[string]any{"givenName": "Before"})
	sc, stop := openStream(t, s, tn.Key, "after=now")
	for i := range 3 {
		s.do(t, "POST", "/api/v1/contacts", tn.Key, map[string]any{"givenName": fmt.Sprint("Live", i)})
	}
	got := readSSE(t, sc, 3)
	stop()
	evs, _ := s.followN(t, tn.Key, "", 4)
	for i, e := range got {
		if e.typ != "contact.created" || !strings.Contains(e.data, fmt.Sprintf(`"givenName":"Live%d"`, i)) {
			t.Fatalf("stream event %d: %+v", i, e)
		}
		// Byte for byte what the feed (and a webhook) serves.
		if e.data != string(evs[i+1].raw) {
			t.Fatalf("stream data differs from the feed's:\n%s\n%s", e.data, evs[i+1].raw)
		}
	}
	// Last-Event-ID resumes right after that event, and wins over after.
	sc, stop = openStream(t, s, tn.Key, "after=now", header{"Last-Event-ID", got[0].id})
	defer stop()
	again := readSSE(t, sc, 2)
	if !strings.Contains(again[0].data, `"Live1"`) || !strings.Contains(again[1].data, `"Live2"`) {
		t.Fatalf("resumed stream: %+v", again)
	}
}

// A copy kept by "snapshot + tail" (a head cursor, a full listing, then the
// feed) converges to the server's state while two instances take
// concurrent creates, updates and deletes; a follower long-polling
// throughout sees every event exactly once.
func TestEvents_SnapshotPlusTailConverges(t *testing.T) {
	t.Parallel()
	a := newServer(t)
	b := newServerOn(t, a.DSN)
	tn := a.newTenant(t)
	for i := range 30 {
		a.do(t, "POST", "/api/v1/contacts", tn.Key, map[string]any{"givenName": fmt.Sprint("Seed", i)})
	}
	_, start := a.events(t, tn.Key, "after=now")

	stop := make(chan struct{})
	var writers sync.WaitGroup
	for w, srv := range []*testServer{a, b, a, b} {
		writers.Go(func() { churn(t, srv, tn.Key, w, stop) })
	}
	// The long-polling follower, from before the writes.
	seen := map[string]int{}
	var follower sync.WaitGroup
	followerDone := make(chan struct{})
	follower.Go(func() {
		cursor := start.NextCursor
		for {
			evs, p, err := a.sendEvents(tn.Key, "wait=2&after="+url.QueryEscape(cursor))
			if err != nil {
				t.Error(err)
				return
			}
			for _, e := range evs {
				seen[e.ID]++
			}
			cursor = p.NextCursor
			select {
			case <-followerDone:
				if len(evs) == 0 {
					return
				}
			default:
			}
		}
	})

	time.Sleep(300 * time.Millisecond)
	_, head := b.events(t, tn.Key, "after=now")
	copyOf := listAll(t, b, tn.Key, 50*time.Millisecond) // the writers move under the listing
	time.Sleep(700 * time.Millisecond)
	close(stop)
	writers.Wait()

	final := listAll(t, a, tn.Key)
	// Tail: apply every event after the head cursor; the horizon may
	// hold the last ones back for a moment under load.
	var evs []feedEvent
	eventually(t, 10*time.Second, func() error {
		evs, _ = a.follow(t, tn.Key, head.NextCursor)
		synced := maps.Clone(copyOf)
		for _, e := range evs {
			o := e.object(t)
			switch e.Type {
			case "contact.created", "contact.updated":
				synced[o["id"].(string)] = o
			case "contact.deleted":
				delete(synced, o["id"].(string))
			}
		}
		if len(synced) != len(final) {
			return fmt.Errorf("copy holds %d contacts, server %d", len(synced), len(final))
		}
		for id, want := range final {
			got, _ := json.Marshal(synced[id])
			w, _ := json.Marshal(want)
			if string(got) != string(w) {
				return fmt.Errorf("contact %s:\ncopy   %s\nserver %s", id, got, w)
			}
		}
		return nil
	})
	close(followerDone)
	follower.Wait()
	all, _ := a.follow(t, tn.Key, start.NextCursor)
	if len(seen) != len(all) {
		t.Fatalf("follower saw %d distinct events, the feed holds %d", len(seen), len(all))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("follower saw event %s %d times", id, n)
		}
	}
	t.Logf("%d contacts, %d events after the head, %d followed", len(final), len(evs), len(all))
}

// churn creates, updates and deletes contacts until stop closes.
func churn(t *testing.T, s *testServer, key string, w int, stop <-chan struct{}) {
	var mine []string
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		switch {
		case i%5 == 4 && len(mine) > 0:
			res, err := s.send("DELETE", "/api/v1/contacts/"+mine[0], key, nil)
			if err != nil || res.Status != http.StatusOK {
				t.Errorf("delete: %v %v", err, res)
				return
			}
			mine = mine[1:]
		case i%2 == 1 && len(mine) > 0:
			id := mine[len(mine)-1]
			body := map[string]any{"company": fmt.Sprint("Co", w, "-", i)}
			if len(mine) > 1 {
				body["introducedById"] = mine[0]
			}
			if res, err := s.send("PATCH", "/api/v1/contacts/"+id, key, body); err != nil || res.Status != http.StatusOK {
				t.Errorf("patch: %v %v", err, res)
				return
			}
		default:
			res, err := s.send("POST", "/api/v1/contacts", key, map[string]any{"givenName": fmt.Sprint("W", w, "-", i)})
			if err != nil || res.Status != http.StatusCreated {
				t.Errorf("create: %v %v", err, res)
				return
			}
			var c struct {
				Data struct{ ID string } `json:"data"`
			}
			_ = json.Unmarshal(res.Body, &c)
			mine = append(mine, c.Data.ID)
		}
	}
}

// listAll lists every contact of key's account by pages of 100, pausing
// between pages, by id.
func listAll(t *testing.T, s *testServer, key string, pause ...time.Duration) map[string]map[string]any {
	t.Helper()
	all := map[string]map[string]any{}
	for offset := 0; ; offset += 100 {
		res := s.do(t, "GET", fmt.Sprintf("/api/v1/contacts?limit=100&offset=%d", offset), key, nil)
		var page struct {
			Data []map[string]any `json:"data"`
		}
		if err := json.Unmarshal(res.Body, &page); err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Data {
			all[c["id"].(string)] = c
		}
		if len(page.Data) < 100 {
			return all
		}
		for _, p := range pause {
			time.Sleep(p)
		}
	}
}

// The side effects of a delete reach webhooks as well as the feed: each
// contact that loses its introducer gets its contact.updated delivery,
// byte for byte the feed's event.
func TestEvents_SideEffectsAreDelivered(t *testing.T) {
	t.Parallel()
	s := newWebhookServer(t, webhookOpts{})
	a := s.newTenant(t)
	rc := newReceiver(t)
	s.createWebhook(t, a.Key, rc.URL, "contact.updated")
	ada := s.do(t, "POST", "/api/v1/contacts", a.Key, map[string]any{"givenName": "Ada"}).Data(t)
	var introduced []string
	for i := range 3 {
		c := s.do(t, "POST", "/api/v1/contacts", a.Key, map[string]any{"givenName": fmt.Sprint("Intro", i), "introducedById": ada["id"]}).Data(t)
		introduced = append(introduced, c["id"].(string))
	}
	wantStatus(t, s.do(t, "DELETE", "/api/v1/contacts/"+ada["id"].(string), a.Key, nil), http.StatusOK)
	evs, _ := s.followN(t, a.Key, "", 6)
	feed := map[string]string{}
	for _, e := range evs {
		if e.Type == "contact.updated" {
			feed[e.ID] = string(e.raw)
		}
	}
	if len(feed) != 3 {
		t.Fatalf("%d contact.updated events in the feed, want 3", len(feed))
	}
	got := rc.wait(t, 3, 10*time.Second)
	for _, r := range got {
		e := r.Event(t)
		if feed[e["id"].(string)] != strings.TrimSpace(string(r.Body)) {
			t.Fatalf("delivery differs from the feed's event:\n%s\n%s", r.Body, feed[e["id"].(string)])
		}
		o := e["data"].(map[string]any)["object"].(map[string]any)
		if !slices.Contains(introduced, o["id"].(string)) || o["introducedById"] != nil {
			t.Fatalf("unexpected delivery object %v", o)
		}
	}
}

// REMY_EVENTS_RETENTION through `remy serve`: events older than it are
// pruned in the background, and a cursor from before them is 410; the
// horizon's lag is on /metrics.
func TestEvents_RetentionThroughServe(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tn := s.newTenant(t)
	cmd, base, _ := startServeProcess(t, s.DSN, "REMY_EVENTS_RETENTION=1s")
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c := clientAt(base)
	_, head := c.events(t, tn.Key, "after=now")
	c.do(t, "POST", "/api/v1/contacts", tn.Key, map[string]any{"givenName": "Ephemeral"})
	eventually(t, 15*time.Second, func() error {
		res, err := c.send("GET", "/api/v1/events?after="+url.QueryEscape(head.NextCursor), tn.Key, nil)
		if err != nil || res.Status != http.StatusGone {
			return fmt.Errorf("not pruned yet: %v %v", err, res)
		}
		wantError(t, res, http.StatusGone, "")
		return nil
	})
	if evs, _ := c.events(t, tn.Key, ""); len(evs) != 0 {
		t.Fatalf("from the start after pruning: %v", eventTypes(evs))
	}
	if res := c.do(t, "GET", "/api/v1/contacts?limit=1", tn.Key, nil); !strings.Contains(string(res.Body), "Ephemeral") {
		t.Fatal("pruning the feed touched the contact")
	}
	metrics := c.do(t, "GET", "/metrics", "", nil)
	if !strings.Contains(string(metrics.Body), "\nremy_events_horizon_lag_seconds ") {
		t.Fatal("no remy_events_horizon_lag_seconds on /metrics")
	}
}
