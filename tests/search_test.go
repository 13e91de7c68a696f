package tests

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// listed is a list response: the contacts' ids and display names, and total.
type listed struct {
	IDs   []string
	Names []string
	Total int
	Items []map[string]any
}

// list GETs path (with its query) and decodes a 200 list body.
func (s *client) list(t testing.TB, key, path string) listed {
	t.Helper()
	res := s.do(t, http.MethodGet, path, key, nil)
	wantStatus(t, res, http.StatusOK)
	body := res.JSON(t)
	data, ok := body["data"].([]any)
	if !ok {
		t.Fatalf("no data array: %s", res.Body)
	}
	total, ok := body["total"].(float64)
	if !ok {
		t.Fatalf("no total: %s", res.Body)
	}
	out := listed{Total: int(total)}
	for _, d := range data {
		m := d.(map[string]any)
		out.Items = append(out.Items, m)
		if id, ok := m["id"].(string); ok {
			out.IDs = append(out.IDs, id)
		}
		out.Names = append(out.Names, displayName(m))
	}
	return out
}

// displayName is the contact's first non-null name-ish field (or a tag's name).
func displayName(m map[string]any) string {
	for _, k := range []string{"givenName", "familyName", "nickname", "company", "name"} {
		if v, ok := m[k].(string); ok {
			return v
		}
	}
	if es, ok := m["emails"].([]any); ok && len(es) > 0 {
		return es[0].(map[string]any)["value"].(string)
	}
	return ""
}

func contactsQuery(params ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		v.Add(params[i], params[i+1])
	}
	return "/api/v1/contacts?" + v.Encode()
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// searchFixture is one account with contacts chosen to tell the filters
// apart, and a second account holding look-alikes that must never appear.
type searchFixture struct {
	s          *testServer
	a, other   tenant
	ids        map[string]string // by given (or display) name
	otherGrace string
}

func newSearchFixture(t *testing.T) *searchFixture {
	t.Helper()
	s := newServer(t)
	f := &searchFixture{s: s, a: s.newTenant(t), other: s.newTenant(t), ids: map[string]string{}}
	add := func(name string, body map[string]any) {
		f.ids[name] = s.createContact(t, f.a.Key, body)["id"].(string)
	}
	add("Grace", map[string]any{"givenName": "Grace", "familyName": "Hopper", "company": "US Navy",
		"emails": []map[string]any{{"value": "grace@navy.mil"}}, "tags": []string{"Navy", "admiral", "crypto"}})
	add("José", map[string]any{"givenName": "José", "familyName": "Núñez", "tags": []string{"vip"}})
	add("Ada", map[string]any{"givenName": "Ada", "familyName": "Lovelace", "company": "Analytical Engines",
		"tags": []string{"vip", "math"}, "introducedById": f.ids["Grace"]})
	add("Alan", map[string]any{"givenName": "Alan", "familyName": "Turing", "company": "Bletchley Park",
		"tags": []string{"crypto", "math"}, "introducedById": f.ids["Grace"]})
	add("Percent", map[string]any{"givenName": "Percent", "company": "100% Pure"})
	add("Under", map[string]any{"givenName": "Under", "company": "snake_case Ltd"})
	add("Slash", map[string]any{"givenName": "Slash", "company": `Back\slash Inc`})
	add("Zoë", map[string]any{"givenName": "Zoë", "nickname": "Zed", "tags": []string{`Odd,"Tag"\ {x}`}})
	add("Nameless", map[string]any{"familyName": "Xavier"}) // no givenName, no company
	// Look-alikes in another account: same names, same tags.
	f.otherGrace = s.createContact(t, f.other.Key, map[string]any{"givenName": "Grace", "familyName": "Hopper",
		"emails": []map[string]any{{"value": "grace@navy.mil"}}, "tags": []string{"navy", "vip", "secret"}})["id"].(string)
	s.createContact(t, f.other.Key, map[string]any{"givenName": "José", "company": "100% Pure", "tags": []string{"vip"}})
	return f
}

func (f *searchFixture) names(t *testing.T, params ...string) []string {
	t.Helper()
	got := f.s.list(t, f.a.Key, contactsQuery(params...))
	if got.Total != len(got.Names) && !slices.Contains(params, "limit") {
		t.Fatalf("%v: total %d, but %d contacts listed", params, got.Total, len(got.Names))
	}
	for _, id := range got.IDs {
		if id == f.otherGrace {
			t.Fatalf("%v: another account's contact listed", params)
		}
	}
	return sortedCopy(got.Names)
}

