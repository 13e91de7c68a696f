package tests

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/remy-crm/remy/model"
)

// feedBenchEvents is the size of the benchmark account's feed.
const feedBenchEvents = 1_000_000

// BenchmarkEventsPage reads the last 100 events of an account with a
// million, through the API of a `remy serve` process, and the same query
// in bare SQL (the floor).
// Run it with
//
//	go test ./tests/ -run '^$' -bench BenchmarkEventsPage -benchtime 1x
func BenchmarkEventsPage(b *testing.B) {
	s := newServer(b)
	a := s.newTenant(b)
	ctx := context.Background()
	start := time.Now()
	// In transactions of 5,000 events, as a busy account's writes would
	// spread them over many transaction ids.
	for i := 0; i < feedBenchEvents; i += 5000 {
		_, err := s.Store.DB.ExecContext(ctx, `WITH a AS (
			INSERT INTO activity_log (account_id, action, resource_type, resource_id, auth_method, ip, user_agent, changes, created_at)
			SELECT ?, 'contact.updated', 'contact', gen_random_uuid(), 'api_key', '127.0.0.1', 'bench',
				'{"company":{"before":"A","after":"B"}}', clock_timestamp()
			FROM generate_series(1, 5000)
			RETURNING id, account_id, resource_id, created_at)
		INSERT INTO events (account_id, id, type, object, created_at)
		SELECT account_id, id, 'contact.updated', json_build_object('id', resource_id, 'givenName', 'Bench', 'company', 'B',
			'emails', '[]'::json, 'tags', '[]'::json), created_at FROM a`, a.Account.ID)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded %d events in %v", feedBenchEvents, time.Since(start).Round(time.Millisecond))
	if _, err := s.Store.DB.ExecContext(ctx, "VACUUM ANALYZE events, activity_log"); err != nil {
		b.Fatal(err)
	}
	var xid string
	var seq int64
	if err := s.Store.DB.QueryRowContext(ctx, `SELECT xid::text, seq FROM events WHERE account_id = ?
		ORDER BY xid DESC, seq DESC OFFSET 100 LIMIT 1`, a.Account.ID).Scan(&xid, &seq); err != nil {
		b.Fatal(err)
	}
	x, _ := strconv.ParseUint(xid, 10, 64)
	cursor := model.EncodeCursor(a.Account.ID, model.FeedPosition{XID: x, Seq: seq})
	path := "/api/v1/events?limit=100&after=" + url.QueryEscape(cursor)
	// A `remy serve` process: the in-process test server also checks every
	// response against the document, which costs more than the page.
	cmd, base, _ := startServeProcess(b, s.DSN, "REMY_RATE_LIMIT_RPS=0")
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	served := &testServer{client: client{URL: base}}
	for b.Loop() {
		p50, p95, _ := sampleLatency(b, served, a.Key, path, 20, 200)
		b.ReportMetric(ms(p50), "p50-ms")
		b.ReportMetric(ms(p95), "p95-ms")
		b.Logf("API: last 100 of %d events: p50 %.2f ms, p95 %.2f ms", feedBenchEvents, ms(p50), ms(p95))

		var lat []time.Duration
		for range 200 {
			t0 := time.Now()
			rows, err := s.Store.DB.QueryContext(ctx, `SELECT e.object, a.changes FROM events e JOIN activity_log a ON a.id = e.id
				WHERE e.account_id = ? AND (e.xid, e.seq) > (?::xid8, ?) ORDER BY e.xid, e.seq LIMIT 100`, a.Account.ID, xid, seq)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
			}
			rows.Close()
			lat = append(lat, time.Since(t0))
		}
		slices.Sort(lat)
		b.Logf("bare SQL, same page: p50 %.2f ms, p95 %.2f ms", ms(lat[len(lat)/2]), ms(lat[len(lat)*95/100]))
	}
}

