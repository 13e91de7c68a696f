package tests

import (
	"context"
	"errors"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/remy-crm/remy/model"
	"github.com/remy-crm/remy/repo/egress"
)

var secretFormat = regexp.MustCompile(`^whsec_[A-Za-z0-9+/]{43}=$`)

func TestWebhooks_CRUD(t *testing.T) {
	t.Parallel()
	s := newWebhookServer(t, webhookOpts{SkipWorker: true})
	ten := s.newTenant(t)
	wantError(t, s.do(t, http.MethodGet, "/api/v1/webhooks", "", nil), http.StatusUnauthorized, "Missing Authorization header")

	res := s.do(t, http.MethodPost, "/api/v1/webhooks", ten.Key, map[string]any{
		"url": "https://example.com/hook", "events": []string{"contact.created", "note.created"}, "description": "sync",
	})
	wantStatus(t, res, http.StatusCreated)
	w := res.Data(t)
	id := w["id"].(string)
	secret, _ := w["secret"].(string)
	if !secretFormat.MatchString(secret) {
		t.Fatalf("secret = %q, want whsec_ + base64 of 32 bytes", secret)
	}
	if w["enabled"] != true || w["disabledReason"] != nil || w["url"] != "https://example.com/hook" || w["description"] != "sync" {
		t.Fatalf("created: %v", w)
	}
	for _, k := range []string{"createdAt", "updatedAt"} {
		if _, ok := w[k].(string); !ok {
			t.Fatalf("no %s in %v", k, w)
		}
	}
	if loc := res.Header.Get("Location"); loc != "/api/v1/webhooks/"+id {
		t.Fatalf("Location = %q", loc)
	}

	got := s.do(t, http.MethodGet, "/api/v1/webhooks/"+id, ten.Key, nil)
	wantStatus(t, got, http.StatusOK)
	if _, ok := got.Data(t)["secret"]; ok || strings.Contains(string(got.Body), secret) {
		t.Fatalf("GET shows the secret: %s", got.Body)
	}
	list := s.do(t, http.MethodGet, "/api/v1/webhooks?limit=10", ten.Key, nil)
	wantStatus(t, list, http.StatusOK)
	if body := list.JSON(t); body["total"] != float64(1) || len(body["data"].([]any)) != 1 || strings.Contains(string(list.Body), secret) {
		t.Fatalf("list: %s", list.Body)
	}

	upd := s.do(t, http.MethodPatch, "/api/v1/webhooks/"+id, ten.Key, map[string]any{"events": []string{"*"}, "enabled": false, "description": "off"})
	wantStatus(t, upd, http.StatusOK)
	if d := upd.Data(t); d["enabled"] != false || d["description"] != "off" || d["events"].([]any)[0] != "*" {
		t.Fatalf("patched: %v", d)
	}
	rot := s.do(t, http.MethodPost, "/api/v1/webhooks/"+id+"/rotate-secret", ten.Key, nil)
	wantStatus(t, rot, http.StatusOK)
	newSecret, _ := rot.Data(t)["secret"].(string)
	if !secretFormat.MatchString(newSecret) || newSecret == secret {
		t.Fatalf("rotated secret %q (old %q)", newSecret, secret)
	}

	del := s.do(t, http.MethodDelete, "/api/v1/webhooks/"+id, ten.Key, nil)
	wantStatus(t, del, http.StatusOK)
	if d := del.Data(t); d["id"] != id || d["deleted"] != true {
		t.Fatalf("delete: %s", del.Body)
	}
	wantError(t, s.do(t, http.MethodGet, "/api/v1/webhooks/"+id, ten.Key, nil), http.StatusNotFound, "Webhook not found")

	// The Activity Log has the four mutations, never a secret.
	act := s.do(t, http.MethodGet, "/api/v1/activity?resourceId="+id, ten.Key, nil)
	wantStatus(t, act, http.StatusOK)
	var actions []string
	for _, e := range act.JSON(t)["data"].([]any) {
		actions = append(actions, e.(map[string]any)["action"].(string))
	}
	want := []string{"webhook.deleted", "webhook.secret_rotated", "webhook.updated", "webhook.created"}
	if strings.Join(actions, ",") != strings.Join(want, ",") {
		t.Fatalf("activity = %v, want %v", actions, want)
	}
	if strings.Contains(string(act.Body), secret) || strings.Contains(string(act.Body), newSecret) || strings.Contains(string(act.Body), "whsec_") {
		t.Fatalf("a secret leaked into the Activity Log: %s", act.Body)
	}
}

