package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"
)

// searchBenchContacts is the size of each of the two benchmark accounts.
const searchBenchContacts = 100_000

// BenchmarkContactSearch measures the contact list's filters and sorts over
// HTTP on an account of 100,000 contacts, beside another account of
// 100,000 with the same kind of data (a search must not pay for it). Each
// scenario is sampled sequentially (one client), after a warm-up, and the
// table of p50/p95 goes to stdout, followed by the EXPLAIN (ANALYZE,
// BUFFERS) of the exact statement the server sent. "count ms" is the time
// the plan spent computing the total (the InitPlan), the cost of an exact
// total over the filter.
//
//	go tool task bench:search     (or: go test ./tests -run '^$' -bench ContactSearch -benchtime 1x)
//
// Numbers are only meaningful relative to the machine's load: on a shared
// 2-core box, run it twice and believe the better run.
func BenchmarkContactSearch(b *testing.B) {
	s := newServer(b)
	a, other := s.newTenant(b), s.newTenant(b)
	start := time.Now()
	ctx := context.Background()
	// Building the secondary indexes once after the rows go in is several
	// times faster than maintaining them row by row; their definitions are
	// read back from the migrated schema, so they are the migration's.
	var indexes []struct{ Name, Def string }
	err := s.Store.DB.NewRaw(`SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS def
		FROM pg_index WHERE indrelid = 'contacts'::regclass AND NOT indisprimary AND NOT indisunique`).Scan(ctx, &indexes)
	if err != nil {
		b.Fatal(err)
	}
	for _, ix := range indexes {
		if _, err := s.Store.DB.ExecContext(ctx, "DROP INDEX "+ix.Name); err != nil {
			b.Fatal(err)
		}
	}
	for _, t := range []tenant{other, a} {
		if _, err := s.Store.DB.ExecContext(ctx, searchSeedSQL, t.Account.ID, searchBenchContacts); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	for _, ix := range indexes {
		if _, err := s.Store.DB.ExecContext(ctx, ix.Def); err != nil {
			b.Fatal(err)
		}
	}
	// The steady state of a table autovacuum has visited: statistics and the
	// visibility map (index-only counts) current.
	if _, err := s.Store.DB.ExecContext(ctx, "VACUUM (ANALYZE) contacts"); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded 2 x %d contacts in %v", searchBenchContacts, time.Since(start).Round(time.Millisecond))

	hook := &lastListQuery{}
	//lint:ignore SA1019 the server's handle exists already; WithQueryHook makes a new one
	s.Store.DB.AddQueryHook(hook)

	since := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 165).Format(time.RFC3339)
	scenarios := []struct{ name, query string }{
		{"unfiltered, default sort", ""},
		{"unfiltered, sort=familyName", "sort=familyName"},
		{"unfiltered, sort=-company", "sort=-company"},
		{"q selective (lefevre31)", "q=lefevre31"},
		{"q common 3 letters (son)", "q=son"},
		{"q 2 letters (an)", "q=an"},
		{"q two terms (grace navy)", "q=grace+navy"},
		{"q accented (josé)", "q=jos%C3%A9"},
		{"tag=vip", "tag=vip"},
		{"tag=vip&tag=golf", "tag=vip&tag=golf"},
		{"tag=vip + q=son", "tag=vip&q=son"},
		{"updatedSince (recent)", "updatedSince=" + url.QueryEscape(since)},
		{"q=son, sort=familyName", "q=son&sort=familyName"},
		{"q=an, sort=-familyName", "q=an&sort=-familyName"},
		{"q=son, offset=1000", "q=son&offset=1000"},
	}
	type result struct {
		name       string
		total      int
		p50, p95   time.Duration
		countMS    float64
		plan, stmt string
	}
	var results []result
	for _, sc := range scenarios {
		path := "/api/v1/contacts?limit=50"
		if sc.query != "" {
			path += "&" + sc.query
		}
		r := result{name: sc.name}
		b.Run(sc.name, func(b *testing.B) {
			for b.Loop() {
				r.p50, r.p95, r.total = sampleLatency(b, s, a.Key, path, 10, 100)
			}
			b.ReportMetric(float64(r.p95.Microseconds())/1000, "p95-ms")
		})
		r.stmt = hook.get()
		r.plan, r.countMS = explain(b, s.Store.DB, r.stmt)
		results = append(results, r)
	}
	// The tag list, for the record (not a search scenario).
	tags := result{name: "GET /api/v1/tags"}
	b.Run("tags", func(b *testing.B) {
		for b.Loop() {
			tags.p50, tags.p95, tags.total = sampleLatency(b, s, a.Key, "/api/v1/tags", 5, 50)
		}
	})
	tags.stmt = hook.get()
	tags.plan, _ = explain(b, s.Store.DB, tags.stmt)
	results = append(results, tags)

	w := os.Stdout
	fmt.Fprintf(w, "\nContact list, %d contacts in the account (+%d in another), limit=50, sequential requests over HTTP:\n\n", searchBenchContacts, searchBenchContacts)
	fmt.Fprintf(w, "| scenario | total | p50 ms | p95 ms | count ms (in plan) |\n|---|---:|---:|---:|---:|\n")
	for _, r := range results {
		fmt.Fprintf(w, "| %s | %d | %.1f | %.1f | %.1f |\n", r.name, r.total, ms(r.p50), ms(r.p95), r.countMS)
	}
	fmt.Fprintln(w)
	for _, r := range results {
		fmt.Fprintf(w, "---- %s\n%s\n%s\n", r.name, r.stmt, r.plan)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// sampleLatency GETs path warm times, then n times, and returns the p50 and
// p95 of the n and the body's total.
func sampleLatency(b *testing.B, s *testServer, key, path string, warm, n int) (p50, p95 time.Duration, total int) {
	b.Helper()
	client := &http.Client{}
	var lat []time.Duration
	for i := range warm + n {
		req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		t0 := time.Now()
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		d := time.Since(t0)
		if err != nil || res.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d %v %s", path, res.StatusCode, err, body)
		}
		if i >= warm {
			lat = append(lat, d)
		}
		if i == 0 {
			var v struct{ Total int }
			if err := json.Unmarshal(body, &v); err != nil {
				b.Fatal(err)
			}
			total = v.Total
		}
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[(len(lat)*95+99)/100-1], total
}

// explain runs EXPLAIN (ANALYZE, BUFFERS) on stmt and returns the text plan
// and the time of its InitPlans (the total), in milliseconds.
func explain(b *testing.B, db *bun.DB, stmt string) (string, float64) {
	b.Helper()
	ctx := context.Background()
	var lines []string
	rows, err := db.QueryContext(ctx, "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "+stmt)
	if err != nil {
		b.Fatalf("explain: %v\n%s", err, stmt)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			b.Fatal(err)
		}
		lines = append(lines, line)
	}
	rows.Close()
	var js string
	if err := db.QueryRowContext(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+stmt).Scan(&js); err != nil {
		b.Fatal(err)
	}
	type node struct {
		Relationship string  `json:"Parent Relationship"`
		Time         float64 `json:"Actual Total Time"`
		Loops        float64 `json:"Actual Loops"`
		Plans        []node  `json:"Plans"`
	}
	var doc []struct{ Plan node }
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		b.Fatal(err)
	}
	var initPlans float64
	var walk func(n node)
	walk = func(n node) {
		if n.Relationship == "InitPlan" {
			initPlans += n.Time * n.Loops
			return
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(doc[0].Plan)
	return strings.Join(lines, "\n"), initPlans
}

// lastListQuery remembers the last list statement the server sent.
type lastListQuery struct {
	mu   sync.Mutex
	last string
}

func (h *lastListQuery) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (h *lastListQuery) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	if (strings.HasPrefix(e.Query, "SELECT") || strings.HasPrefix(e.Query, "WITH")) && (strings.Contains(e.Query, `"contacts" AS "c"`) || strings.Contains(e.Query, "tag_counts")) {
		h.mu.Lock()
		h.last = e.Query
		h.mu.Unlock()
	}
}

func (h *lastListQuery) get() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

// searchSeedSQL inserts $2 contacts into account $1 in one statement:
// 80 given and 60 family names (some accented, some missing), 20 companies
// (a third missing), one email each (unique by a number), a nickname on one
// in seven, 0–12 of 12 tags (each on about one in eight), and creation one
// minute apart, with updatedAt 0–99 days later.
const searchSeedSQL = `
INSERT INTO contacts (account_id, given_name, family_name, nickname, company, emails, tags, created_at, updated_at)
SELECT ?0, g, f,
  CASE WHEN i % 7 = 0 THEN 'Nick' || (i % 500) END,
  CASE WHEN i % 3 <> 0 THEN co END,
  jsonb_build_array(jsonb_build_object('value', lower(coalesce(remy_unaccent(g), 'x')) || '.' || lower(replace(coalesce(remy_unaccent(f), 'y'), ' ', '')) || i || '@' || d, 'label', 'work')),
  ARRAY(SELECT t FROM unnest(ARRAY['vip','friends','family','work','crypto','admiral','london','paris','golf','investor','press','school']) WITH ORDINALITY u(t, k) WHERE abs(hashint4(i * 13 + k::int)) % 8 = 0),
  ts, ts + ((i % 100) || ' days')::interval
FROM generate_series(1, ?1) i
CROSS JOIN LATERAL (SELECT
  CASE WHEN i % 25 = 0 THEN NULL ELSE (ARRAY['Grace','Ada','José','Zoë','Mary','John','James','Robert','Linda','Patricia','Michael','William','Elizabeth','David','Richard','Joseph','Thomas','Charles','Christopher','Daniel','Matthew','Anthony','Mark','Donald','Steven','Paul','Andrew','Joshua','Kenneth','Kevin','Brian','George','Timothy','Ronald','Edward','Jason','Jeffrey','Ryan','Jacob','Gary','Nicholas','Eric','Jonathan','Stephen','Larry','Justin','Scott','Brandon','Benjamin','Samuel','Barbara','Susan','Jessica','Sarah','Karen','Nancy','Lisa','Betty','Margaret','Sandra','Ashley','Kimberly','Emily','Donna','Michelle','Dorothy','Carol','Amanda','Melissa','Deborah','François','Chloé','Renée','Søren','Björn','Ángel','Inés','Hannah','Olivia','Sophia'])[1 + abs(hashint4(i)) % 80] END AS g,
  CASE WHEN i % 20 = 0 THEN NULL ELSE (ARRAY['Smith','Johnson','Williams','Brown','Jones','Garcia','Miller','Davis','Rodriguez','Martinez','Hernandez','Lopez','Gonzalez','Wilson','Anderson','Thomas','Taylor','Moore','Jackson','Martin','Lee','Perez','Thompson','White','Harris','Sanchez','Clark','Ramirez','Lewis','Robinson','Walker','Young','Allen','King','Wright','Scott','Torres','Nguyen','Hill','Flores','Green','Adams','Nelson','Baker','Hall','Rivera','Campbell','Mitchell','Carter','Roberts','Müller','Núñez','Çelik','Dubois','Lefèvre','van der Berg','O''Brien','Kowalski','Novák','Søndergaard'])[1 + abs(hashint4(i * 7)) % 60] END AS f,
  (ARRAY['Acme','Globex','Initech','Umbrella','Hooli','Stark Industries','Wayne Enterprises','Wonka','Tyrell','Cyberdyne','Soylent','Massive Dynamic','Aperture','Vandelay','Pied Piper','Dunder Mifflin','Oceanic','Gringotts','Monsters Inc','Navy'])[1 + abs(hashint4(i * 11)) % 20] AS co,
  (ARRAY['example.com','navy.mil','mail.test','corp.test','uni.test'])[1 + abs(hashint4(i * 17)) % 5] AS d,
  timestamptz '2024-01-01' + (i || ' minutes')::interval AS ts) s`
