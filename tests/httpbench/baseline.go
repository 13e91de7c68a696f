package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The baseline is the plainest server doing the same SQL work per request as
// Remy: the key lookup, the tenancy filter, on writes the audit row and the
// change-feed event, in the same transactions. net/http's mux, pgx's pool
// with its automatic prepared statements, encoding/json, and nothing else:
// no framework, no validation, no middleware, no logging. Its answers have
// Remy's shapes. It runs twice: on Remy's schema, and on bare tables (see
// bareSchema).

type labeled struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

type address struct {
	Label      string `json:"label"`
	Street     string `json:"street"`
	City       string `json:"city"`
	Region     string `json:"region"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
}

type contact struct {
	ID             string    `json:"id"`
	GivenName      *string   `json:"givenName"`
	FamilyName     *string   `json:"familyName"`
	Nickname       *string   `json:"nickname"`
	Company        *string   `json:"company"`
	JobTitle       *string   `json:"jobTitle"`
	Emails         []labeled `json:"emails"`
	Phones         []labeled `json:"phones"`
	Addresses      []address `json:"addresses"`
	URLs           []labeled `json:"urls"`
	Birthday       *string   `json:"birthday"`
	Tags           []string  `json:"tags"`
	IntroducedByID *string   `json:"introducedById"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
	version        int64
}

const contactColumns = `c.id::text, c.given_name, c.family_name, c.nickname, c.company, c.job_title,
	c.emails, c.phones, c.addresses, c.urls, c.birthday::text, c.tags, c.introduced_by_id::text, c.created_at, c.updated_at, c.version`

func (c *contact) fields() []any {
	return []any{&c.ID, &c.GivenName, &c.FamilyName, &c.Nickname, &c.Company, &c.JobTitle,
		&c.Emails, &c.Phones, &c.Addresses, &c.URLs, &c.Birthday, &c.Tags, &c.IntroducedByID, &c.CreatedAt, &c.UpdatedAt, &c.version}
}

type baseline struct{ pool *pgxpool.Pool }

// runBaseline serves until killed, printing its address on stdout.
func runBaseline(dsn, addr string) error {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return err
	}
	cfg.MaxConns = 8 // Remy's pool: 4 × GOMAXPROCS on this 2-core machine
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return err
	}
	b := &baseline{pool: pool}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"status":"ok"}`)) })
	mux.HandleFunc("GET /api/v1/contacts/{id}", b.auth(b.get))
	mux.HandleFunc("GET /api/v1/contacts", b.auth(b.list))
	mux.HandleFunc("POST /api/v1/contacts", b.auth(b.create))
	mux.HandleFunc("PATCH /api/v1/contacts/{id}", b.auth(b.patch))
	mux.HandleFunc("GET /api/v1/export", b.auth(b.export))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stdout, "listening", ln.Addr().String())
	return http.Serve(ln, mux)
}

type key struct{ id, account string }

func (b *baseline) auth(h func(http.ResponseWriter, *http.Request, key)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secret, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		hash := sha256.Sum256([]byte(secret))
		var k key
		err := b.pool.QueryRow(r.Context(), `SELECT id::text, account_id::text FROM api_keys WHERE hash = $1
			AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`, hash[:]).Scan(&k.id, &k.account)
		if err != nil {
			fail(w, http.StatusUnauthorized, "Invalid, expired, or revoked API key", err)
			return
		}
		h(w, r, k)
	}
}

func fail(w http.ResponseWriter, status int, msg string, err error) {
	if errors.Is(err, pgx.ErrNoRows) && status == http.StatusInternalServerError {
		status, msg = http.StatusNotFound, "Contact not found"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func etag(c *contact) string { return `"` + c.ID + "-" + strconv.FormatInt(c.version, 10) + `"` }

func (b *baseline) get(w http.ResponseWriter, r *http.Request, k key) {
	var c contact
	err := b.pool.QueryRow(r.Context(), `SELECT `+contactColumns+` FROM contacts c WHERE c.account_id = $1 AND c.id = $2`,
		k.account, r.PathValue("id")).Scan(c.fields()...)
	if err != nil {
		fail(w, http.StatusInternalServerError, "internal error", err)
		return
	}
	w.Header().Set("ETag", etag(&c))
	writeJSON(w, http.StatusOK, map[string]any{"data": &c})
}

func (b *baseline) list(w http.ResponseWriter, r *http.Request, k key) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	rows, err := b.pool.Query(r.Context(), `SELECT `+contactColumns+`, count(*) OVER () FROM contacts c
		WHERE c.account_id = $1 ORDER BY c.created_at DESC, c.id DESC LIMIT $2 OFFSET $3`, k.account, limit, offset)
	if err != nil {
		fail(w, http.StatusInternalServerError, "internal error", err)
		return
	}
	out := struct {
		Data  []contact `json:"data"`
		Total int       `json:"total"`
	}{Data: make([]contact, 0, limit)}
	for rows.Next() {
		var c contact
		if err := rows.Scan(append(c.fields(), &out.Total)...); err != nil {
			fail(w, http.StatusInternalServerError, "internal error", err)
			return
		}
		out.Data = append(out.Data, c)
	}
	if err := rows.Err(); err != nil {
		fail(w, http.StatusInternalServerError, "internal error", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

type contactInput struct {
	GivenName  *string   `json:"givenName"`
	FamilyName *string   `json:"familyName"`
	Company    *string   `json:"company"`
	JobTitle   *string   `json:"jobTitle"`
	Emails     []labeled `json:"emails"`
	Tags       []string  `json:"tags"`
}

const activityInsert = `INSERT INTO activity_log (account_id, action, resource_type, resource_id, auth_method,
	api_key_id, ip, user_agent, changes) VALUES ($1, $2, 'contact', $3, 'api_key', $4, $5, $6, $7)
	RETURNING id, created_at`

// eventInsert is the change feed's event of the entry, with the contact as
// the API shows it.
const eventInsert = `INSERT INTO events (account_id, id, type, object, created_at) VALUES ($1, $2, $3, $4, $5)`

// logWrite writes the Activity Log entry and the change-feed event of a
// write of c.
func logWrite(ctx context.Context, tx pgx.Tx, r *http.Request, k key, action string, c *contact, changes any) error {
	var id string
	var at time.Time
	err := tx.QueryRow(ctx, activityInsert, k.account, action, c.ID, k.id, clientIP(r), r.UserAgent(), changes).Scan(&id, &at)
	if err != nil {
		return err
	}
	obj, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, eventInsert, k.account, id, action, string(obj), at)
	return err
}

func clientIP(r *http.Request) string {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	return host
}

func (b *baseline) create(w http.ResponseWriter, r *http.Request, k key) {
	var in contactInput
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, "Malformed JSON", err)
		return
	}
	if in.Emails == nil {
		in.Emails = []labeled{}
	}
	if in.Tags == nil {
		in.Tags = []string{}
	}
	var c contact
	err := pgx.BeginFunc(r.Context(), b.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(r.Context(), `INSERT INTO contacts AS c (account_id, given_name, family_name, company, job_title, emails, tags)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+contactColumns,
			k.account, in.GivenName, in.FamilyName, in.Company, in.JobTitle, in.Emails, in.Tags).Scan(c.fields()...)
		if err != nil {
			return err
		}
		return logWrite(r.Context(), tx, r, k, "contact.created", &c, nil)
	})
	if err != nil {
		fail(w, http.StatusInternalServerError, "internal error", err)
		return
	}
	w.Header().Set("Location", "/api/v1/contacts/"+c.ID)
	w.Header().Set("ETag", etag(&c))
	writeJSON(w, http.StatusCreated, map[string]any{"data": &c})
}

