package tests

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// BenchmarkGetContact measures GET /api/v1/contacts/{id} over real HTTP and
// Postgres, against "bare": the simplest code doing the same work
// (net/http + pgx, the same two queries, no framework, no validation, no
// middleware). The difference is what Huma, bun and our middleware cost.
//
//	go test ./tests -run '^$' -bench GetContact -benchtime 5s
func BenchmarkGetContact(b *testing.B) {
	s := newServer(b)
	a := s.newTenant(b)
	c := s.createContact(b, a.Key, map[string]any{
		"givenName": "Ada", "familyName": "Lovelace", "tags": []string{"math"},
		"emails": []map[string]any{{"value": "ada@example.com", "label": "work"}},
	})
	path := "/api/v1/contacts/" + c["id"].(string)

	bare := newBareServer(b, s.DSN)
	b.Run("remy", func(b *testing.B) { benchGET(b, s.URL+path, a.Key) })
	b.Run("bare", func(b *testing.B) { benchGET(b, bare.URL+path, a.Key) })
}

func benchGET(b *testing.B, url, key string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Authorization", "Bearer "+key)
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// newBareServer serves GET /api/v1/contacts/{id} the plainest way.
func newBareServer(tb testing.TB, dsn string) *httptest.Server {
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/contacts/{id}", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		key, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		hash := sha256.Sum256([]byte(key))
		var account string
		err := pool.QueryRow(ctx, `SELECT account_id FROM api_keys WHERE hash = $1 AND revoked_at IS NULL
			AND (expires_at IS NULL OR expires_at > now())`, hash[:]).Scan(&account)
		if err != nil {
			http.Error(w, `{"error":"Invalid, expired, or revoked API key"}`, http.StatusUnauthorized)
			return
		}
		type lv struct {
			Value string `json:"value"`
			Label string `json:"label"`
		}
		var c struct {
			ID             string    `json:"id"`
			GivenName      *string   `json:"givenName"`
			FamilyName     *string   `json:"familyName"`
			Nickname       *string   `json:"nickname"`
			Company        *string   `json:"company"`
			JobTitle       *string   `json:"jobTitle"`
			Emails         []lv      `json:"emails"`
			Phones         []lv      `json:"phones"`
			Birthday       *string   `json:"birthday"`
			Tags           []string  `json:"tags"`
			IntroducedByID *string   `json:"introducedById"`
			CreatedAt      time.Time `json:"createdAt"`
			UpdatedAt      time.Time `json:"updatedAt"`
		}
		err = pool.QueryRow(ctx, `SELECT id::text, given_name, family_name, nickname, company, job_title,
			emails, phones, birthday::text, tags, introduced_by_id::text, created_at, updated_at
			FROM contacts WHERE account_id = $1 AND id = $2`, account, r.PathValue("id")).
			Scan(&c.ID, &c.GivenName, &c.FamilyName, &c.Nickname, &c.Company, &c.JobTitle,
				&c.Emails, &c.Phones, &c.Birthday, &c.Tags, &c.IntroducedByID, &c.CreatedAt, &c.UpdatedAt)
		if err == pgx.ErrNoRows {
			http.Error(w, `{"error":"Contact not found"}`, http.StatusNotFound)
			return
		} else if err != nil {
			http.Error(w, fmt.Sprint(err), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"data": c})
	})
	srv := httptest.NewServer(mux)
	tb.Cleanup(func() { srv.Close(); pool.Close() })
	return srv
}
