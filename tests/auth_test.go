package tests

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/remy-crm/remy/model"
)

func TestAuth_Errors(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	ctx := context.Background()

	past := time.Now().Add(-time.Minute)
	expired, _, err := s.Store.Keys.Create(ctx, a.Account.ID, "expired", &past)
	if err != nil {
		t.Fatal(err)
	}
	revoked, rk, err := s.Store.Keys.Create(ctx, a.Account.ID, "revoked", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.Keys.Revoke(ctx, rk.ID); err != nil {
		t.Fatal(err)
	}
	tampered := a.Key[:len(a.Key)-1] + string("ab"[(strings.IndexByte("ab", a.Key[len(a.Key)-1])+1)&1])
	unknown := model.NewAPIKeySecret() // well-formed, checksum valid, never stored

	tests := []struct {
		name          string
		authorization string
		want          string
	}{
		{"missing header", "", "Missing Authorization header"},
		{"wrong scheme", "Basic " + a.Key, "Invalid, expired, or revoked API key"},
		{"no token", "Bearer", "Invalid, expired, or revoked API key"},
		{"malformed", "Bearer not-a-key", "Invalid, expired, or revoked API key"},
		{"bad checksum", "Bearer " + tampered, "Invalid, expired, or revoked API key"},
		{"unknown", "Bearer " + unknown, "Invalid, expired, or revoked API key"},
		{"expired", "Bearer " + expired, "Invalid, expired, or revoked API key"},
		{"revoked", "Bearer " + revoked, "Invalid, expired, or revoked API key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/api/v1/contacts", "/api/v1/contacts/00000000-0000-0000-0000-000000000000"} {
				var hs []header
				if tt.authorization != "" {
					hs = append(hs, header{"Authorization", tt.authorization})
				}
				res := s.do(t, http.MethodGet, path, "", nil, hs...)
				body := wantError(t, res, http.StatusUnauthorized, tt.want)
				if len(body) != 1 {
					t.Errorf("401 body has extra fields: %s", res.Body)
				}
				if got := res.Header.Get("WWW-Authenticate"); got != "Bearer" {
					t.Errorf("WWW-Authenticate = %q, want Bearer", got)
				}
			}
		})
	}

	t.Run("valid key, scheme case-insensitive", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/api/v1/contacts", "", nil, header{"Authorization", "bearer " + a.Key})
		wantStatus(t, res, http.StatusOK)
	})
	t.Run("writes are refused too", func(t *testing.T) {
		res := s.do(t, http.MethodPost, "/api/v1/contacts", revoked, map[string]any{"givenName": "x"})
		wantError(t, res, http.StatusUnauthorized, "Invalid, expired, or revoked API key")
	})
}

func TestAuth_LastUsed(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	lastUsed := func() *time.Time {
		keys, err := s.Store.Keys.List(context.Background(), a.Account.ID)
		if err != nil || len(keys) != 1 {
			t.Fatalf("list keys: %v %v", keys, err)
		}
		return keys[0].LastUsedAt
	}
	if lastUsed() != nil {
		t.Fatal("a new key has a last-used time")
	}
	wantStatus(t, s.do(t, http.MethodGet, "/api/v1/contacts", a.Key, nil), http.StatusOK)
	first := lastUsed()
	if first == nil {
		t.Fatal("last_used_at not recorded")
	}
	// Within the minute, further requests do not write it again.
	for range 3 {
		wantStatus(t, s.do(t, http.MethodGet, "/api/v1/contacts", a.Key, nil), http.StatusOK)
	}
	if again := lastUsed(); !again.Equal(*first) {
		t.Fatalf("last_used_at rewritten within a minute: %v then %v", first, again)
	}
}

func TestAuth_KeyActsOnItsOwnAccount(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	// A second key of the same account sees the same contacts.
	second, _, err := s.Store.Keys.Create(context.Background(), a.Account.ID, "second", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := s.createContact(t, a.Key, map[string]any{"givenName": "Shared"})
	wantStatus(t, s.do(t, http.MethodGet, "/api/v1/contacts/"+c["id"].(string), second, nil), http.StatusOK)
}
