package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/remy-crm/remy/model"
	"github.com/remy-crm/remy/repo"
)

// Soak parameters: the numbers. REMY_SOAK_DURATION sets the length
// (`task test` runs 10 s, `task soak` 60 s).
const (
	soakDefaultRate = 200 // requests per second, both instances together
	soakKeys        = 50
	soakAccounts    = 10 // 5 keys each
)

// soakRate is REMY_SOAK_RATE, by default the 200 requests/s: a
// machine too small for that (or a container engine whose port forwarding
// slows every query) can run the same checks at a rate it sustains.
func soakRate(t testing.TB) int {
	t.Helper()
	v := os.Getenv("REMY_SOAK_RATE")
	if v == "" {
		return soakDefaultRate
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 10 || n > 10000 {
		t.Fatalf("REMY_SOAK_RATE=%q: want requests per second, 10 to 10000", v)
	}
	return n
}

// soakDuration is the run's length and the share of soakRate the load
// generator must have offered. The short default run inside `go test ./...`
// shares the machine with the rest of the suite (and here with other
// builds), so it asks for half the rate: its invariants still hold under
// whatever load it reaches. An explicit run (task soak) asks for 90 %.
func soakDuration(t testing.TB) (time.Duration, float64) {
	t.Helper()
	v := os.Getenv("REMY_SOAK_DURATION")
	if v == "" {
		return 10 * time.Second, 0.5
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 5*time.Second {
		t.Fatalf("REMY_SOAK_DURATION=%q: want a duration of at least 5s", v)
	}
	return d, 0.9
}

// serveInstance is one `remy serve` process of the soak.
type serveInstance struct {
	cmd   *exec.Cmd
	base  string
	debug string // REMY_DEBUG_ADDR's pprof listener
	logs  *syncBuffer
}

func startInstance(t *testing.T, dsn string, env ...string) *serveInstance {
	t.Helper()
	cmd, base, logs := startServeProcess(t, dsn, append(env, "REMY_DEBUG_ADDR=127.0.0.1:0")...)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	inst := &serveInstance{cmd: cmd, base: base, logs: logs}
	// The debug listener is announced before "serving", so it is logged by now.
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var e struct {
			Msg       string `json:"msg"`
			DebugAddr string `json:"debug_addr"`
		}
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Msg == "serving debug profiles" {
			inst.debug = "http://" + e.DebugAddr
		}
	}
	if inst.debug == "" {
		t.Fatalf("no debug listener in the log:\n%s", logs.String())
	}
	return inst
}

// rssKB is the process's resident set, from /proc.
func (p *serveInstance) rssKB() (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", p.cmd.Process.Pid)
}

// goroutines is the process's goroutine count, from its pprof endpoint.
func (p *serveInstance) goroutines() (int, error) {
	res, err := clientAt(p.debug).send(http.MethodGet, "/debug/pprof/goroutine?debug=1", "", nil)
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(res.Body), "\n")
	n, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutine profile: total ")
	if !ok {
		return 0, fmt.Errorf("unexpected goroutine profile: %q", line)
	}
	return strconv.Atoi(n)
}

// soakLedger is what the clients were told: the ground truth the database
// is checked against at the end.
type soakLedger struct {
	mu sync.Mutex
	// contacts by marker (the givenName): the id every 201 for it gave.
	contactIDs map[string]string
	// live contacts per account, for reads, updates, notes and deletes.
	live map[int][]string // account index -> markers
	// deleted contacts (a 200 DELETE).
	deleted map[string]bool
	// unsure holds what the client cannot know the outcome of (no answer,
	// or a 5xx, both failures of the run anyway): contact and note markers
	// whose create, and "del:"+marker whose delete, may or may not have
	// happened. The final check allows either for these and only these.
	unsure map[string]bool
	// notes by marker (the body): their contact's marker.
	notes   map[string]string
	noteIDs map[string]string
}

func (l *soakLedger) markUnsure(marker string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unsure[marker] = true
}

func (l *soakLedger) pick(acct int, r *rand.Rand) (marker, id string, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.live[acct]
	if len(m) == 0 {
		return "", "", false
	}
	marker = m[r.IntN(len(m))]
	return marker, l.contactIDs[marker], true
}

