package tests

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestContacts_CreateGet(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)

	res := s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, map[string]any{
		"givenName": "  Ada ", "familyName": "Lovelace", "company": "Engines", "jobTitle": "Programmer",
		"emails":   []map[string]any{{"value": "ada@example.com", "label": "work"}},
		"phones":   []map[string]any{{"value": "+44 1234", "label": "mobile"}},
		"birthday": "1815-12-10",
		"tags":     []string{" Math ", "math", "Friends", "MATH"},
	})
	wantStatus(t, res, http.StatusCreated)
	c := res.Data(t)
	id, _ := c["id"].(string)
	if _, err := uuid.Parse(id); err != nil {
		t.Fatalf("id %q is not a UUID", id)
	}
	if res.Header.Get("Location") != "/api/v1/contacts/"+id {
		t.Errorf("Location = %q", res.Header.Get("Location"))
	}
	if c["givenName"] != "Ada" || c["familyName"] != "Lovelace" || c["birthday"] != "1815-12-10" {
		t.Errorf("stored fields wrong: %v", c)
	}
	if fmt.Sprint(c["tags"]) != "[math friends]" {
		t.Errorf("tags = %v, want [math friends] (trimmed, lower-cased, de-duplicated, order kept)", c["tags"])
	}
	for _, k := range []string{"nickname", "introducedById"} {
		if v, ok := c[k]; !ok || v != nil {
			t.Errorf("%s = %v, want present and null", k, v)
		}
	}
	if c["createdAt"] == nil || c["updatedAt"] == nil {
		t.Errorf("timestamps missing: %v", c)
	}

	got := s.do(t, http.MethodGet, "/api/v1/contacts/"+id, a.Key, nil)
	wantStatus(t, got, http.StatusOK)
	if fmt.Sprint(got.Data(t)) != fmt.Sprint(c) {
		t.Errorf("GET = %v, want %v", got.Data(t), c)
	}
}

func TestContacts_CreateValidation(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	long := func(n int) string { return strings.Repeat("x", n) }
	manyTags := make([]string, 51)
	for i := range manyTags {
		manyTags[i] = fmt.Sprint("t", i)
	}
	manyEmails := make([]map[string]any, 21)
	for i := range manyEmails {
		manyEmails[i] = map[string]any{"value": fmt.Sprintf("a%d@example.com", i)}
	}

	tests := []struct {
		name      string
		body      map[string]any
		wantField string // "" means a formErrors entry is expected
	}{
		{"nothing identifying", map[string]any{"jobTitle": "CEO"}, ""},
		{"empty body", map[string]any{}, ""},
		{"blank name only", map[string]any{"givenName": "   "}, ""},
		{"givenName too long", map[string]any{"givenName": long(101)}, "givenName"},
		{"familyName too long", map[string]any{"givenName": "a", "familyName": long(101)}, "familyName"},
		{"nickname too long", map[string]any{"nickname": long(101)}, "nickname"},
		{"company too long", map[string]any{"company": long(201)}, "company"},
		{"jobTitle too long", map[string]any{"givenName": "a", "jobTitle": long(201)}, "jobTitle"},
		{"bad email", map[string]any{"emails": []map[string]any{{"value": "not-an-email"}}}, "emails"},
		{"email with display name", map[string]any{"emails": []map[string]any{{"value": "Ada <ada@example.com>"}}}, "emails"},
		{"email missing value", map[string]any{"givenName": "a", "emails": []map[string]any{{"label": "x"}}}, "emails"},
		{"too many emails", map[string]any{"emails": manyEmails}, "emails"},
		{"email label too long", map[string]any{"emails": []map[string]any{{"value": "a@b.co", "label": long(51)}}}, "emails"},
		{"phone too long", map[string]any{"givenName": "a", "phones": []map[string]any{{"value": long(51)}}}, "phones"},
		{"not a date", map[string]any{"givenName": "a", "birthday": "10/12/1815"}, "birthday"},
		{"impossible date", map[string]any{"givenName": "a", "birthday": "2023-02-30"}, "birthday"},
		{"too many tags", map[string]any{"givenName": "a", "tags": manyTags}, "tags"},
		{"tag too long", map[string]any{"givenName": "a", "tags": []string{long(51)}}, "tags"},
		{"blank tag", map[string]any{"givenName": "a", "tags": []string{"  "}}, "tags"},
		{"introducedById not a uuid", map[string]any{"givenName": "a", "introducedById": "nope"}, "introducedById"},
		{"introducedById unknown", map[string]any{"givenName": "a", "introducedById": uuid.NewString()}, "introducedById"},
		{"wrong type", map[string]any{"givenName": 42}, "givenName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, tt.body)
			fe, form := fieldErrors(t, res)
			if tt.wantField == "" {
				if len(form) == 0 {
					t.Fatalf("want a formErrors entry: %s", res.Body)
				}
				return
			}
			if _, ok := fe[tt.wantField]; !ok {
				t.Fatalf("want fieldErrors.%s: %s", tt.wantField, res.Body)
			}
		})
	}

	t.Run("unknown field", func(t *testing.T) {
		res := s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, map[string]any{"givenName": "a", "favouriteColour": "blue"})
		fieldErrors(t, res)
		if !strings.Contains(string(res.Body), "favouriteColour") {
			t.Fatalf("the unknown field should be named: %s", res.Body)
		}
	})
	t.Run("nothing was created", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/api/v1/contacts", a.Key, nil)
		if total := res.JSON(t)["total"]; total != float64(0) {
			t.Fatalf("total = %v after only invalid requests", total)
		}
	})
}

