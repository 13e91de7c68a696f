package tests

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/remy-crm/remy/model"
)

// TestContacts_ListMatchesReference holds the list to a plain reference
// query over a seeded account: for every search class, sort, direction and
// page, the same contacts in the same order and the same total, whatever
// plan Postgres picks. The account is checked right after a bulk write (no
// statistics, GIN pending lists full), after AfterBulkWrite, and after
// VACUUM (ANALYZE), since each state plans differently.
func TestContacts_ListMatchesReference(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	a, other := s.newTenant(t), s.newTenant(t)
	var book []model.Contact
	for _, part := range []struct {
		shape string
		seed  uint64
		n     int
	}{{"ordinary", 1, 2500}, {"synthetic", 3, 1500}} {
		for _, sh := range searchShapes {
			if sh.name == part.shape {
				b, err := bookOf(sh, part.seed, a.Account.ID, part.n)
				if err != nil {
					t.Fatal(err)
				}
				book = append(book, b...)
			}
		}
	}
	for _, c := range []model.Contact{
		{GivenName: ptr("Percent"), Company: ptr("100% Pure")},
		{GivenName: ptr("Under"), Company: ptr("snake_case Ltd")},
		{GivenName: ptr("Slash"), Company: ptr(`Back\slash Inc`)},
		{GivenName: ptr("Æsa"), FamilyName: ptr("Straße")},
		{GivenName: ptr("Rae"), FamilyName: ptr("Jones")}, // the bigrams of "æs" ("aes"), not the term
		{Nickname: ptr("Jürgen"), Company: ptr("Ælfric & Co"), Emails: []model.LabeledValue{{Value: "jue@example.com"}}},
	} {
		c.AccountID, c.Version = a.Account.ID, 1
		if err := c.Normalize(); err != nil {
			t.Fatal(err)
		}
		book = append(book, c)
	}
	otherBook, err := bookOf(searchShapes[1], 1, other.Account.ID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]model.Contact{otherBook, book} {
		if err := bulkInsert(ctx, s.Store.DB, b); err != nil {
			t.Fatal(err)
		}
	}
	queries := referenceQueries()
	check := func(state string) {
		found := 0
		for _, q := range queries {
			got := s.list(t, a.Key, "/api/v1/contacts?"+q)
			ids, total := referenceList(t, s, a, q)
			if len(ids) > 0 {
				found++
			}
			if got.Total != total || !slices.Equal(got.IDs, ids) {
				t.Errorf("%s, %s: got total %d and %d ids %.3v…, want total %d and %d ids %.3v…",
					state, q, got.Total, len(got.IDs), got.IDs, total, len(ids), ids)
			}
		}
		// Pages past the end and a term no one has aside, the comparisons
		// must be of contacts, not of empty pages.
		if found < len(queries)/2 {
			t.Fatalf("%s: only %d of %d queries found contacts", state, found, len(queries))
		}
	}
	check("right after the bulk write")
	if err := s.Store.Contacts.AfterBulkWrite(ctx, a.Account.ID, len(book)); err != nil {
		t.Fatal(err)
	}
	check("after AfterBulkWrite")
	if _, err := s.Store.DB.ExecContext(ctx, "VACUUM (ANALYZE) contacts"); err != nil {
		t.Fatal(err)
	}
	check("after VACUUM (ANALYZE)")
}

// referenceQueries are the list requests compared: each search class
// alone and combined, every sort in both directions, and pages up to past
// the end.
func referenceQueries() []string {
	filters := [][]string{
		{},
		{"q", "lopez"}, {"q", "son"}, {"q", "an"}, {"q", "AN"}, {"q", "e"}, {"q", "on"}, {"q", "ju"}, {"q", "jü"},
		{"q", "josé"}, {"q", "jose"}, {"q", "ae"}, {"q", "æs"}, {"q", "ss"}, {"q", "@g"}, {"q", ".c"}, {"q", "grace navy"}, {"q", "an mar"},
		{"q", "100%"}, {"q", "e_c"}, {"q", `k\s`}, {"q", "%"}, {"q", "_"}, {"q", "zq"},
		{"updatedSince", "2024-03-20T00:00:00Z"}, {"updatedSince", "2024-03-20T00:00:00Z", "q", "an"},
		{"tag", "vip"}, {"tag", "vip", "tag", "work"}, {"tag", "book club", "q", "an"}, {"tag", "friends", "q", "son"},
	}
	var out []string
	add := func(kv ...string) {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		out = append(out, v.Encode())
	}
	for _, f := range filters {
		add(append(slices.Clone(f), "limit", "50")...)
	}
	for _, sort := range model.ContactSortValues() {
		for _, f := range [][]string{{}, {"q", "an"}, {"q", "son"}, {"tag", "vip"}, {"updatedSince", "2024-03-20T00:00:00Z"}} {
			for _, offset := range []string{"0", "60", "3950", "100000"} {
				add(append(slices.Clone(f), "sort", sort, "limit", "40", "offset", offset)...)
			}
		}
	}
	return out
}

