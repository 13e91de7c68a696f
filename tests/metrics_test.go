package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func getMetrics(t *testing.T, url string) (int, string) {
	t.Helper()
	res := clientAt(url).do(t, http.MethodGet, "", "", nil)
	return res.Status, string(res.Body)
}

func wantMetric(t *testing.T, body, pattern string) {
	t.Helper()
	if !regexp.MustCompile(`(?m)` + pattern).MatchString(body) {
		t.Errorf("no line matching %q in /metrics", pattern)
	}
}

// /metrics on the API's own listener answers without an API key and counts
// requests per operation and status, rate-limit rejections and the pool.
func TestMetrics_OnMainListener(t *testing.T) {
	t.Parallel()
	dsn := newEmptyDatabase(t)
	key := provision(t, dsn, "metrics@example.com")
	base := startServe(t, dsn, "REMY_RATE_LIMIT_RPS=0.05", "REMY_RATE_LIMIT_BURST=2")

	get := func(path string) int { return clientAt(base).do(t, http.MethodGet, path, key, nil).Status }
	if got := get("/api/v1/contacts"); got != http.StatusOK {
		t.Fatalf("list: %d", got)
	}
	if got := get("/api/v1/contacts/00000000-0000-0000-0000-000000000001"); got != http.StatusNotFound {
		t.Fatalf("get missing: %d", got)
	}
	if got := get("/api/v1/contacts"); got != http.StatusTooManyRequests {
		t.Fatalf("third request: %d, want 429", got)
	}

	status, body := getMetrics(t, base+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d\n%s", status, body)
	}
	wantMetric(t, body, `^remy_http_requests_total\{method="GET",operation="listContacts",status="200"\} 1$`)
	wantMetric(t, body, `^remy_http_requests_total\{method="GET",operation="getContact",status="404"\} 1$`)
	wantMetric(t, body, `^remy_http_requests_total\{method="GET",operation="listContacts",status="429"\} 1$`)
	wantMetric(t, body, `^remy_http_request_duration_seconds_count\{operation="listContacts",status="200"\} 1$`)
	wantMetric(t, body, `^remy_http_request_duration_seconds_bucket\{operation="getContact",status="404",le="\+Inf"\} 1$`)
	wantMetric(t, body, `^remy_rate_limit_rejections_total\{bucket="key"\} 1$`)
	wantMetric(t, body, `^go_sql_max_open_connections\{db_name="remy"\} [1-9]`)
	wantMetric(t, body, `^go_sql_open_connections\{db_name="remy"\} \d+`)
	wantMetric(t, body, `^go_memstats_mallocs_total \d`)
}

// REMY_METRICS_ADDR moves /metrics to its own listener, and off the API's.
func TestMetrics_OwnListener(t *testing.T) {
	t.Parallel()
	dsn := newEmptyDatabase(t)
	key := provision(t, dsn, "metrics2@example.com")
	cmd, base, logs := startServeProcess(t, dsn, "REMY_METRICS_ADDR=127.0.0.1:0")
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	var metricsAddr string
	for _, line := range strings.Split(logs.String(), "\n") {
		var entry struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "serving metrics" {
			metricsAddr = entry.Addr
		}
	}
	if metricsAddr == "" {
		t.Fatalf("no \"serving metrics\" log line:\n%s", logs.String())
	}

	clientAt(base).do(t, http.MethodGet, "/api/v1/contacts", key, nil)

	if status, body := getMetrics(t, base+"/metrics"); status != http.StatusNotFound {
		t.Fatalf("/metrics on the API listener: %d, want 404\n%s", status, body)
	}
	var body string
	eventually(t, 5*time.Second, func() error {
		var status int
		status, body = getMetrics(t, "http://"+metricsAddr+"/metrics")
		if status != http.StatusOK {
			t.Fatalf("/metrics on %s: %d", metricsAddr, status)
		}
		if !strings.Contains(body, `remy_http_requests_total{method="GET",operation="listContacts",status="200"} 1`) {
			return fmt.Errorf("the list request is not counted:\n%s", body)
		}
		return nil
	})
	wantMetric(t, body, `^go_sql_open_connections\{db_name="remy"\} \d+`)
}
