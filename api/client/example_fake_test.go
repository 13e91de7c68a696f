package client_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// fakeRemy stands in for the Remy API, with just enough of it for the
// examples to run: one contact, Ada (c1), whose first update meets a
// concurrent change; an import; a change feed of two events whose cursor
// then expires. It returns the base URL, an API key and a stop function.
func fakeRemy() (baseURL, apiKey string, stop func()) {
	f := &fakeState{version: 1, tags: []string{"friends"}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/contacts/c1", f.getContact)
	mux.HandleFunc("PATCH /api/v1/contacts/c1", f.patchContact)
	mux.HandleFunc("POST /api/v1/contacts/import", importAnswer)
	mux.HandleFunc("GET /api/v1/events", feedAnswer)
	srv := httptest.NewServer(mux)
	return srv.URL, "rmy_example", srv.Close
}

type fakeState struct {
	mu      sync.Mutex
	version int
	tags    []string
	patched bool
}

func (f *fakeState) contact(w http.ResponseWriter, status int) {
	w.Header().Set("ETag", `"v`+strconv.Itoa(f.version)+`"`)
	writeJSON(w, status, map[string]any{"data": map[string]any{
		"id": "c1", "givenName": "Ada", "familyName": "Lovelace", "tags": f.tags,
		"emails": []any{}, "phones": []any{}, "createdAt": time.Unix(0, 0), "updatedAt": time.Unix(0, 0),
	}})
}

func (f *fakeState) getContact(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.contact(w, http.StatusOK)
}

func (f *fakeState) patchContact(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.patched {
		// Someone else changes the contact between the example's read
		// and its first write.
		f.patched, f.version, f.tags = true, f.version+1, append(f.tags, "london")
	}
	if r.Header.Get("If-Match") != `"v`+strconv.Itoa(f.version)+`"` {
		writeJSON(w, http.StatusPreconditionFailed, map[string]string{
			"error": "Precondition failed: the contact has changed; fetch it again and retry with its current ETag"})
		return
	}
	var p struct{ Tags []string }
	_ = json.NewDecoder(r.Body).Decode(&p)
	f.version, f.tags = f.version+1, p.Tags
	f.contact(w, http.StatusOK)
}

func importAnswer(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Content-Type") != "text/vcard" || r.URL.Query().Get("onDuplicate") != "skip" {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "Unsupported Content-Type"})
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"data": map[string]any{
		"created": 1, "merged": 0, "skipped": 1, "failed": 0,
		"results": []map[string]any{
			{"index": 0, "status": "created", "id": "c7"},
			{"index": 1, "status": "skipped", "duplicateOf": "c1"},
		},
	}})
}

func feedAnswer(w http.ResponseWriter, r *http.Request) {
	event := func(id, typ, object string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"id":%q,"type":%q,"timestamp":"2026-01-02T03:04:05Z","data":{"object":%s,"activity":{"id":%[1]q,"action":%[2]q}}}`, id, typ, object))
	}
	switch r.URL.Query().Get("after") {
	case "now":
		writeJSON(w, http.StatusOK, map[string]any{"data": []any{}, "nextCursor": "cur-0", "hasMore": false})
	case "cur-0":
		writeJSON(w, http.StatusOK, map[string]any{"nextCursor": "cur-1", "hasMore": false, "data": []json.RawMessage{
			event("e1", "contact.updated", `{"id":"c1","givenName":"Ada"}`),
			event("e2", "contact.deleted", `{"id":"c2","givenName":"Charles"}`),
		}})
	default:
		writeJSON(w, http.StatusGone, map[string]string{"error": "Cursor expired: read everything again, then follow from now"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// deliver sends a webhook request to handler, signed with secret as Remy
// signs it, and returns the status it answered.
func deliver(handler http.Handler, secret, body string, tamper bool) int {
	wh, _ := standardwebhooks.NewWebhook(secret)
	now := time.Now()
	sig, _ := wh.Sign("0b7e7a8e-58f5-4a3c-9a7f-2f0f3a1d5c11", now, []byte(body))
	if tamper {
		body = strings.Replace(body, "Ada", "Eve", 1)
	}
	r := httptest.NewRequest(http.MethodPost, "/remy-webhooks", strings.NewReader(body))
	r.Header.Set("webhook-id", "0b7e7a8e-58f5-4a3c-9a7f-2f0f3a1d5c11")
	r.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	r.Header.Set("webhook-signature", sig)
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, r)
	return w.Code
}
