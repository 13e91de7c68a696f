// Command ogencheck drives the ogen client that TestGeneratedClient_Ogen
// generates from /openapi.json (as package ogencheck/remy) against a
// running server: a PATCH, the Activity Log's typed changes, a 401, and the
// same through a proxy that extends Cache-Control and WWW-Authenticate,
// which a client must still decode. It lives in testdata, so the go tool
// never builds it with the repository.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"

	"github.com/google/uuid"

	"ogencheck/remy"
)

type apiKey string

// ogen names a 200's type after the first operation that declares it
// (getContact's serves updateContact too), so they are reached through
// their getters.
type (
	contactOK interface {
		GetResponse() remy.ContactData
		GetCacheControl() remy.OptString
	}
	activityOK interface {
		GetResponse() remy.ActivityListResponseBody
	}
)

func (k apiKey) Bearer(context.Context, remy.OperationName) (remy.Bearer, error) {
	return remy.Bearer{Token: string(k)}, nil
}

func main() {
	if err := run(context.Background(), os.Getenv("REMY_URL"), apiKey(os.Getenv("REMY_KEY")), os.Getenv("REMY_CONTACT")); err != nil {
		fmt.Fprintln(os.Stderr, "ogencheck:", err)
		os.Exit(1)
	}
	fmt.Println("ogen client OK")
}

func run(ctx context.Context, base string, key apiKey, contact string) error {
	id, err := uuid.Parse(contact)
	if err != nil {
		return err
	}
	c, err := remy.NewClient(base, key)
	if err != nil {
		return err
	}

	// A PATCH that sets one field and clears another.
	upd, err := c.UpdateContact(ctx, &remy.ContactInput{
		Nickname: remy.NewOptNilString("Countess"),
		Company:  remy.OptNilString{Set: true, Null: true},
	}, remy.UpdateContactParams{ID: id})
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	updated, ok := upd.(contactOK)
	if !ok || updated.GetResponse().Data.Nickname.Value != "Countess" || !updated.GetResponse().Data.Company.Null {
		return fmt.Errorf("update: %#v", upd)
	}

	// The Activity Log's changes: a union of JSON types, null included.
	act, err := c.ListActivity(ctx, remy.ListActivityParams{})
	if err != nil {
		return fmt.Errorf("activity: %w", err)
	}
	list, ok := act.(activityOK)
	if !ok {
		return fmt.Errorf("activity: %#v", act)
	}
	found := false
	for _, a := range list.GetResponse().Data {
		if a.Action != "contact.updated" {
			continue
		}
		ch := a.Changes.Value
		nick, company := ch["nickname"], ch["company"]
		if !nick.After.IsString() || nick.After.String != "Countess" || !company.Before.IsString() || !company.After.IsNull() {
			return fmt.Errorf("contact.updated changes: %#v", ch)
		}
		found = true
	}
	if !found {
		return errors.New("no contact.updated entry in the Activity Log")
	}

	// A 401 is a typed response with its headers.
	bad, err := remy.NewClient(base, apiKey("rmy_not_a_key"))
	if err != nil {
		return err
	}
	res, err := bad.GetContact(ctx, remy.GetContactParams{ID: id})
	if err != nil {
		return fmt.Errorf("401: %w", err)
	}
	if u, ok := res.(*remy.UnauthorizedHeaders); !ok || u.WWWAuthenticate.Value != "Bearer" || u.Response.Error == "" {
		return fmt.Errorf("401: %#v", res)
	}

	// Through a proxy that adds a Cache-Control directive and an RFC 6750
	// error parameter: the responses are as valid as before.
	target, err := url.Parse(base)
	if err != nil {
		return err
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(r *http.Response) error {
		r.Header.Set("Cache-Control", "no-store, private")
		if r.StatusCode == http.StatusUnauthorized {
			r.Header.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		return nil
	}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	via, err := remy.NewClient(srv.URL, key)
	if err != nil {
		return err
	}
	res, err = via.GetContact(ctx, remy.GetContactParams{ID: id})
	if err != nil {
		return fmt.Errorf("via proxy: %w", err)
	}
	if got, ok := res.(contactOK); !ok || got.GetCacheControl().Value != "no-store, private" {
		return fmt.Errorf("via proxy: %#v", res)
	}
	viaBad, err := remy.NewClient(srv.URL, apiKey("rmy_not_a_key"))
	if err != nil {
		return err
	}
	res, err = viaBad.GetContact(ctx, remy.GetContactParams{ID: id})
	if err != nil {
		return fmt.Errorf("401 via proxy: %w", err)
	}
	if u, ok := res.(*remy.UnauthorizedHeaders); !ok || u.WWWAuthenticate.Value != `Bearer error="invalid_token"` {
		return fmt.Errorf("401 via proxy: %#v", res)
	}
	return nil
}
