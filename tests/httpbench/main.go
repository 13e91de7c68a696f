// Command httpbench measures Remy from outside, side by side with a bare
// net/http + pgx server doing the same SQL work (see baseline.go), and
// prints one table. `task bench:http` runs it:
//
//	go build -o /tmp/remy ./cmd/remy && go run ./tests/httpbench -remy /tmp/remy
//
// Postgres is $TEST_DATABASE_URL (a fresh database is created on it and
// dropped afterwards) or a testcontainers postgres:17. Both servers are
// separate processes; the load (vegeta, as a library) runs here at a fixed
// concurrency for a fixed time per scenario, alternating Remy and the
// baseline (A, B, A, B…) so that noise on a shared machine hits both.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	remy        string
	duration    time.Duration
	warmup      time.Duration
	rounds      int
	concurrency int
	only        string
	logLevel    string
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "baseline" {
		fs := flag.NewFlagSet("baseline", flag.ExitOnError)
		dsn := fs.String("dsn", "", "Postgres DSN")
		addr := fs.String("addr", "127.0.0.1:0", "listen address")
		_ = fs.Parse(os.Args[2:])
		if err := runBaseline(*dsn, *addr); err != nil {
			log.Fatal(err)
		}
		return
	}
	var o options
	flag.StringVar(&o.remy, "remy", "", "path to the remy binary (required)")
	flag.DurationVar(&o.duration, "duration", envDuration("BENCH_DURATION", 5*time.Second), "load time per scenario, per server, per round ($BENCH_DURATION)")
	flag.DurationVar(&o.warmup, "warmup", envDuration("BENCH_WARMUP", 2*time.Second), "unmeasured load per scenario and server before the first round ($BENCH_WARMUP)")
	flag.IntVar(&o.rounds, "rounds", envInt("BENCH_ROUNDS", 2), "A/B rounds per scenario ($BENCH_ROUNDS)")
	flag.IntVar(&o.concurrency, "c", envInt("BENCH_CONCURRENCY", 32), "concurrent connections ($BENCH_CONCURRENCY)")
	flag.StringVar(&o.only, "only", os.Getenv("BENCH_ONLY"), "comma-separated scenario names to run (default all) ($BENCH_ONLY)")
	flag.StringVar(&o.logLevel, "remy-log-level", "warn", "REMY_LOG_LEVEL for the measured server")
	flag.Parse()
	if o.remy == "" {
		log.Fatal("-remy is required: the path to a built remy binary")
	}
	ctx, stop := signalContext()
	defer stop()
	if err := run(ctx, o); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, o options) error {
	start := time.Now()
	admin, stopDB, err := database(ctx)
	if err != nil {
		return err
	}
	defer stopDB()
	log.Printf("database ready (%s)", time.Since(start).Round(time.Millisecond))
	dsn, dropDB, err := newDatabase(ctx, admin, "")
	if err != nil {
		return err
	}
	defer dropDB()
	bareDSN, dropBare, err := newDatabase(ctx, admin, "_bare")
	if err != nil {
		return err
	}
	defer dropBare()
	var fx, bareFx *fixtures
	for _, d := range []struct {
		dsn  string
		bare bool
		fx   **fixtures
	}{{dsn, false, &fx}, {bareDSN, true, &bareFx}} {
		if out, err := exec.CommandContext(ctx, o.remy, "migrate", "--database-url", d.dsn).CombinedOutput(); err != nil {
			return fmt.Errorf("remy migrate: %v\n%s", err, out)
		}
		if d.bare {
			if err := adminExec(ctx, d.dsn, bareSchema); err != nil {
				return fmt.Errorf("bare schema: %w", err)
			}
		}
		if *d.fx, err = seed(ctx, d.dsn); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	log.Printf("seeded %d accounts × %d contacts + 1 × %d, twice (%s)", smallAccounts, smallContacts, bigContacts, time.Since(start).Round(time.Millisecond))

	remyURL, stopRemy, err := startRemy(ctx, o, dsn)
	if err != nil {
		return err
	}
	defer stopRemy()
	baseURL, stopBase, err := startBaseline(ctx, dsn)
	if err != nil {
		return err
	}
	defer stopBase()
	bareURL, stopBare, err := startBaseline(ctx, bareDSN)
	if err != nil {
		return err
	}
	defer stopBare()

	var results []result
	for _, sc := range scenarios() {
		if o.only != "" && !contains(strings.Split(o.only, ","), sc.name) {
			continue
		}
		r, err := measure(ctx, o, sc, server{remyURL, fx}, server{baseURL, fx}, server{bareURL, bareFx})
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		results = append(results, r)
		log.Printf("%s done (%s)", sc.name, time.Since(start).Round(time.Second))
	}
	printTable(os.Stdout, o, results)
	log.Printf("total %s", time.Since(start).Round(time.Second))
	return nil
}

// startRemy runs `remy serve` on dsn, rate limits off.
func startRemy(ctx context.Context, o options, dsn string) (string, func(), error) {
	// Below info remy does not log its address: choose it here.
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	url, stop, err := startProcess(ctx, o.remy, []string{"serve"}, []string{
		"DATABASE_URL=" + dsn, "REMY_ADDR=" + addr, "REMY_RATE_LIMIT_RPS=0", "REMY_LOG_LEVEL=" + o.logLevel,
	}, func(line string) string {
		if line == "" {
			return addr
		}
		return ""
	})
	if err != nil {
		return "", nil, fmt.Errorf("remy serve: %w", err)
	}
	return url, stop, nil
}

// startBaseline runs this program's baseline server on dsn.
func startBaseline(ctx context.Context, dsn string) (string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	url, stop, err := startProcess(ctx, self, []string{"baseline", "-dsn", dsn}, nil, func(line string) string {
		addr, ok := strings.CutPrefix(line, "listening ")
		if ok {
			return addr
		}
		return ""
	})
	if err != nil {
		return "", nil, fmt.Errorf("baseline: %w", err)
	}
	return url, stop, nil
}

// startProcess runs a server and returns its base URL, which addrOf finds
// in a line of its output (stderr for remy, stdout for the baseline).
func startProcess(ctx context.Context, path string, args, env []string, addrOf func(string) string) (string, func(), error) {
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	}
	addr := make(chan string, 2)
	scan := func(r io.Reader) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if a := addrOf(sc.Text()); a != "" && sc.Text() != "" {
				select {
				case addr <- a:
				default:
				}
			} else if strings.Contains(sc.Text(), `"level":"ERROR"`) {
				log.Printf("%s: %s", path, sc.Text())
			}
		}
	}
	go scan(stdout)
	go scan(stderr)
	if a := addrOf(""); a != "" {
		addr <- a // known in advance
	}
	select {
	case a := <-addr:
		base := "http://" + a
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if res, err := http.Get(base + "/healthz"); err == nil {
				res.Body.Close()
				return base, stop, nil
			}
		}
		stop()
		return "", nil, fmt.Errorf("%s: /healthz never answered", base)
	case <-time.After(30 * time.Second):
		stop()
		return "", nil, fmt.Errorf("%s did not start", path)
	case <-ctx.Done():
		stop()
		return "", nil, ctx.Err()
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func envDuration(name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
		log.Fatalf("%s: not a duration: %q", name, v)
	}
	return def
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
		log.Fatalf("%s: not a number: %q", name, v)
	}
	return def
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.TrimSpace(v) == s {
			return true
		}
	}
	return false
}
