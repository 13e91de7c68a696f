package tests

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	sdk "github.com/remy-crm/remy/api/client"
)

// One pass through every resource the SDK covers, as a user's program
// would make it, checking what comes back decodes into the SDK's types.
func TestSDK_Flow(t *testing.T) {
	t.Parallel()
	s, rc, tn := setupWebhooks(t, webhookOpts{})
	ctx := context.Background()
	c, _ := newSDK(t, s.URL, tn.Key)

	ada := sdkContacts(t, c)
	sdkNotes(t, c, ada.ID)

	tags, err := c.Tags.List(ctx, sdk.ListParams{})
	if err != nil || tags.Total != 2 || tags.Data[0] != (sdk.Tag{Name: "london", Count: 1}) {
		t.Fatalf("tags %+v, %v", tags, err)
	}
	act, err := c.Activity.List(ctx, sdk.ListActivityParams{ResourceID: ada.ID})
	if err != nil || act.Total != 2 || act.Data[0].Action != "contact.updated" || string(act.Data[0].Changes["nickname"].After) != `"Countess"` {
		t.Fatalf("activity %+v, %v", act, err)
	}
	if a := act.Data[0]; a.UserAgent != "sdk-test/1 remy-go/dev" || a.AuthMethod != "api_key" {
		t.Fatalf("the Activity Log saw User-Agent %q, auth %q", a.UserAgent, a.AuthMethod)
	}

	body, err := c.Export(ctx, sdk.ExportParams{Format: "json", Resource: "contacts"})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Data struct{ Contacts []sdk.Contact }
	}
	err = json.NewDecoder(body).Decode(&doc)
	_, _ = io.Copy(io.Discard, body)
	_ = body.Close()
	if err != nil || len(doc.Data.Contacts) != 1 || doc.Data.Contacts[0].ID != ada.ID {
		t.Fatalf("export %+v, %v", doc, err)
	}

	hook, err := c.Webhooks.Create(ctx, sdk.WebhookInput{URL: rc.URL, Events: []string{"note.deleted"}, Description: "sdk"})
	if err != nil || hook.Secret == "" || !hook.Enabled {
		t.Fatalf("webhook %+v, %v", hook, err)
	}
	ping, err := c.Webhooks.Ping(ctx, hook.ID)
	if err != nil || ping.EventType != "webhook.ping" {
		t.Fatalf("ping %+v, %v", ping, err)
	}
	got := rc.wait(t, 1, 10*time.Second)[0]
	ev, err := sdk.VerifyWebhook(hook.Secret, got.Header, got.Body)
	if err != nil {
		t.Fatal(err)
	}
	if w, err := ev.Webhook(); err != nil || w.ID != hook.ID || ev.ID != ping.EventID {
		t.Fatalf("ping event %+v: %+v, %v", ev, w, err)
	}
	rotated, err := c.Webhooks.RotateSecret(ctx, hook.ID)
	if err != nil || rotated.Secret == "" || rotated.Secret == hook.Secret {
		t.Fatalf("rotate %+v, %v", rotated, err)
	}
	if hooks, err := c.Webhooks.List(ctx, sdk.ListParams{}); err != nil || hooks.Total != 1 || hooks.Data[0].Secret != "" {
		t.Fatalf("webhooks %+v, %v", hooks, err)
	}
	if err := c.Webhooks.Delete(ctx, hook.ID); err != nil {
		t.Fatal(err)
	}

	if err := c.Contacts.Delete(ctx, ada.ID, sdk.IfMatch(ada.ETag)); err != nil {
		t.Fatal(err)
	}
	if err := c.Contacts.Delete(ctx, ada.ID); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

// sdkContacts creates, reads and updates a contact through the SDK and
// returns it as last updated.
func sdkContacts(t *testing.T, c *sdk.Client) *sdk.Contact {
	t.Helper()
	ctx := context.Background()
	ada, err := c.Contacts.Create(ctx, sdk.ContactInput{
		GivenName: sdk.Ptr("Ada"), FamilyName: sdk.Ptr("Lovelace"), Birthday: sdk.Ptr("1815-12-10"),
		Emails: []sdk.LabeledValue{{Value: "ada@example.com", Label: "work"}},
		Tags:   []string{"Maths", "london"},
	})
	if err != nil || ada.ETag == "" || *ada.Birthday != "1815-12-10" || !slices.Equal(ada.Tags, []string{"maths", "london"}) {
		t.Fatalf("create %+v, %v", ada, err)
	}
	got, err := c.Contacts.Get(ctx, ada.ID)
	if err != nil || got.ETag != ada.ETag || got.Emails[0] != (sdk.LabeledValue{Value: "ada@example.com", Label: "work"}) {
		t.Fatalf("get %+v, %v", got, err)
	}
	upd, err := c.Contacts.Update(ctx, ada.ID, sdk.Patch{"nickname": "Countess", "birthday": nil}, sdk.IfMatch(ada.ETag))
	if err != nil || upd.Birthday != nil || *upd.Nickname != "Countess" || upd.ETag == ada.ETag {
		t.Fatalf("update %+v, %v", upd, err)
	}
	page, err := c.Contacts.List(ctx, sdk.ListContactsParams{Q: "lovelace", Tags: []string{"maths"}})
	if err != nil || page.Total != 1 || page.Data[0].ID != ada.ID {
		t.Fatalf("list %+v, %v", page, err)
	}
	return upd
}

// sdkNotes takes a note of the contact through its life.
func sdkNotes(t *testing.T, c *sdk.Client, contactID string) {
	t.Helper()
	ctx := context.Background()
	n, err := c.Notes.Create(ctx, contactID, sdk.NoteInput{Body: "Wrote the first program."})
	if err != nil || n.ContactID != contactID || n.ETag == "" {
		t.Fatalf("note %+v, %v", n, err)
	}
	if _, err := c.Notes.Update(ctx, n.ID, sdk.Patch{"body": "Wrote the first published program."}, sdk.IfMatch(n.ETag)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Notes.Update(ctx, n.ID, sdk.Patch{"body": "x"}, sdk.IfMatch(n.ETag)); !errors.Is(err, sdk.ErrPreconditionFailed) {
		t.Fatalf("stale note update: %v", err)
	}
	var bodies []string
	for note, err := range c.Notes.All(ctx, contactID, sdk.ListParams{}) {
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, note.Body)
	}
	if !slices.Equal(bodies, []string{"Wrote the first published program."}) {
		t.Fatalf("notes %q", bodies)
	}
	got, err := c.Notes.Get(ctx, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Notes.Delete(ctx, n.ID, sdk.IfMatch(got.ETag)); err != nil {
		t.Fatal(err)
	}
}
