package tests

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// Notes get the same safe-retry mechanisms as contacts: ETag, If-None-Match,
// If-Match (atomic with the write) and Idempotency-Key on create.
func TestNotes_ConditionalAndIdempotent(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	c := s.createContact(t, a.Key, map[string]any{"givenName": "Ada"})
	notesPath := "/api/v1/contacts/" + c["id"].(string) + "/notes"

	created := s.do(t, http.MethodPost, notesPath, a.Key, map[string]any{"body": "first"})
	wantStatus(t, created, http.StatusCreated)
	tag := wantETag(t, created)
	path := "/api/v1/notes/" + created.Data(t)["id"].(string)

	got := s.do(t, http.MethodGet, path, a.Key, nil)
	if wantETag(t, got) != tag {
		t.Fatalf("GET ETag %q, POST ETag %q", got.Header.Get("ETag"), tag)
	}
	nm := s.do(t, http.MethodGet, path, a.Key, nil, header{"If-None-Match", tag})
	wantStatus(t, nm, http.StatusNotModified)
	if len(nm.Body) != 0 {
		t.Fatalf("304 with a body: %q", nm.Body)
	}

	// 20 writers holding the same tag: exactly one wins.
	const n = 20
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[int]int{}
		start  = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			res, err := s.send(http.MethodPatch, path, a.Key, map[string]any{"body": fmt.Sprint("writer ", i)}, header{"If-Match", tag})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			counts[res.Status]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if counts[http.StatusOK] != 1 || counts[http.StatusPreconditionFailed] != n-1 {
		t.Fatalf("statuses %v, want one 200 and %d 412s", counts, n-1)
	}
	current := wantETag(t, s.do(t, http.MethodGet, path, a.Key, nil))
	if current == tag {
		t.Fatal("the ETag did not change with the update")
	}
	wantError(t, s.do(t, http.MethodDelete, path, a.Key, nil, header{"If-Match", tag}), http.StatusPreconditionFailed, "")
	wantStatus(t, s.do(t, http.MethodGet, path, a.Key, nil), http.StatusOK)
	wantStatus(t, s.do(t, http.MethodDelete, path, a.Key, nil, header{"If-Match", current}), http.StatusOK)

	// Idempotency-Key on POST .../notes: a retry replays, creating nothing.
	key := header{"Idempotency-Key", "note-retry-1"}
	first := s.do(t, http.MethodPost, notesPath, a.Key, `{"body":"once"}`, key)
	wantStatus(t, first, http.StatusCreated)
	again := s.do(t, http.MethodPost, notesPath, a.Key, `{"body":"once"}`, key)
	wantStatus(t, again, http.StatusCreated)
	if string(again.Body) != string(first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %s (Idempotent-Replayed %q), original %s", again.Body, again.Header.Get("Idempotent-Replayed"), first.Body)
	}
	fieldErrors(t, s.do(t, http.MethodPost, notesPath, a.Key, `{"body":"different"}`, key))
	list := s.do(t, http.MethodGet, notesPath, a.Key, nil)
	if total := list.JSON(t)["total"]; total != float64(1) {
		t.Fatalf("notes after replay: total %v, want 1", total)
	}
}
