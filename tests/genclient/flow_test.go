//go:build genclient

// Package genclient drives Remy through a client that oapi-codegen
// generated from the served /openapi-3.0.json, and through nothing else.
// TestGeneratedClient_Go (in package tests) generates the client into a temp
// dir, starts the servers and runs this test with -tags genclient and an
// -overlay that places the generated code at client.gen.go; the
// tag keeps 'go build ./...' and 'go vet ./...' working without it. The
// generated code joins this package (rather than being imported) so that
// 'go mod tidy', which reads every build tag, finds no missing package.
package genclient

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/oapi-codegen/nullable"
	// The generated client imports the runtime's root package; importing it
	// here too keeps its dependencies in go.sum through 'go mod tidy'.
	_ "github.com/oapi-codegen/runtime"
	openapi_types "github.com/oapi-codegen/runtime/types"
)

// client is a generated client authenticated with the test's key.
func client(t *testing.T, base string) *ClientWithResponses {
	t.Helper()
	key := os.Getenv("REMY_KEY")
	if base == "" || key == "" {
		t.Fatal("REMY_URL, REMY_LIMITED_URL and REMY_KEY must be set (TestGeneratedClient_Go sets them)")
	}
	c, err := NewClientWithResponses(base, WithRequestEditorFn(
		func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+key)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// status fails the test unless the call succeeded with the status.
func status(t *testing.T, err error, res interface {
	StatusCode() int
	GetBody() []byte
}, want int) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != want {
		t.Fatalf("status %d, want %d: %s", res.StatusCode(), want, res.GetBody())
	}
}

func TestFlow(t *testing.T) {
	ctx := context.Background()
	c := client(t, os.Getenv("REMY_URL"))

	// A contact without an introducer: introducedById is an explicit null.
	res, err := c.CreateContactWithResponse(ctx, nil, ContactInput{
		GivenName: nullable.NewNullableWithValue("Ada"),
		Emails:    nullable.NewNullableWithValue([]EmailInput{{Value: "ada@example.com"}}),
	})
	status(t, err, res, http.StatusCreated)
	ada := res.JSON201.Data
	if !ada.IntroducedById.IsNull() {
		t.Fatalf("introducedById of a contact without an introducer: want null, got %+v", ada.IntroducedById)
	}
	if ada.Id == (openapi_types.UUID{}) {
		t.Fatal("no id")
	}

	// One introduced by her, with a birthday without its year, an address
	// and a link.
	res, err = c.CreateContactWithResponse(ctx, nil, ContactInput{
		GivenName:      nullable.NewNullableWithValue("Grace"),
		FamilyName:     nullable.NewNullableWithValue("Hopper"),
		Birthday:       nullable.NewNullableWithValue("--12-09"),
		Addresses:      nullable.NewNullableWithValue([]AddressInput{{City: nullable.NewNullableWithValue("Arlington"), Country: nullable.NewNullableWithValue("USA")}}),
		Urls:           nullable.NewNullableWithValue([]URLInput{{Value: "https://example.com/grace"}}),
		Tags:           nullable.NewNullableWithValue([]string{"Navy", "compilers"}),
		IntroducedById: nullable.NewNullableWithValue(ada.Id),
	})
	status(t, err, res, http.StatusCreated)
	grace := res.JSON201.Data
	if by, err := grace.IntroducedById.Get(); err != nil || by != ada.Id {
		t.Fatalf("introducedById = %+v, want %s", grace.IntroducedById, ada.Id)
	}
	if b, _ := grace.Birthday.Get(); b != "--12-09" || len(grace.Addresses) != 1 || grace.Addresses[0].City != "Arlington" ||
		grace.Addresses[0].Street != "" || len(grace.Urls) != 1 || grace.Urls[0].Value != "https://example.com/grace" {
		t.Fatalf("birthday, addresses, urls: %s", res.Body)
	}
	if res.Headers201 == nil || res.Headers201.ETag == nil || *res.Headers201.ETag == "" {
		t.Fatal("no ETag on the created contact")
	}
	firstTag := *res.Headers201.ETag

	list, err := c.ListContactsWithResponse(ctx, &ListContactsParams{})
	status(t, err, list, http.StatusOK)
	if list.JSON200.Total != 2 || len(list.JSON200.Data) != 2 {
		t.Fatalf("list: total %d, %d items", list.JSON200.Total, len(list.JSON200.Data))
	}
	for _, ct := range list.JSON200.Data {
		if ct.Id == ada.Id && !ct.IntroducedById.IsNull() {
			t.Fatalf("listed introducer has introducedById %+v", ct.IntroducedById)
		}
	}

	// Null clears: birthday and introducer go, the rest stays.
	upd, err := c.UpdateContactWithResponse(ctx, grace.Id, &UpdateContactParams{IfMatch: &firstTag}, ContactInput{
		Nickname:       nullable.NewNullableWithValue("Amazing Grace"),
		Birthday:       nullable.NewNullNullable[string](),
		IntroducedById: nullable.NewNullNullable[openapi_types.UUID](),
	})
	status(t, err, upd, http.StatusOK)
	grace = upd.JSON200.Data
	if !grace.Birthday.IsNull() || !grace.IntroducedById.IsNull() {
		t.Fatalf("PATCH with nulls did not clear: birthday %+v, introducedById %+v", grace.Birthday, grace.IntroducedById)
	}
	if n, _ := grace.Nickname.Get(); n != "Amazing Grace" {
		t.Fatalf("nickname = %q", n)
	}
	if f, _ := grace.FamilyName.Get(); f != "Hopper" || len(grace.Tags) != 2 || grace.Tags[0] != "navy" {
		t.Fatalf("absent fields changed: %+v", grace)
	}

	// 412: the tag from before the update is stale.
	stale, err := c.UpdateContactWithResponse(ctx, grace.Id, &UpdateContactParams{IfMatch: &firstTag}, ContactInput{
		Nickname: nullable.NewNullableWithValue("Lost update"),
	})
	status(t, err, stale, http.StatusPreconditionFailed)
	if stale.JSON412 == nil || !strings.HasPrefix(stale.JSON412.Error, "Precondition failed") {
		t.Fatalf("412 body: %s", stale.Body)
	}

	// 422: no name of any kind.
	bad, err := c.CreateContactWithResponse(ctx, nil, ContactInput{JobTitle: nullable.NewNullableWithValue("CEO")})
	status(t, err, bad, http.StatusUnprocessableEntity)
	if bad.JSON422 == nil || bad.JSON422.Details == nil || len(bad.JSON422.Details.FormErrors) == 0 {
		t.Fatalf("422 body: %s", bad.Body)
	}

	// Notes.
	note, err := c.CreateNoteWithResponse(ctx, grace.Id, nil, NoteCreateInput{Body: "Invented the first compiler."})
	status(t, err, note, http.StatusCreated)
	if note.JSON201.Data.ContactId != grace.Id {
		t.Fatalf("note contactId = %s", note.JSON201.Data.ContactId)
	}
	body := "Coined \"debugging\"."
	nupd, err := c.UpdateNoteWithResponse(ctx, note.JSON201.Data.Id, nil, NoteInput{Body: &body})
	status(t, err, nupd, http.StatusOK)
	notes, err := c.ListNotesWithResponse(ctx, grace.Id, nil)
	status(t, err, notes, http.StatusOK)
	if notes.JSON200.Total != 1 || notes.JSON200.Data[0].Body != body {
		t.Fatalf("notes: %s", notes.Body)
	}

	// Activity: created (changes null), updated (changes with before/after).
	act, err := c.ListActivityWithResponse(ctx, &ListActivityParams{ResourceId: &grace.Id})
	status(t, err, act, http.StatusOK)
	actions := map[string]Activity{}
	for _, e := range act.JSON200.Data {
		actions[string(e.Action)] = e
		if e.ResourceId != grace.Id || e.AuthMethod != "api_key" || e.ApiKeyId.IsNull() {
			t.Fatalf("activity entry: %+v", e)
		}
	}
	created, ok1 := actions["contact.created"]
	updated, ok2 := actions["contact.updated"]
	if !ok1 || !ok2 || len(act.JSON200.Data) != 2 {
		t.Fatalf("activity: %s", act.Body)
	}
	if !created.Changes.IsNull() {
		t.Fatalf("contact.created changes: want null, got %+v", created.Changes)
	}
	changes, err := updated.Changes.Get()
	if err != nil {
		t.Fatalf("contact.updated changes: %v", err)
	}
	// A change's values are a union of JSON types, null kept apart.
	after, err := changes["nickname"].After.Get()
	if err != nil {
		t.Fatalf("nickname after: %v", err)
	}
	if nickname, err := after.AsChangeValue0(); err != nil || nickname != "Amazing Grace" || !changes["birthday"].After.IsNull() {
		t.Fatalf("contact.updated changes: %+v (%v)", changes, err)
	}

	// JSON export, decoded into the generated types.
	exp, err := c.ExportAccountWithResponse(ctx, &ExportAccountParams{})
	status(t, err, exp, http.StatusOK)
	if exp.JSON200 == nil {
		t.Fatalf("export not decoded: %.200s", exp.Body)
	}
	doc := exp.JSON200.Data
	if doc.Contacts == nil || doc.Notes == nil || len(*doc.Contacts) != 2 || len(*doc.Notes) != 1 {
		t.Fatalf("export: %s", exp.Body)
	}
	if doc.ExportedAt.IsZero() || (*doc.Notes)[0].Body != body || doc.Account.Id == (openapi_types.UUID{}) {
		t.Fatalf("export: %s", exp.Body)
	}
	for _, ct := range *doc.Contacts {
		if ct.Id == grace.Id && (!ct.IntroducedById.IsNull() || !ct.Birthday.IsNull()) {
			t.Fatalf("exported contact: %+v", ct)
		}
	}

	del, err := c.DeleteContactWithResponse(ctx, grace.Id, nil)
	status(t, err, del, http.StatusOK)
	if !del.JSON200.Data.Deleted || del.JSON200.Data.Id != grace.Id {
		t.Fatalf("delete: %s", del.Body)
	}
}

// TestRateLimited: the second request over a one-request budget is a 429
// whose Retry-After the client reads as a typed header.
func TestRateLimited(t *testing.T) {
	ctx := context.Background()
	c := client(t, os.Getenv("REMY_LIMITED_URL"))
	first, err := c.ListContactsWithResponse(ctx, nil)
	status(t, err, first, http.StatusOK)
	second, err := c.ListContactsWithResponse(ctx, nil)
	status(t, err, second, http.StatusTooManyRequests)
	if second.JSON429 == nil || !strings.HasPrefix(second.JSON429.Error, "Rate limit exceeded") {
		t.Fatalf("429 body: %s", second.Body)
	}
	if second.Headers429 == nil {
		t.Fatal("no typed 429 headers")
	}
	var after int
	switch v := any(second.Headers429.RetryAfter).(type) {
	case int:
		after = v
	case *int:
		if v != nil {
			after = *v
		}
	case int64:
		after = int(v)
	case *int64:
		if v != nil {
			after = int(*v)
		}
	default:
		t.Fatalf("Retry-After is typed %T, want an integer", v)
	}
	if after < 1 {
		t.Fatalf("Retry-After = %d, want >= 1 (raw %q)", after, second.HTTPResponse.Header.Get("Retry-After"))
	}
}
