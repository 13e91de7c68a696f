package tests

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
)

var strongETag = regexp.MustCompile(`^"[^"]+"$`)

// wantETag returns the response's ETag, failing unless it is a strong one.
func wantETag(t testing.TB, res *response) string {
	t.Helper()
	tag := res.Header.Get("ETag")
	if !strongETag.MatchString(tag) {
		t.Fatalf("ETag = %q, want a strong (quoted, no W/) entity tag", tag)
	}
	return tag
}

// createTagged creates a contact and returns its path and ETag.
func (s *client) createTagged(t testing.TB, key string) (path, etag string) {
	t.Helper()
	created := s.do(t, http.MethodPost, "/api/v1/contacts", key, map[string]any{"givenName": "Ada"})
	wantStatus(t, created, http.StatusCreated)
	return "/api/v1/contacts/" + created.Data(t)["id"].(string), wantETag(t, created)
}

func TestContacts_ETag(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)

	path, tag := s.createTagged(t, a.Key)

	got := s.do(t, http.MethodGet, path, a.Key, nil)
	wantStatus(t, got, http.StatusOK)
	if wantETag(t, got) != tag {
		t.Fatalf("GET ETag %q differs from POST's %q", got.Header.Get("ETag"), tag)
	}

	t.Run("If-None-Match current: 304 without body", func(t *testing.T) {
		for _, v := range []string{tag, `"nope", ` + tag, "*", "W/" + tag} {
			res := s.do(t, http.MethodGet, path, a.Key, nil, header{"If-None-Match", v})
			wantStatus(t, res, http.StatusNotModified)
			if len(res.Body) != 0 {
				t.Fatalf("304 with body %q", res.Body)
			}
			if res.Header.Get("ETag") != tag {
				t.Fatalf("304 ETag = %q, want %q", res.Header.Get("ETag"), tag)
			}
			if ct := res.Header.Get("Content-Type"); ct != "" {
				t.Fatalf("304 with Content-Type %q", ct)
			}
		}
	})
	t.Run("If-None-Match other: 200", func(t *testing.T) {
		res := s.do(t, http.MethodGet, path, a.Key, nil, header{"If-None-Match", `"something-else"`})
		wantStatus(t, res, http.StatusOK)
		if res.Data(t)["givenName"] != "Ada" || res.Header.Get("ETag") != tag {
			t.Fatalf("body %s, ETag %q", res.Body, res.Header.Get("ETag"))
		}
	})

	patched := s.do(t, http.MethodPatch, path, a.Key, map[string]any{"nickname": "Countess"})
	wantStatus(t, patched, http.StatusOK)
	newTag := wantETag(t, patched)
	if newTag == tag {
		t.Fatal("PATCH did not change the ETag")
	}
	t.Run("the old tag no longer matches", func(t *testing.T) {
		res := s.do(t, http.MethodGet, path, a.Key, nil, header{"If-None-Match", tag})
		wantStatus(t, res, http.StatusOK)
		if res.Header.Get("ETag") != newTag {
			t.Fatalf("GET ETag = %q, want the PATCH's %q", res.Header.Get("ETag"), newTag)
		}
	})
	t.Run("a PATCH that changes nothing keeps the tag", func(t *testing.T) {
		res := s.do(t, http.MethodPatch, path, a.Key, map[string]any{"nickname": "Countess"})
		wantStatus(t, res, http.StatusOK)
		if res.Header.Get("ETag") != newTag {
			t.Fatalf("ETag = %q, want %q", res.Header.Get("ETag"), newTag)
		}
	})
	t.Run("tags differ between contacts", func(t *testing.T) {
		other := s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, map[string]any{"givenName": "Bob"})
		wantStatus(t, other, http.StatusCreated)
		if wantETag(t, other) == tag {
			t.Fatal("two contacts at version 1 share an ETag")
		}
	})
}

