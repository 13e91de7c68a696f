package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// requestCase is a call, what it must send, and the answer it gets.
type requestCase struct {
	name        string
	call        func(c *Client) (any, error)
	answer      string
	wantRequest string // method, URI, then header and body lines as sent
	check       func(t *testing.T, got any)
}

var (
	bg    = context.Background()
	since = time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("", 3600))
)

// requestCases are the calls TestServices_Requests checks, one or two per
// kind of request.
var requestCases = []requestCase{
	{
		name: "create contact",
		call: func(c *Client) (any, error) {
			return c.Contacts.Create(bg, ContactInput{GivenName: Ptr("Ada"), Birthday: Ptr("--12-10"),
				URLs: []LabeledValue{{Value: "https://ada.example"}}, Addresses: []Address{{City: "London"}}})
		},
		answer:      contactJSON,
		wantRequest: `POST /api/v1/contacts` + "\n" + `{"givenName":"Ada","birthday":"--12-10","urls":[{"value":"https://ada.example","label":""}],"addresses":[{"city":"London"}]}`,
		check: func(t *testing.T, got any) {
			if ct := got.(*Contact); ct.ETag != `"e1"` || *ct.GivenName != "Ada" || ct.FamilyName != nil {
				t.Fatalf("%+v", ct)
			}
		},
	},
	{
		name: "update contact if it matches",
		call: func(c *Client) (any, error) {
			return c.Contacts.Update(bg, "c 1", Patch{"birthday": nil}, IfMatch(`"e0"`))
		},
		answer:      contactJSON,
		wantRequest: "PATCH /api/v1/contacts/c%201\nIf-Match: \"e0\"\n" + `{"birthday":null}`,
	},
	{
		name: "list contacts",
		call: func(c *Client) (any, error) {
			return c.Contacts.List(bg, ListContactsParams{Q: "grace navy", Tags: []string{"a", "b"}, IntroducedByID: "c2",
				UpdatedSince: since, Sort: "-familyName", Limit: 10, Offset: 20})
		},
		answer:      `{"data":[],"total":7}`,
		wantRequest: "GET /api/v1/contacts?introducedById=c2&limit=10&offset=20&q=grace+navy&sort=-familyName&tag=a&tag=b&updatedSince=2026-01-02T02%3A04%3A05.0000006Z",
		check: func(t *testing.T, got any) {
			if p := got.(*Page[Contact]); p.Total != 7 || p.Data == nil {
				t.Fatalf("%+v", p)
			}
		},
	},
	{
		name: "import a vCard",
		call: func(c *Client) (any, error) {
			return c.Contacts.Import(bg, strings.NewReader("BEGIN:VCARD\r\n"), ImportParams{DryRun: true, OnDuplicate: "merge"})
		},
		answer:      `{"data":{"created":1,"merged":0,"skipped":0,"failed":1,"results":[{"index":0,"status":"created","id":"c9","error":null,"details":null,"duplicateOf":null},{"index":1,"status":"failed","id":null,"error":"Validation failed","details":{"fieldErrors":{"emails":["bad"]},"formErrors":[]},"duplicateOf":null}]}}`,
		wantRequest: "POST /api/v1/contacts/import?dryRun=true&onDuplicate=merge\nContent-Type: text/vcard\nBEGIN:VCARD\r\n",
		check: func(t *testing.T, got any) {
			r := got.(*ImportResult)
			if r.Created != 1 || r.Failed != 1 || r.Results[0].ID != "c9" || r.Results[1].Details.FieldErrors["emails"][0] != "bad" {
				t.Fatalf("%+v", r)
			}
		},
	},
	{
		name: "merge",
		call: func(c *Client) (any, error) {
			return c.Contacts.Merge(bg, "c1", []string{"c2", "c3"}, IfMatch(`"e1"`))
		},
		answer:      contactJSON,
		wantRequest: "POST /api/v1/contacts/c1/merge\nIf-Match: \"e1\"\n" + `{"sourceIds":["c2","c3"]}`,
	},
	{
		name:        "duplicates",
		call:        func(c *Client) (any, error) { return c.Contacts.Duplicates(bg, ListParams{Limit: 5}) },
		answer:      `{"data":[{"reason":"email","value":"ada@example.com","contacts":[{"id":"c1"},{"id":"c2"}]}],"total":1}`,
		wantRequest: "GET /api/v1/contacts/duplicates?limit=5",
		check: func(t *testing.T, got any) {
			if g := got.(*Page[DuplicateGroup]).Data[0]; g.Reason != "email" || g.Contacts[1].ID != "c2" {
				t.Fatalf("%+v", g)
			}
		},
	},
	{
		name:        "create note",
		call:        func(c *Client) (any, error) { return c.Notes.Create(bg, "c1", NoteInput{Body: " as sent "}) },
		answer:      `{"data":{"id":"n1","contactId":"c1","body":" as sent ","createdAt":"2026-01-02T03:04:05Z","updatedAt":"2026-01-02T03:04:05Z"}}`,
		wantRequest: "POST /api/v1/contacts/c1/notes\n" + `{"body":" as sent "}`,
		check: func(t *testing.T, got any) {
			if n := got.(*Note); n.ID != "n1" || n.ETag != `"e1"` {
				t.Fatalf("%+v", n)
			}
		},
	},
	{
		name:        "delete note",
		call:        func(c *Client) (any, error) { return nil, c.Notes.Delete(bg, "n1", IfMatch(`"e2"`)) },
		answer:      `{"data":{"id":"n1","deleted":true}}`,
		wantRequest: "DELETE /api/v1/notes/n1\nIf-Match: \"e2\"",
	},
	{
		name: "activity",
		call: func(c *Client) (any, error) {
			return c.Activity.List(bg, ListActivityParams{Since: since, ResourceID: "c1"})
		},
		answer:      `{"data":[{"id":"a1","action":"contact.updated","changes":{"nickname":{"before":null,"after":"Countess"}}}],"total":1}`,
		wantRequest: "GET /api/v1/activity?resourceId=c1&since=2026-01-02T02%3A04%3A05.0000006Z",
		check: func(t *testing.T, got any) {
			ch := got.(*Page[Activity]).Data[0].Changes["nickname"]
			if string(ch.Before) != "null" || string(ch.After) != `"Countess"` {
				t.Fatalf("%+v", ch)
			}
		},
	},
	{
		name:        "tags",
		call:        func(c *Client) (any, error) { return c.Tags.List(bg, ListParams{Offset: 3}) },
		answer:      `{"data":[{"name":"vip","count":12}],"total":4}`,
		wantRequest: "GET /api/v1/tags?offset=3",
	},
	{
		name: "create webhook",
		call: func(c *Client) (any, error) {
			return c.Webhooks.Create(bg, WebhookInput{URL: "https://x.example/h", Events: []string{"*"}})
		},
		answer:      `{"data":{"id":"w1","secret":"whsec_abc","url":"https://x.example/h","events":["*"],"enabled":true,"disabledReason":null}}`,
		wantRequest: "POST /api/v1/webhooks\n" + `{"url":"https://x.example/h","events":["*"]}`,
		check: func(t *testing.T, got any) {
			if w := got.(*Webhook); w.Secret != "whsec_abc" || !w.Enabled {
				t.Fatalf("%+v", w)
			}
		},
	},
	{
		name: "deliveries",
		call: func(c *Client) (any, error) {
			return c.Webhooks.Deliveries(bg, "w1", ListDeliveriesParams{Status: "failed"})
		},
		answer:      `{"data":[{"id":"d1","status":"failed","attempts":8,"lastStatusCode":500,"nextAttemptAt":null}],"total":1}`,
		wantRequest: "GET /api/v1/webhooks/w1/deliveries?status=failed",
		check: func(t *testing.T, got any) {
			if d := got.(*Page[Delivery]).Data[0]; *d.LastStatusCode != 500 || d.NextAttemptAt != nil {
				t.Fatalf("%+v", d)
			}
		},
	},
	{
		name:        "retry a delivery",
		call:        func(c *Client) (any, error) { return c.Webhooks.RetryDelivery(bg, "w1", "d1") },
		answer:      `{"data":{"id":"d1","status":"pending"}}`,
		wantRequest: "POST /api/v1/webhooks/w1/deliveries/d1/retry",
	},
	{
		name: "events",
		call: func(c *Client) (any, error) {
			return c.Events.List(bg, ListEventsParams{After: "cur", Types: []string{"contact.created", "note.created"}, Limit: 10, Wait: 30 * time.Second})
		},
		answer:      `{"data":[],"nextCursor":"cur2","hasMore":false}`,
		wantRequest: "GET /api/v1/events?after=cur&limit=10&types=contact.created%2Cnote.created&wait=30",
	},
}

