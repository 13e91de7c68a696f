package tests

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/remy-crm/remy/model"
)

// newKey creates another key of the account holding exactly scopes.
func (s *testServer) newKey(t testing.TB, accountID uuid.UUID, scopes ...model.Scope) string {
	t.Helper()
	if len(scopes) == 0 {
		t.Fatal("newKey without scopes would hold every scope; say so with model.AllScopes...")
	}
	secret, k, err := s.Store.Keys.Create(context.Background(), accountID, "scoped", nil, scopes...)
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	if got, want := k.Scopes.String(), mustScopes(t, scopes...).String(); got != want {
		t.Fatalf("created key holds %s, want %s", got, want)
	}
	return secret
}

func mustScopes(t testing.TB, scopes ...model.Scope) model.Scopes {
	t.Helper()
	ss, err := model.NewScopes(scopes...)
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

// allBut is every scope that does not grant s (s itself and, for a read
// scope, the write scope that implies it).
func allBut(s model.Scope) []model.Scope {
	var out []model.Scope
	for _, have := range model.AllScopes {
		if !(model.Scopes{have}).Allows(s) {
			out = append(out, have)
		}
	}
	return out
}

func wantForbidden(t testing.TB, res *response, scope model.Scope) {
	t.Helper()
	want := `{"error":"This API key does not have the ` + string(scope) + ` scope"}`
	wantStatus(t, res, http.StatusForbidden)
	if got := strings.TrimSpace(string(res.Body)); got != want {
		t.Fatalf("403 body = %s, want %s", got, want)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("403 Content-Type = %q", ct)
	}
}

// scopedOp is one /api/v1 operation, how to call it, and the scope it needs.
type scopedOp struct {
	id     string // operationId in /openapi.json
	method string
	path   string // with {contact}, {note}, {webhook}, {delivery} placeholders
	body   string // {source}: a new contact (see payload)
	scope  model.Scope
	want   int // status for a key holding exactly the scope
}

var scopedOps = []scopedOp{
	{"listContacts", http.MethodGet, "/api/v1/contacts", "", model.ScopeContactsRead, http.StatusOK},
	{"createContact", http.MethodPost, "/api/v1/contacts", `{"givenName":"New"}`, model.ScopeContactsWrite, http.StatusCreated},
	{"getContact", http.MethodGet, "/api/v1/contacts/{contact}", "", model.ScopeContactsRead, http.StatusOK},
	{"updateContact", http.MethodPatch, "/api/v1/contacts/{contact}", `{"nickname":"Changed"}`, model.ScopeContactsWrite, http.StatusOK},
	{"deleteContact", http.MethodDelete, "/api/v1/contacts/{contact}", "", model.ScopeContactsWrite, http.StatusOK},
	{"listContactDuplicates", http.MethodGet, "/api/v1/contacts/duplicates", "", model.ScopeContactsRead, http.StatusOK},
	{"mergeContacts", http.MethodPost, "/api/v1/contacts/{contact}/merge", `{"sourceIds":["{source}"]}`, model.ScopeContactsWrite, http.StatusOK},
	{"importContacts", http.MethodPost, "/api/v1/contacts/import", "First Name\nImported\n", model.ScopeContactsWrite, http.StatusCreated},
	{"listNotes", http.MethodGet, "/api/v1/contacts/{contact}/notes", "", model.ScopeNotesRead, http.StatusOK},
	{"createNote", http.MethodPost, "/api/v1/contacts/{contact}/notes", `{"body":"New note"}`, model.ScopeNotesWrite, http.StatusCreated},
	{"getNote", http.MethodGet, "/api/v1/notes/{note}", "", model.ScopeNotesRead, http.StatusOK},
	{"updateNote", http.MethodPatch, "/api/v1/notes/{note}", `{"body":"Changed"}`, model.ScopeNotesWrite, http.StatusOK},
	{"deleteNote", http.MethodDelete, "/api/v1/notes/{note}", "", model.ScopeNotesWrite, http.StatusOK},
	{"listTags", http.MethodGet, "/api/v1/tags", "", model.ScopeContactsRead, http.StatusOK},
	{"listActivity", http.MethodGet, "/api/v1/activity", "", model.ScopeActivityRead, http.StatusOK},
	{"listEvents", http.MethodGet, "/api/v1/events", "", model.ScopeActivityRead, http.StatusOK},
	// A stream that started would not end: a bad cursor shows the key got
	// past the scope check.
	{"streamEvents", http.MethodGet, "/api/v1/events/stream?after=malformed", "", model.ScopeActivityRead, http.StatusBadRequest},
	{"exportAccount", http.MethodGet, "/api/v1/export?format=json", "", model.ScopeExportRead, http.StatusOK},
	{"listWebhooks", http.MethodGet, "/api/v1/webhooks", "", model.ScopeWebhooksRead, http.StatusOK},
	{"createWebhook", http.MethodPost, "/api/v1/webhooks", `{"url":"https://example.com/hook","events":["*"]}`, model.ScopeWebhooksWrite, http.StatusCreated},
	{"getWebhook", http.MethodGet, "/api/v1/webhooks/{webhook}", "", model.ScopeWebhooksRead, http.StatusOK},
	{"updateWebhook", http.MethodPatch, "/api/v1/webhooks/{webhook}", `{"description":"Changed"}`, model.ScopeWebhooksWrite, http.StatusOK},
	{"deleteWebhook", http.MethodDelete, "/api/v1/webhooks/{webhook}", "", model.ScopeWebhooksWrite, http.StatusOK},
	{"rotateWebhookSecret", http.MethodPost, "/api/v1/webhooks/{webhook}/rotate-secret", "", model.ScopeWebhooksWrite, http.StatusOK},
	{"pingWebhook", http.MethodPost, "/api/v1/webhooks/{webhook}/ping", "", model.ScopeWebhooksWrite, http.StatusAccepted},
	{"listWebhookDeliveries", http.MethodGet, "/api/v1/webhooks/{webhook}/deliveries", "", model.ScopeWebhooksRead, http.StatusOK},
	{"retryWebhookDelivery", http.MethodPost, "/api/v1/webhooks/{webhook}/deliveries/{delivery}/retry", "", model.ScopeWebhooksWrite, http.StatusAccepted},
}

// seedWebhookAndDelivery registers an endpoint (never called: no worker
// runs) and pings it, returning the endpoint's and the ping delivery's ids.
func (s *client) seedWebhookAndDelivery(t testing.TB, key string) (webhookID, deliveryID string) {
	t.Helper()
	res := s.do(t, http.MethodPost, "/api/v1/webhooks", key, map[string]any{"url": "https://example.com/hook", "events": []string{"*"}})
	wantStatus(t, res, http.StatusCreated)
	webhookID = res.Data(t)["id"].(string)
	res = s.do(t, http.MethodPost, "/api/v1/webhooks/"+webhookID+"/ping", key, nil)
	wantStatus(t, res, http.StatusAccepted)
	return webhookID, res.Data(t)["id"].(string)
}

// seedContactAndNote creates a contact with one note through the API and
// returns their ids.
func (s *client) seedContactAndNote(t testing.TB, key string) (contactID, noteID string) {
	t.Helper()
	contactID = s.createContact(t, key, map[string]any{"givenName": "Ada"})["id"].(string)
	res := s.do(t, http.MethodPost, "/api/v1/contacts/"+contactID+"/notes", key, map[string]any{"body": "Met at the museum"})
	wantStatus(t, res, http.StatusCreated)
	return contactID, res.Data(t)["id"].(string)
}

// payload is op's body, nil when it takes none; {source} in it becomes a
// new contact of key's account (a merge's source, which the merge uses up).
func (op scopedOp) payload(t testing.TB, s *testServer, key string) any {
	t.Helper()
	if !strings.Contains(op.body, "{source}") {
		return nilIfEmpty(op.body)
	}
	id := s.createContact(t, key, map[string]any{"givenName": "Source"})["id"].(string)
	return strings.ReplaceAll(op.body, "{source}", id)
}

// headers are op's request headers: its body's Content-Type, when the
// body is not JSON.
func (op scopedOp) headers() []header {
	if op.id == "importContacts" {
		return []header{{"Content-Type", "text/csv"}}
	}
	return nil
}

func (op scopedOp) url(ids ...string) string {
	return strings.NewReplacer("{contact}", ids[0], "{note}", ids[1], "{webhook}", ids[2], "{delivery}", ids[3]).Replace(op.path)
}

// writeCount is how many rows the account's contacts, notes and Activity
// Log hold: a forbidden request must change none of them.
func (s *testServer) writeCount(t testing.TB, accountID uuid.UUID) [3]int {
	t.Helper()
	var n [3]int
	for i, table := range []string{"contacts", "notes", "activity_log"} {
		if err := s.Store.DB.NewRaw("SELECT count(*) FROM "+table+" WHERE account_id = ?", accountID).Scan(context.Background(), &n[i]); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
	}
	return n
}

// Every operation answers 403 naming its scope to a key that holds every
// other scope, changes nothing doing so, and works for a key holding only
// its scope.
func TestScopes_EveryOperation(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, op := range scopedOps {
		t.Run(op.id, func(t *testing.T) {
			t.Parallel()
			a := s.newTenant(t) // an account of its own, so the counts are its own
			contactID, noteID := s.seedContactAndNote(t, a.Key)
			var webhookID, deliveryID string
			if strings.Contains(op.path, "{webhook}") {
				webhookID, deliveryID = s.seedWebhookAndDelivery(t, a.Key)
			}
			without := s.newKey(t, a.Account.ID, allBut(op.scope)...)
			body := op.payload(t, s, a.Key)
			before := s.writeCount(t, a.Account.ID)
			res := s.do(t, op.method, op.url(contactID, noteID, webhookID, deliveryID), without, body, op.headers()...)
			wantForbidden(t, res, op.scope)
			if after := s.writeCount(t, a.Account.ID); after != before {
				t.Fatalf("a forbidden %s changed contacts/notes/activity from %v to %v", op.id, before, after)
			}

			only := s.newKey(t, a.Account.ID, op.scope)
			wantStatus(t, s.do(t, op.method, op.url(contactID, noteID, webhookID, deliveryID), only, op.payload(t, s, a.Key), op.headers()...), op.want)
		})
	}
}

// The table above covers every /api/v1 operation, and /openapi.json states
// each one's scope in its security requirement and documents the 403.
func TestScopes_OpenAPI(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string                `json:"operationId"`
			Security    []map[string][]string `json:"security"`
			Responses   map[string]struct {
				Content map[string]struct {
					Examples map[string]struct {
						Value map[string]any `json:"value"`
					} `json:"examples"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
		Components struct {
			SecuritySchemes map[string]struct {
				Description string `json:"description"`
			} `json:"securitySchemes"`
		} `json:"components"`
	}
	s.document(t, &doc)
	want := map[string]model.Scope{}
	for _, op := range scopedOps {
		want[op.id] = op.scope
	}
	seen := map[string]bool{}
	for path, methods := range doc.Paths {
		if !strings.HasPrefix(path, "/api/v1/") {
			continue
		}
		for method, op := range methods {
			scope, ok := want[op.OperationID]
			if !ok {
				t.Errorf("%s %s (%s) is not in scopedOps: add it, with its scope", method, path, op.OperationID)
				continue
			}
			seen[op.OperationID] = true
			if len(op.Security) != 1 || !slices.Equal(op.Security[0]["bearer"], []string{string(scope)}) {
				t.Errorf("%s security = %v, want [{bearer: [%s]}]", op.OperationID, op.Security, scope)
			}
			ex := op.Responses["403"].Content["application/json"].Examples
			if len(ex) == 0 {
				t.Errorf("%s declares no 403 with an example", op.OperationID)
			}
			for _, e := range ex {
				if e.Value["error"] != "This API key does not have the "+string(scope)+" scope" {
					t.Errorf("%s 403 example = %v", op.OperationID, e.Value)
				}
			}
		}
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("%s is in scopedOps but not in /openapi.json", id)
		}
	}
	desc := doc.Components.SecuritySchemes["bearer"].Description
	for _, sc := range model.AllScopes {
		if !strings.Contains(desc, string(sc)) {
			t.Errorf("the bearer scheme's description does not list %s: %q", sc, desc)
		}
	}
}

// "read" reads everything and writes nothing; a write scope implies the read
// scope of its own resource only; the default key may do everything.
func TestScopes_ShorthandsAndImplication(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t) // the default: all
	contactID, noteID := s.seedContactAndNote(t, a.Key)
	webhookID, deliveryID := s.seedWebhookAndDelivery(t, a.Key)

	read, err := model.ParseScopes("read")
	if err != nil {
		t.Fatal(err)
	}
	readKey := s.newKey(t, a.Account.ID, read...)
	for _, op := range scopedOps {
		res := s.do(t, op.method, op.url(contactID, noteID, webhookID, deliveryID), readKey, op.payload(t, s, a.Key), op.headers()...)
		if strings.HasSuffix(string(op.scope), ":read") {
			wantStatus(t, res, op.want)
		} else {
			wantForbidden(t, res, op.scope)
		}
	}

	contactsWrite := s.newKey(t, a.Account.ID, model.ScopeContactsWrite)
	wantStatus(t, s.do(t, http.MethodGet, "/api/v1/contacts", contactsWrite, nil), http.StatusOK)
	wantStatus(t, s.do(t, http.MethodGet, "/api/v1/contacts/"+contactID, contactsWrite, nil), http.StatusOK)
	wantForbidden(t, s.do(t, http.MethodGet, "/api/v1/notes/"+noteID, contactsWrite, nil), model.ScopeNotesRead)
	wantForbidden(t, s.do(t, http.MethodGet, "/api/v1/activity", contactsWrite, nil), model.ScopeActivityRead)

	// Read never implies write.
	notesRead := s.newKey(t, a.Account.ID, model.ScopeNotesRead)
	wantStatus(t, s.do(t, http.MethodGet, "/api/v1/notes/"+noteID, notesRead, nil), http.StatusOK)
	wantForbidden(t, s.do(t, http.MethodPatch, "/api/v1/notes/"+noteID, notesRead, `{"body":"x"}`), model.ScopeNotesWrite)

	all := s.newKey(t, a.Account.ID, model.AllScopes...)
	for _, op := range scopedOps {
		if op.method == http.MethodDelete {
			continue // keep the resources for the others
		}
		wantStatus(t, s.do(t, op.method, op.url(contactID, noteID, webhookID, deliveryID), all, op.payload(t, s, a.Key), op.headers()...), op.want)
	}
}

func nilIfEmpty(body string) any {
	if body == "" {
		return nil
	}
	return body
}

// Authentication comes first: a bad, revoked or missing key is a 401 even on
// an operation its scopes would forbid.
func TestScopes_401Before403(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	secret, k, err := s.Store.Keys.Create(context.Background(), a.Account.ID, "revoked", nil, model.ScopeNotesRead)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.Keys.Revoke(context.Background(), k.ID); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"", "rmy_nope", secret} {
		res := s.do(t, http.MethodPost, "/api/v1/contacts", key, `{"givenName":"Ada"}`)
		wantStatus(t, res, http.StatusUnauthorized)
	}
	// A valid restricted key on the same request: 403, and it counts
	// against the key's rate limit like any other request.
	limited := newServer(t, limits(0.1, 2))
	b := limited.newTenant(t)
	ro := limited.newKey(t, b.Account.ID, model.ScopeContactsRead)
	res := limited.do(t, http.MethodPost, "/api/v1/contacts", ro, `{"givenName":"Ada"}`)
	wantForbidden(t, res, model.ScopeContactsWrite)
	if res.Header.Get("RateLimit") == "" {
		t.Fatal("403 without RateLimit")
	}
	wantForbidden(t, limited.do(t, http.MethodPost, "/api/v1/contacts", ro, `{"givenName":"Ada"}`), model.ScopeContactsWrite)
	want429(t, limited.do(t, http.MethodGet, "/api/v1/contacts", ro, nil))
}

// The scope check comes before Idempotency-Key handling: a forbidden POST
// claims no key, so the same key later works for a permitted request.
func TestScopes_BeforeIdempotencyKey(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	ro := s.newKey(t, a.Account.ID, model.ScopeContactsRead)
	body := `{"givenName":"Ada"}`
	wantForbidden(t, s.do(t, http.MethodPost, "/api/v1/contacts", ro, body, idemKey("k-1")), model.ScopeContactsWrite)
	var stored int
	if err := s.Store.DB.NewRaw("SELECT count(*) FROM idempotency_keys WHERE account_id = ?", a.Account.ID).Scan(context.Background(), &stored); err != nil {
		t.Fatal(err)
	}
	if stored != 0 {
		t.Fatalf("a forbidden request stored %d idempotency keys", stored)
	}
	res := s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, body, idemKey("k-1"))
	wantStatus(t, res, http.StatusCreated)
	if res.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("the permitted request was answered from a forbidden one's key")
	}
	// The forbidden key retrying is still forbidden, not a replay.
	wantForbidden(t, s.do(t, http.MethodPost, "/api/v1/contacts", ro, body, idemKey("k-1")), model.ScopeContactsWrite)
}
