package tests

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/uuid"
)

// TestContacts_RememberedTotalsFollowEveryWrite holds the list's total to a
// count made in SQL after every kind of write, through two instances over
// one database, each asked every filter twice (the second answer may come
// from the total an instance remembers: repo/totals.go). A write through
// one instance, a write made in SQL behind both, an import, a merge and a
// delete that unlinks the contacts it introduced must all show at once, on
// both.
func TestContacts_RememberedTotalsFollowEveryWrite(t *testing.T) {
	t.Parallel()
	a := newServer(t)
	b := newServerOn(t, a.DSN)
	ten := a.newTenant(t)
	other := a.newTenant(t)
	for i := range 6 {
		a.createContact(t, ten.Key, map[string]any{"givenName": fmt.Sprintf("Anna %d", i), "tags": []string{"vip"}})
		a.createContact(t, other.Key, map[string]any{"givenName": fmt.Sprintf("Anna %d", i), "tags": []string{"vip"}})
	}
	bob := a.createContact(t, ten.Key, map[string]any{"givenName": "Bob", "tags": []string{"vip"}})
	filters := []string{"q=an", "q=ann", "q=anna+1", "tag=vip&q=an", "tag=vip&tag=x", "introducedById=" + bob["id"].(string),
		"q=bo&sort=-givenName", "updatedSince=2000-01-01T00:00:00Z&q=b"}
	// want is the filter's count, in SQL, of what the list shows.
	want := func(filter string) int {
		v, err := url.ParseQuery(filter)
		if err != nil {
			t.Fatal(err)
		}
		conds, args := []string{"account_id = ?"}, []any{ten.Account.ID}
		if q := v.Get("q"); q != "" {
			conds, args = append(conds, "_search LIKE '%' || ? || '%'"), append(args, q)
		}
		for _, tag := range v["tag"] {
			conds, args = append(conds, "? = ANY(tags)"), append(args, tag)
		}
		if id := v.Get("introducedById"); id != "" {
			conds, args = append(conds, "introduced_by_id = ?"), append(args, uuid.MustParse(id))
		}
		var n int
		where := conds[0]
		for _, c := range conds[1:] {
			where += " AND " + c
		}
		if err := a.Store.DB.NewRaw("SELECT count(*) FROM contacts WHERE "+where, args...).Scan(context.Background(), &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	check := func(step string) {
		t.Helper()
		for _, f := range filters {
			n := want(f)
			for _, s := range []*testServer{a, b, a, b} {
				if got := s.list(t, ten.Key, "/api/v1/contacts?limit=1&"+f).Total; got != n {
					t.Fatalf("after %s: %s: total %d, counted %d", step, f, got, n)
				}
			}
		}
	}
	check("the creates")
	c := a.createContact(t, ten.Key, map[string]any{"givenName": "Carl", "introducedById": bob["id"]})
	check("a create introduced by Bob")
	res := b.do(t, http.MethodPatch, "/api/v1/contacts/"+c["id"].(string), ten.Key, map[string]any{"givenName": "Annabel"})
	wantStatus(t, res, http.StatusOK)
	check("a rename through the other instance")
	res = a.do(t, http.MethodPatch, "/api/v1/contacts/"+c["id"].(string), ten.Key, map[string]any{"tags": []string{"vip", "x"}})
	wantStatus(t, res, http.StatusOK)
	check("a change of tags")
	if _, err := a.Store.DB.ExecContext(context.Background(),
		"UPDATE contacts SET family_name = 'Bo' WHERE account_id = ? AND given_name = 'Anna 2'", ten.Account.ID); err != nil {
		t.Fatal(err)
	}
	check("an UPDATE in SQL")
	a.imported(t, ten.Key, "text/vcard", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Annie Bo\r\nN:Bo;Annie;;;\r\nEND:VCARD\r\n", "", http.StatusCreated)
	check("an import")
	ids := a.list(t, ten.Key, "/api/v1/contacts?q=anna+3").IDs
	res = b.merge(t, ten.Key, c["id"].(string), ids)
	wantStatus(t, res, http.StatusOK)
	check("a merge")
	res = b.do(t, http.MethodDelete, "/api/v1/contacts/"+bob["id"].(string), ten.Key, nil)
	wantStatus(t, res, http.StatusOK)
	check("the delete of the introducer")
	if _, err := a.Store.DB.ExecContext(context.Background(), "DELETE FROM contacts WHERE account_id = ?", ten.Account.ID); err != nil {
		t.Fatal(err)
	}
	check("a DELETE in SQL")
	// The other account's totals were never touched.
	if got := b.list(t, other.Key, "/api/v1/contacts?q=an").Total; got != 6 {
		t.Fatalf("the other account: total %d, want 6", got)
	}
}
