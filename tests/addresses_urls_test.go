package tests

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestContacts_AddressesAndURLs(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)

	home := map[string]any{"label": " home ", "street": "  12 St James's Square\nFlat 3 ", "city": "London",
		"region": "", "postalCode": "SW1Y 4LE", "country": " UK"}
	created := s.createContact(t, a.Key, map[string]any{
		"givenName": "Ada",
		"addresses": []any{home, map[string]any{"city": "Paris", "label": nil}},
		"urls":      []any{map[string]any{"value": " https://example.com/ada ", "label": "blog"}, map[string]any{"value": "HTTP://Example.org:8080/a?b=c#d"}},
	})
	// Trimmed (the street's inner line break kept), every part present, a
	// null or absent part "".
	wantAddresses := []any{
		map[string]any{"label": "home", "street": "12 St James's Square\nFlat 3", "city": "London", "region": "", "postalCode": "SW1Y 4LE", "country": "UK"},
		map[string]any{"label": "", "street": "", "city": "Paris", "region": "", "postalCode": "", "country": ""},
	}
	wantURLs := []any{
		map[string]any{"value": "https://example.com/ada", "label": "blog"},
		map[string]any{"value": "HTTP://Example.org:8080/a?b=c#d", "label": ""},
	}
	want := map[string]any{"addresses": wantAddresses, "urls": wantURLs}
	wantFields(t, "POST", created, want)
	id := created["id"].(string)
	path := "/api/v1/contacts/" + id
	wantFields(t, "GET", s.do(t, http.MethodGet, path, a.Key, nil).Data(t), want)
	wantExported(t, s, a.Key, id, want)

	t.Run("always present", func(t *testing.T) {
		other := s.createContact(t, a.Key, map[string]any{"givenName": "Grace"})
		wantFields(t, "POST without them", other, map[string]any{"addresses": []any{}, "urls": []any{}})
	})

	t.Run("PATCH replaces the list, null empties it, both logged", func(t *testing.T) {
		office := map[string]any{"label": "work", "street": "", "city": "Cambridge", "region": "", "postalCode": "", "country": "UK"}
		res := s.do(t, http.MethodPatch, path, a.Key, map[string]any{"addresses": []any{office}})
		wantStatus(t, res, http.StatusOK)
		wantFields(t, "PATCH set", res.Data(t), map[string]any{"addresses": []any{office}, "urls": wantURLs})
		wantChange(t, s, a.Key, id, "addresses", wantAddresses, []any{office})

		res = s.do(t, http.MethodPatch, path, a.Key, map[string]any{"urls": nil})
		wantStatus(t, res, http.StatusOK)
		wantFields(t, "PATCH null", res.Data(t), map[string]any{"urls": []any{}, "addresses": []any{office}})
		wantChange(t, s, a.Key, id, "urls", wantURLs, []any{})

		res = s.do(t, http.MethodPatch, path, a.Key, map[string]any{"addresses": nil})
		wantStatus(t, res, http.StatusOK)
		wantFields(t, "GET after clearing", s.do(t, http.MethodGet, path, a.Key, nil).Data(t), map[string]any{"addresses": []any{}, "urls": []any{}})
	})

	t.Run("the same list again is no change", func(t *testing.T) {
		before, _ := s.activity(t, a.Key, "?resourceId="+id)
		res := s.do(t, http.MethodPatch, path, a.Key, map[string]any{"addresses": []any{}, "urls": nil})
		wantStatus(t, res, http.StatusOK)
		if after, _ := s.activity(t, a.Key, "?resourceId="+id); len(after) != len(before) {
			t.Fatalf("%d Activity Log entries after a PATCH that changed nothing, want %d", len(after), len(before))
		}
	})
}