// soakStats counts outcomes; atomics, as every request goroutine adds.
type soakStats struct {
	sent, ok, status4xx, status429, status5xx, transport atomic.Int64
	unexpected                                           atomic.Int64
	mu                                                   sync.Mutex
	latencies                                            []time.Duration
	problems                                             []string
}

func (s *soakStats) problem(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.problems) < 20 {
		s.problems = append(s.problems, fmt.Sprintf(format, args...))
	}
}

// Two `remy serve` processes on one database and one Redis, 50 keys, 200
// mixed requests per second (creates with Idempotency-Key and retries of
// them on the other instance, reads, updates, notes, deletes, Activity Log
// reads): no 5xx and no transport error, every acknowledged resource in the
// database exactly once and nothing unacknowledged, resident memory and
// goroutine counts flat.
func TestSoak(t *testing.T) {
	// Not parallel: it runs before the parallel tests start, so its numbers
	// are its own.
	duration, minRate := soakDuration(t)
	rig := startSoak(t)
	idle := rig.settle(t)
	run := rig.load(t, duration, soakRate(t))
	after := rig.idleAgain(t, idle)

	run.report(t)
	rig.wantFlat(t, duration, idle, run.points, after)
	run.wantCleanAnswers(t, minRate)
	rig.wantLedgerInDatabase(t, run)
}

// soakRig is the system under soak: a migrated database with soakAccounts
// accounts of soakKeys/soakAccounts keys each, and two `remy serve`
// processes on it sharing one Redis.
type soakRig struct {
	db         *bun.DB
	keys       []soakKey
	accountIDs []uuid.UUID
	instances  []*serveInstance
	http       *http.Client // the load generator's, with room for its concurrency
}

type soakKey struct {
	secret string
	acct   int // index into accountIDs
}

func startSoak(t *testing.T) *soakRig {
	t.Helper()
	dsn := newEmptyDatabase(t)
	remy(t, dsn, "migrate").ok(t)

	db, err := repo.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	store := repo.NewStore(db)
	rig := &soakRig{db: db, accountIDs: make([]uuid.UUID, soakAccounts)}
	for a := range soakAccounts {
		acc, err := store.Accounts.Create(context.Background(), fmt.Sprintf("soak-%d@example.com", a), "Soak")
		if err != nil {
			t.Fatal(err)
		}
		rig.accountIDs[a] = acc.ID
		for range soakKeys / soakAccounts {
			secret, _, err := store.Keys.Create(context.Background(), acc.ID, "soak", nil)
			if err != nil {
				t.Fatal(err)
			}
			rig.keys = append(rig.keys, soakKey{secret, a})
		}
	}

	env := []string{"REDIS_URL=" + testRedisURL(t)}
	rig.instances = []*serveInstance{startInstance(t, dsn, env...), startInstance(t, dsn, env...)}
	rig.http = &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 512},
	}
	t.Cleanup(rig.http.CloseIdleConnections)
	return rig
}

// soakSample is both instances' resident memory (kB) and goroutines.
type soakSample struct {
	rss, gor [2]int
}

