package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
)

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// remyBinary builds cmd/remy once per test run: the CLI tests drive the real
// binary, as a user would.
func remyBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "remy-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "remy")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/remy-crm/remy/cmd/remy").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func cleanupBinary() {
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
}

type cliResult struct {
	stdout, stderr string
	code           int
}

// remy runs the binary with DATABASE_URL=dsn and the given arguments.
func remy(t testing.TB, dsn string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(remyBinary(t), args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dsn)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run remy %v: %v", args, err)
	}
	return cliResult{out.String(), errb.String(), code}
}

func (r cliResult) ok(t testing.TB) cliResult {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r
}

// provision migrates dsn and creates an account through the CLI, returning
// a new key of it.
func provision(t testing.TB, dsn, email string) string {
	t.Helper()
	remy(t, dsn, "migrate").ok(t)
	remy(t, dsn, "accounts", "create", "--email", email).ok(t)
	return strings.TrimSpace(remy(t, dsn, "keys", "create", "--account", email).ok(t).stdout)
}

var keyFormat = regexp.MustCompile(`^rmy_[0-9A-Za-z]{32,}$`)

func TestCLI_AccountsAndKeys(t *testing.T) {
	t.Parallel()
	dsn := newEmptyDatabase(t)

	if out := remy(t, dsn, "migrate").ok(t).stdout; !strings.Contains(out, "applied 000001") {
		t.Fatalf("first migrate: %q", out)
	}
	if out := remy(t, dsn, "migrate").ok(t).stdout; !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate: %q", out)
	}

	id := strings.TrimSpace(remy(t, dsn, "accounts", "create", "--email", "Ada@Example.com", "--name", "Ada").ok(t).stdout)
	if _, err := uuid.Parse(id); err != nil {
		t.Fatalf("accounts create printed %q, want the account id", id)
	}
	dup := remy(t, dsn, "accounts", "create", "--email", "ada@example.COM")
	if dup.code == 0 || !strings.Contains(dup.stderr, "already exists") {
		t.Fatalf("duplicate email (other case) accepted: %+v", dup)
	}
	if r := remy(t, dsn, "accounts", "create"); r.code == 0 || !strings.Contains(r.stderr, "email") {
		t.Fatalf("missing --email accepted: %+v", r)
	}

	create := remy(t, dsn, "keys", "create", "--account", "ada@example.com", "--name", "laptop", "--expires-in", "720h").ok(t)
	key := strings.TrimSuffix(create.stdout, "\n")
	if !keyFormat.MatchString(key) || strings.Contains(key, "\n") {
		t.Fatalf("keys create must print the key and nothing else, got %q", create.stdout)
	}
	second := strings.TrimSpace(remy(t, dsn, "keys", "create", "--account", "ADA@example.com").ok(t).stdout)
	if second == key {
		t.Fatal("two keys are equal")
	}
	if r := remy(t, dsn, "keys", "create", "--account", "nobody@example.com"); r.code == 0 {
		t.Fatalf("key for unknown account: %+v", r)
	}
	if r := remy(t, dsn, "keys", "create", "--account", "ada@example.com", "--expires-in", "soon"); r.code == 0 {
		t.Fatalf("bad --expires-in accepted: %+v", r)
	}

	list := remy(t, dsn, "keys", "list", "--account", "ada@example.com").ok(t).stdout
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 3 {
		t.Fatalf("keys list: want header + 2 rows:\n%s", list)
	}
	for _, col := range []string{"ID", "NAME", "PREFIX", "CREATED", "LAST USED", "EXPIRES", "REVOKED"} {
		if !strings.Contains(lines[0], col) {
			t.Fatalf("keys list header lacks %s: %q", col, lines[0])
		}
	}
	row := lines[1]
	keyID := strings.Fields(row)[0]
	if _, err := uuid.Parse(keyID); err != nil || !strings.Contains(row, "laptop") || !strings.Contains(row, key[:12]) {
		t.Fatalf("keys list row: %q", row)
	}
	if strings.Contains(list, key) {
		t.Fatal("keys list shows a whole key")
	}

	base := startServe(t, dsn)
	get := func(k string) int { return clientAt(base).do(t, http.MethodGet, "/api/v1/contacts", k, nil).Status }
	if get(key) != 200 || get(second) != 200 {
		t.Fatal("fresh keys do not work")
	}
	remy(t, dsn, "keys", "revoke", keyID).ok(t)
	// The server's key cache learns of the revocation by NOTIFY, which
	// Postgres delivers after the CLI's commit: a moment later, and never
	// more than a second (TestCLI_RevokeHonouredByBothInstancesWithin1s).
	eventually(t, time.Second, func() error {
		if got := get(key); got != 401 {
			return fmt.Errorf("revoked key answered %d", got)
		}
		return nil
	})
	if get(second) != 200 {
		t.Fatal("revoking one key affected another")
	}
	if r := remy(t, dsn, "keys", "revoke", uuid.NewString()); r.code == 0 {
		t.Fatalf("revoking an unknown key succeeded: %+v", r)
	}
	if r := remy(t, dsn, "keys", "revoke", "not-a-uuid"); r.code == 0 {
		t.Fatalf("revoking a malformed id succeeded: %+v", r)
	}
	after := remy(t, dsn, "keys", "list", "--account", "ada@example.com").ok(t).stdout
	for _, line := range strings.Split(after, "\n") {
		if fields := strings.Fields(line); len(fields) > 0 && fields[0] == keyID {
			if _, err := time.Parse(time.RFC3339, fields[len(fields)-1]); err != nil {
				t.Fatalf("the revoked key's row shows no revocation time: %q", line)
			}
		}
	}
}

