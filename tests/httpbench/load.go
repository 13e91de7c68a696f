package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

type scenario struct {
	name, label string
	concurrency int // 0: the run's
	rows        int // rows per response, to report rows/s (export)
	// bare: also measured against the baseline on bare tables.
	bare   bool
	target func(base string, fx *fixtures, t *vegeta.Target) error
}

func auth(key string) http.Header {
	return http.Header{"Authorization": {"Bearer " + key}, "Content-Type": {"application/json"}}
}

func scenarios() []scenario {
	pick := func(fx *fixtures) (account, string) {
		a := fx.small[rand.IntN(len(fx.small))]
		return a, a.contacts[rand.IntN(len(a.contacts))]
	}
	return []scenario{
		{name: "get", label: "GET /api/v1/contacts/{id}", bare: true, target: func(base string, fx *fixtures, t *vegeta.Target) error {
			a, id := pick(fx)
			t.Method, t.URL, t.Header = http.MethodGet, base+"/api/v1/contacts/"+id, auth(a.key)
			return nil
		}},
		{name: "list", label: "GET /api/v1/contacts?limit=50", bare: true, target: func(base string, fx *fixtures, t *vegeta.Target) error {
			a, _ := pick(fx)
			t.Method, t.URL, t.Header = http.MethodGet, base+"/api/v1/contacts?limit=50", auth(a.key)
			return nil
		}},
		{name: "create", label: "POST /api/v1/contacts", bare: true, target: func(base string, fx *fixtures, t *vegeta.Target) error {
			a, _ := pick(fx)
			t.Method, t.URL, t.Header = http.MethodPost, base+"/api/v1/contacts", auth(a.key)
			t.Body = []byte(`{"givenName":"Grace","familyName":"Hopper","company":"Navy","emails":[{"value":"grace@example.com","label":"work"}],"tags":["bench"]}`)
			return nil
		}},
		{name: "patch", label: "PATCH /api/v1/contacts/{id}", bare: true, target: func(base string, fx *fixtures, t *vegeta.Target) error {
			a, id := pick(fx)
			t.Method, t.URL, t.Header = http.MethodPatch, base+"/api/v1/contacts/"+id, auth(a.key)
			// A new value every time: a PATCH that changes nothing writes nothing.
			t.Body = []byte(`{"jobTitle":"Engineer ` + strconv.FormatUint(rand.Uint64(), 36) + `"}`)
			return nil
		}},
		{name: "list100k", label: "GET /api/v1/contacts?limit=50 (100k account)", target: func(base string, fx *fixtures, t *vegeta.Target) error {
			t.Method, t.URL, t.Header = http.MethodGet, base+"/api/v1/contacts?limit=50", auth(fx.big.key)
			return nil
		}},
		// Remy runs at most two exports at once per process (503 beyond).
		{name: "export", label: "GET /api/v1/export (100k account, JSON)", concurrency: 2, rows: bigContacts,
			target: func(base string, fx *fixtures, t *vegeta.Target) error {
				t.Method, t.URL, t.Header = http.MethodGet, base+"/api/v1/export", auth(fx.big.key)
				return nil
			}},
	}
}

// side is what one server did in one scenario, over all its rounds.
type side struct {
	ok, total  int
	seconds    float64
	latencies  []time.Duration
	codes      map[uint16]int
	firstError string
	mallocs    float64 // Remy only: go_memstats_mallocs_total growth
}

func (s *side) rps() float64 { return float64(s.ok) / s.seconds }

func (s *side) pct(p float64) time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	i := int(float64(len(s.latencies)-1) * p)
	return s.latencies[i]
}

type result struct {
	sc               scenario
	remy, base, bare side
}

// server is one of the servers measured, with its database's fixtures.
type server struct {
	url string
	fx  *fixtures
}