func (rig *soakRig) sample(t *testing.T) soakSample {
	t.Helper()
	var s soakSample
	for i, inst := range rig.instances {
		var err error
		if s.rss[i], err = inst.rssKB(); err != nil {
			t.Fatal(err)
		}
		if s.gor[i], err = inst.goroutines(); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// settle is the idle baseline, taken once both instances are up and their
// goroutine counts have held still for 3 seconds: one instance becomes the
// webhook queue's (River's) leader a moment after start and then runs its
// maintenance goroutines. After 20 s the baseline is taken as it stands.
func (rig *soakRig) settle(t *testing.T) soakSample {
	t.Helper()
	idle := rig.sample(t)
	settled := time.Now()
	_, _ = poll(20*time.Second, func() error {
		time.Sleep(500 * time.Millisecond) // a sample every half second, as during the load
		s := rig.sample(t)
		if s.gor != idle.gor {
			settled = time.Now()
		}
		idle = s
		if time.Since(settled) < 3*time.Second {
			return fmt.Errorf("goroutine counts still moving: %v", s.gor)
		}
		return nil
	})
	return idle
}

// soakPoint is a sample taken at an instant of the load.
type soakPoint struct {
	at time.Duration
	soakSample
}

// soakRun is one run of the load and what came of it.
type soakRun struct {
	rig    *soakRig
	rate   int // requests per second asked for
	ledger *soakLedger
	stats  *soakStats
	seq    atomic.Int64 // numbers the markers of created resources

	total      int           // requests started
	dispatched time.Duration // when the last one was started
	elapsed    time.Duration // when the last one was answered
	late       atomic.Int64  // starts more than 100 ms behind the schedule
	points     []soakPoint   // samples, twice a second while the load ran
}

// load offers the mix for duration at rate requests per second, sampling
// memory and goroutines twice a second, and returns once every request
// has been answered.
func (rig *soakRig) load(t *testing.T, duration time.Duration, rate int) *soakRun {
	t.Helper()
	run := &soakRun{
		rig:  rig,
		rate: rate,
		ledger: &soakLedger{contactIDs: map[string]string{}, live: map[int][]string{}, deleted: map[string]bool{},
			unsure: map[string]bool{}, notes: map[string]string{}, noteIDs: map[string]string{}},
		stats: &soakStats{},
	}
	start := time.Now()
	stopSampling := make(chan struct{})
	samplerDone := make(chan struct{})
	go func() {
		defer close(samplerDone)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
			p := soakPoint{at: time.Since(start)}
			for i, inst := range rig.instances {
				p.rss[i], _ = inst.rssKB()
				p.gor[i], _ = inst.goroutines()
			}
			run.points = append(run.points, p) // read only after samplerDone
		}
	}()

	// Open-loop pacing: request i starts at start + i/rate whatever the
	// earlier ones are doing, so a slow server meets the same load rather
	// than a politely waiting client (the cap only guards the test process).
	interval := time.Second / time.Duration(rate)
	run.total = int(duration / interval)
	inflight := make(chan struct{}, 2000)
	var wg sync.WaitGroup
	for i := range run.total {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		} else if d < -100*time.Millisecond {
			run.late.Add(1)
		}
		inflight <- struct{}{}
		wg.Go(func() {
			defer func() { <-inflight }()
			run.one(i, rand.New(rand.NewPCG(uint64(i), 42)))
		})
	}
	run.dispatched = time.Since(start)
	wg.Wait()
	run.elapsed = time.Since(start)
	close(stopSampling)
	<-samplerDone
	return run
}

// idleAgain closes the load generator's keep-alive connections and gives
// the instances up to 5 s to finish their bookkeeping, until their
// goroutines are back to within 2 of idle's; it returns the last sample
// (wantFlat judges it).
func (rig *soakRig) idleAgain(t *testing.T, idle soakSample) soakSample {
	t.Helper()
	rig.http.CloseIdleConnections()
	var after soakSample
	_, _ = poll(5*time.Second, func() error {
		after = rig.sample(t)
		if after.gor[0] > idle.gor[0]+2 || after.gor[1] > idle.gor[1]+2 {
			return fmt.Errorf("goroutines %v, idle %v", after.gor, idle.gor)
		}
		return nil
	})
	return after
}

// soakResult is one answer: its status and body.
type soakResult struct {
	status int
	body   []byte
}

// send sends one request to inst and counts its outcome; false means no
// answer (a transport error, counted and noted).
func (run *soakRun) send(inst *serveInstance, method, path, key string, body any, hs ...header) (soakResult, bool) {
	stats := run.stats
	stats.sent.Add(1)
	c := client{URL: inst.base, HTTP: run.rig.http}
	res, err := c.send(method, path, key, body, hs...)
	if err != nil {
		stats.transport.Add(1)
		stats.problem("%v", err)
		return soakResult{}, false
	}
	stats.mu.Lock()
	stats.latencies = append(stats.latencies, res.Received.Sub(res.Sent))
	stats.mu.Unlock()
	switch {
	case res.Status >= 500:
		stats.status5xx.Add(1)
		stats.problem("%s %s: %d %s", method, path, res.Status, res.Body)
	case res.Status == http.StatusTooManyRequests:
		stats.status429.Add(1)
	case res.Status >= 400:
		stats.status4xx.Add(1)
	default:
		stats.ok.Add(1)
	}
	return soakResult{res.Status, res.Body}, true
}

