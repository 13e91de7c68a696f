package tests

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/remy-crm/remy/model"
	"github.com/remy-crm/remy/repo"
)

// BenchmarkContactSearch measures the contact list's filters and sorts over
// HTTP on an account of 100,000 contacts (beside another account of as
// many, which a search must not pay for), for each book of searchShapes, in
// the states a new user meets:
//
//   - bulk, right after: the account's contacts arrive as an import writes
//     them (one transaction, 100 INSERTs of 1,000 rows), then
//     ContactRepo.AfterBulkWrite, as the import calls it;
//   - API, right after: the same contacts POSTed one by one (8 clients),
//     autovacuum running as it does;
//   - steady: after autovacuum's own visit to the bulk-loaded table.
//
// "Right after" is held still while it is measured: autovacuum is switched
// off for contacts the moment the load ends, and back on for the steady
// state. Each scenario is sampled sequentially (one client) after a
// warm-up, and the p50/p95 tables go to stdout, followed by the EXPLAIN
// (ANALYZE, BUFFERS) of the exact statement the server sent in the steady
// state. "count ms" is the time that plan spent on the total.
//
//	go tool task bench:search   (a testcontainers postgres:17 with its default configuration)
//
// SEARCH_BENCH_CONTACTS (100000), SEARCH_BENCH_SHAPES (synthetic,ordinary),
// SEARCH_BENCH_PATHS (bulk,api), SEARCH_BENCH_SAMPLES (100) make a run
// shorter; SEARCH_BENCH_NOHOOK=1 also measures the bulk state before
// AfterBulkWrite, SEARCH_BENCH_PLANS=all prints the fresh states' plans.
func BenchmarkContactSearch(b *testing.B) {
	cfg := searchBenchConfig(b)
	for _, shape := range cfg.shapes {
		runSearchShape(b, cfg, shape)
	}
}

type searchBenchCfg struct {
	contacts, samples int
	shapes            []searchShape
	paths             []string
	noHook, allPlans  bool
	autovacuumWait    time.Duration
}

func searchBenchConfig(b *testing.B) searchBenchCfg {
	cfg := searchBenchCfg{contacts: 100_000, samples: 100, paths: []string{"bulk", "api"}, autovacuumWait: 5 * time.Minute,
		noHook: os.Getenv("SEARCH_BENCH_NOHOOK") == "1", allPlans: os.Getenv("SEARCH_BENCH_PLANS") == "all"}
	for name, dst := range map[string]*int{"SEARCH_BENCH_CONTACTS": &cfg.contacts, "SEARCH_BENCH_SAMPLES": &cfg.samples} {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				b.Fatalf("%s: not a positive number: %q", name, v)
			}
			*dst = n
		}
	}
	if v := os.Getenv("SEARCH_BENCH_PATHS"); v != "" {
		cfg.paths = strings.Split(v, ",")
	}
	want := strings.Split(os.Getenv("SEARCH_BENCH_SHAPES"), ",")
	for _, sh := range searchShapes {
		if want[0] == "" || slices.Contains(want, sh.name) {
			cfg.shapes = append(cfg.shapes, sh)
		}
	}
	return cfg
}

// searchScenario is one list request; fresh ones are measured in every
// state, the others in the steady state only.
type searchScenario struct {
	name, query string
	fresh       bool
}

// searchResult is a scenario's numbers in each state measured.
type searchResult struct {
	searchScenario
	total    int
	lat      map[string][2]time.Duration // state → p50, p95
	counted  map[string][2]time.Duration // the same, every total counted
	countMS  float64
	plan     string
	freshPln map[string]string
}

const (
	stateNoHook = "bulk, before AfterBulkWrite"
	stateBulk   = "bulk, right after"
	stateAPI    = "API, right after"
	stateSteady = "steady"
)