func TestWebhooks_Validation(t *testing.T) {
	t.Parallel()
	s := newServer(t) // REMY_WEBHOOK_ALLOW_PRIVATE unset: the production rules
	ten := s.newTenant(t)
	long := "https://example.com/" + strings.Repeat("a", 2040)
	urls := map[string]string{
		"http":            "http://example.com/hook",
		"ftp":             "ftp://example.com/hook",
		"relative":        "/hook",
		"no host":         "https:///hook",
		"credentials":     "https://user:pass@example.com/hook",
		"too long":        long,
		"loopback":        "https://127.0.0.1/hook",
		"loopback other":  "https://127.1.2.3:8443/hook",
		"localhost":       "https://localhost/hook",
		"localhost sub":   "https://api.localhost/hook",
		"localhost dot":   "https://LOCALHOST./hook",
		"rfc1918 10":      "https://10.0.0.1/hook",
		"rfc1918 172":     "https://172.16.5.4/hook",
		"rfc1918 192":     "https://192.168.1.1/hook",
		"link-local":      "https://169.254.169.254/latest/meta-data",
		"cgnat":           "https://100.64.0.1/hook",
		"unspecified":     "https://0.0.0.0/hook",
		"broadcast":       "https://255.255.255.255/hook",
		"multicast":       "https://224.0.0.1/hook",
		"ipv6 loopback":   "https://[::1]/hook",
		"ipv6 ula":        "https://[fd00::1]/hook",
		"ipv6 link-local": "https://[fe80::1]/hook",
		"ipv6 unspec":     "https://[::]/hook",
		"ipv4-mapped":     "https://[::ffff:127.0.0.1]/hook",
		"nat64 private":   "https://[64:ff9b::10.0.0.1]/hook",
	}
	for name, u := range urls {
		t.Run(name, func(t *testing.T) {
			fe, _ := fieldErrors(t, s.do(t, http.MethodPost, "/api/v1/webhooks", ten.Key, map[string]any{"url": u, "events": []string{"*"}}))
			if _, ok := fe["url"]; !ok {
				t.Fatalf("%s: no fieldErrors.url: %v", u, fe)
			}
		})
	}
	for name, body := range map[string]map[string]any{
		"no events":      {"url": "https://example.com/h"},
		"empty events":   {"url": "https://example.com/h", "events": []string{}},
		"unknown event":  {"url": "https://example.com/h", "events": []string{"contact.merged"}},
		"other wildcard": {"url": "https://example.com/h", "events": []string{"contact.*"}},
		"ping":           {"url": "https://example.com/h", "events": []string{"webhook.ping"}},
		"logged only":    {"url": "https://example.com/h", "events": []string{"webhook.created"}},
	} {
		t.Run(name, func(t *testing.T) {
			fe, _ := fieldErrors(t, s.do(t, http.MethodPost, "/api/v1/webhooks", ten.Key, body))
			if _, ok := fe["events"]; !ok {
				t.Fatalf("no fieldErrors.events: %v", fe)
			}
		})
	}
	// A public address is fine, and a PATCH is held to the same rules.
	w := s.do(t, http.MethodPost, "/api/v1/webhooks", ten.Key, map[string]any{"url": "https://93.184.215.14/hook", "events": []string{"*"}})
	wantStatus(t, w, http.StatusCreated)
	id := w.Data(t)["id"].(string)
	fe, _ := fieldErrors(t, s.do(t, http.MethodPatch, "/api/v1/webhooks/"+id, ten.Key, map[string]any{"url": "https://10.1.1.1/"}))
	if _, ok := fe["url"]; !ok {
		t.Fatalf("PATCH to a private address: %v", fe)
	}
	fe, _ = fieldErrors(t, s.do(t, http.MethodPatch, "/api/v1/webhooks/"+id, ten.Key, map[string]any{"enabled": nil}))
	if _, ok := fe["enabled"]; !ok {
		t.Fatalf("PATCH enabled null: %v", fe)
	}
	fieldErrors(t, s.do(t, http.MethodGet, "/api/v1/webhooks/"+id+"/deliveries?status=lost", ten.Key, nil))
}