// referenceList is what the list must answer for query, from the plainest
// statement that says it: every term a substring (strpos) of the search
// text, every tag carried, ordered by the key with nulls last and the id
// breaking ties, and a separate count.
func referenceList(t *testing.T, s *testServer, a tenant, query string) ([]string, int) {
	t.Helper()
	v, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	where, args := []string{"account_id = $1"}, []any{a.Account.ID}
	for _, term := range strings.Fields(v.Get("q")) {
		args = append(args, term)
		where = append(where, fmt.Sprintf("strpos(_search, lower(remy_unaccent($%d))) > 0", len(args)))
	}
	if tags := v["tag"]; len(tags) > 0 {
		for i := range tags {
			tags[i] = model.TagKey(tags[i])
		}
		args = append(args, tags)
		where = append(where, fmt.Sprintf("tags @> $%d::text[]", len(args)))
	}
	if since := v.Get("updatedSince"); since != "" {
		args = append(args, since)
		where = append(where, fmt.Sprintf("updated_at >= $%d::timestamptz", len(args)))
	}
	sort, _ := model.ParseContactSort(v.Get("sort"))
	f, _ := model.ContactFields.ByJSON(string(sort.Key))
	dir := "ASC"
	if sort.Desc {
		dir = "DESC"
	}
	limit, _ := strconv.Atoi(v.Get("limit"))
	offset, _ := strconv.Atoi(v.Get("offset"))
	cond := strings.Join(where, " AND ")
	ctx := context.Background()
	rows, err := s.Store.DB.DB.QueryContext(ctx, fmt.Sprintf(`SELECT id::text FROM contacts WHERE %s
		ORDER BY %s %s NULLS LAST, id %s LIMIT %d OFFSET %d`, cond, f.Column, dir, dir, limit, offset), args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	var total int
	if err := s.Store.DB.DB.QueryRowContext(ctx, "SELECT count(*) FROM contacts WHERE "+cond, args...).Scan(&total); err != nil {
		t.Fatal(err)
	}
	return ids, total
}

// TestContacts_StatisticsFollowGrowth: an account written one contact at a
// time has the planner's statistics refreshed as it passes 1,000 contacts
// (and each doubling after), without waiting for autovacuum, and a bulk
// write through AfterBulkWrite has them refreshed at once.
func TestContacts_StatisticsFollowGrowth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	a := s.newTenant(t)
	lastAnalyze := func() *time.Time {
		var last *time.Time
		if err := s.Store.DB.QueryRowContext(ctx, "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'contacts'").Scan(&last); err != nil {
			t.Fatal(err)
		}
		return last
	}
	book, err := bookOf(searchShapes[1], 7, a.Account.ID, 998)
	if err != nil {
		t.Fatal(err)
	}
	if err := bulkInsert(ctx, s.Store.DB, book); err != nil {
		t.Fatal(err)
	}
	if last := lastAnalyze(); last != nil {
		t.Fatalf("analyzed before the account reached 1,000 contacts (%v)", last)
	}
	start := time.Now()
	for i := range 2 {
		s.createContact(t, a.Key, map[string]any{"givenName": fmt.Sprintf("Grown %d", i)})
	}
	eventually(t, 10*time.Second, func() error {
		if last := lastAnalyze(); last == nil || last.Before(start.Add(-time.Second)) {
			return fmt.Errorf("contacts not analyzed after the 1,000th contact (last: %v)", last)
		}
		return nil
	})

	bulk := s.newTenant(t)
	book, err = bookOf(searchShapes[1], 8, bulk.Account.ID, 1500)
	if err != nil {
		t.Fatal(err)
	}
	if err := bulkInsert(ctx, s.Store.DB, book); err != nil {
		t.Fatal(err)
	}
	before := lastAnalyze()
	if err := s.Store.Contacts.AfterBulkWrite(ctx, bulk.Account.ID, len(book)); err != nil {
		t.Fatal(err)
	}
	if after := lastAnalyze(); after == nil || !after.After(*before) {
		t.Fatalf("AfterBulkWrite of %d contacts did not analyze (before %v, after %v)", len(book), before, after)
	}
}
