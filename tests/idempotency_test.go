package tests

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

const contactsPath = "/api/v1/contacts"

func idemKey(k string) header { return header{"Idempotency-Key", k} }

func TestIdempotency_Replay(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	key := uuid.NewString()
	body := `{"givenName": "Ada", "tags": ["x"]}`

	first := s.do(t, http.MethodPost, contactsPath, a.Key, body, idemKey(key))
	wantStatus(t, first, http.StatusCreated)
	if v := first.Header.Get("Idempotent-Replayed"); v != "" {
		t.Fatalf("first response has Idempotent-Replayed: %q", v)
	}
	for range 2 {
		again := s.do(t, http.MethodPost, contactsPath, a.Key, body, idemKey(key))
		wantStatus(t, again, http.StatusCreated)
		if !bytes.Equal(again.Body, first.Body) {
			t.Fatalf("replayed body\n%s\ndiffers from the original\n%s", again.Body, first.Body)
		}
		for _, h := range []string{"Content-Type", "Location", "ETag"} {
			if again.Header.Get(h) != first.Header.Get(h) || first.Header.Get(h) == "" {
				t.Fatalf("%s: replayed %q, original %q", h, again.Header.Get(h), first.Header.Get(h))
			}
		}
		if v := again.Header.Get("Idempotent-Replayed"); v != "true" {
			t.Fatalf("Idempotent-Replayed = %q, want true", v)
		}
	}
	s.wantContacts(t, a.Account.ID, 1)

	t.Run("same key, different body: 422", func(t *testing.T) {
		res := s.do(t, http.MethodPost, contactsPath, a.Key, `{"givenName": "Bob"}`, idemKey(key))
		fe, _ := fieldErrors(t, res)
		if fe["Idempotency-Key"] == nil {
			t.Fatalf("want fieldErrors.Idempotency-Key: %s", res.Body)
		}
		s.wantContacts(t, a.Account.ID, 1)
	})
	t.Run("keys are per account", func(t *testing.T) {
		b := s.newTenant(t)
		res := s.do(t, http.MethodPost, contactsPath, b.Key, body, idemKey(key))
		wantStatus(t, res, http.StatusCreated)
		if res.Header.Get("Idempotent-Replayed") != "" || res.Data(t)["id"] == first.Data(t)["id"] {
			t.Fatalf("another account's key was replayed: %s", res.Body)
		}
		s.wantContacts(t, b.Account.ID, 1)
	})
	t.Run("without a key every POST creates", func(t *testing.T) {
		c := newServer(t)
		x := c.newTenant(t)
		wantStatus(t, c.do(t, http.MethodPost, contactsPath, x.Key, body), http.StatusCreated)
		wantStatus(t, c.do(t, http.MethodPost, contactsPath, x.Key, body), http.StatusCreated)
		c.wantContacts(t, x.Account.ID, 2)
	})
}

func TestIdempotency_FailuresAreNotStored(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	key := uuid.NewString()

	// Schema validation, domain validation and malformed JSON all fail.
	fieldErrors(t, s.do(t, http.MethodPost, contactsPath, a.Key, `{"givenName": 42}`, idemKey(key)))
	fieldErrors(t, s.do(t, http.MethodPost, contactsPath, a.Key, `{"jobTitle": "CEO"}`, idemKey(key)))
	wantStatus(t, s.do(t, http.MethodPost, contactsPath, a.Key, `{"givenName":`, idemKey(key)), http.StatusBadRequest)
	huge := `{"givenName": "` + strings.Repeat("x", 1<<20) + `"}`
	wantError(t, s.do(t, http.MethodPost, contactsPath, a.Key, huge, idemKey(key)), http.StatusRequestEntityTooLarge, "")

	res := s.do(t, http.MethodPost, contactsPath, a.Key, `{"givenName": "Ada"}`, idemKey(key))
	wantStatus(t, res, http.StatusCreated)
	if res.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("a fresh success was marked replayed")
	}
	again := s.do(t, http.MethodPost, contactsPath, a.Key, `{"givenName": "Ada"}`, idemKey(key))
	wantStatus(t, again, http.StatusCreated)
	if again.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.Body, res.Body) {
		t.Fatalf("not replayed: %s", again.Body)
	}
	s.wantContacts(t, a.Account.ID, 1)
}

func TestIdempotency_InvalidKey(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	res := s.do(t, http.MethodPost, contactsPath, a.Key, `{"givenName": "Ada"}`, idemKey(strings.Repeat("k", 256)))
	fe, _ := fieldErrors(t, res)
	if fe["Idempotency-Key"] == nil {
		t.Fatalf("want fieldErrors.Idempotency-Key: %s", res.Body)
	}
	wantStatus(t, s.do(t, http.MethodPost, contactsPath, a.Key, `{"givenName": "Ada"}`, idemKey(strings.Repeat("k", 255))), http.StatusCreated)
	s.wantContacts(t, a.Account.ID, 1)
}