func TestContacts_IfMatch(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	path, stale := s.createTagged(t, a.Key)
	res := s.do(t, http.MethodPatch, path, a.Key, map[string]any{"nickname": "v2"}, header{"If-Match", stale})
	wantStatus(t, res, http.StatusOK)
	current := wantETag(t, res)

	const msg = "Precondition failed: the contact has changed; fetch it again and retry with its current ETag"
	for _, tt := range []struct{ name, ifMatch string }{
		{"stale tag", stale},
		{"unknown tag", `"abc"`},
		{"weak current tag (If-Match compares strongly)", "W/" + current},
		{"list without the current tag", stale + `, "abc"`},
	} {
		t.Run("PATCH "+tt.name, func(t *testing.T) {
			res := s.do(t, http.MethodPatch, path, a.Key, map[string]any{"nickname": "lost update"}, header{"If-Match", tt.ifMatch})
			wantError(t, res, http.StatusPreconditionFailed, msg)
			got := s.do(t, http.MethodGet, path, a.Key, nil)
			if got.Data(t)["nickname"] != "v2" || got.Header.Get("ETag") != current {
				t.Fatalf("a refused PATCH changed the contact: %s", got.Body)
			}
		})
		t.Run("DELETE "+tt.name, func(t *testing.T) {
			wantError(t, s.do(t, http.MethodDelete, path, a.Key, nil, header{"If-Match", tt.ifMatch}), http.StatusPreconditionFailed, msg)
			wantStatus(t, s.do(t, http.MethodGet, path, a.Key, nil), http.StatusOK)
		})
	}

	for i, ifMatch := range []func() string{func() string { return "*" }, func() string { return `"abc", ` + current }} {
		res := s.do(t, http.MethodPatch, path, a.Key, map[string]any{"nickname": fmt.Sprint("v", 3+i)}, header{"If-Match", ifMatch()})
		wantStatus(t, res, http.StatusOK)
		if next := wantETag(t, res); next == current {
			t.Fatal("ETag unchanged after an update")
		} else {
			current = next
		}
	}

	t.Run("missing contact is still 404", func(t *testing.T) {
		res := s.do(t, http.MethodPatch, "/api/v1/contacts/00000000-0000-4000-8000-000000000000", a.Key, map[string]any{"nickname": "x"}, header{"If-Match", current})
		wantError(t, res, http.StatusNotFound, "Contact not found")
	})
	wantStatus(t, s.do(t, http.MethodDelete, path, a.Key, nil, header{"If-Match", current}), http.StatusOK)
	wantStatus(t, s.do(t, http.MethodGet, path, a.Key, nil), http.StatusNotFound)
}

// Twenty writers holding the same ETag: the check and the write are one
// atomic step, so exactly one wins.
func TestContacts_IfMatchConcurrent(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	path, tag := s.createTagged(t, a.Key)

	const n = 20
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		mu     sync.Mutex
		counts = map[int]int{}
		won    *response // decoded after Wait: t.Fatal belongs to the test's goroutine
	)
	for i := range n {
		wg.Go(func() {
			<-start
			res, err := s.send(http.MethodPatch, path, a.Key, map[string]any{"nickname": fmt.Sprint("writer ", i)}, header{"If-Match", tag})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			counts[res.Status]++
			if res.Status == http.StatusOK {
				won = res
			}
		})
	}
	close(start)
	wg.Wait()
	if counts[http.StatusOK] != 1 || counts[http.StatusPreconditionFailed] != n-1 {
		t.Fatalf("statuses %v, want exactly one 200 and %d 412s", counts, n-1)
	}
	winner, _ := won.Data(t)["nickname"].(string)
	if !strings.HasPrefix(winner, "writer ") {
		t.Fatalf("the winner's nickname = %q", winner)
	}
	if got := s.do(t, http.MethodGet, path, a.Key, nil).Data(t)["nickname"]; got != winner {
		t.Fatalf("nickname = %v, want the winner's %q", got, winner)
	}
}