// BenchmarkEventsWaiting holds 1,000 long-polls (50 keys × 20) on one
// `remy serve` process, checks no database connection is busy, wakes them
// all with one write, and reports the RSS they cost and how long the last
// one took to answer; then the wake-up latency of a single long-poll.
//
//	go test ./tests/ -run '^$' -bench BenchmarkEventsWaiting -benchtime 1x
func BenchmarkEventsWaiting(b *testing.B) {
	s := newServer(b)
	a := s.newTenant(b)
	cmd, base, _ := startServeProcess(b, s.DSN, "REMY_RATE_LIMIT_RPS=0")
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	inst := &serveInstance{cmd: cmd, base: base}
	c := clientAt(base)
	keys := []string{a.Key}
	for len(keys) < 50 {
		keys = append(keys, s.newKey(b, a.Account.ID, model.ScopeActivityRead))
	}
	for b.Loop() {
		_, head := c.events(b, a.Key, "after=now")
		rss0, _ := inst.rssKB()
		const waiters = 1000
		answered := make(chan time.Time, waiters)
		var wg sync.WaitGroup
		for i := range waiters {
			wg.Go(func() {
				evs, _, err := c.sendEvents(keys[i%len(keys)], "wait=60&after="+url.QueryEscape(head.NextCursor))
				if err != nil || len(evs) != 1 {
					b.Errorf("long-poll: %v, %d events", err, len(evs))
				}
				answered <- time.Now()
			})
		}
		waitForMetric(b, c, "remy_events_waiting_requests", waiters)
		rss1, _ := inst.rssKB()
		// Background work (the webhook queue's polling, key checks) is busy
		// now and then; the long-polls never are: sampled ten times.
		busy := 1 << 30
		for range 10 {
			var n int
			if err := s.Store.DB.QueryRowContext(context.Background(), `SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`).Scan(&n); err != nil {
				b.Fatal(err)
			}
			busy = min(busy, n)
			time.Sleep(100 * time.Millisecond)
		}
		res := c.do(b, "POST", "/api/v1/contacts", a.Key, map[string]any{"givenName": "Wake"})
		wg.Wait()
		close(answered)
		var last time.Time
		for t := range answered {
			if t.After(last) {
				last = t
			}
		}
		b.Logf("%d long-polls: RSS %.1f → %.1f MiB (+%.1f KiB each), busy database connections (fewest of 10 samples) %d, all answered %v after the write's answer",
			waiters, mb(rss0), mb(rss1), float64(rss1-rss0)/waiters, busy, last.Sub(res.Received).Round(time.Millisecond))
		b.ReportMetric(float64(rss1-rss0)/waiters, "KiB/waiter")
		b.ReportMetric(float64(last.Sub(res.Received).Milliseconds()), "ms-to-wake-all")

		lat := singleWakeLatency(b, c, a.Key, 50)
		b.Logf("one long-poll, write → answer: p50 %.2f ms, p95 %.2f ms, max %.2f ms", ms(lat[len(lat)/2]), ms(lat[len(lat)*95/100]), ms(lat[len(lat)-1]))
		b.ReportMetric(ms(lat[len(lat)*95/100]), "wake-p95-ms")
	}
}

// singleWakeLatency measures n times from a write's answer to the answer
// of a long-poll waiting for it.
func singleWakeLatency(b *testing.B, c *client, key string, n int) []time.Duration {
	_, head := c.events(b, key, "after=now")
	cursor := head.NextCursor
	var lat []time.Duration
	for range n {
		done := make(chan time.Time, 1)
		var next string
		go func() {
			_, p, err := c.sendEvents(key, "wait=30&after="+url.QueryEscape(cursor))
			if err != nil {
				b.Error(err)
			}
			next = p.NextCursor
			done <- time.Now()
		}()
		time.Sleep(50 * time.Millisecond)
		res := c.do(b, "POST", "/api/v1/contacts", key, map[string]any{"givenName": "Wake"})
		lat = append(lat, (<-done).Sub(res.Received))
		cursor = next
	}
	slices.Sort(lat)
	return lat
}

// waitForMetric waits until a gauge of /metrics reaches want.
func waitForMetric(b *testing.B, c *client, name string, want int) {
	eventually(b, 60*time.Second, func() error {
		res, err := c.send(http.MethodGet, "/metrics", "", nil)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(res.Body), "\n") {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				if n, _ := strconv.ParseFloat(v, 64); int(n) >= want {
					return nil
				}
				return fmt.Errorf("%s = %s", name, v)
			}
		}
		return fmt.Errorf("no %s in /metrics", name)
	})
}