// TestServices_Requests checks what each call sends (method, path, query,
// headers, body) and that it decodes the answer.
func TestServices_Requests(t *testing.T) {
	for _, tt := range requestCases {
		t.Run(tt.name, func(t *testing.T) {
			c, f, _ := setup(t, []http.HandlerFunc{answer(200, tt.answer, "ETag", `"e1"`)})
			got, err := tt.call(c)
			if err != nil {
				t.Fatal(err)
			}
			if sent := describe(f.got()[0], f.bodies[0]); sent != tt.wantRequest {
				t.Fatalf("sent\n%s\nwant\n%s", sent, tt.wantRequest)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

// describe writes a request as the table above expects it: the method and
// URI, the headers a call may set, and the body.
func describe(r *http.Request, body string) string {
	lines := []string{r.Method + " " + r.URL.RequestURI()}
	if v := r.Header.Get("If-Match"); v != "" {
		lines = append(lines, "If-Match: "+v)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		lines = append(lines, "Content-Type: "+ct)
	}
	if body != "" {
		lines = append(lines, body)
	}
	return strings.Join(lines, "\n")
}

// pages is a list of n contacts served by limit and offset; shift, if set,
// inserts a contact at the head before serving the page it names, as a
// concurrent create does.
func pages(n int, shift map[int]bool) http.HandlerFunc {
	var ids []string
	for i := range n {
		ids = append(ids, fmt.Sprintf("c%03d", i))
	}
	served := 0
	return func(w http.ResponseWriter, r *http.Request) {
		if shift[served] {
			ids = append([]string{fmt.Sprintf("new%d", served)}, ids...)
		}
		served++
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		page := []Contact{}
		for _, id := range ids[min(offset, len(ids)):min(offset+limit, len(ids))] {
			page = append(page, Contact{ID: id})
		}
		_ = json.NewEncoder(w).Encode(Page[Contact]{Data: page, Total: len(ids)})
	}
}

func TestAll(t *testing.T) {
	for _, tt := range []struct {
		name          string
		n, limit      int
		shift         map[int]bool
		want, request int
	}{
		{"230 by 100", 230, 0, nil, 230, 3},
		{"230 by 50", 230, 50, nil, 230, 5},
		{"exact pages", 200, 100, nil, 200, 2},
		{"none", 0, 0, nil, 0, 1},
		// A contact created while paging pushes the list down: the last
		// of page 1 comes again on page 2, and is yielded once.
		{"created meanwhile", 230, 100, map[int]bool{1: true}, 230, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, f, _ := setup(t, []http.HandlerFunc{pages(tt.n, tt.shift)})
			seen := map[string]int{}
			for ct, err := range c.Contacts.All(bg, ListContactsParams{Limit: tt.limit, Q: "x"}) {
				if err != nil {
					t.Fatal(err)
				}
				seen[ct.ID]++
			}
			if len(seen) != tt.want || len(f.got()) != tt.request {
				t.Fatalf("%d contacts in %d requests, want %d in %d", len(seen), len(f.got()), tt.want, tt.request)
			}
			for id, n := range seen {
				if n != 1 {
					t.Fatalf("%s yielded %d times", id, n)
				}
			}
			wantLimit := tt.limit
			if wantLimit == 0 {
				wantLimit = 100
			}
			if q := f.got()[0].URL.Query(); q.Get("q") != "x" || q.Get("limit") != strconv.Itoa(wantLimit) {
				t.Fatalf("first request %s", f.got()[0].URL)
			}
		})
	}

	t.Run("break stops paging", func(t *testing.T) {
		c, f, _ := setup(t, []http.HandlerFunc{pages(230, nil)})
		for range c.Contacts.All(bg, ListContactsParams{Limit: 10}) {
			break
		}
		if len(f.got()) != 1 {
			t.Fatalf("%d requests after a break on the first contact", len(f.got()))
		}
	})
	t.Run("an error ends it", func(t *testing.T) {
		c, _, _ := setup(t, []http.HandlerFunc{answer(401, `{"error":"Invalid, expired, or revoked API key"}`)})
		var errs int
		for ct, err := range c.Notes.All(bg, "c1", ListParams{}) {
			if ct != nil || err == nil {
				t.Fatalf("%v, %v", ct, err)
			}
			errs++
		}
		if errs != 1 {
			t.Fatalf("%d errors yielded", errs)
		}
	})
}

func TestExport_Streams(t *testing.T) {
	c, f, _ := setup(t, []http.HandlerFunc{
		answer(503, `{"error":"Too many exports running; retry shortly"}`, "Retry-After", "5"),
		func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/vcard")
			_, _ = io.WriteString(w, "BEGIN:VCARD\r\nEND:VCARD\r\n")
		},
	})
	body, err := c.Export(context.Background(), ExportParams{Format: "vcard"})
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil || string(b) != "BEGIN:VCARD\r\nEND:VCARD\r\n" {
		t.Fatalf("%q, %v", b, err)
	}
	if reqs := f.got(); len(reqs) != 2 || reqs[1].URL.RequestURI() != "/api/v1/export?format=vcard" {
		t.Fatalf("%d requests", len(reqs))
	}
}

func TestImport_UnknownFormat(t *testing.T) {
	c, f, _ := setup(t, []http.HandlerFunc{answer(200, `{}`)})
	if _, err := c.Contacts.Import(context.Background(), strings.NewReader(""), ImportParams{Format: "xlsx"}); err == nil {
		t.Fatal("no error")
	}
	if len(f.got()) != 0 {
		t.Fatal("sent anyway")
	}
}

func TestContactInput_Patch(t *testing.T) {
	p := ContactInput{Nickname: Ptr("Countess"), Tags: []string{"a"}}.Patch()
	b, _ := json.Marshal(p)
	if string(b) != `{"nickname":"Countess","tags":["a"]}` {
		t.Fatalf("%s", b)
	}
}