func measure(ctx context.Context, o options, sc scenario, remy, base, bare server) (result, error) {
	c := o.concurrency
	if sc.concurrency > 0 {
		c = sc.concurrency
	}
	newAttacker := func() *vegeta.Attacker {
		return vegeta.NewAttacker(vegeta.Workers(uint64(c)), vegeta.MaxWorkers(uint64(c)),
			vegeta.Connections(c), vegeta.MaxConnections(c), vegeta.MaxBody(0), vegeta.Timeout(time.Minute),
			vegeta.KeepAlive(true))
	}
	res := result{sc: sc}
	res.remy.codes, res.base.codes, res.bare.codes = map[uint16]int{}, map[uint16]int{}, map[uint16]int{}
	servers := []struct {
		server
		s *side
	}{{remy, &res.remy}, {base, &res.base}}
	if sc.bare {
		servers = append(servers, struct {
			server
			s *side
		}{bare, &res.bare})
	}

	// An Attacker cannot be reused: it stops for good at its first end.
	attack := func(sv server, d time.Duration, s *side) {
		a := newAttacker()
		target := func(t *vegeta.Target) error { return sc.target(sv.url, sv.fx, t) }
		// Rate 0 with MaxWorkers: each worker sends its next request as soon
		// as the previous one is answered, so the concurrency is fixed.
		start := time.Now()
		for r := range a.Attack(target, vegeta.Rate{}, d, sc.name) {
			if s == nil {
				continue
			}
			s.total++
			s.codes[r.Code]++
			if r.Error == "" && r.Code >= 200 && r.Code < 300 {
				s.ok++
				s.latencies = append(s.latencies, r.Latency)
			} else if s.firstError == "" {
				s.firstError = fmt.Sprintf("%d %s", r.Code, r.Error)
			}
		}
		if s != nil {
			s.seconds += time.Since(start).Seconds()
		}
	}
	for _, sv := range servers {
		if o.warmup > 0 {
			attack(sv.server, o.warmup, nil)
		}
	}
	for range o.rounds {
		for i, sv := range servers {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			runtime.GC() // our own garbage is not the next server's noise
			var before float64
			if i == 0 {
				before = scrapeMallocs(remy.url)
			}
			attack(sv.server, o.duration, sv.s)
			if i == 0 {
				sv.s.mallocs += scrapeMallocs(remy.url) - before
			}
		}
	}
	for _, sv := range servers {
		s := sv.s
		slices.Sort(s.latencies)
		if s.ok == 0 {
			return res, fmt.Errorf("no successful request: %v, first error %s", s.codes, s.firstError)
		}
	}
	return res, nil
}

// scrapeMallocs reads the Go runtime's cumulative allocation count from
// Remy's /metrics.
func scrapeMallocs(base string) float64 {
	res, err := http.Get(base + "/metrics")
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_mallocs_total "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}

func printTable(w io.Writer, o options, results []result) {
	fmt.Fprintf(w, "\n%d connections (export: 2), %d rounds × %s per server and scenario, interleaved Remy / baseline / bare; %d CPUs\n\n",
		o.concurrency, o.rounds, o.duration, runtime.NumCPU())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tRemy req/s\tbaseline req/s\tratio\tbare req/s\tratio to bare\tRemy p50 ms\tRemy p99 ms\tbase p50 ms\tbase p99 ms\tp99 ratio\tRemy allocs/req\t")
	for _, r := range results {
		rr, br := r.remy.rps(), r.base.rps()
		bare, bareRatio := "", ""
		if r.sc.bare {
			bare, bareRatio = fmt.Sprintf("%.0f", r.bare.rps()), fmt.Sprintf("%.2f", rr/r.bare.rps())
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%.0f\t\n", r.sc.label, rr, br, rr/br, bare, bareRatio,
			ms(r.remy.pct(.5)), ms(r.remy.pct(.99)), ms(r.base.pct(.5)), ms(r.base.pct(.99)),
			float64(r.remy.pct(.99))/float64(r.base.pct(.99)), r.remy.mallocs/float64(r.remy.total))
	}
	_ = tw.Flush()
	for _, r := range results {
		if r.sc.rows > 0 {
			fmt.Fprintf(w, "%s: Remy %.0f rows/s, baseline %.0f rows/s\n", r.sc.name, r.remy.rps()*float64(r.sc.rows), r.base.rps()*float64(r.sc.rows))
		}
		if r.sc.name == "list100k" {
			fmt.Fprintf(w, "list100k: Remy p95 %s ms (target < 20 ms)\n", ms(r.remy.pct(.95)))
		}
		for _, s := range []struct {
			n string
			s side
		}{{"Remy", r.remy}, {"baseline", r.base}, {"bare", r.bare}} {
			if s.s.ok != s.s.total {
				fmt.Fprintf(w, "%s %s: %d of %d failed, statuses %v, first: %s\n", r.sc.name, s.n, s.s.total-s.s.ok, s.s.total, s.s.codes, s.s.firstError)
			}
		}
	}
	fmt.Fprintln(w, "\nbaseline: net/http + pgx on Remy's schema (same indexes and triggers); bare: the same server on bare tables (contacts with its primary key and list index only, no triggers).")
	fmt.Fprintln(w, "allocs/req: growth of go_memstats_mallocs_total on Remy's /metrics over its rounds ÷ requests (includes the process's background work).")
}
