package tests

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// duplicatesBenchContacts is the size of the benchmark's account.
const duplicatesBenchContacts = 10_000

// duplicatesSeedSQL inserts $2 contacts into account $1: each with a given
// and family name, an email and a US phone number, a third of them a UK
// number too; every 50th repeats the one before it written differently
// (name upper-cased and accented, email upper-cased, phone in
// international form), so about 3 × 2% of the contacts fall into groups.
const duplicatesSeedSQL = `
INSERT INTO contacts (account_id, given_name, family_name, emails, phones, created_at)
SELECT ?0,
  CASE WHEN dup THEN 'GÍVEN' ELSE 'Given' END || base,
  'Family' || base,
  jsonb_build_array(jsonb_build_object('value', CASE WHEN dup THEN 'P' || base || '@EXAMPLE.COM' ELSE 'p' || base || '@example.com' END, 'label', 'work')),
  jsonb_build_array(jsonb_build_object('value', CASE WHEN dup
      THEN '+1 415 ' || substr(d, 1, 3) || ' ' || substr(d, 4, 4)
      ELSE '(415) ' || substr(d, 1, 3) || '-' || substr(d, 4, 4) END, 'label', 'mobile'))
    || CASE WHEN i % 3 = 0 THEN jsonb_build_array(jsonb_build_object('value', '+44 20 7946 ' || lpad((i % 10000)::text, 4, '0'), 'label', 'home')) ELSE '[]' END,
  timestamptz '2024-01-01' + (i || ' minutes')::interval
FROM generate_series(1, ?1) i
CROSS JOIN LATERAL (SELECT i % 50 = 0 AS dup, CASE WHEN i % 50 = 0 THEN i - 1 ELSE i END AS base) b
CROSS JOIN LATERAL (SELECT lpad((2000000 + base)::text, 7, '0') AS d) p`

// BenchmarkContactDuplicates measures GET /api/v1/contacts/duplicates over
// HTTP on an account of 10,000 contacts (about 13,300 phone numbers), one
// client at a time: "cold" is a server's first request (every phone number
// parsed), each on a new server over the same database; "warm" the
// requests after it (the numbers' keys remembered). It prints p50/p95.
//
//	go test ./tests -run '^$' -bench ContactDuplicates -benchtime 1x
func BenchmarkContactDuplicates(b *testing.B) {
	s := newServer(b)
	a := s.newTenant(b)
	ctx := context.Background()
	if _, err := s.Store.DB.ExecContext(ctx, duplicatesSeedSQL, a.Account.ID, duplicatesBenchContacts); err != nil {
		b.Fatalf("seed: %v", err)
	}
	if _, err := s.Store.DB.ExecContext(ctx, "VACUUM (ANALYZE) contacts"); err != nil {
		b.Fatal(err)
	}
	const path = "/api/v1/contacts/duplicates?limit=50"
	var cold []time.Duration
	var total int
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			cold = cold[:0]
			for range 7 {
				fresh := newServerOn(b, s.DSN)
				p50, _, n := sampleLatency(b, fresh, a.Key, path, 0, 1)
				cold, total = append(cold, p50), n
			}
		}
	})
	slices.Sort(cold)
	var p50, p95 time.Duration
	b.Run("warm", func(b *testing.B) {
		for b.Loop() {
			p50, p95, _ = sampleLatency(b, s, a.Key, path, 3, 30)
		}
		b.ReportMetric(float64(p95.Microseconds())/1000, "p95-ms")
	})
	fmt.Fprintf(os.Stdout, "%s over %d contacts, %d groups: cold p50 %.1f ms, max %.1f ms (%d runs); warm p50 %.1f ms, p95 %.1f ms\n",
		path, duplicatesBenchContacts, total, ms(cold[len(cold)/2]), ms(cold[len(cold)-1]), len(cold), ms(p50), ms(p95))
	// The road not taken, for the record: the email groups computed in SQL
	// (lower(btrim())), against the read of the compared columns that the
	// grouping in Go starts with.
	for name, stmt := range map[string]string{
		"load of the compared columns": fmt.Sprintf(`SELECT id, given_name, family_name, emails, phones FROM contacts
			WHERE account_id = '%s' ORDER BY created_at, id`, a.Account.ID),
		"email groups in SQL": fmt.Sprintf(`SELECT lower(btrim(e->>'value')) AS k, array_agg(DISTINCT c.id)
			FROM contacts c, jsonb_array_elements(c.emails) e WHERE c.account_id = '%s'
			GROUP BY 1 HAVING count(DISTINCT c.id) > 1 ORDER BY 1`, a.Account.ID),
	} {
		plan, _ := explain(b, s.Store.DB, stmt)
		fmt.Fprintf(os.Stdout, "%s: %s\n", name, plan[strings.LastIndex(plan, "Execution Time"):])
	}
}