func TestContacts_Update(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	c := s.createContact(t, a.Key, map[string]any{
		"givenName": "Ada", "familyName": "Lovelace", "company": "Engines", "tags": []string{"x"},
		"emails": []map[string]any{{"value": "ada@example.com", "label": "work"}},
	})
	path := "/api/v1/contacts/" + c["id"].(string)

	t.Run("absent fields unchanged, null clears", func(t *testing.T) {
		res := s.do(t, http.MethodPatch, path, a.Key, `{"familyName": null, "nickname": "Countess", "tags": ["A", "b"]}`)
		wantStatus(t, res, http.StatusOK)
		d := res.Data(t)
		if d["givenName"] != "Ada" || d["familyName"] != nil || d["nickname"] != "Countess" || d["company"] != "Engines" {
			t.Fatalf("after PATCH: %v", d)
		}
		if fmt.Sprint(d["tags"]) != "[a b]" || fmt.Sprint(d["emails"]) != "[map[label:work value:ada@example.com]]" {
			t.Fatalf("lists after PATCH: %v", d)
		}
		if d["updatedAt"] == c["updatedAt"] {
			t.Fatalf("updatedAt did not move")
		}
		got := s.do(t, http.MethodGet, path, a.Key, nil).Data(t)
		if fmt.Sprint(got) != fmt.Sprint(d) {
			t.Fatalf("GET after PATCH = %v, want %v", got, d)
		}
	})
	t.Run("null list clears it", func(t *testing.T) {
		res := s.do(t, http.MethodPatch, path, a.Key, `{"tags": null}`)
		wantStatus(t, res, http.StatusOK)
		if fmt.Sprint(res.Data(t)["tags"]) != "[]" {
			t.Fatalf("tags = %v", res.Data(t)["tags"])
		}
	})
	t.Run("clearing every identifying field is refused", func(t *testing.T) {
		res := s.do(t, http.MethodPatch, path, a.Key, `{"givenName": null, "nickname": null, "company": null, "emails": null}`)
		_, form := fieldErrors(t, res)
		if len(form) == 0 {
			t.Fatalf("want formErrors: %s", res.Body)
		}
		if s.do(t, http.MethodGet, path, a.Key, nil).Data(t)["givenName"] != "Ada" {
			t.Fatal("a refused PATCH changed the contact")
		}
	})
	t.Run("field validation", func(t *testing.T) {
		res := s.do(t, http.MethodPatch, path, a.Key, map[string]any{"givenName": strings.Repeat("x", 101)})
		fe, _ := fieldErrors(t, res)
		if fe["givenName"] == nil {
			t.Fatalf("want fieldErrors.givenName: %s", res.Body)
		}
	})
	t.Run("introducedById itself", func(t *testing.T) {
		res := s.do(t, http.MethodPatch, path, a.Key, map[string]any{"introducedById": c["id"]})
		fe, _ := fieldErrors(t, res)
		if fe["introducedById"] == nil {
			t.Fatalf("want fieldErrors.introducedById: %s", res.Body)
		}
	})
	t.Run("missing contact", func(t *testing.T) {
		res := s.do(t, http.MethodPatch, "/api/v1/contacts/"+uuid.NewString(), a.Key, `{"nickname": "x"}`)
		wantError(t, res, http.StatusNotFound, "Contact not found")
	})
}