func TestWebhooks_Tenancy(t *testing.T) {
	t.Parallel()
	s := newWebhookServer(t, webhookOpts{})
	rc := newReceiver(t)
	owner, other := s.newTenant(t), s.newTenant(t)
	id := s.createWebhook(t, owner.Key, rc.URL)["id"].(string)
	s.createContact(t, owner.Key, map[string]any{"givenName": "Ada"})
	rc.wait(t, 1, 10*time.Second)
	did := s.deliveries(t, owner.Key, id, "")[0]["id"].(string)

	missing := uuid.NewString()
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/webhooks/%s"},
		{http.MethodPatch, "/api/v1/webhooks/%s"},
		{http.MethodDelete, "/api/v1/webhooks/%s"},
		{http.MethodPost, "/api/v1/webhooks/%s/rotate-secret"},
		{http.MethodPost, "/api/v1/webhooks/%s/ping"},
		{http.MethodGet, "/api/v1/webhooks/%s/deliveries"},
	} {
		var body any
		if c.method == http.MethodPatch {
			body = map[string]any{"description": "x"}
		}
		foreign := s.do(t, c.method, strings.Replace(c.path, "%s", id, 1), other.Key, body)
		absent := s.do(t, c.method, strings.Replace(c.path, "%s", missing, 1), other.Key, body)
		wantError(t, foreign, http.StatusNotFound, "Webhook not found")
		if string(foreign.Body) != string(absent.Body) {
			t.Fatalf("%s %s: foreign %s vs missing %s", c.method, c.path, foreign.Body, absent.Body)
		}
	}
	foreign := s.do(t, http.MethodPost, "/api/v1/webhooks/"+id+"/deliveries/"+did+"/retry", other.Key, nil)
	absent := s.do(t, http.MethodPost, "/api/v1/webhooks/"+id+"/deliveries/"+missing+"/retry", owner.Key, nil)
	wantError(t, foreign, http.StatusNotFound, "Delivery not found")
	if string(foreign.Body) != string(absent.Body) {
		t.Fatalf("retry: foreign %s vs missing %s", foreign.Body, absent.Body)
	}
	if list := s.do(t, http.MethodGet, "/api/v1/webhooks", other.Key, nil); list.JSON(t)["total"] != float64(0) {
		t.Fatalf("other account lists %s", list.Body)
	}
	// The other account's changes never reach this endpoint.
	s.createContact(t, other.Key, map[string]any{"givenName": "Eve"})
	rc.quiet(t, 1, 700*time.Millisecond)
}

func TestWebhooks_EveryEventSignedAndShaped(t *testing.T) {
	t.Parallel()
	s, rc, ten := setupWebhooks(t, webhookOpts{})
	w := s.createWebhook(t, ten.Key, rc.URL)
	secret := w["secret"].(string)

	const tricky = `Ada O'Brien \\ "q" ü 🙂 $1 ?`
	c := s.createContact(t, ten.Key, map[string]any{"givenName": tricky, "tags": []string{"math"}})
	cid := c["id"].(string)
	wantStatus(t, s.do(t, http.MethodPatch, "/api/v1/contacts/"+cid, ten.Key, map[string]any{"familyName": "Lovelace"}), http.StatusOK)
	n := s.createNote(t, ten.Key, cid, "first")
	nid := n["id"].(string)
	wantStatus(t, s.do(t, http.MethodPatch, "/api/v1/notes/"+nid, ten.Key, map[string]any{"body": "second"}), http.StatusOK)
	wantStatus(t, s.do(t, http.MethodDelete, "/api/v1/notes/"+nid, ten.Key, nil), http.StatusOK)
	n2 := s.createNote(t, ten.Key, cid, "cascaded")
	wantStatus(t, s.do(t, http.MethodDelete, "/api/v1/contacts/"+cid, ten.Key, nil), http.StatusOK)
	got := rc.wait(t, 8, 15*time.Second)
	rc.quiet(t, 8, 300*time.Millisecond)

	byType := map[string][]map[string]any{}
	ids := map[string]bool{}
	for _, r := range got {
		verify(t, r, secret)
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("content-type %q", ct)
		}
		if ua := r.Header.Get("User-Agent"); !strings.Contains(ua, "Remy") {
			t.Fatalf("user-agent %q", ua)
		}
		if ts, err := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64); err != nil || time.Since(time.Unix(ts, 0)) > time.Minute {
			t.Fatalf("webhook-timestamp %q", r.Header.Get("webhook-timestamp"))
		}
		e := r.Event(t)
		typ := e["type"].(string)
		byType[typ] = append(byType[typ], e)
		data := e["data"].(map[string]any)
		act := data["activity"].(map[string]any)
		id := r.Header.Get("webhook-id")
		if act["id"] != id || act["action"] != typ {
			t.Fatalf("webhook-id %s, activity %v, type %s", id, act, typ)
		}
		if ids[id] {
			t.Fatalf("webhook-id %s delivered twice", id)
		}
		ids[id] = true
		ts, err := time.Parse(time.RFC3339Nano, e["timestamp"].(string))
		if err != nil || e["timestamp"] != act["createdAt"] || time.Since(ts) > time.Minute {
			t.Fatalf("timestamp %v vs activity createdAt %v", e["timestamp"], act["createdAt"])
		}
		if data["object"].(map[string]any)["id"] != act["resourceId"] {
			t.Fatalf("object %v is not the activity's resource %v", data["object"], act["resourceId"])
		}
	}
	for typ, count := range map[string]int{"contact.created": 1, "contact.updated": 1, "contact.deleted": 1, "note.created": 2, "note.updated": 1, "note.deleted": 2} {
		if len(byType[typ]) != count {
			t.Fatalf("%s: %d events, want %d (%v)", typ, len(byType[typ]), count, byType)
		}
	}
	obj := func(typ string, i int) map[string]any {
		return byType[typ][i]["data"].(map[string]any)["object"].(map[string]any)
	}
	if o := obj("contact.created", 0); o["givenName"] != tricky || o["familyName"] != nil {
		t.Fatalf("contact.created object %v", o)
	}
	if o := obj("contact.updated", 0); o["familyName"] != "Lovelace" {
		t.Fatalf("contact.updated object %v", o)
	}
	changes := byType["contact.updated"][0]["data"].(map[string]any)["activity"].(map[string]any)["changes"].(map[string]any)
	if fn := changes["familyName"].(map[string]any); fn["before"] != nil || fn["after"] != "Lovelace" {
		t.Fatalf("changes %v", changes)
	}
	if o := obj("contact.deleted", 0); o["familyName"] != "Lovelace" || o["id"] != cid {
		t.Fatalf("contact.deleted object (as it was) %v", o)
	}
	if o := obj("note.updated", 0); o["body"] != "second" {
		t.Fatalf("note.updated object %v", o)
	}
	// The cascaded note.deleted carries the note as the API showed it.
	for _, e := range byType["note.deleted"] {
		o := e["data"].(map[string]any)["object"].(map[string]any)
		if o["id"] == n2["id"] {
			for _, k := range []string{"id", "contactId", "body", "createdAt", "updatedAt"} {
				if o[k] != n2[k] {
					t.Fatalf("cascaded note.deleted object %v, want %v", o, n2)
				}
			}
		}
	}
	// Every delivery is recorded as succeeded.
	for _, d := range s.deliveries(t, ten.Key, w["id"].(string), "?status=succeeded") {
		if d["attempts"] != float64(1) || d["lastStatusCode"] != float64(200) || d["nextAttemptAt"] != nil || d["lastError"] != nil {
			t.Fatalf("succeeded delivery %v", d)
		}
	}
	if n := len(s.deliveries(t, ten.Key, w["id"].(string), "?status=succeeded")); n != 8 {
		t.Fatalf("%d succeeded deliveries, want 8", n)
	}
}