// expect counts (and notes) an answer that is none of want, a 429 or a
// 5xx (5xx are counted on their own).
func (run *soakRun) expect(what string, r soakResult, want ...int) {
	if !slices.Contains(want, r.status) && r.status != http.StatusTooManyRequests && r.status < 500 {
		run.stats.unexpected.Add(1)
		run.stats.problem("%s: status %d (want %v): %s", what, r.status, want, r.body)
	}
}

func dataID(b []byte) string {
	var env struct {
		Data struct{ ID string } `json:"data"`
	}
	_ = json.Unmarshal(b, &env)
	return env.Data.ID
}

// one sends request i of the mix; i picks the instance, so consecutive
// requests alternate between them.
func (run *soakRun) one(i int, r *rand.Rand) {
	k := run.rig.keys[r.IntN(len(run.rig.keys))]
	inst, other := run.rig.instances[i%2], run.rig.instances[(i+1)%2]
	switch p := r.IntN(100); {
	case p < 25:
		run.createContact(r, k, inst, other)
	case p < 35:
		run.createNote(r, k, inst)
	case p < 45:
		run.updateContact(r, k, inst)
	case p < 50:
		run.deleteContact(r, k, inst)
	case p < 70: // get one
		if _, id, ok := run.ledger.pick(k.acct, r); ok {
			if res, ok := run.send(inst, http.MethodGet, "/api/v1/contacts/"+id, k.secret, nil); ok {
				run.expect("get contact", res, http.StatusOK, http.StatusNotFound)
			}
		}
	case p < 90: // list
		if res, ok := run.send(inst, http.MethodGet, fmt.Sprintf("/api/v1/contacts?limit=20&offset=%d", r.IntN(3)*20), k.secret, nil); ok {
			run.expect("list contacts", res, http.StatusOK)
		}
	default: // poll the Activity Log
		if res, ok := run.send(inst, http.MethodGet, "/api/v1/activity?limit=50", k.secret, nil); ok {
			run.expect("list activity", res, http.StatusOK)
		}
	}
}

// createContact creates a contact on inst, one time in five retried on
// other (a client retrying after a lost answer), both with one
// Idempotency-Key, and records it.
func (run *soakRun) createContact(r *rand.Rand, k soakKey, inst, other *serveInstance) {
	ledger := run.ledger
	marker := fmt.Sprintf("soak-%d", run.seq.Add(1))
	body := fmt.Sprintf(`{"givenName":%q,"tags":["soak"]}`, marker)
	idem := idemKey("create-" + marker)
	res, ok := run.send(inst, http.MethodPost, "/api/v1/contacts", k.secret, body, idem)
	if !ok || res.status >= 500 {
		ledger.markUnsure(marker)
		return
	}
	run.expect("create contact", res, http.StatusCreated)
	ids := []string{}
	if res.status == http.StatusCreated {
		ids = append(ids, dataID(res.body))
	}
	if r.IntN(5) == 0 {
		again, ok := run.send(other, http.MethodPost, "/api/v1/contacts", k.secret, body, idem)
		if !ok || again.status >= 500 {
			ledger.markUnsure(marker)
		} else {
			run.expect("retry create contact", again, http.StatusCreated, http.StatusConflict)
			if again.status == http.StatusCreated {
				ids = append(ids, dataID(again.body))
			}
		}
	}
	if len(ids) == 0 {
		return
	}
	ledger.mu.Lock()
	defer ledger.mu.Unlock()
	for _, id := range ids[1:] {
		if id != ids[0] {
			run.stats.problem("%s created twice: %s and %s", marker, ids[0], id)
			run.stats.unexpected.Add(1)
		}
	}
	ledger.contactIDs[marker] = ids[0]
	ledger.live[k.acct] = append(ledger.live[k.acct], marker)
}

// createNote adds a note to one of the account's contacts and records it.
func (run *soakRun) createNote(r *rand.Rand, k soakKey, inst *serveInstance) {
	ledger := run.ledger
	marker, id, ok := ledger.pick(k.acct, r)
	if !ok {
		return
	}
	body := fmt.Sprintf("note-%d", run.seq.Add(1))
	res, ok := run.send(inst, http.MethodPost, "/api/v1/contacts/"+id+"/notes", k.secret, fmt.Sprintf(`{"body":%q}`, body), idemKey("note-"+body))
	if !ok || res.status >= 500 {
		ledger.mu.Lock()
		ledger.notes[body] = marker
		ledger.unsure[body] = true
		ledger.mu.Unlock()
		return
	}
	run.expect("create note", res, http.StatusCreated, http.StatusNotFound)
	if res.status == http.StatusCreated {
		ledger.mu.Lock()
		ledger.notes[body] = marker
		ledger.noteIDs[body] = dataID(res.body)
		ledger.mu.Unlock()
	}
}