func runSearchShape(b *testing.B, cfg searchBenchCfg, shape searchShape) {
	ctx := context.Background()
	base := newDatabase(b)
	db, err := repo.Open(ctx, base)
	if err != nil {
		b.Fatal(err)
	}
	store := repo.NewStore(db)
	other, a := storeTenant(b, store), storeTenant(b, store)
	start := time.Now()
	otherBook, err := bookOf(shape, 2, other.Account.ID, cfg.contacts)
	if err != nil {
		b.Fatal(err)
	}
	if err := bulkInsert(ctx, db, otherBook); err != nil {
		b.Fatal(err)
	}
	// The other account is an old one: autovacuum has long been there.
	if _, err := db.ExecContext(ctx, "VACUUM (ANALYZE) contacts"); err != nil {
		b.Fatal(err)
	}
	_ = db.Close()
	notes := []string{fmt.Sprintf("the other account: %d contacts, bulk-loaded and vacuumed in %v", cfg.contacts, time.Since(start).Round(time.Second))}

	book, err := bookOf(shape, 1, a.Account.ID, cfg.contacts)
	if err != nil {
		b.Fatal(err)
	}
	scenarios := searchScenarios(shape, book)
	results := make([]*searchResult, len(scenarios))
	for i, sc := range scenarios {
		results[i] = &searchResult{searchScenario: sc, lat: map[string][2]time.Duration{},
			counted: map[string][2]time.Duration{}, freshPln: map[string]string{}}
	}
	var states []string
	for _, path := range cfg.paths {
		s := startServer(b, cloneDatabase(b, base), serverOptions{timed: true})
		switch path {
		case "bulk":
			start := time.Now()
			if err := bulkInsert(ctx, s.Store.DB, book); err != nil {
				b.Fatal(err)
			}
			loaded := time.Since(start)
			holdAutovacuum(b, s.Store.DB, true)
			if cfg.noHook {
				measureSearch(b, s, a, results, stateNoHook, true, cfg)
				states = append(states, stateNoHook)
			}
			start = time.Now()
			if err := s.Store.Contacts.AfterBulkWrite(ctx, a.Account.ID, len(book)); err != nil {
				b.Fatal(err)
			}
			notes = append(notes, fmt.Sprintf("bulk: %d contacts in %d statements in %v, then AfterBulkWrite in %v",
				len(book), (len(book)+bulkBatch-1)/bulkBatch, loaded.Round(100*time.Millisecond), time.Since(start).Round(time.Millisecond)))
			measureSearch(b, s, a, results, stateBulk, true, cfg)
			states = append(states, stateBulk)
			released := time.Now()
			holdAutovacuum(b, s.Store.DB, false)
			how := awaitAutovacuum(b, s.Store.DB, released, cfg.autovacuumWait)
			notes = append(notes, "steady: "+how)
			measureSearch(b, s, a, results, stateSteady, false, cfg)
			states = append(states, stateSteady)
		case "api":
			start := time.Now()
			postBook(b, s, a.Key, book, 8)
			elapsed := time.Since(start)
			holdAutovacuum(b, s.Store.DB, true)
			var av, aa int
			if err := s.Store.DB.QueryRowContext(ctx, `SELECT autovacuum_count, autoanalyze_count FROM pg_stat_user_tables
				WHERE relname = 'contacts'`).Scan(&av, &aa); err != nil {
				b.Fatal(err)
			}
			notes = append(notes, fmt.Sprintf("API: %d POSTs (8 clients) in %v, %.0f/s; autovacuum visited contacts %d times and analyzed it %d times meanwhile",
				len(book), elapsed.Round(time.Second), float64(len(book))/elapsed.Seconds(), av, aa))
			measureSearch(b, s, a, results, stateAPI, true, cfg)
			states = append(states, stateAPI)
		default:
			b.Fatalf("SEARCH_BENCH_PATHS: unknown path %q (bulk, api)", path)
		}
	}
	printSearchTable(os.Stdout, cfg, shape, states, results, notes)
}