func TestWebhooks_EventFilter(t *testing.T) {
	t.Parallel()
	s := newWebhookServer(t, webhookOpts{})
	notes, contacts := newReceiver(t), newReceiver(t)
	ten := s.newTenant(t)
	s.createWebhook(t, ten.Key, notes.URL, "note.created")
	s.createWebhook(t, ten.Key, contacts.URL, "contact.created", "contact.deleted")
	c := s.createContact(t, ten.Key, map[string]any{"givenName": "Ada"})
	s.createNote(t, ten.Key, c["id"].(string), "hello")
	wantStatus(t, s.do(t, http.MethodPatch, "/api/v1/contacts/"+c["id"].(string), ten.Key, map[string]any{"nickname": "A"}), http.StatusOK)
	if e := notes.wait(t, 1, 10*time.Second)[0].Event(t); e["type"] != "note.created" {
		t.Fatalf("note endpoint got %v", e["type"])
	}
	if e := contacts.wait(t, 1, 10*time.Second)[0].Event(t); e["type"] != "contact.created" {
		t.Fatalf("contact endpoint got %v", e["type"])
	}
	notes.quiet(t, 1, 500*time.Millisecond)
	contacts.quiet(t, 1, 0)
}

func TestWebhooks_RetriesThenFailed(t *testing.T) {
	t.Parallel()
	s, rc, ten := setupWebhooks(t, webhookOpts{RetryDelays: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}})
	rc.answer(status(http.StatusInternalServerError))
	id := s.createWebhook(t, ten.Key, rc.URL)["id"].(string)
	s.createContact(t, ten.Key, map[string]any{"givenName": "Ada"})
	got := rc.wait(t, 3, 15*time.Second)
	d := s.waitDelivery(t, ten.Key, id, 10*time.Second, func(d map[string]any) bool { return d["status"] == "failed" })
	rc.quiet(t, 3, 500*time.Millisecond)
	for _, r := range got[1:] {
		if r.Header.Get("webhook-id") != got[0].Header.Get("webhook-id") {
			t.Fatalf("webhook-id changed between attempts")
		}
	}
	if got[1].At.Sub(got[0].At) < 80*time.Millisecond || got[2].At.Sub(got[1].At) < 160*time.Millisecond {
		t.Fatalf("retries came too soon: %v, %v", got[1].At.Sub(got[0].At), got[2].At.Sub(got[1].At))
	}
	if d["attempts"] != float64(3) || d["lastStatusCode"] != float64(500) || d["nextAttemptAt"] != nil || d["eventId"] != got[0].Header.Get("webhook-id") || d["eventType"] != "contact.created" {
		t.Fatalf("failed delivery %v", d)
	}
	if e, _ := d["lastError"].(string); e == "" {
		t.Fatalf("no lastError: %v", d)
	}
	if n := len(s.deliveries(t, ten.Key, id, "?status=pending")); n != 0 {
		t.Fatalf("%d pending", n)
	}

	// A manual retry sends it again now, with the same webhook-id.
	rc.answer(status(http.StatusNoContent))
	res := s.do(t, http.MethodPost, "/api/v1/webhooks/"+id+"/deliveries/"+d["id"].(string)+"/retry", ten.Key, nil)
	wantStatus(t, res, http.StatusAccepted)
	again := rc.wait(t, 4, 10*time.Second)[3]
	if again.Header.Get("webhook-id") != got[0].Header.Get("webhook-id") || string(again.Body) != string(got[0].Body) {
		t.Fatalf("manual retry changed the event: %s vs %s", again.Body, got[0].Body)
	}
	d = s.waitDelivery(t, ten.Key, id, 10*time.Second, func(d map[string]any) bool { return d["status"] == "succeeded" })
	if d["attempts"] != float64(4) || d["lastStatusCode"] != float64(204) || d["lastError"] != nil {
		t.Fatalf("after manual retry %v", d)
	}
}