// TestContacts_AddressesAndURLsValidation: each bad list is a 422 naming
// the list alone, with the message the rule gives, and writes nothing.
func TestContacts_AddressesAndURLsValidation(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	long := func(n int) string { return strings.Repeat("x", n) }
	many := func(item func(i int) any) []any {
		list := make([]any, 21)
		for i := range list {
			list[i] = item(i)
		}
		return list
	}
	const notURL = "urls[0].value must be an absolute http:// or https:// URL"
	tests := []struct {
		name, field string
		value       any
		msg         string // "" accepts any
	}{
		{"too many addresses", "addresses", many(func(i int) any { return map[string]any{"city": fmt.Sprint("c", i)} }), "Expected array length <= 20"},
		{"blank address", "addresses", []any{map[string]any{"city": "Paris"}, map[string]any{"label": "home", "street": " \n ", "country": ""}},
			"addresses[1] needs at least one of street, city, region, postalCode or country"},
		{"empty address", "addresses", []any{map[string]any{}}, "addresses[0] needs at least one of street, city, region, postalCode or country"},
		{"street too long", "addresses", []any{map[string]any{"street": long(501)}}, "Expected length <= 500"},
		{"label too long", "addresses", []any{map[string]any{"city": "Paris", "label": long(501)}}, "Expected length <= 500"},
		{"NUL in an address", "addresses", []any{map[string]any{"city": "Pa\x00ris"}}, "Must not contain NUL (\\u0000) characters"},
		{"unknown address part", "addresses", []any{map[string]any{"town": "Paris"}}, `Unrecognized key: "town"`},
		{"address not an object", "addresses", []any{"10 Downing Street"}, ""},
		{"too many URLs", "urls", many(func(i int) any { return map[string]any{"value": fmt.Sprint("https://example.com/", i)} }), "Expected array length <= 20"},
		{"not http", "urls", []any{map[string]any{"value": "ftp://example.com/file"}}, notURL},
		{"javascript", "urls", []any{map[string]any{"value": "javascript:alert(1)"}}, notURL},
		{"mailto", "urls", []any{map[string]any{"value": "mailto:ada@example.com"}}, notURL},
		{"relative", "urls", []any{map[string]any{"value": "/about"}}, notURL},
		{"no scheme", "urls", []any{map[string]any{"value": "example.com"}}, notURL},
		{"no host", "urls", []any{map[string]any{"value": "https://"}}, notURL},
		{"blank", "urls", []any{map[string]any{"value": "   "}}, notURL},
		{"URL too long", "urls", []any{map[string]any{"value": "https://example.com/" + long(2029)}}, "Expected length <= 2048"},
		{"URL without value", "urls", []any{map[string]any{"label": "blog"}}, "Required"},
		{"URL label too long", "urls", []any{map[string]any{"value": "https://example.com", "label": long(51)}}, "Expected length <= 50"},
		{"NUL in a URL label", "urls", []any{map[string]any{"value": "https://example.com", "label": "a\x00"}}, "Must not contain NUL (\\u0000) characters"},
	}
	target := s.createContact(t, a.Key, map[string]any{"givenName": "Ada"})
	path := "/api/v1/contacts/" + target["id"].(string)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, req := range []struct{ method, path string }{{http.MethodPost, "/api/v1/contacts"}, {http.MethodPatch, path}} {
				res := s.do(t, req.method, req.path, a.Key, map[string]any{"givenName": "Ada", tt.field: tt.value})
				fe, form := fieldErrors(t, res)
				msgs := strs(fe[tt.field])
				if len(fe) != 1 || len(msgs) == 0 || len(form) != 0 || (tt.msg != "" && !slices.Contains(msgs, tt.msg)) {
					t.Fatalf("%s: want fieldErrors {%s: [%q]} only; got %s", req.method, tt.field, tt.msg, res.Body)
				}
			}
		})
	}
	t.Run("a URL of 2048 characters is one", func(t *testing.T) {
		u := "https://example.com/" + long(2028)
		c := s.createContact(t, a.Key, map[string]any{"givenName": "Ada", "urls": []any{map[string]any{"value": u}}})
		wantFields(t, "POST", c, map[string]any{"urls": []any{map[string]any{"value": u, "label": ""}}})
	})
	t.Run("nothing was written", func(t *testing.T) {
		s.wantContacts(t, a.Account.ID, 2) // the target and the 2048-character URL's
		wantFields(t, "the contact PATCHed", s.do(t, http.MethodGet, path, a.Key, nil).Data(t), map[string]any{"addresses": []any{}, "urls": []any{}})
		if entries, _ := s.activity(t, a.Key, "?resourceId="+target["id"].(string)); len(entries) != 1 {
			t.Fatalf("%d Activity Log entries for the contact PATCHed, want its creation's alone", len(entries))
		}
	})
}