func TestContacts_IntroducedBy(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a, b := s.newTenant(t), s.newTenant(t)
	introducer := s.createContact(t, a.Key, map[string]any{"givenName": "Introducer"})
	foreign := s.createContact(t, b.Key, map[string]any{"givenName": "Foreign"})

	friend := s.createContact(t, a.Key, map[string]any{"givenName": "Friend", "introducedById": introducer["id"]})
	if friend["introducedById"] != introducer["id"] {
		t.Fatalf("introducedById = %v", friend["introducedById"])
	}

	res := s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, map[string]any{"givenName": "X", "introducedById": foreign["id"]})
	if fe, _ := fieldErrors(t, res); fe["introducedById"] == nil {
		t.Fatalf("another account's contact as introducer: %s", res.Body)
	}
	res = s.do(t, http.MethodPatch, "/api/v1/contacts/"+friend["id"].(string), a.Key, map[string]any{"introducedById": foreign["id"]})
	if fe, _ := fieldErrors(t, res); fe["introducedById"] == nil {
		t.Fatalf("PATCH to another account's contact: %s", res.Body)
	}

	wantStatus(t, s.do(t, http.MethodDelete, "/api/v1/contacts/"+introducer["id"].(string), a.Key, nil), http.StatusOK)
	got := s.do(t, http.MethodGet, "/api/v1/contacts/"+friend["id"].(string), a.Key, nil)
	wantStatus(t, got, http.StatusOK)
	if v, ok := got.Data(t)["introducedById"]; !ok || v != nil {
		t.Fatalf("introducedById after the introducer was deleted = %v, want null", v)
	}
}

func TestContacts_Delete(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	c := s.createContact(t, a.Key, map[string]any{"givenName": "Gone"})
	path := "/api/v1/contacts/" + c["id"].(string)

	res := s.do(t, http.MethodDelete, path, a.Key, nil)
	wantStatus(t, res, http.StatusOK)
	// The whole body, nothing more (the encoder ends it with a newline).
	if want := fmt.Sprintf(`{"data":{"id":%q,"deleted":true}}`, c["id"]); strings.TrimSuffix(string(res.Body), "\n") != want {
		t.Fatalf("body = %s, want %s", res.Body, want)
	}
	d := res.Data(t)
	if d["id"] != c["id"] || d["deleted"] != true {
		t.Fatalf("data = %v", d)
	}
	wantError(t, s.do(t, http.MethodDelete, path, a.Key, nil), http.StatusNotFound, "Contact not found")
	wantError(t, s.do(t, http.MethodGet, path, a.Key, nil), http.StatusNotFound, "Contact not found")
}

