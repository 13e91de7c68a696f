package tests

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// A ping ends like any other delivery: succeeded or failed, with no next
// attempt once it is final, and a manual retry of it ends too. (It used to
// stay pending forever, with a nextAttemptAt before its lastAttemptAt, when
// the endpoint failed.)
func TestWebhooks_PingEnds(t *testing.T) {
	t.Parallel()
	s := newWebhookServer(t, webhookOpts{})
	ten := s.newTenant(t)
	final := func(d map[string]any) bool { return d["status"] != "pending" }
	ping := func(id string) map[string]any {
		t.Helper()
		res := s.do(t, http.MethodPost, "/api/v1/webhooks/"+id+"/ping", ten.Key, nil)
		wantStatus(t, res, http.StatusAccepted)
		return res.Data(t)
	}
	retry := func(id, deliveryID string) {
		t.Helper()
		res := s.do(t, http.MethodPost, "/api/v1/webhooks/"+id+"/deliveries/"+deliveryID+"/retry", ten.Key, nil)
		wantStatus(t, res, http.StatusAccepted)
	}
	wantEnded := func(d map[string]any, status string, attempts int) {
		t.Helper()
		if d["status"] != status || d["attempts"] != float64(attempts) || d["nextAttemptAt"] != nil || d["lastAttemptAt"] == nil {
			t.Fatalf("want %s after %d attempts, no next attempt: %v", status, attempts, d)
		}
	}

	t.Run("no answer", func(t *testing.T) {
		// A port nobody listens on: the connection is refused, as an
		// unresolvable host fails, with no response at all.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url := "http://" + l.Addr().String() + "/hook"
		_ = l.Close()
		id := s.createWebhook(t, ten.Key, url, "note.deleted")["id"].(string)
		p := ping(id)
		d := s.waitDelivery(t, ten.Key, id, 10*time.Second, final)
		if d["id"] != p["id"] || d["lastStatusCode"] != nil || d["lastError"] == nil {
			t.Fatalf("ping %v ended as %v", p, d)
		}
		wantEnded(d, "failed", 1)
		retry(id, d["id"].(string))
		d = s.waitDelivery(t, ten.Key, id, 10*time.Second, func(d map[string]any) bool { return d["attempts"] == float64(2) && final(d) })
		wantEnded(d, "failed", 2)
	})

	t.Run("error then success", func(t *testing.T) {
		rc := newReceiver(t)
		rc.answer(status(http.StatusInternalServerError))
		id := s.createWebhook(t, ten.Key, rc.URL, "note.deleted")["id"].(string)
		ping(id)
		d := s.waitDelivery(t, ten.Key, id, 10*time.Second, final)
		wantEnded(d, "failed", 1)
		if d["lastStatusCode"] != float64(http.StatusInternalServerError) {
			t.Fatalf("%v", d)
		}
		rc.answer(status(http.StatusNoContent))
		retry(id, d["id"].(string))
		d = s.waitDelivery(t, ten.Key, id, 10*time.Second, func(d map[string]any) bool { return d["status"] == "succeeded" })
		wantEnded(d, "succeeded", 2)
		rc.quiet(t, 2, 500*time.Millisecond)
	})
}