// Twenty writers without If-Match patch the same contact at once: every one
// is applied on top of the others (none lost, none applied twice), so the
// Activity Log holds twenty updates whose versions run 1→2 … 20→21.
func TestContacts_ConcurrentPatchesAllApply(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	id := s.createContact(t, a.Key, map[string]any{"givenName": "Shared"})["id"].(string)

	const n = 20
	var wg sync.WaitGroup
	start := make(chan struct{})
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() {
			<-start
			res, err := s.send(http.MethodPatch, "/api/v1/contacts/"+id, a.Key, map[string]any{"nickname": fmt.Sprint("writer ", i)})
			if err != nil {
				t.Error(err)
				return
			}
			statuses[i] = res.Status
		})
	}
	close(start)
	wg.Wait()
	for i, st := range statuses {
		if st != http.StatusOK {
			t.Fatalf("writer %d: status %d", i, st)
		}
	}
	// Applied one after another: each update's "before" is the previous
	// one's "after", starting from none, ending at what a GET shows.
	res := s.do(t, http.MethodGet, "/api/v1/activity?resourceId="+id+"&limit=100", a.Key, nil)
	wantStatus(t, res, http.StatusOK)
	next := map[any]any{} // before → after
	for _, e := range res.JSON(t)["data"].([]any) {
		e := e.(map[string]any)
		if e["action"] != "contact.updated" {
			continue
		}
		ch := e["changes"].(map[string]any)["nickname"].(map[string]any)
		if _, dup := next[ch["before"]]; dup {
			t.Fatalf("two updates applied on top of nickname %v: one was lost", ch["before"])
		}
		next[ch["before"]] = ch["after"]
	}
	if len(next) != n {
		t.Fatalf("%d contact.updated entries for %d acknowledged PATCHes", len(next), n)
	}
	var cur any
	for range n {
		after, ok := next[cur]
		if !ok {
			t.Fatalf("no update applied on top of nickname %v", cur)
		}
		cur = after
	}
	if got := s.do(t, http.MethodGet, "/api/v1/contacts/"+id, a.Key, nil).Data(t)["nickname"]; got != cur {
		t.Fatalf("nickname = %v, the last update set %v", got, cur)
	}
}

// The conditional and idempotency headers are part of the published contract.
func TestOpenAPI_ConditionalHeaders(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	res := s.do(t, http.MethodGet, "/openapi.json", "", nil)
	wantStatus(t, res, http.StatusOK)
	paths := res.JSON(t)["paths"].(map[string]any)
	op := func(path, method string) map[string]any {
		return paths[path].(map[string]any)[method].(map[string]any)
	}
	params := func(o map[string]any) string {
		var names []string
		for _, p := range o["parameters"].([]any) {
			names = append(names, p.(map[string]any)["name"].(string))
		}
		return strings.Join(names, ",")
	}
	responseHeaders := func(o map[string]any, status string) map[string]any {
		r, _ := o["responses"].(map[string]any)[status].(map[string]any)
		h, _ := r["headers"].(map[string]any)
		return h
	}
	get, patch, del, post := op("/api/v1/contacts/{id}", "get"), op("/api/v1/contacts/{id}", "patch"),
		op("/api/v1/contacts/{id}", "delete"), op("/api/v1/contacts", "post")
	for _, c := range []struct {
		name string
		o    map[string]any
		want string
	}{{"GET", get, "If-None-Match"}, {"PATCH", patch, "If-Match"}, {"DELETE", del, "If-Match"}, {"POST", post, "Idempotency-Key"}} {
		if !strings.Contains(params(c.o), c.want) {
			t.Errorf("%s parameters %s lack %s", c.name, params(c.o), c.want)
		}
	}
	for _, c := range []struct {
		name, status string
		o            map[string]any
		want         []string
	}{
		{"GET", "200", get, []string{"ETag"}}, {"GET", "304", get, []string{"ETag"}}, {"PATCH", "200", patch, []string{"ETag"}},
		{"POST", "201", post, []string{"ETag", "Location", "Idempotent-Replayed"}},
	} {
		for _, h := range c.want {
			if responseHeaders(c.o, c.status)[h] == nil {
				t.Errorf("%s %s response does not document %s", c.name, c.status, h)
			}
		}
	}
	for _, c := range []struct {
		o      map[string]any
		status string
	}{{patch, "412"}, {del, "412"}, {post, "409"}, {post, "422"}, {get, "429"}} {
		if c.o["responses"].(map[string]any)[c.status] == nil {
			t.Errorf("%s %s is not documented", c.o["operationId"], c.status)
		}
	}
}