func TestCLI_Help(t *testing.T) {
	t.Parallel()
	out := remy(t, "", "--help").ok(t).stdout
	for _, cmd := range []string{"migrate", "serve", "accounts", "keys", "dev", "DATABASE_URL", "REMY_ADDR"} {
		if !strings.Contains(out, cmd) {
			t.Errorf("remy --help does not mention %s:\n%s", cmd, out)
		}
	}
	if r := remy(t, "", "migrate"); r.code == 0 || !strings.Contains(r.stderr, "DATABASE_URL") {
		t.Errorf("migrate without DATABASE_URL: %+v", r)
	}
}

// startServe runs `remy serve` on a free port and returns its base URL once
// /healthz answers. The process is stopped with SIGTERM at cleanup.
func startServe(t testing.TB, dsn string, env ...string) string {
	t.Helper()
	cmd, base, _ := startServeProcess(t, dsn, env...)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	return base
}

func startServeProcess(t testing.TB, dsn string, env ...string) (*exec.Cmd, string, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(remyBinary(t), "serve")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dsn, "REMY_ADDR=127.0.0.1:0", "REMY_LOG_LEVEL=info")
	cmd.Env = append(cmd.Env, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Bytes()
			logs.Write(append(line, '\n'))
			var entry struct{ Msg, Addr string }
			if json.Unmarshal(line, &entry) == nil && entry.Msg == "serving" {
				addr <- entry.Addr
			}
		}
	}()
	select {
	case a := <-addr:
		base := "http://" + a
		waitHealthy(t, base)
		return cmd, base, logs
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("remy serve did not start:\n%s", logs.String())
	}
	return nil, "", nil
}

func waitHealthy(t testing.TB, base string) {
	t.Helper()
	eventually(t, 10*time.Second, func() error {
		res, err := clientAt(base).send(http.MethodGet, "/healthz", "", nil)
		if err != nil {
			return err
		}
		if res.Status != http.StatusOK {
			return fmt.Errorf("%s/healthz: %d", base, res.Status)
		}
		return nil
	})
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestCLI_ServeDrainsInFlightRequestsOnSIGTERM(t *testing.T) {
	t.Parallel()
	dsn := newEmptyDatabase(t)
	key := provision(t, dsn, "drain@example.com")
	cmd, base, logs := startServeProcess(t, dsn)

	// A request whose body is still arriving when SIGTERM comes. With
	// Expect: 100-continue the server says when its handler starts reading
	// the body, so no sleep has to guess it.
	pr, pw := io.Pipe()
	reading := make(chan struct{})
	trace := &httptrace.ClientTrace{Got100Continue: func() { close(reading) }}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodPost, base+"/api/v1/contacts", pr)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Expect", "100-continue")
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		res, err := client.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		res.Body.Close()
		done <- result{status: res.StatusCode}
	}()
	select {
	case <-reading:
	case r := <-done:
		t.Fatalf("the request ended before its body was read: %+v", r)
	case <-time.After(15 * time.Second):
		t.Fatal("the server never started reading the body")
	}
	if _, err := pw.Write([]byte(`{"givenName":`)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The rest of the body arrives once the server is draining.
	eventually(t, 10*time.Second, func() error {
		if !strings.Contains(logs.String(), "shutting down: draining") {
			return fmt.Errorf("no shutdown log line after SIGTERM:\n%s", logs.String())
		}
		return nil
	})
	if _, err := pw.Write([]byte(`"Drained"}`)); err != nil {
		t.Fatal(err)
	}
	pw.Close()

	r := <-done
	if r.err != nil || r.status != http.StatusCreated {
		t.Fatalf("in-flight request during shutdown: status %d, err %v", r.status, r.err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Fatalf("remy serve exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("remy serve did not exit after SIGTERM")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still serving after exit")
	}

	// One structured line per request, with the route pattern and key id,
	// never the key itself.
	var found bool
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, key) {
			t.Fatalf("the log contains the API key: %s", line)
		}
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) != nil || e["msg"] != "request" || e["method"] != "POST" {
			continue
		}
		found = true
		for _, k := range []string{"path", "status", "duration_ms", "request_id", "key_id", "time", "level"} {
			if _, ok := e[k]; !ok {
				t.Errorf("request log line lacks %s: %s", k, line)
			}
		}
		if e["path"] != "/api/v1/contacts" || e["status"] != float64(201) {
			t.Errorf("request log line: %s", line)
		}
	}
	if !found {
		t.Fatalf("no request log line for the POST:\n%s", logs.String())
	}
}