// A key held by a request still running answers 409; once its lease has run
// out (the process died) the key can be taken over; expired keys are purged.
func TestIdempotency_RunningStaleExpired(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	ctx := context.Background()

	running := uuid.NewString()
	if _, _, err := s.Store.Idempotency.Claim(ctx, a.Account.ID, running, []byte("other process"), time.Minute, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	res := s.do(t, http.MethodPost, contactsPath, a.Key, `{"givenName": "Ada"}`, idemKey(running))
	wantError(t, res, http.StatusConflict, "A request with this Idempotency-Key is still in progress; retry shortly")
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("409 without Retry-After")
	}

	stale := uuid.NewString()
	if _, _, err := s.Store.Idempotency.Claim(ctx, a.Account.ID, stale, []byte("crashed"), 0, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, s.do(t, http.MethodPost, contactsPath, a.Key, `{"givenName": "Ada"}`, idemKey(stale)), http.StatusCreated)

	expired := uuid.NewString()
	if _, _, err := s.Store.Idempotency.Claim(ctx, a.Account.ID, expired, []byte("yesterday"), time.Minute, -time.Second); err != nil {
		t.Fatal(err)
	}
	res = s.do(t, http.MethodPost, contactsPath, a.Key, `{"givenName": "Ada"}`, idemKey(expired))
	wantStatus(t, res, http.StatusCreated)
	if res.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("an expired key was replayed")
	}

	old := uuid.NewString()
	if _, _, err := s.Store.Idempotency.Claim(ctx, a.Account.ID, old, []byte("yesterday"), time.Minute, -time.Second); err != nil {
		t.Fatal(err)
	}
	n, err := s.Store.Idempotency.Purge(ctx, 1000)
	if err != nil || n != 1 {
		t.Fatalf("purge deleted %d (%v), want 1", n, err)
	}
	left, err := s.Store.DB.NewSelect().Table("idempotency_keys").Where("account_id = ?", a.Account.ID).Count(ctx)
	if err != nil || left != 3 {
		t.Fatalf("%d keys left (%v), want the 3 live ones", left, err)
	}
}

// Ten identical requests at once, half of them to a second process over the
// same database: exactly one contact, one original 201, and the rest 409s
// or replays of it.
func TestIdempotency_Concurrent(t *testing.T) {
	t.Parallel()
	s1 := newServer(t)
	s2 := newServerOn(t, s1.DSN)
	a := s1.newTenant(t)
	key := uuid.NewString()

	const n = 10
	var (
		wg        sync.WaitGroup
		start     = make(chan struct{})
		mu        sync.Mutex
		responses []*response
	)
	for i := range n {
		srv := s1
		if i%2 == 1 {
			srv = s2
		}
		wg.Go(func() {
			<-start
			res, err := srv.send(http.MethodPost, contactsPath, a.Key, `{"givenName": "Once"}`, idemKey(key))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			responses = append(responses, res)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()

	var original *response
	for _, res := range responses {
		switch {
		case res.Status == http.StatusCreated && res.Header.Get("Idempotent-Replayed") == "":
			if original != nil {
				t.Fatalf("two originals:\n%s\n%s", original.Body, res.Body)
			}
			original = res
		case res.Status == http.StatusCreated, res.Status == http.StatusConflict:
		default:
			t.Fatalf("unexpected %d: %s", res.Status, res.Body)
		}
	}
	if original == nil {
		t.Fatal("no original 201")
	}
	for _, res := range responses {
		if res.Status == http.StatusCreated && !bytes.Equal(res.Body, original.Body) {
			t.Fatalf("replay %s differs from original %s", res.Body, original.Body)
		}
	}
	s1.wantContacts(t, a.Account.ID, 1)
	// Afterwards both processes replay it.
	for _, srv := range []*testServer{s1, s2} {
		res := srv.do(t, http.MethodPost, contactsPath, a.Key, `{"givenName": "Once"}`, idemKey(key))
		wantStatus(t, res, http.StatusCreated)
		if res.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(res.Body, original.Body) {
			t.Fatalf("not replayed: %s", res.Body)
		}
	}
}

// The created contact and the stored response commit together: if the
// response cannot be stored, the contact (and its Activity Log entry) is
// not created either, and a retry with the same key creates exactly one.
func TestIdempotency_ResponseStoredWithTheResource(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	ctx := context.Background()
	if _, err := s.Store.DB.ExecContext(ctx, `
		CREATE FUNCTION fail_store() RETURNS trigger LANGUAGE plpgsql AS
			$$ BEGIN RAISE EXCEPTION 'cannot store the response'; END $$;
		CREATE TRIGGER fail_store BEFORE UPDATE ON idempotency_keys
		FOR EACH ROW EXECUTE FUNCTION fail_store();`); err != nil {
		t.Fatal(err)
	}
	key := header{"Idempotency-Key", "atomic-1"}
	res := s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, `{"givenName":"Once"}`, key)
	wantError(t, res, http.StatusInternalServerError, "Internal server error")
	if n := s.countContacts(t, a.Account.ID); n != 0 {
		t.Fatalf("%d contacts exist although the request failed", n)
	}
	var entries int
	if err := s.Store.DB.NewRaw("SELECT count(*) FROM activity_log WHERE account_id = ?", a.Account.ID).Scan(ctx, &entries); err != nil {
		t.Fatal(err)
	}
	if entries != 0 {
		t.Fatalf("%d Activity Log entries for a request that did not happen", entries)
	}

	if _, err := s.Store.DB.ExecContext(ctx, `DROP TRIGGER fail_store ON idempotency_keys`); err != nil {
		t.Fatal(err)
	}
	retry := s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, `{"givenName":"Once"}`, key)
	wantStatus(t, retry, http.StatusCreated)
	replay := s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, `{"givenName":"Once"}`, key)
	if replay.Status != http.StatusCreated || replay.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %q", replay.Status, replay.Header.Get("Idempotent-Replayed"))
	}
	if n := s.countContacts(t, a.Account.ID); n != 1 {
		t.Fatalf("%d contacts after the retry, want 1", n)
	}
}