// storeTenant is a tenant made through the store alone (no server yet).
func storeTenant(b *testing.B, store *repo.Store) tenant {
	ctx := context.Background()
	acc, err := store.Accounts.Create(ctx, "user-"+uuid.NewString()[:8]+"@example.com", "Bench")
	if err != nil {
		b.Fatal(err)
	}
	secret, k, err := store.Keys.Create(ctx, acc.ID, "bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	return tenant{Account: acc, Key: secret, KeyID: k.ID}
}

// cloneDatabase copies database from (whose DSN it is) for one benchmark
// state, dropped at the end.
func cloneDatabase(b *testing.B, from string) string {
	u, err := url.Parse(from)
	if err != nil {
		b.Fatal(err)
	}
	name := "remy_c_" + strings.ToLower(rand.Text()[:12])
	if err := adminExec(context.Background(), fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, strings.TrimPrefix(u.Path, "/"))); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { dropDatabase(name) })
	return dsnFor(name)
}

// holdAutovacuum keeps autovacuum away from contacts (on) or lets it come
// back (off), so that a state is measured as it was when the load ended.
func holdAutovacuum(b *testing.B, db *bun.DB, on bool) {
	stmt := "ALTER TABLE contacts RESET (autovacuum_enabled)"
	if on {
		stmt = "ALTER TABLE contacts SET (autovacuum_enabled = false)"
	}
	if _, err := db.ExecContext(context.Background(), stmt); err != nil {
		b.Fatal(err)
	}
}

// awaitAutovacuum waits for autovacuum's first visit to contacts after
// since; after wait, it vacuums by hand instead, and says which it was.
func awaitAutovacuum(b *testing.B, db *bun.DB, since time.Time, wait time.Duration) string {
	ctx := context.Background()
	for deadline := since.Add(wait); time.Now().Before(deadline); time.Sleep(time.Second) {
		var last *time.Time
		if err := db.QueryRowContext(ctx, "SELECT last_autovacuum FROM pg_stat_user_tables WHERE relname = 'contacts'").Scan(&last); err != nil {
			b.Fatal(err)
		}
		if last != nil && last.After(since) {
			return fmt.Sprintf("autovacuum's visit came %v after it was let back", last.Sub(since).Round(time.Second)) +
				awaitAutovacuumIdle(b, db)
		}
	}
	if _, err := db.ExecContext(ctx, "VACUUM (ANALYZE) contacts"); err != nil {
		b.Fatal(err)
	}
	return fmt.Sprintf("autovacuum had not come in %v: VACUUM (ANALYZE) by hand", wait)
}

// awaitAutovacuumIdle waits (at most a minute) until no autovacuum worker
// is busy, so that the steady state is measured once autovacuum has
// finished its round (an ANALYZE, other tables), not while it takes a CPU.
func awaitAutovacuumIdle(b *testing.B, db *bun.DB) string {
	start := time.Now()
	for time.Since(start) < time.Minute {
		var busy int
		if err := db.QueryRowContext(context.Background(),
			"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'").Scan(&busy); err != nil {
			b.Fatal(err)
		}
		if busy == 0 {
			return fmt.Sprintf("; its workers were idle %v later", time.Since(start).Round(time.Second))
		}
		time.Sleep(200 * time.Millisecond)
	}
	return "; its workers were still busy a minute later"
}