// updateContact patches one of the account's contacts.
func (run *soakRun) updateContact(r *rand.Rand, k soakKey, inst *serveInstance) {
	_, id, ok := run.ledger.pick(k.acct, r)
	if !ok {
		return
	}
	res, ok := run.send(inst, http.MethodPatch, "/api/v1/contacts/"+id, k.secret, fmt.Sprintf(`{"nickname":"n%d"}`, r.IntN(1000)))
	if ok {
		run.expect("update contact", res, http.StatusOK, http.StatusNotFound)
	}
}

// deleteContact deletes one of the account's contacts and records it.
func (run *soakRun) deleteContact(r *rand.Rand, k soakKey, inst *serveInstance) {
	ledger := run.ledger
	marker, id, ok := ledger.pick(k.acct, r)
	if !ok {
		return
	}
	res, ok := run.send(inst, http.MethodDelete, "/api/v1/contacts/"+id, k.secret, nil)
	if !ok || res.status >= 500 {
		ledger.markUnsure("del:" + marker)
		return
	}
	run.expect("delete contact", res, http.StatusOK, http.StatusNotFound)
	if res.status == http.StatusOK {
		ledger.mu.Lock()
		defer ledger.mu.Unlock()
		ledger.deleted[marker] = true
		live := ledger.live[k.acct]
		if i := slices.Index(live, marker); i >= 0 {
			ledger.live[k.acct] = slices.Delete(live, i, i+1)
		}
	}
}

// offered is the rate at which the load generator started requests.
func (run *soakRun) offered() float64 { return float64(run.total) / run.dispatched.Seconds() }

// report logs the run's counts and latencies.
func (run *soakRun) report(t *testing.T) {
	t.Helper()
	stats := run.stats
	stats.mu.Lock()
	lat := slices.Clone(stats.latencies)
	stats.mu.Unlock()
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	t.Logf("soak: %d requests started in %v (%.0f/s), %d sent with retries, all answered after %v; 2xx/3xx %d, 4xx %d (429: %d), 5xx %d, transport errors %d, starts >100 ms late %d",
		run.total, run.dispatched.Round(time.Millisecond), run.offered(), stats.sent.Load(), run.elapsed.Round(time.Millisecond),
		stats.ok.Load(), stats.status4xx.Load(), stats.status429.Load(), stats.status5xx.Load(), stats.transport.Load(), run.late.Load())
	t.Logf("soak: latency p50 %v, p95 %v, p99 %v, max %v", pct(0.50), pct(0.95), pct(0.99), pct(1))
}

// wantFlat checks memory, the second half of the run against the first
// after warm-up, and goroutines, after the load against before it.
func (rig *soakRig) wantFlat(t *testing.T, duration time.Duration, idle soakSample, points []soakPoint, after soakSample) {
	t.Helper()
	for i := range rig.instances {
		var warm, last []int
		maxGor := 0
		for _, p := range points {
			switch {
			case p.at >= duration/4 && p.at < duration/2:
				warm = append(warm, p.rss[i])
			case p.at >= duration*3/4:
				last = append(last, p.rss[i])
			}
			maxGor = max(maxGor, p.gor[i])
		}
		if len(warm) == 0 || len(last) == 0 {
			t.Fatalf("instance %d: too few memory samples (%d)", i+1, len(points))
		}
		warmMax, lateMax := slices.Max(warm), slices.Max(last)
		t.Logf("soak: instance %d RSS idle %.1f MB, warm max %.1f MB, last-quarter max %.1f MB, after %.1f MB; goroutines idle %d, max under load %d, after %d",
			i+1, mb(idle.rss[i]), mb(warmMax), mb(lateMax), mb(after.rss[i]), idle.gor[i], maxGor, after.gor[i])
		// Flat: the last quarter may not outgrow the warmed-up second
		// quarter by more than 16 MB (GC and pool noise is a few MB).
		if growth := lateMax - warmMax; growth > 16*1024 {
			t.Errorf("instance %d: resident memory grew %.1f MB between the second and last quarter of the run", i+1, mb(growth))
		}
		if after.gor[i] > idle.gor[i]+2 {
			t.Errorf("instance %d: %d goroutines after the load, %d before it", i+1, after.gor[i], idle.gor[i])
		}
	}
}

