package tests

import (
	"context"
	"net/http"
	"testing"
)

// TestContacts_BirthdayWithoutYear: --MM-DD is a birthday whose year is
// unknown; it comes back as sent from every layer, and full dates are
// stored and shown as before.
func TestContacts_BirthdayWithoutYear(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)

	c := s.createContact(t, a.Key, map[string]any{"givenName": "Grace", "birthday": "--12-09"})
	id := c["id"].(string)
	path := "/api/v1/contacts/" + id
	want := map[string]any{"birthday": "--12-09"}
	wantFields(t, "POST", c, want)
	wantFields(t, "GET", s.do(t, http.MethodGet, path, a.Key, nil).Data(t), want)
	wantFields(t, "list", listedContact(t, s, a.Key, id), want)
	wantExported(t, s, a.Key, id, want) // CSV: '--12-09, a cell that starts with - being neutralised

	for _, ok := range []string{"--02-29", "--01-31", "2024-02-29", "1815-12-10", "0001-01-01", "9999-12-31"} {
		res := s.do(t, http.MethodPatch, path, a.Key, map[string]any{"birthday": ok})
		wantStatus(t, res, http.StatusOK)
		wantFields(t, "PATCH "+ok, res.Data(t), map[string]any{"birthday": ok})
		wantFields(t, "GET "+ok, s.do(t, http.MethodGet, path, a.Key, nil).Data(t), map[string]any{"birthday": ok})
	}

	t.Run("changes logged in the form sent", func(t *testing.T) {
		res := s.do(t, http.MethodPatch, path, a.Key, map[string]any{"birthday": "--12-09"})
		wantStatus(t, res, http.StatusOK)
		wantChange(t, s, a.Key, id, "birthday", "9999-12-31", "--12-09")
		res = s.do(t, http.MethodPatch, path, a.Key, map[string]any{"birthday": "1906-12-09"})
		wantStatus(t, res, http.StatusOK)
		wantChange(t, s, a.Key, id, "birthday", "--12-09", "1906-12-09")
	})

	t.Run("stored as a date", func(t *testing.T) {
		// A full date is the date it always was; one without a year is in
		// 5 BC, and the column still orders and compares as dates.
		other := s.createContact(t, a.Key, map[string]any{"givenName": "Ada", "birthday": "--02-29"})["id"].(string)
		var full, yearless string
		var before bool
		err := s.Store.DB.NewRaw(`SELECT (SELECT birthday::text FROM contacts WHERE id = ?), (SELECT birthday::text FROM contacts WHERE id = ?),
			(SELECT birthday FROM contacts WHERE id = ?) < (SELECT birthday FROM contacts WHERE id = ?)`, id, other, other, id).
			Scan(context.Background(), &full, &yearless, &before)
		if err != nil || full != "1906-12-09" || yearless != "0005-02-29 BC" || !before {
			t.Fatalf("stored %q and %q (year-less first: %v), want 1906-12-09 and 0005-02-29 BC (%v)", full, yearless, before, err)
		}
	})

	s.wantErrors(t, a.Key, []errorCase{
		{name: "--02-30", method: http.MethodPost, path: "/api/v1/contacts", body: map[string]any{"givenName": "a", "birthday": "--02-30"},
			status: http.StatusUnprocessableEntity, msg: "Validation failed", field: "birthday"},
		{name: "--02-30 in a PATCH", method: http.MethodPatch, path: path, body: map[string]any{"birthday": "--02-30"},
			status: http.StatusUnprocessableEntity, msg: "Validation failed", field: "birthday"},
		{name: "2023-02-29", method: http.MethodPatch, path: path, body: map[string]any{"birthday": "2023-02-29"},
			status: http.StatusUnprocessableEntity, msg: "Validation failed", field: "birthday"},
	})
	for _, bad := range []struct{ value, msg string }{
		{"--02-30", "Must be a real date written YYYY-MM-DD, or --MM-DD without the year"},
		{"--04-31", "Must be a real date written YYYY-MM-DD, or --MM-DD without the year"},
		{"2023-02-30", "Must be a real date written YYYY-MM-DD, or --MM-DD without the year"},
		{"--13-01", "Must be a date written YYYY-MM-DD, or --MM-DD without the year"},
		{"--2-29", "Must be a date written YYYY-MM-DD, or --MM-DD without the year"},
		{"12-09", "Must be a date written YYYY-MM-DD, or --MM-DD without the year"},
		{"---12-09", "Must be a date written YYYY-MM-DD, or --MM-DD without the year"},
		{"--1209", "Must be a date written YYYY-MM-DD, or --MM-DD without the year"},
		{"10/12/1815", "Must be a date written YYYY-MM-DD, or --MM-DD without the year"},
	} {
		res := s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, map[string]any{"givenName": "a", "birthday": bad.value})
		fe, _ := fieldErrors(t, res)
		if msgs := strs(fe["birthday"]); len(fe) != 1 || len(msgs) != 1 || msgs[0] != bad.msg {
			t.Errorf("birthday %q: want fieldErrors {birthday: [%q]}, got %s", bad.value, bad.msg, res.Body)
		}
	}
	wantFields(t, "after the refused PATCHes", s.do(t, http.MethodGet, path, a.Key, nil).Data(t), map[string]any{"birthday": "1906-12-09"})
}