// postBook creates book's contacts through the API, one POST each, from
// clients goroutines.
func postBook(b *testing.B, s *testServer, key string, book []model.Contact, clients int) {
	next := make(chan int)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	defer hc.CloseIdleConnections()
	c := client{URL: s.URL, HTTP: hc}
	for range clients {
		wg.Go(func() {
			for i := range next {
				res, err := c.send(http.MethodPost, "/api/v1/contacts", key, contactBody(&book[i]))
				if err == nil && res.Status != http.StatusCreated {
					err = fmt.Errorf("POST: %d %s", res.Status, res.Body)
				}
				if err != nil {
					errs <- err
					for range next { // drain
					}
					return
				}
			}
		})
	}
	for i := range book {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

// contactBody is c as a POST body (the fields a client sets).
func contactBody(c *model.Contact) map[string]any {
	body := map[string]any{"emails": c.Emails, "phones": c.Phones, "tags": c.Tags}
	for k, v := range map[string]*string{"givenName": c.GivenName, "familyName": c.FamilyName, "nickname": c.Nickname,
		"company": c.Company, "jobTitle": c.JobTitle} {
		if v != nil {
			body[k] = *v
		}
	}
	return body
}

// searchScenarios are the requests measured over book. The synthetic book
// keeps the previous rounds' terms; the ordinary one's are found in its
// contacts: the 3-letter and 2-letter terms that match closest to 10 % and
// 30 % of them, its most common tags, one contact's email.
func searchScenarios(shape searchShape, book []model.Contact) []searchScenario {
	sel, three, two, tag1, tag2, acc, one := "lefevre31", "son", "an", "vip", "golf", "josé", "e"
	twoTerms := "grace navy"
	if shape.name != "synthetic" {
		sel = book[len(book)/2].Emails[0].Value
		three, two = commonTerm(book, 3, 0.10), commonTerm(book, 2, 0.30)
		tags := commonTags(book)
		tag1, tag2 = tags[0], tags[1]
		twoTerms = three + " " + commonTerm(book, 3, 0.05)
	}
	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	return []searchScenario{
		{"unfiltered, default sort", "", true},
		{"q selective (" + sel + ")", q("q", sel), true},
		{"q 3 letters (" + three + ")", q("q", three), true},
		{"q 2 letters (" + two + ")", q("q", two), true},
		{"tag (" + tag1 + ")", q("tag", tag1), true},
		{"tag + q (" + tag1 + ", " + three + ")", q("tag", tag1, "q", three), true},
		{"two tags (" + tag1 + ", " + tag2 + ")", q("tag", tag1, "tag", tag2), true},
		{"unfiltered, sort=familyName", q("sort", "familyName"), false},
		{"unfiltered, sort=-familyName", q("sort", "-familyName"), false},
		{"unfiltered, sort=-company", q("sort", "-company"), false},
		{"q two terms (" + twoTerms + ")", q("q", twoTerms), false},
		{"q accented (" + acc + ")", q("q", acc), false},
		{"q 1 letter (" + one + ")", q("q", one), false},
		{"updatedSince (recent)", "updatedSince=RECENT", false},
		{"q=" + three + ", sort=familyName", q("q", three, "sort", "familyName"), false},
		{"q=" + two + ", sort=-familyName", q("q", two, "sort", "-familyName"), false},
		{"q=" + three + ", offset=1000", q("q", three, "offset", "1000"), false},
		{"GET /api/v1/tags", "/api/v1/tags", false},
	}
}

// searchText is roughly the _search column of c (accents folded as NFD
// does, which unaccent mostly agrees with): enough to pick terms.
func searchText(c *model.Contact) string {
	parts := []string{}
	for _, p := range []*string{c.GivenName, c.FamilyName, c.Nickname, c.Company} {
		if p != nil {
			parts = append(parts, *p)
		}
	}
	for _, e := range c.Emails {
		parts = append(parts, e.Value)
	}
	var b strings.Builder
	for _, r := range strings.Join(parts, " ") {
		if f := asciiFold(string(r)); f != "" {
			b.WriteString(f)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// commonTerm is the n-letter term (a–z only) whose share of book's
// contacts is closest to share.
func commonTerm(book []model.Contact, n int, share float64) string {
	counts := map[string]int{}
	for i := range book {
		seen := map[string]bool{}
		r := []rune(searchText(&book[i]))
		for j := 0; j+n <= len(r); j++ {
			t := string(r[j : j+n])
			if !seen[t] && strings.Trim(t, "abcdefghijklmnopqrstuvwxyz") == "" {
				seen[t] = true
				counts[t]++
			}
		}
	}
	best, bestGap := "", 2.0
	for t, c := range counts {
		gap := float64(c)/float64(len(book)) - share
		if gap < 0 {
			gap = -gap
		}
		if gap < bestGap || gap == bestGap && t < best {
			best, bestGap = t, gap
		}
	}
	return best
}

// commonTags are book's tags, most carried first.
func commonTags(book []model.Contact) []string {
	counts := map[string]int{}
	for i := range book {
		for _, t := range book[i].Tags {
			counts[t]++
		}
	}
	tags := make([]string, 0, len(counts))
	for t := range counts {
		tags = append(tags, t)
	}
	slices.SortFunc(tags, func(x, y string) int {
		if counts[x] != counts[y] {
			return counts[y] - counts[x]
		}
		return strings.Compare(x, y)
	})
	return tags
}

// measureSearch samples every scenario of the state (only the fresh ones
// unless it is the steady state) and, in the steady state (or every state
// with SEARCH_BENCH_PLANS=all), explains the statement each one sends.
// Each state is sampled on two new servers over s's database: one as
// deployed, which counts a filter's total once and then remembers it
// while the account is not written (repo/totals.go), and one that counts
// every total.
func measureSearch(b *testing.B, s *testServer, a tenant, results []*searchResult, state string, freshOnly bool, cfg searchBenchCfg) {
	remembering := startServer(b, s.DSN, serverOptions{timed: true})
	counting := startServer(b, s.DSN, serverOptions{timed: true, countEvery: true})
	for _, r := range results {
		if freshOnly && !r.fresh {
			continue
		}
		query, path := r.query, r.query
		if before, after, ok := strings.Cut(query, "RECENT"); ok { // recentUpdate queries the database: only when asked for
			query = before + url.QueryEscape(recentUpdate(b, s.Store.DB, a.Account.ID)) + after
		}
		if !strings.HasPrefix(path, "/") {
			path = "/api/v1/contacts?limit=50"
			if query != "" {
				path += "&" + query
			}
		}
		p50, p95, total := sampleLatency(b, remembering, a.Key, path, 10, cfg.samples)
		r.lat[state], r.total = [2]time.Duration{p50, p95}, total
		p50, p95, _ = sampleLatency(b, counting, a.Key, path, 10, cfg.samples)
		r.counted[state] = [2]time.Duration{p50, p95}
		if (state == stateSteady || cfg.allPlans) && !strings.HasPrefix(r.query, "/") {
			plan, countMS := explainList(b, s, a.Account.ID, query)
			if state == stateSteady {
				r.plan, r.countMS = plan, countMS
			} else {
				r.freshPln[state] = plan
			}
		}
	}
}

// recentUpdate is an updatedSince that about a thousandth of the account
// (the 100 most recently changed contacts of 100,000) passes.
func recentUpdate(b *testing.B, db *bun.DB, accountID uuid.UUID) string {
	var t time.Time
	err := db.QueryRowContext(context.Background(), `SELECT updated_at FROM contacts
		WHERE account_id = ? ORDER BY updated_at DESC OFFSET 100 LIMIT 1`, accountID).Scan(&t)
	if err != nil {
		b.Fatal(err)
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// explainList runs EXPLAIN (ANALYZE, BUFFERS) on the statement the server
// sends for query and returns the plan and the time of its InitPlans (the
// total), in milliseconds.
func explainList(b *testing.B, s *testServer, accountID uuid.UUID, query string) (string, float64) {
	stmt, args := repo.ContactListStatement(accountID, filterOf(b, query))
	plan, countMS := explain(b, s.Store.DB, stmt, args...)
	return stmt + "\n" + plan, countMS
}

// explain runs EXPLAIN (ANALYZE, BUFFERS) on stmt with its $n arguments and
// returns the text plan and the time of its InitPlans, in milliseconds.
func explain(b *testing.B, db *bun.DB, stmt string, args ...any) (string, float64) {
	ctx := context.Background()
	rows, err := db.DB.QueryContext(ctx, "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "+stmt, args...)
	if err != nil {
		b.Fatalf("explain: %v\n%s", err, stmt)
	}
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			b.Fatal(err)
		}
		lines = append(lines, line)
	}
	rows.Close()
	var js string
	if err := db.DB.QueryRowContext(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+stmt, args...).Scan(&js); err != nil {
		b.Fatal(err)
	}
	return strings.Join(lines, "\n"), initPlanMS(b, js)
}

// filterOf is the filter the API makes of query (as listContacts does).
func filterOf(b *testing.B, query string) model.ContactFilter {
	v, err := url.ParseQuery(query)
	if err != nil {
		b.Fatal(err)
	}
	f := model.ContactFilter{ListParams: model.ListParams{Limit: 50}, Sort: model.DefaultContactSort}
	f.Offset, _ = strconv.Atoi(v.Get("offset"))
	if f.Terms, err = model.SearchTerms("q", v.Get("q")); err != nil {
		b.Fatal(err)
	}
	if f.Tags, err = model.NormalizeTags("tag", v["tag"]); err != nil {
		b.Fatal(err)
	}
	if s := v.Get("sort"); s != "" {
		f.Sort, _ = model.ParseContactSort(s)
	}
	if s := v.Get("updatedSince"); s != "" {
		if f.UpdatedSince, err = time.Parse(time.RFC3339Nano, s); err != nil {
			b.Fatal(err)
		}
	}
	return f
}

// initPlanMS is the time a JSON plan spent in its InitPlans.
func initPlanMS(b *testing.B, js string) float64 {
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
	var total float64
	var walk func(n node)
	walk = func(n node) {
		if n.Relationship == "InitPlan" {
			total += n.Time * n.Loops
			return
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(doc[0].Plan)
	return total
}

func printSearchTable(w io.Writer, cfg searchBenchCfg, shape searchShape, states []string, results []*searchResult, notes []string) {
	fmt.Fprintf(w, "\nContact list, book %q (%s): %d contacts in the account (+%d in another), limit=50, p50 / p95 ms of %d sequential requests over HTTP"+
		" (\"counted\": on a server that counts every total instead of remembering it).\n\n",
		shape.name, shape.about, cfg.contacts, cfg.contacts, cfg.samples)
	fmt.Fprint(w, "| scenario | total |")
	for _, st := range states {
		fmt.Fprintf(w, " %s |", st)
	}
	for _, st := range states {
		fmt.Fprintf(w, " %s, counted |", st)
	}
	fmt.Fprint(w, " count ms (steady plan) |\n|---|---:|")
	for range 2 * len(states) {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w, "---:|")
	for _, r := range results {
		fmt.Fprintf(w, "| %s | %d |", r.name, r.total)
		for _, lat := range []map[string][2]time.Duration{r.lat, r.counted} {
			for _, st := range states {
				if l, ok := lat[st]; ok {
					fmt.Fprintf(w, " %.1f / %.1f |", ms(l[0]), ms(l[1]))
				} else {
					fmt.Fprint(w, " |")
				}
			}
		}
		fmt.Fprintf(w, " %.1f |\n", r.countMS)
	}
	fmt.Fprintln(w)
	for _, n := range notes {
		fmt.Fprintln(w, "- "+n)
	}
	fmt.Fprintln(w)
	for _, r := range results {
		for st, plan := range r.freshPln {
			fmt.Fprintf(w, "---- %s [%s]\n%s\n", r.name, st, plan)
		}
		if r.plan != "" {
			fmt.Fprintf(w, "---- %s [steady]\n%s\n", r.name, r.plan)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// sampleLatency GETs path warm times, then n times, and returns the p50 and
// p95 of the n and the body's total.
func sampleLatency(b *testing.B, s *testServer, key, path string, warm, n int) (p50, p95 time.Duration, total int) {
	b.Helper()
	client := &http.Client{}
	defer client.CloseIdleConnections()
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