// wantCleanAnswers checks that nothing failed (no 5xx, no transport error,
// no unexpected status) and that the load generator kept at least minRate
// of the pace asked for, or the run did not test what it claims.
func (run *soakRun) wantCleanAnswers(t *testing.T, minRate float64) {
	t.Helper()
	stats := run.stats
	if n := stats.status5xx.Load(); n != 0 {
		t.Errorf("%d responses were 5xx", n)
	}
	if n := stats.transport.Load(); n != 0 {
		t.Errorf("%d requests failed in transport", n)
	}
	if n := stats.unexpected.Load(); n != 0 {
		t.Errorf("%d unexpected answers", n)
	}
	if want := float64(run.rate) * minRate; run.offered() < want {
		t.Errorf("the load generator started %.0f requests/s, want at least %.0f", run.offered(), want)
	}
	for _, p := range stats.problems {
		t.Log(p)
	}
}

// wantLedgerInDatabase checks that every acknowledged contact and note is
// in the database exactly once, deleted ones are gone, and nothing else is
// there.
func (rig *soakRig) wantLedgerInDatabase(t *testing.T, run *soakRun) {
	t.Helper()
	ledger := run.ledger
	ledger.mu.Lock()
	defer ledger.mu.Unlock()
	var contacts []model.Contact
	if err := rig.db.NewSelect().Model(&contacts).Where("account_id IN (?)", bun.List(rig.accountIDs)).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, c := range contacts {
		marker := *c.GivenName
		seen[marker]++
		id, acked := ledger.contactIDs[marker]
		if !acked && ledger.unsure[marker] {
			continue // created, though its client never heard so
		}
		if !acked || ledger.deleted[marker] || id != c.ID.String() {
			t.Errorf("contact %s (%s) in the database: acknowledged id %q, deleted %v", marker, c.ID, id, ledger.deleted[marker])
		}
	}
	for marker := range ledger.contactIDs {
		if ledger.deleted[marker] || (ledger.unsure["del:"+marker] && seen[marker] == 0) {
			continue
		}
		if seen[marker] != 1 {
			t.Errorf("acknowledged contact %s is in the database %d times", marker, seen[marker])
		}
	}
	var notes []model.Note
	if err := rig.db.NewSelect().Model(&notes).Where("account_id IN (?)", bun.List(rig.accountIDs)).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	seenNotes := map[string]int{}
	for _, n := range notes {
		seenNotes[n.Body]++
		if ledger.unsure[n.Body] {
			continue
		}
		if _, ok := ledger.notes[n.Body]; !ok || n.ID.String() != ledger.noteIDs[n.Body] {
			t.Errorf("note %q (%s) in the database was never acknowledged as such", n.Body, n.ID)
		}
	}
	for body, contact := range ledger.notes {
		want := 1
		switch {
		case ledger.deleted[contact]:
			want = 0 // deleted with its contact
		case ledger.unsure[body] || ledger.unsure["del:"+contact]:
			if seenNotes[body] > 1 {
				t.Errorf("note %s is in the database %d times", body, seenNotes[body])
			}
			continue
		}
		if seenNotes[body] != want {
			t.Errorf("note %s (contact %s, deleted %v) is in the database %d times, want %d", body, contact, ledger.deleted[contact], seenNotes[body], want)
		}
	}
	t.Logf("soak: %d contacts acknowledged (%d deleted), %d in the database; %d notes acknowledged, %d in the database",
		len(ledger.contactIDs), len(ledger.deleted), len(contacts), len(ledger.notes), len(notes))
	for marker, n := range seen {
		if n > 1 {
			t.Errorf("contact %s is in the database %d times", marker, n)
		}
	}
	if len(ledger.contactIDs) < run.total/10 {
		t.Errorf("only %d contacts created: the mix did not run", len(ledger.contactIDs))
	}
}

func mb(kb int) float64 { return float64(kb) / 1024 }