// TestCLI_Mistakes: each common mistake exits non-zero with a message that
// says what is wrong, before anything is written.
func TestCLI_Mistakes(t *testing.T) {
	t.Parallel()
	dsn := newEmptyDatabase(t)
	remy(t, dsn, "migrate").ok(t)

	fails := func(t *testing.T, r cliResult, want ...string) {
		t.Helper()
		if r.code == 0 {
			t.Fatalf("exit 0, want an error\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
		}
		for _, w := range want {
			if !strings.Contains(r.stderr, w) {
				t.Fatalf("stderr lacks %q:\n%s", w, r.stderr)
			}
		}
	}

	t.Run("ErrInvalidAccountEmail", func(t *testing.T) {
		for _, email := range []string{"not-an-email", "Ada <ada@example.com>", "ada@", "@example.com", "ada lovelace@example.com"} {
			fails(t, remy(t, dsn, "accounts", "create", "--email", email), "not a valid email address")
		}
		// Nothing was created: the same address works once made valid, and
		// keys list finds no invalid account.
		remy(t, dsn, "accounts", "create", "--email", "ada@example.com").ok(t)
		fails(t, remy(t, dsn, "keys", "list", "--account", "not-an-email"), "no account")
	})

	t.Run("ErrKeyAlreadyRevoked", func(t *testing.T) {
		remy(t, dsn, "accounts", "create", "--email", "rev@example.com").ok(t)
		remy(t, dsn, "keys", "create", "--account", "rev@example.com").ok(t)
		list := remy(t, dsn, "keys", "list", "--account", "rev@example.com").ok(t).stdout
		keyID := strings.Fields(strings.Split(strings.TrimSpace(list), "\n")[1])[0]
		if out := remy(t, dsn, "keys", "revoke", keyID).ok(t).stdout; !strings.Contains(out, "revoked "+keyID) {
			t.Fatalf("first revoke: %q", out)
		}
		fails(t, remy(t, dsn, "keys", "revoke", keyID), "already revoked")
	})

	t.Run("ErrNotPostgresURL", func(t *testing.T) {
		for _, url := range []string{"mysql://u:secret@127.0.0.1:3306/remy", "sqlite:remy.db"} {
			r := remy(t, url, "migrate")
			fails(t, r, "DATABASE_URL", "postgres://")
			if strings.Contains(r.stderr, "secret") {
				t.Fatalf("the error shows the password: %s", r.stderr)
			}
		}
		fails(t, remy(t, dsn, "migrate", "--database-url", "redis://127.0.0.1:6379/0"), "--database-url", "postgres://", "redis://")
		// postgresql:// and libpq's keyword/value form stay accepted.
		if strings.HasPrefix(dsn, "postgres://") {
			remy(t, "postgresql://"+strings.TrimPrefix(dsn, "postgres://"), "migrate").ok(t)
		}
	})

	t.Run("ErrMissingArgument", func(t *testing.T) {
		fails(t, remy(t, dsn, "keys", "revoke"), "missing argument KEY_ID")
		fails(t, remy(t, dsn, "keys", "revoke", uuid.NewString(), uuid.NewString()), "one argument, KEY_ID")
		fails(t, remy(t, dsn, "accounts", "create"), "missing --email")
		fails(t, remy(t, dsn, "accounts", "create", "--email", ""), "missing --email")
		fails(t, remy(t, dsn, "keys", "create"), "missing --account")
		fails(t, remy(t, dsn, "keys", "list"), "missing --account")
	})

	t.Run("ErrDevWithoutTag", func(t *testing.T) {
		// The test binary is built without -tags dev, like a release build.
		r := remy(t, "", "dev")
		fails(t, r, "dev build tag", "DATABASE_URL")
		if strings.Contains(r.stdout, "starting a Postgres container") {
			t.Fatalf("claims to start a container it cannot start: %q", r.stdout)
		}
	})
}