// patch handles the one field the benchmark changes, as Remy's old-value
// diff needs: the previous value comes back from the same UPDATE.
func (b *baseline) patch(w http.ResponseWriter, r *http.Request, k key) {
	var in contactInput
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, "Malformed JSON", err)
		return
	}
	var c contact
	var old *string
	err := pgx.BeginFunc(r.Context(), b.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(r.Context(), `UPDATE contacts c SET job_title = $3, version = c.version + 1, updated_at = clock_timestamp()
			FROM contacts o WHERE c.account_id = $1 AND c.id = $2 AND o.id = c.id
			RETURNING o.job_title, `+contactColumns, k.account, r.PathValue("id"), in.JobTitle).
			Scan(append([]any{&old}, c.fields()...)...)
		if err != nil {
			return err
		}
		changes := map[string]map[string]*string{"jobTitle": {"from": old, "to": in.JobTitle}}
		return logWrite(r.Context(), tx, r, k, "contact.updated", &c, changes)
	})
	if err != nil {
		fail(w, http.StatusInternalServerError, "internal error", err)
		return
	}
	w.Header().Set("ETag", etag(&c))
	writeJSON(w, http.StatusOK, map[string]any{"data": &c})
}

// export streams every contact of the account from one snapshot.
func (b *baseline) export(w http.ResponseWriter, r *http.Request, k key) {
	ctx := r.Context()
	tx, err := b.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		fail(w, http.StatusInternalServerError, "internal error", err)
		return
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	rows, err := tx.Query(ctx, `SELECT `+contactColumns+` FROM contacts c WHERE c.account_id = $1
		ORDER BY c.created_at DESC, c.id DESC`, k.account)
	if err != nil {
		fail(w, http.StatusInternalServerError, "internal error", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	_, _ = fmt.Fprintf(w, `{"data":{"exportedAt":%q,"account":{"id":%q},"contacts":[`, time.Now().UTC().Format(time.RFC3339Nano), k.account)
	first := true
	for rows.Next() {
		var c contact
		if err := rows.Scan(c.fields()...); err != nil {
			panic(http.ErrAbortHandler)
		}
		if !first {
			_, _ = w.Write([]byte{','})
		}
		first = false
		_ = enc.Encode(&c)
	}
	if rows.Err() != nil {
		panic(http.ErrAbortHandler)
	}
	_, _ = w.Write([]byte(`],"notes":[]}}`))
}
