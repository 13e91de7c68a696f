package tests

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// webhookEnv is serve's environment for a receiver on loopback.
var webhookEnv = []string{
	"REMY_WEBHOOK_ALLOW_PRIVATE=true",
	"REMY_WEBHOOK_TIMEOUT=2s",
	"REMY_WEBHOOK_RETRY_DELAYS=1s,1s",
}

func TestWebhooks_ServeKilledMidAttemptRetriesAfterRestart(t *testing.T) {
	t.Parallel()
	dsn := newEmptyDatabase(t)
	key := provision(t, dsn, "killed@example.com")
	cmd, base, _ := startServeProcess(t, dsn, webhookEnv...)
	api := clientAt(base)

	rc := newReceiver(t)
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	rc.answer(func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 { // the first attempt never gets an answer: its process dies
			select {
			case <-hold:
			case <-r.Context().Done():
			}
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	id := api.createWebhook(t, key, rc.URL)["id"].(string)
	api.createContact(t, key, map[string]any{"givenName": "Ada"})
	first := rc.wait(t, 1, 15*time.Second)[0]

	// SIGKILL mid-attempt: no chance to record anything or release the job.
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	killed := time.Now()
	base = startServe(t, dsn, webhookEnv...)
	api = clientAt(base)

	second := rc.wait(t, 2, 60*time.Second)[1]
	took := time.Since(killed)
	if took > 60*time.Second {
		t.Fatalf("the interrupted attempt was retried %s after the kill", took)
	}
	t.Logf("the interrupted attempt was made again %s after the kill", took.Round(time.Second))
	if second.Header.Get("webhook-id") != first.Header.Get("webhook-id") || string(second.Body) != string(first.Body) {
		t.Fatalf("the retry is a different event: %s vs %s", second.Body, first.Body)
	}
	d := api.waitDelivery(t, key, id, 15*time.Second, func(d map[string]any) bool { return d["status"] == "succeeded" })
	if d["lastStatusCode"] != float64(200) {
		t.Fatalf("%v", d)
	}
}

func TestWebhooks_TwoServeProcessesDeliverEachEventOnce(t *testing.T) {
	t.Parallel()
	dsn := newEmptyDatabase(t)
	key := provision(t, dsn, "pair@example.com")
	a := clientAt(startServe(t, dsn, webhookEnv...))
	b := clientAt(startServe(t, dsn, webhookEnv...))
	rc := newReceiver(t)
	a.createWebhook(t, key, rc.URL, "contact.created")

	const n = 30
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		srv := a
		if i%2 == 1 {
			srv = b
		}
		wg.Go(func() {
			res, err := srv.send(http.MethodPost, "/api/v1/contacts", key, map[string]any{"givenName": "Twin"})
			if err == nil && res.Status != http.StatusCreated {
				err = &statusError{res.Status}
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := rc.wait(t, n, 30*time.Second)
	rc.quiet(t, n, 2*time.Second)
	seen := map[string]bool{}
	for _, r := range got {
		id := r.Header.Get("webhook-id")
		if seen[id] {
			t.Fatalf("event %s delivered twice", id)
		}
		seen[id] = true
	}
}

type statusError struct{ status int }

func (e *statusError) Error() string { return http.StatusText(e.status) }