func TestContacts_ListSearch(t *testing.T) {
	t.Parallel()
	f := newSearchFixture(t)
	tests := []struct {
		q    string
		want []string
	}{
		{"hopp", []string{"Grace"}},
		{"HOPPER", []string{"Grace"}},
		{"grace@navy", []string{"Grace"}},
		{"navy.mil", []string{"Grace"}},
		{"jose", []string{"José"}},
		{"NÚÑEZ", []string{"José"}},
		{"nunez", []string{"José"}},
		{"zoe", []string{"Zoë"}},
		{"zed", []string{"Zoë"}},          // nickname
		{"analytical", []string{"Ada"}},   // company
		{"xav", []string{"Xavier"}},       // family name only
		{"grace navy", []string{"Grace"}}, // two terms, both match
		{"  grace   hopper ", []string{"Grace"}},
		{"grace turing", nil},                                               // two terms, no contact has both
		{"a", []string{"Ada", "Alan", "Grace", "Slash", "Under", "Xavier"}}, // one letter: no trigram to look up
		{"%", []string{"Percent"}},                                          // literal, not "anything"
		{"0%", []string{"Percent"}},
		{"_", []string{"Under"}}, // literal, not "any one character"
		{"e_c", []string{"Under"}},
		{"e_", []string{"Under"}},
		{"a_e", nil}, // "_" as a wildcard would match "ake" in snake_case
		{`\`, []string{"Slash"}},
		{`k\s`, []string{"Slash"}},
		{`\%`, nil},
		{"'; DROP TABLE contacts; --", nil},
		{"' OR '1'='1", nil},
		{"zzzz", nil},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			want := tt.want
			got := f.names(t, "q", tt.q)
			if !slices.Equal(got, sortedCopy(want)) {
				t.Fatalf("q=%q: got %v, want %v", tt.q, got, sortedCopy(want))
			}
		})
	}
	// The injection attempts matched nothing and left the table alone.
	if got := f.s.list(t, f.a.Key, "/api/v1/contacts"); got.Total != 9 {
		t.Fatalf("after injection-looking q: total %d, want 9", got.Total)
	}
}

func TestContacts_ListFilters(t *testing.T) {
	t.Parallel()
	f := newSearchFixture(t)
	t.Run("tag", func(t *testing.T) {
		for _, tt := range []struct {
			tags []string
			want []string
		}{
			{[]string{"vip"}, []string{"Ada", "José"}},
			{[]string{"VIP "}, []string{"Ada", "José"}}, // matched as stored: trimmed, lower-cased
			{[]string{"navy"}, []string{"Grace"}},
			{[]string{"crypto", "math"}, []string{"Alan"}},
			{[]string{"crypto", "admiral"}, []string{"Grace"}},
			{[]string{"vip", "crypto"}, nil},
			{[]string{"secret"}, nil}, // only another account's contact carries it
			{[]string{"vi"}, nil},     // whole tags, not prefixes
			{[]string{`odd,"tag"\ {x}`}, []string{"Zoë"}},
			{[]string{"odd"}, nil},
		} {
			var params []string
			for _, tag := range tt.tags {
				params = append(params, "tag", tag)
			}
			if got := f.names(t, params...); !slices.Equal(got, tt.want) {
				t.Errorf("tags %q: got %v, want %v", tt.tags, got, tt.want)
			}
		}
	})
	t.Run("introducedById", func(t *testing.T) {
		if got := f.names(t, "introducedById", f.ids["Grace"]); !slices.Equal(got, []string{"Ada", "Alan"}) {
			t.Fatalf("got %v", got)
		}
		if got := f.names(t, "introducedById", f.ids["Ada"]); got != nil {
			t.Fatalf("Ada introduced nobody, got %v", got)
		}
		// Another account's contact: an empty list, exactly like an unknown id.
		if got := f.names(t, "introducedById", f.otherGrace); got != nil {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("updatedSince", func(t *testing.T) {
		all := f.s.list(t, f.a.Key, "/api/v1/contacts?limit=100")
		// The database's clock, which stamps updatedAt, not this machine's.
		since := f.s.dbNow(t)
		res := f.s.do(t, http.MethodPatch, "/api/v1/contacts/"+f.ids["Alan"], f.a.Key, map[string]any{"jobTitle": "Cryptanalyst"})
		wantStatus(t, res, http.StatusOK)
		f.s.createContact(t, f.a.Key, map[string]any{"givenName": "Newcomer"})
		if got := f.names(t, "updatedSince", since.Format(time.RFC3339Nano)); !slices.Equal(got, []string{"Alan", "Newcomer"}) {
			t.Fatalf("got %v", got)
		}
		// At or after: the instant of a contact's updatedAt includes it.
		newest := all.Items[0]["updatedAt"].(string)
		got := f.s.list(t, f.a.Key, contactsQuery("updatedSince", newest))
		if !slices.Contains(got.IDs, all.IDs[0]) {
			t.Fatalf("updatedSince=%s does not include the contact updated at that instant", newest)
		}
		// Generated clients format the instant to the second: truncated, it
		// still includes the contact (that second is read again, not missed).
		instant, err := time.Parse(time.RFC3339Nano, newest)
		if err != nil {
			t.Fatal(err)
		}
		second := instant.Truncate(time.Second).Format(time.RFC3339)
		if got := f.s.list(t, f.a.Key, contactsQuery("updatedSince", second)); !slices.Contains(got.IDs, all.IDs[0]) {
			t.Fatalf("updatedSince=%s (%s to the second) does not include the contact", second, newest)
		}
		// An offset other than Z.
		if got := f.names(t, "updatedSince", since.In(time.FixedZone("", 2*3600)).Format(time.RFC3339Nano)); len(got) != 2 {
			t.Fatalf("with +02:00: got %v", got)
		}
		if got := f.names(t, "updatedSince", "2000-01-01T00:00:00Z"); len(got) != 10 {
			t.Fatalf("since 2000: got %v", got)
		}
	})
	t.Run("combined", func(t *testing.T) {
		if got := f.names(t, "q", "a", "tag", "math", "introducedById", f.ids["Grace"]); !slices.Equal(got, []string{"Ada", "Alan"}) {
			t.Fatalf("got %v", got)
		}
		if got := f.names(t, "q", "lovelace", "tag", "math"); !slices.Equal(got, []string{"Ada"}) {
			t.Fatalf("got %v", got)
		}
		if got := f.names(t, "q", "turing", "tag", "vip"); got != nil {
			t.Fatalf("got %v", got)
		}
		// Pagination over a filter: total is the filter's, pages tile it.
		var seen []string
		for offset := 0; offset < 12; offset += 3 {
			page := f.s.list(t, f.a.Key, contactsQuery("q", "a", "sort", "givenName", "limit", "3", "offset", fmt.Sprint(offset)))
			if page.Total != 6 {
				t.Fatalf("offset %d: total %d, want 6", offset, page.Total)
			}
			seen = append(seen, page.Names...)
		}
		want := []string{"Ada", "Alan", "Grace", "Slash", "Under", "Xavier"}
		if !slices.Equal(seen, want) {
			t.Fatalf("pages of q=a by givenName: %v, want %v", seen, want)
		}
		// Past the end of a filtered list, total still counts the matches.
		if page := f.s.list(t, f.a.Key, contactsQuery("tag", "vip", "offset", "50")); page.Total != 2 || len(page.IDs) != 0 {
			t.Fatalf("past the end: %+v", page)
		}
	})
}

func TestContacts_ListSort(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	// Equal keys (several "Smith"), missing keys, and creation order all
	// differ, so a wrong tiebreak or null placement shows.
	bodies := []map[string]any{
		{"givenName": "Carol", "familyName": "Smith", "company": "Zeta"},
		{"givenName": "alice", "familyName": "Smith"},
		{"givenName": "Bob", "familyName": "Jones", "company": "Acme"},
		{"nickname": "Nobody"},
		{"givenName": "Dave", "familyName": "Smith", "company": "Acme"},
		{"givenName": "Eve", "company": "Acme"},
		{"givenName": "Bob", "familyName": "Adams"},
	}
	var created []map[string]any
	for _, b := range bodies {
		created = append(created, s.createContact(t, a.Key, b))
	}
	// One update, so updatedAt order differs from createdAt order.
	res := s.do(t, http.MethodPatch, "/api/v1/contacts/"+created[0]["id"].(string), a.Key, map[string]any{"jobTitle": "CTO"})
	wantStatus(t, res, http.StatusOK)
	updated := res.Data(t)

	str := func(m map[string]any, k string) *string {
		if v, ok := m[k].(string); ok {
			return &v
		}
		return nil
	}
	cmpKey := func(k string, desc bool) func(x, y map[string]any) int {
		return func(x, y map[string]any) int {
			a, b := str(x, k), str(y, k)
			c := 0
			switch {
			case a == nil && b == nil:
			case a == nil:
				return 1 // nulls last, either direction
			case b == nil:
				return -1
			default:
				c = strings.Compare(*a, *b)
				if k == "createdAt" || k == "updatedAt" {
					ta, _ := time.Parse(time.RFC3339Nano, *a)
					tb, _ := time.Parse(time.RFC3339Nano, *b)
					c = ta.Compare(tb)
				}
			}
			if c == 0 {
				c = strings.Compare(x["id"].(string), y["id"].(string))
			}
			if desc {
				return -c
			}
			return c
		}
	}
	current := slices.Clone(created)
	current[0] = updated
	for _, key := range []string{"createdAt", "updatedAt", "givenName", "familyName", "company"} {
		for _, desc := range []bool{false, true} {
			sort := key
			if desc {
				sort = "-" + key
			}
			t.Run(sort, func(t *testing.T) {
				want := slices.Clone(current)
				slices.SortStableFunc(want, cmpKey(key, desc))
				var wantIDs []string
				for _, w := range want {
					wantIDs = append(wantIDs, w["id"].(string))
				}
				whole := s.list(t, a.Key, contactsQuery("sort", sort))
				// Byte order of the names is the database collation's concern;
				// check the nulls, ties and direction, which are ours.
				if len(whole.IDs) != len(wantIDs) {
					t.Fatalf("got %d contacts", len(whole.IDs))
				}
				if key == "createdAt" || key == "updatedAt" || key == "familyName" || key == "company" {
					if !slices.Equal(whole.IDs, wantIDs) {
						t.Fatalf("sort=%s: got %v, want %v", sort, whole.Names, namesOf(want))
					}
				}
				// Nulls last in both directions.
				field := key
				sawNull := false
				for _, it := range whole.Items {
					if str(it, field) == nil {
						sawNull = true
					} else if sawNull {
						t.Fatalf("sort=%s: a value after a null: %v", sort, whole.Names)
					}
				}
				// Pages of 2 tile the whole list: no overlap, no gap.
				var paged []string
				for offset := 0; offset < len(wantIDs)+2; offset += 2 {
					p := s.list(t, a.Key, contactsQuery("sort", sort, "limit", "2", "offset", fmt.Sprint(offset)))
					if p.Total != len(wantIDs) {
						t.Fatalf("total %d, want %d", p.Total, len(wantIDs))
					}
					paged = append(paged, p.IDs...)
				}
				if !slices.Equal(paged, whole.IDs) {
					t.Fatalf("sort=%s: pages %v differ from the whole list %v", sort, paged, whole.IDs)
				}
			})
		}
	}
	t.Run("default is -createdAt", func(t *testing.T) {
		def := s.list(t, a.Key, "/api/v1/contacts")
		explicit := s.list(t, a.Key, contactsQuery("sort", "-createdAt"))
		if !slices.Equal(def.IDs, explicit.IDs) || def.IDs[0] != created[len(created)-1]["id"] {
			t.Fatalf("default order %v", def.Names)
		}
	})
}

func namesOf(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		out = append(out, displayName(it))
	}
	return out
}

func TestContacts_ListValidation(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	tests := []struct{ query, field string }{
		{"sort=name", "sort"},
		{"sort=-", "sort"},
		{"sort=createdAt,givenName", "sort"},
		{"sort=+createdAt", "sort"},
		{"sort=CREATEDAT", "sort"},
		{"introducedById=nope", "introducedById"},
		{"introducedById=123", "introducedById"},
		{"updatedSince=yesterday", "updatedSince"},
		{"updatedSince=2026-01-01", "updatedSince"},
		{"updatedSince=2026-01-01T00:00:00+01:00", "updatedSince"}, // an unencoded + is a space
		{"q=" + strings.Repeat("x", 201), "q"},
		{"q=a%00b", "q"},
		{"tag=%20", "tag"},
		{"tag=" + strings.Repeat("t", 51), "tag"},
		{"tag=a&tag=b&tag=c&tag=d&tag=e&tag=f&tag=g&tag=h&tag=i&tag=j&tag=k", "tag"},
		{"limit=0", "limit"},
		{"offset=-1", "offset"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			fe, _ := fieldErrors(t, s.do(t, http.MethodGet, "/api/v1/contacts?"+tt.query, a.Key, nil))
			if _, ok := fe[tt.field]; !ok {
				t.Fatalf("want fieldErrors.%s, got %v", tt.field, fe)
			}
		})
	}
	// The valid forms of the same parameters.
	for _, q := range []string{"sort=-familyName", "sort=company", "updatedSince=2026-01-01T00:00:00%2B01:00",
		"updatedSince=2026-01-01T00:00:00.123456Z", "introducedById=0b7e7a8e-58f5-4a3c-9a7f-2f0f3a1d5c11",
		"q=", "q=%20%20", "tag=a&tag=b"} {
		wantStatus(t, s.do(t, http.MethodGet, "/api/v1/contacts?"+q, a.Key, nil), http.StatusOK)
	}
}

func TestContacts_ListReadAfterWrite(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	for i := range 5 {
		name := fmt.Sprintf("Fresh%dÉlan", i)
		id := s.createContact(t, a.Key, map[string]any{"givenName": name, "tags": []string{"new"}})["id"].(string)
		got := s.list(t, a.Key, contactsQuery("q", fmt.Sprintf("fresh%delan", i), "tag", "new"))
		if len(got.IDs) != 1 || got.IDs[0] != id {
			t.Fatalf("contact not found right after its POST: %+v", got)
		}
		// And changed: the old name is gone from search the moment PATCH returns.
		wantStatus(t, s.do(t, http.MethodPatch, "/api/v1/contacts/"+id, a.Key, map[string]any{"givenName": "Renamed"}), http.StatusOK)
		if got := s.list(t, a.Key, contactsQuery("q", fmt.Sprintf("fresh%delan", i))); got.Total != 0 {
			t.Fatalf("old name still found after PATCH: %+v", got)
		}
	}
}

// The unfiltered total comes from a counter the writes keep: it must stay
// exact under concurrent creates and deletes, and per account.
func TestContacts_ListTotalUnderConcurrency(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a, b := s.newTenant(t), s.newTenant(t)
	s.createContact(t, b.Key, map[string]any{"givenName": "Other"})
	var mu sync.Mutex
	var ids []string
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.send(http.MethodPost, "/api/v1/contacts", a.Key, map[string]any{"givenName": fmt.Sprint("C", i), "tags": []string{"busy"}})
			if err != nil || res.Status != http.StatusCreated {
				errs <- fmt.Errorf("create: %v %v", err, res)
				return
			}
			mu.Lock()
			ids = append(ids, string(res.Body))
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := s.list(t, a.Key, "/api/v1/contacts?limit=1"); got.Total != 40 || got.Total != s.countContacts(t, a.Account.ID) {
		t.Fatalf("total %d after 40 concurrent creates", got.Total)
	}
	all := s.list(t, a.Key, "/api/v1/contacts?limit=100")
	var wg2 sync.WaitGroup
	errs2 := make(chan error, 20)
	for _, id := range all.IDs[:20] {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			res, err := s.send(http.MethodDelete, "/api/v1/contacts/"+id, a.Key, nil)
			if err != nil || res.Status != http.StatusOK {
				errs2 <- fmt.Errorf("delete: %v %v", err, res)
			}
		}()
	}
	wg2.Wait()
	close(errs2)
	for err := range errs2 {
		t.Fatal(err)
	}
	if got := s.list(t, a.Key, "/api/v1/contacts"); got.Total != 20 || len(got.IDs) != 20 {
		t.Fatalf("total %d (%d listed) after 20 deletes", got.Total, len(got.IDs))
	}
	if got := s.list(t, a.Key, "/api/v1/tags"); len(got.Items) != 1 || got.Items[0]["count"] != float64(20) {
		t.Fatalf("tags after concurrent creates and deletes: %+v", got.Items)
	}
	if got := s.list(t, a.Key, "/api/v1/contacts?offset=500"); got.Total != 20 {
		t.Fatalf("past the end: total %d", got.Total)
	}
	if got := s.list(t, b.Key, "/api/v1/contacts"); got.Total != 1 {
		t.Fatalf("other account's total %d", got.Total)
	}
}

func TestTags_List(t *testing.T) {
	t.Parallel()
	f := newSearchFixture(t)
	type tag struct {
		Name  string
		Count int
	}
	get := func(t *testing.T, key, query string) ([]tag, int) {
		t.Helper()
		res := f.s.do(t, http.MethodGet, "/api/v1/tags"+query, key, nil)
		wantStatus(t, res, http.StatusOK)
		body := res.JSON(t)
		var out []tag
		for _, d := range body["data"].([]any) {
			m := d.(map[string]any)
			if len(m) != 2 {
				t.Fatalf("tag has fields %v, want name and count", m)
			}
			out = append(out, tag{m["name"].(string), int(m["count"].(float64))})
		}
		return out, int(body["total"].(float64))
	}
	want := []tag{{"admiral", 1}, {"crypto", 2}, {"math", 2}, {"navy", 1}, {`odd,"tag"\ {x}`, 1}, {"vip", 2}}
	got, total := get(t, f.a.Key, "")
	if !slices.Equal(got, want) || total != 6 {
		t.Fatalf("got %v total %d, want %v total 6", got, total, want)
	}
	got, total = get(t, f.a.Key, "?limit=2&offset=2")
	if !slices.Equal(got, want[2:4]) || total != 6 {
		t.Fatalf("page: got %v total %d", got, total)
	}
	got, total = get(t, f.a.Key, "?offset=10")
	if len(got) != 0 || total != 6 {
		t.Fatalf("past the end: got %v total %d", got, total)
	}
	// Counts follow every write: a PATCH that changes tags, one that leaves
	// them alone, a delete; a tag nobody carries any more is gone.
	wantStatus(t, f.s.do(t, http.MethodPatch, "/api/v1/contacts/"+f.ids["Ada"], f.a.Key, map[string]any{"tags": []string{"vip", "Poetry"}}), http.StatusOK)
	wantStatus(t, f.s.do(t, http.MethodPatch, "/api/v1/contacts/"+f.ids["Alan"], f.a.Key, map[string]any{"tags": []string{}}), http.StatusOK)
	wantStatus(t, f.s.do(t, http.MethodPatch, "/api/v1/contacts/"+f.ids["Grace"], f.a.Key, map[string]any{"jobTitle": "Rear admiral"}), http.StatusOK)
	wantStatus(t, f.s.do(t, http.MethodDelete, "/api/v1/contacts/"+f.ids["José"], f.a.Key, nil), http.StatusOK)
	got, total = get(t, f.a.Key, "")
	if want := []tag{{"admiral", 1}, {"crypto", 1}, {"navy", 1}, {`odd,"tag"\ {x}`, 1}, {"poetry", 1}, {"vip", 1}}; !slices.Equal(got, want) || total != 6 {
		t.Fatalf("after writes: got %v total %d, want %v", got, total, want)
	}
	// A one-tag list takes its total from the same counts.
	for tag, n := range map[string]int{"vip": 1, "math": 0, "poetry": 1, "crypto": 1} {
		if l := f.s.list(t, f.a.Key, contactsQuery("tag", tag)); l.Total != n || len(l.IDs) != n {
			t.Fatalf("tag=%s after writes: total %d, %d listed, want %d", tag, l.Total, len(l.IDs), n)
		}
	}
	// The other account sees its own tags only.
	got, total = get(t, f.other.Key, "")
	if !slices.Equal(got, []tag{{"navy", 1}, {"secret", 1}, {"vip", 2}}) || total != 3 {
		t.Fatalf("other account: %v total %d", got, total)
	}
	// A new account has none: an empty array, not null.
	res := f.s.do(t, http.MethodGet, "/api/v1/tags", f.s.newTenant(t).Key, nil)
	if string(res.Body) != `{"data":[],"total":0}`+"\n" && string(res.Body) != `{"data":[],"total":0}` {
		t.Fatalf("empty: %s", res.Body)
	}
	fe, _ := fieldErrors(t, f.s.do(t, http.MethodGet, "/api/v1/tags?limit=101", f.a.Key, nil))
	if _, ok := fe["limit"]; !ok {
		t.Fatalf("want fieldErrors.limit: %v", fe)
	}
	wantStatus(t, f.s.do(t, http.MethodGet, "/api/v1/tags", "", nil), http.StatusUnauthorized)
}