func TestWebhooks_SuccessOnALaterAttempt(t *testing.T) {
	t.Parallel()
	s := newWebhookServer(t, webhookOpts{})
	rc := newReceiver(t)
	rc.answer(func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	ten := s.newTenant(t)
	id := s.createWebhook(t, ten.Key, rc.URL)["id"].(string)
	s.createContact(t, ten.Key, map[string]any{"givenName": "Ada"})
	rc.wait(t, 2, 10*time.Second)
	d := s.waitDelivery(t, ten.Key, id, 10*time.Second, func(d map[string]any) bool { return d["status"] == "succeeded" })
	if d["attempts"] != float64(2) || d["lastStatusCode"] != float64(200) {
		t.Fatalf("%v", d)
	}
	rc.quiet(t, 2, 300*time.Millisecond)
}

func TestWebhooks_RetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	s := newWebhookServer(t, webhookOpts{})
	rc := newReceiver(t)
	rc.answer(func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	ten := s.newTenant(t)
	s.createWebhook(t, ten.Key, rc.URL)
	s.createContact(t, ten.Key, map[string]any{"givenName": "Ada"})
	got := rc.wait(t, 2, 10*time.Second)
	if gap := got[1].At.Sub(got[0].At); gap < 1900*time.Millisecond {
		t.Fatalf("second attempt %v after a 429 with Retry-After: 2", gap)
	}
}

func TestWebhooks_SlowReceiverTimesOut(t *testing.T) {
	t.Parallel()
	s := newWebhookServer(t, webhookOpts{Timeout: 300 * time.Millisecond, RetryDelays: []time.Duration{}})
	rc := newReceiver(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	rc.answer(func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	ten := s.newTenant(t)
	id := s.createWebhook(t, ten.Key, rc.URL)["id"].(string)
	s.createContact(t, ten.Key, map[string]any{"givenName": "Ada"})
	d := s.waitDelivery(t, ten.Key, id, 10*time.Second, func(d map[string]any) bool { return d["status"] == "failed" })
	if d["lastStatusCode"] != nil || !strings.Contains(d["lastError"].(string), "Timed out") || d["attempts"] != float64(1) {
		t.Fatalf("%v", d)
	}
}

func TestWebhooks_PingIgnoresTheFilter(t *testing.T) {
	t.Parallel()
	s, rc, ten := setupWebhooks(t, webhookOpts{})
	w := s.createWebhook(t, ten.Key, rc.URL, "note.deleted")
	id := w["id"].(string)
	res := s.do(t, http.MethodPost, "/api/v1/webhooks/"+id+"/ping", ten.Key, nil)
	wantStatus(t, res, http.StatusAccepted)
	r := rc.wait(t, 1, 10*time.Second)[0]
	verify(t, r, w["secret"].(string))
	e := r.Event(t)
	if e["type"] != "webhook.ping" || e["data"].(map[string]any)["object"].(map[string]any)["id"] != id {
		t.Fatalf("ping %s", r.Body)
	}
	if strings.Contains(string(r.Body), "whsec_") {
		t.Fatalf("the ping carries the secret: %s", r.Body)
	}
	if res.Data(t)["eventId"] != r.Header.Get("webhook-id") {
		t.Fatalf("ping response %s vs webhook-id %s", res.Body, r.Header.Get("webhook-id"))
	}
}

func TestWebhooks_RotationSignsWithBothSecrets(t *testing.T) {
	t.Parallel()
	s, rc, ten := setupWebhooks(t, webhookOpts{})
	w := s.createWebhook(t, ten.Key, rc.URL)
	id, old := w["id"].(string), w["secret"].(string)
	s.createContact(t, ten.Key, map[string]any{"givenName": "Before"})
	first := rc.wait(t, 1, 10*time.Second)[0]
	if sigs := strings.Fields(first.Header.Get("webhook-signature")); len(sigs) != 1 || !strings.HasPrefix(sigs[0], "v1,") {
		t.Fatalf("before rotation: %q", first.Header.Get("webhook-signature"))
	}
	rot := s.do(t, http.MethodPost, "/api/v1/webhooks/"+id+"/rotate-secret", ten.Key, nil)
	wantStatus(t, rot, http.StatusOK)
	fresh := rot.Data(t)["secret"].(string)
	s.createContact(t, ten.Key, map[string]any{"givenName": "After"})
	second := rc.wait(t, 2, 10*time.Second)[1]
	if sigs := strings.Fields(second.Header.Get("webhook-signature")); len(sigs) != 2 {
		t.Fatalf("after rotation: %q, want two signatures", second.Header.Get("webhook-signature"))
	}
	verify(t, second, fresh)
	verify(t, second, old)

	// Once the overlap is over only the new secret signs.
	if _, err := s.Store.DB.ExecContext(context.Background(),
		"UPDATE webhook_endpoints SET previous_secret_until = now() - interval '1 second' WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}
	s.createContact(t, ten.Key, map[string]any{"givenName": "Later"})
	third := rc.wait(t, 3, 10*time.Second)[2]
	if sigs := strings.Fields(third.Header.Get("webhook-signature")); len(sigs) != 1 {
		t.Fatalf("after the overlap: %q", third.Header.Get("webhook-signature"))
	}
	verify(t, third, fresh)
}

func TestWebhooks_DisableAndAutoDisable(t *testing.T) {
	t.Parallel()
	s := newWebhookServer(t, webhookOpts{RetryDelays: []time.Duration{}})
	ten := s.newTenant(t)

	t.Run("manual", func(t *testing.T) {
		rc := newReceiver(t)
		id := s.createWebhook(t, ten.Key, rc.URL, "note.created")["id"].(string)
		wantStatus(t, s.do(t, http.MethodPatch, "/api/v1/webhooks/"+id, ten.Key, map[string]any{"enabled": false}), http.StatusOK)
		c := s.createContact(t, ten.Key, map[string]any{"givenName": "Ada"})
		s.createNote(t, ten.Key, c["id"].(string), "unsent")
		rc.quiet(t, 0, 500*time.Millisecond)
		if n := len(s.deliveries(t, ten.Key, id, "")); n != 0 {
			t.Fatalf("%d deliveries queued for a disabled endpoint", n)
		}
		wantStatus(t, s.do(t, http.MethodPatch, "/api/v1/webhooks/"+id, ten.Key, map[string]any{"enabled": true}), http.StatusOK)
		s.createNote(t, ten.Key, c["id"].(string), "sent")
		rc.wait(t, 1, 10*time.Second)
	})

	t.Run("410", func(t *testing.T) {
		rc := newReceiver(t)
		rc.answer(status(http.StatusGone))
		id := s.createWebhook(t, ten.Key, rc.URL, "contact.updated")["id"].(string)
		c := s.createContact(t, ten.Key, map[string]any{"givenName": "Ada"})
		wantStatus(t, s.do(t, http.MethodPatch, "/api/v1/contacts/"+c["id"].(string), ten.Key, map[string]any{"nickname": "A"}), http.StatusOK)
		s.waitDelivery(t, ten.Key, id, 10*time.Second, func(d map[string]any) bool { return d["status"] == "failed" })
		w := s.do(t, http.MethodGet, "/api/v1/webhooks/"+id, ten.Key, nil).Data(t)
		if w["enabled"] != false || !strings.Contains(w["disabledReason"].(string), "410") {
			t.Fatalf("after a 410: %v", w)
		}
	})

	t.Run("five failures", func(t *testing.T) {
		rc := newReceiver(t)
		rc.answer(status(http.StatusBadGateway))
		id := s.createWebhook(t, ten.Key, rc.URL, "contact.deleted")["id"].(string)
		for i := range 5 {
			c := s.createContact(t, ten.Key, map[string]any{"givenName": "Gone"})
			wantStatus(t, s.do(t, http.MethodDelete, "/api/v1/contacts/"+c["id"].(string), ten.Key, nil), http.StatusOK)
			rc.wait(t, i+1, 10*time.Second)
			s.waitDelivery(t, ten.Key, id, 10*time.Second, func(d map[string]any) bool { return d["status"] == "failed" })
		}
		w := s.do(t, http.MethodGet, "/api/v1/webhooks/"+id, ten.Key, nil).Data(t)
		if w["enabled"] != false || w["disabledReason"] == nil {
			t.Fatalf("after 5 failed deliveries: %v", w)
		}
		c := s.createContact(t, ten.Key, map[string]any{"givenName": "Unsent"})
		wantStatus(t, s.do(t, http.MethodDelete, "/api/v1/contacts/"+c["id"].(string), ten.Key, nil), http.StatusOK)
		if n := len(s.deliveries(t, ten.Key, id, "")); n != 5 {
			t.Fatalf("%d deliveries, want 5: none for a disabled endpoint", n)
		}
		re := s.do(t, http.MethodPatch, "/api/v1/webhooks/"+id, ten.Key, map[string]any{"enabled": true})
		if d := re.Data(t); d["enabled"] != true || d["disabledReason"] != nil {
			t.Fatalf("re-enabled: %v", d)
		}
		// The failure count starts again: one more failure does not disable it.
		c = s.createContact(t, ten.Key, map[string]any{"givenName": "Again"})
		wantStatus(t, s.do(t, http.MethodDelete, "/api/v1/contacts/"+c["id"].(string), ten.Key, nil), http.StatusOK)
		rc.wait(t, 6, 10*time.Second)
		s.waitDelivery(t, ten.Key, id, 10*time.Second, func(d map[string]any) bool { return d["status"] == "failed" })
		if w := s.do(t, http.MethodGet, "/api/v1/webhooks/"+id, ten.Key, nil).Data(t); w["enabled"] != true {
			t.Fatalf("one failure after re-enabling disabled it: %v", w)
		}
	})
}

func TestWebhooks_NothingSentForRejectedOrRolledBack(t *testing.T) {
	t.Parallel()
	s, rc, ten := setupWebhooks(t, webhookOpts{})
	id := s.createWebhook(t, ten.Key, rc.URL)["id"].(string)

	fieldErrors(t, s.do(t, http.MethodPost, "/api/v1/contacts", ten.Key, map[string]any{"emails": []map[string]any{{"value": "not an email"}}}))
	wantError(t, s.do(t, http.MethodPatch, "/api/v1/contacts/"+uuid.NewString(), ten.Key, map[string]any{"nickname": "x"}), http.StatusNotFound, "")

	// A change whose transaction rolls back after the write and its log entry.
	actor := model.Actor{AccountID: ten.Account.ID, AuthMethod: model.AuthMethodAPIKey}
	errRollback := errors.New("roll back")
	err := s.Store.InTx(context.Background(), func(ctx context.Context) error {
		if _, err := s.Store.Contacts.Create(ctx, actor, &model.Contact{GivenName: ptr("Ghost")}); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx: %v", err)
	}
	rc.quiet(t, 0, 700*time.Millisecond)
	var jobs int
	if err := s.Store.DB.NewRaw("SELECT count(*) FROM river_job WHERE kind = 'webhook_delivery'").Scan(context.Background(), &jobs); err != nil {
		t.Fatal(err)
	}
	if n := len(s.deliveries(t, ten.Key, id, "")); n != 0 || jobs != 0 {
		t.Fatalf("%d deliveries and %d jobs after a rejected request and a rollback", n, jobs)
	}
	// The same change committed is delivered.
	if err := s.Store.InTx(context.Background(), func(ctx context.Context) error {
		_, err := s.Store.Contacts.Create(ctx, actor, &model.Contact{GivenName: ptr("Real")})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	rc.wait(t, 1, 10*time.Second)
}

func TestWebhooks_ConnectTimeAddressCheck(t *testing.T) {
	t.Parallel()
	// Creation allowed the loopback URL (as if its name had resolved to a
	// public address then); the worker, without the flag, refuses to dial.
	s, rc, ten := setupWebhooks(t, webhookOpts{NoPrivate: true, RetryDelays: []time.Duration{}})
	id := s.createWebhook(t, ten.Key, rc.URL)["id"].(string)
	s.createContact(t, ten.Key, map[string]any{"givenName": "Ada"})
	d := s.waitDelivery(t, ten.Key, id, 10*time.Second, func(d map[string]any) bool { return d["status"] == "failed" })
	if d["lastStatusCode"] != nil || !strings.Contains(d["lastError"].(string), "non-public") {
		t.Fatalf("%v", d)
	}
	rc.quiet(t, 0, 0)
}

func TestWebhooks_RedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	s := newWebhookServer(t, webhookOpts{RetryDelays: []time.Duration{}})
	target := newReceiver(t)
	rc := newReceiver(t)
	rc.answer(func(_ int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	})
	ten := s.newTenant(t)
	id := s.createWebhook(t, ten.Key, rc.URL)["id"].(string)
	s.createContact(t, ten.Key, map[string]any{"givenName": "Ada"})
	d := s.waitDelivery(t, ten.Key, id, 10*time.Second, func(d map[string]any) bool { return d["status"] == "failed" })
	if d["lastStatusCode"] != float64(307) {
		t.Fatalf("%v", d)
	}
	target.quiet(t, 0, 0)
}

func TestWebhooks_DeletingDropsPendingDeliveries(t *testing.T) {
	t.Parallel()
	s, rc, ten := setupWebhooks(t, webhookOpts{RetryDelays: []time.Duration{time.Second}})
	rc.answer(status(http.StatusInternalServerError))
	id := s.createWebhook(t, ten.Key, rc.URL)["id"].(string)
	s.createContact(t, ten.Key, map[string]any{"givenName": "Ada"})
	rc.wait(t, 1, 10*time.Second)
	wantStatus(t, s.do(t, http.MethodDelete, "/api/v1/webhooks/"+id, ten.Key, nil), http.StatusOK)
	rc.quiet(t, 1, 1500*time.Millisecond)
}

func ptr[T any](v T) *T { return &v }

func TestWebhooks_DeliveriesAreKept30Days(t *testing.T) {
	t.Parallel()
	s, rc, ten := setupWebhooks(t, webhookOpts{})
	id := s.createWebhook(t, ten.Key, rc.URL)["id"].(string)
	s.createContact(t, ten.Key, map[string]any{"givenName": "Old"})
	s.createContact(t, ten.Key, map[string]any{"givenName": "New"})
	rc.wait(t, 2, 10*time.Second)
	ds := s.deliveries(t, ten.Key, id, "")
	ctx := context.Background()
	if _, err := s.Store.DB.ExecContext(ctx, "UPDATE webhook_deliveries SET created_at = now() - interval '31 days' WHERE id = ?", ds[1]["id"]); err != nil {
		t.Fatal(err)
	}
	n, err := s.Store.Webhooks.PurgeDeliveries(ctx, time.Now().Add(-model.WebhookRetention))
	if err != nil || n != 1 {
		t.Fatalf("purged %d, %v", n, err)
	}
	if left := s.deliveries(t, ten.Key, id, ""); len(left) != 1 || left[0]["id"] != ds[0]["id"] {
		t.Fatalf("left %v", left)
	}
}

// fakeDNS answers every A query with addr: a name that resolves to a
// private address, without depending on the machine's resolver.
func fakeDNS(t testing.TB, addr [4]byte) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
			_ = b.StartQuestions()
			_ = b.Question(q)
			_ = b.StartAnswers()
			if q.Type == dnsmessage.TypeA {
				_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: addr})
			}
			msg, err := b.Finish()
			if err == nil {
				_, _ = pc.WriteTo(msg, from)
			}
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}

func TestWebhooks_NameResolvingToPrivateAddressIsRefused(t *testing.T) {
	t.Parallel()
	dsn := newDatabase(t)
	for _, addr := range [][4]byte{{10, 0, 0, 5}, {127, 0, 0, 1}, {169, 254, 169, 254}, {100, 64, 1, 1}} {
		s := newServerWith(t, dsn, egress.Policy{Resolver: fakeDNS(t, addr)})
		ten := s.newTenant(t)
		fe, _ := fieldErrors(t, s.do(t, http.MethodPost, "/api/v1/webhooks", ten.Key, map[string]any{"url": "https://hooks.example.com/x", "events": []string{"*"}}))
		if _, ok := fe["url"]; !ok {
			t.Fatalf("a name resolving to %v: %v", addr, fe)
		}
	}
	s := newServerWith(t, dsn, egress.Policy{Resolver: fakeDNS(t, [4]byte{93, 184, 215, 14})})
	ten := s.newTenant(t)
	wantStatus(t, s.do(t, http.MethodPost, "/api/v1/webhooks", ten.Key, map[string]any{"url": "https://hooks.example.com/x", "events": []string{"*"}}), http.StatusCreated)
}

func TestWebhooks_ResponseBodyIsReadOnlyInPart(t *testing.T) {
	t.Parallel()
	const timeout = 6 * time.Second
	s := newWebhookServer(t, webhookOpts{Timeout: timeout, RetryDelays: []time.Duration{}})
	rc := newReceiver(t)
	// A 2xx whose body never ends: reading it all would last until the
	// timeout; reading 64 KiB and hanging up is quick.
	rc.answer(func(_ int, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		chunk := []byte(strings.Repeat("x", 32<<10))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	})
	ten := s.newTenant(t)
	id := s.createWebhook(t, ten.Key, rc.URL)["id"].(string)
	s.createContact(t, ten.Key, map[string]any{"givenName": "Ada"})
	arrived := rc.wait(t, 1, 10*time.Second)[0].At
	d := s.waitDelivery(t, ten.Key, id, 10*time.Second, func(d map[string]any) bool { return d["status"] != "pending" })
	if took := time.Since(arrived); took > timeout/2 {
		t.Fatalf("the attempt lasted %s: the endless body was read", took)
	}
	if d["status"] != "succeeded" || d["lastStatusCode"] != float64(200) {
		t.Fatalf("%v", d)
	}
}
