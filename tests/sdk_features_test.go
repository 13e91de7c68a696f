package tests

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/remy-crm/remy/api/client"
)

// The SDK against the change feed, import and export, duplicates and
// merge, urls and addresses.

// documented fails t unless the served document has the operation, or
// with method "" the Contact schema property named path: what the SDK calls
// must exist.
func documented(t *testing.T, s *testServer, method, path string) {
	t.Helper()
	var doc struct {
		Paths      map[string]map[string]any
		Components struct {
			Schemas map[string]struct{ Properties map[string]any }
		}
	}
	s.document(t, &doc)
	if method == "" {
		if _, ok := doc.Components.Schemas["Contact"].Properties[path]; !ok {
			t.Fatalf("the document has no Contact.%s", path)
		}
		return
	}
	if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
		t.Fatalf("the document has no %s %s", method, path)
	}
}

// Follow from "now" sees a contact created after it started, and a
// malformed cursor is a typed error.
func TestSDK_FollowSeesChanges(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	documented(t, s, "GET", "/api/v1/events")
	tn := s.newTenant(t)
	c, _ := newSDK(t, s.URL, tn.Key)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Once Follow holds the head cursor (its first checkpoint), a contact
	// is created; its event must come.
	var once sync.Once
	var want string
	head := sdk.FollowCheckpoint(func(string) {
		once.Do(func() {
			ct, err := c.Contacts.Create(ctx, sdk.ContactInput{GivenName: sdk.Ptr("Ada")})
			if err != nil {
				t.Error(err)
				cancel()
				return
			}
			want = ct.ID
		})
	})
	for ev, err := range c.Events.Follow(ctx, "now", head) {
		if err != nil {
			t.Fatal(err)
		}
		if ct, err := ev.Contact(); err == nil && ev.Type == "contact.created" && ct.ID == want {
			cancel()
		}
	}
	if ctx.Err() != context.Canceled || want == "" {
		t.Fatalf("the created contact's event never came (%v)", ctx.Err())
	}
	if _, err := c.Events.List(context.Background(), sdk.ListEventsParams{After: "not-a-cursor"}); !errors.Is(err, sdk.ErrBadRequest) {
		t.Fatalf("malformed cursor: %v", err)
	}
}

const sdkVCards = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Grace Hopper\r\nN:Hopper;Grace;;;\r\nBDAY:--12-09\r\n" +
	"URL:https://grace.example\r\nADR;TYPE=work:;;1 Navy Way;Arlington;VA;22202;USA\r\nEND:VCARD\r\n" +
	"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;;;\r\nEMAIL:ada@example.com\r\nEND:VCARD\r\n"

// A vCard import (dry run first), its duplicate skipped, then the vCard
// export holding the imported contact.
func TestSDK_ImportAndExportVCard(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	documented(t, s, "POST", "/api/v1/contacts/import")
	tn := s.newTenant(t)
	c, _ := newSDK(t, s.URL, tn.Key)
	ctx := context.Background()
	ada, err := c.Contacts.Create(ctx, sdk.ContactInput{GivenName: sdk.Ptr("Ada"), Emails: []sdk.LabeledValue{{Value: "ada@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	p := sdk.ImportParams{Format: "vcard", OnDuplicate: "skip", DryRun: true}
	if res, err := c.Contacts.Import(ctx, strings.NewReader(sdkVCards), p); err != nil || res.Created != 1 || res.Skipped != 1 {
		t.Fatalf("dry run %+v, %v", res, err)
	}
	s.wantContacts(t, tn.Account.ID, 1)
	p.DryRun = false
	res, err := c.Contacts.Import(ctx, strings.NewReader(sdkVCards), p)
	if err != nil || res.Created != 1 || res.Skipped != 1 || res.Results[1].DuplicateOf != ada.ID {
		t.Fatalf("import %+v, %v", res, err)
	}
	grace, err := c.Contacts.Get(ctx, res.Results[0].ID)
	if err != nil || *grace.Birthday != "--12-09" || len(grace.URLs) != 1 || len(grace.Addresses) != 1 || grace.Addresses[0].City != "Arlington" {
		t.Fatalf("imported %+v, %v", grace, err)
	}
	body, err := c.Export(ctx, sdk.ExportParams{Format: "vcard"})
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil || !strings.Contains(string(b), "Hopper") || strings.Count(string(b), "BEGIN:VCARD") != 2 {
		t.Fatalf("export %q, %v", b, err)
	}
}

// Two contacts with one email are a duplicate group; merging them needs
// the target's current ETag.
func TestSDK_DuplicatesAndMerge(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	documented(t, s, "POST", "/api/v1/contacts/{id}/merge")
	tn := s.newTenant(t)
	c, _ := newSDK(t, s.URL, tn.Key)
	ctx := context.Background()
	email := []sdk.LabeledValue{{Value: "ada@example.com"}}
	a, err := c.Contacts.Create(ctx, sdk.ContactInput{GivenName: sdk.Ptr("Ada"), Emails: email})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Contacts.Create(ctx, sdk.ContactInput{Nickname: sdk.Ptr("Countess"), Emails: email, Tags: []string{"maths"}})
	if err != nil {
		t.Fatal(err)
	}
	dups, err := c.Contacts.Duplicates(ctx, sdk.ListParams{})
	if err != nil || dups.Total != 1 || len(dups.Data[0].Contacts) != 2 {
		t.Fatalf("duplicates %+v, %v", dups, err)
	}
	if _, err := c.Contacts.Update(ctx, a.ID, sdk.Patch{"jobTitle": "Analyst"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Contacts.Merge(ctx, a.ID, []string{b.ID}, sdk.IfMatch(a.ETag)); !errors.Is(err, sdk.ErrPreconditionFailed) {
		t.Fatalf("merge with a stale ETag: %v", err)
	}
	cur, err := c.Contacts.Get(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	merged, err := c.Contacts.Merge(ctx, a.ID, []string{b.ID}, sdk.IfMatch(cur.ETag))
	if err != nil || merged.ID != a.ID || *merged.Nickname != "Countess" || merged.ETag == cur.ETag {
		t.Fatalf("merge %+v, %v", merged, err)
	}
	if _, err := c.Contacts.Get(ctx, b.ID); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("the merged source: %v", err)
	}
}

// urls and addresses are set, read back and cleared.
func TestSDK_URLsAndAddresses(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	documented(t, s, "", "addresses")
	tn := s.newTenant(t)
	c, _ := newSDK(t, s.URL, tn.Key)
	ctx := context.Background()
	addr := sdk.Address{Label: "home", Street: "12 St James's Square", City: "London", PostalCode: "SW1Y 4JH", Country: "GB"}
	ct, err := c.Contacts.Create(ctx, sdk.ContactInput{GivenName: sdk.Ptr("Ada"), Birthday: sdk.Ptr("--12-10"),
		URLs: []sdk.LabeledValue{{Value: "https://ada.example", Label: "blog"}}, Addresses: []sdk.Address{addr}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Contacts.Get(ctx, ct.ID)
	if err != nil || got.URLs[0].Value != "https://ada.example" || got.Addresses[0] != addr || *got.Birthday != "--12-10" {
		t.Fatalf("%+v, %v", got, err)
	}
	upd, err := c.Contacts.Update(ctx, ct.ID, sdk.Patch{"addresses": nil, "urls": nil})
	if err != nil || len(upd.Addresses) != 0 || len(upd.URLs) != 0 {
		t.Fatalf("cleared %+v, %v", upd, err)
	}
}