func TestContacts_List(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a, b := s.newTenant(t), s.newTenant(t)
	const n = 7
	var ids []string
	for i := range n {
		ids = append(ids, s.createContact(t, a.Key, map[string]any{"givenName": fmt.Sprint("C", i)})["id"].(string))
	}
	s.createContact(t, b.Key, map[string]any{"givenName": "other account"})

	list := func(t *testing.T, query string) ([]string, float64) {
		t.Helper()
		res := s.do(t, http.MethodGet, "/api/v1/contacts"+query, a.Key, nil)
		wantStatus(t, res, http.StatusOK)
		body := res.JSON(t)
		items, ok := body["data"].([]any)
		if !ok {
			t.Fatalf("data is not an array: %s", res.Body)
		}
		var got []string
		for _, it := range items {
			got = append(got, it.(map[string]any)["id"].(string))
		}
		return got, body["total"].(float64)
	}

	all, total := list(t, "")
	if total != n || len(all) != n {
		t.Fatalf("got %d items, total %v; want %d", len(all), total, n)
	}
	for i := range n { // newest first
		if all[i] != ids[n-1-i] {
			t.Fatalf("order: got %v, want newest first %v", all, ids)
		}
	}
	var paged []string
	for off := 0; off < n; off += 3 {
		page, total := list(t, fmt.Sprintf("?limit=3&offset=%d", off))
		if total != n {
			t.Fatalf("total = %v on page at %d", total, off)
		}
		paged = append(paged, page...)
	}
	if fmt.Sprint(paged) != fmt.Sprint(all) {
		t.Fatalf("pages %v do not add up to the list %v", paged, all)
	}
	if page, total := list(t, "?offset=100"); len(page) != 0 || total != n {
		t.Fatalf("past the end: %v items, total %v", page, total)
	}

	for _, q := range []string{"?limit=0", "?limit=101", "?limit=-1", "?offset=-1", "?limit=abc", "?offfset=2", "?sort=name"} {
		t.Run("bad query "+q, func(t *testing.T) {
			fieldErrors(t, s.do(t, http.MethodGet, "/api/v1/contacts"+q, a.Key, nil))
		})
	}
	t.Run("limit 100 is fine", func(t *testing.T) {
		if _, total := list(t, "?limit=100"); total != n {
			t.Fatal("limit=100 refused")
		}
	})
	t.Run("empty list is an empty array", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/api/v1/contacts", s.newTenant(t).Key, nil)
		if strings.TrimSpace(string(res.Body)) != `{"data":[],"total":0}` {
			t.Fatalf("body = %s", res.Body)
		}
	})
}

func TestContacts_Tenancy(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a, b := s.newTenant(t), s.newTenant(t)
	mine := s.createContact(t, a.Key, map[string]any{"givenName": "Mine"})
	path := "/api/v1/contacts/" + mine["id"].(string)
	missing := "/api/v1/contacts/" + uuid.NewString()

	for _, m := range []struct {
		method string
		body   any
	}{{http.MethodGet, nil}, {http.MethodPatch, `{"nickname":"stolen"}`}, {http.MethodDelete, nil}} {
		t.Run(m.method, func(t *testing.T) {
			foreign := s.do(t, m.method, path, b.Key, m.body)
			absent := s.do(t, m.method, missing, b.Key, m.body)
			wantStatus(t, foreign, http.StatusNotFound)
			if string(foreign.Body) != string(absent.Body) {
				t.Fatalf("another account's contact %s differs from a missing one %s", foreign.Body, absent.Body)
			}
			for _, h := range []string{"Content-Type", "Content-Length"} {
				if foreign.Header.Get(h) != absent.Header.Get(h) {
					t.Fatalf("%s differs: %q vs %q", h, foreign.Header.Get(h), absent.Header.Get(h))
				}
			}
		})
	}
	got := s.do(t, http.MethodGet, path, a.Key, nil)
	wantStatus(t, got, http.StatusOK)
	if got.Data(t)["nickname"] != nil {
		t.Fatal("another account changed the contact")
	}
	if res := s.do(t, http.MethodGet, "/api/v1/contacts", b.Key, nil); res.JSON(t)["total"] != float64(0) {
		t.Fatalf("other account sees contacts: %s", res.Body)
	}
}

func TestContacts_NULCharacters(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	for field, body := range map[string]string{
		"givenName": `{"givenName":"a\u0000b"}`,
		"tags":      `{"givenName":"a","tags":["x\u0000"]}`,
		"emails":    `{"emails":[{"value":"a@b.co","label":"\u0000"}]}`,
		"phones":    `{"givenName":"a","phones":[{"value":"1\u00002"}]}`,
	} {
		t.Run(field, func(t *testing.T) {
			fe, _ := fieldErrors(t, s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, body))
			if fe[field] == nil {
				t.Fatalf("want fieldErrors.%s: %v", field, fe)
			}
		})
	}
}
