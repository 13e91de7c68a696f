package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/remy-crm/remy/api/client"
)

// Keep a copy of the contact book in step: follow the change feed from
// where the last run stopped, and start over when the feed no longer
// holds that point.
func ExampleEventsService_Follow() {
	baseURL, apiKey, stop := fakeRemy() // in real code: "https://app.remy.com", os.Getenv("REMY_API_KEY")
	defer stop()
	c, err := client.New(baseURL, apiKey, client.WithUserAgent("contact-mirror/1.0"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	cursor := "now" // in real code: the cursor the last run saved, or "now" after a full copy
	save := func(next string) { cursor = next }
	for ev, err := range c.Events.Follow(ctx, cursor, client.FollowCheckpoint(save)) {
		if errors.Is(err, client.ErrGone) {
			fmt.Println("cursor expired: copy everything with Contacts.All, then follow from \"now\"")
			break
		}
		if err != nil {
			log.Fatal(err) // a revoked key, a missing scope: retrying will not help
		}
		ct, err := ev.Contact()
		if err != nil {
			continue // a note's event
		}
		switch ev.Type {
		case "contact.created", "contact.updated":
			fmt.Println("store", ct.ID, *ct.GivenName)
		case "contact.deleted":
			fmt.Println("remove", ct.ID)
		}
	}
	fmt.Println("last cursor saved:", cursor)
	// Output:
	// store c1 Ada
	// remove c2
	// cursor expired: copy everything with Contacts.All, then follow from "now"
	// last cursor saved: cur-1
}

// Import an address book exported from Apple Contacts or Google Contacts,
// leaving out the people already there.
func ExampleContactsService_Import() {
	baseURL, apiKey, stop := fakeRemy()
	defer stop()
	c, err := client.New(baseURL, apiKey)
	if err != nil {
		log.Fatal(err)
	}

	vcf := strings.NewReader("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Grace Hopper\r\nN:Hopper;Grace;;;\r\nEND:VCARD\r\n" +
		"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;;;\r\nEMAIL:ada@example.com\r\nEND:VCARD\r\n")
	// in real code: vcf, err := os.Open("contacts.vcf")
	res, err := c.Contacts.Import(context.Background(), vcf, client.ImportParams{Format: "vcard", OnDuplicate: "skip"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("created %d, skipped %d, failed %d\n", res.Created, res.Skipped, res.Failed)
	for _, item := range res.Results {
		switch item.Status {
		case "skipped":
			fmt.Printf("card %d: already there as %s\n", item.Index, item.DuplicateOf)
		case "failed":
			fmt.Printf("card %d: %s %v\n", item.Index, item.Error, item.Details)
		}
	}
	// Output:
	// created 1, skipped 1, failed 0
	// card 1: already there as c1
}

// Add a tag without losing a change someone made meanwhile: update only the
// version read, and read again when it has changed.
func ExampleIfMatch() {
	baseURL, apiKey, stop := fakeRemy()
	defer stop()
	c, err := client.New(baseURL, apiKey)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	for {
		ada, err := c.Contacts.Get(ctx, "c1")
		if err != nil {
			log.Fatal(err)
		}
		if slices.Contains(ada.Tags, "vip") {
			break
		}
		tags := append(ada.Tags, "vip")
		ada, err = c.Contacts.Update(ctx, ada.ID, client.Patch{"tags": tags}, client.IfMatch(ada.ETag))
		if errors.Is(err, client.ErrPreconditionFailed) {
			fmt.Println("changed since it was read; reading it again")
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("tags:", ada.Tags)
		break
	}
	// Output:
	// changed since it was read; reading it again
	// tags: [friends london vip]
}

// A webhook receiver: check that a delivery comes from Remy, act on each
// event once, answer 2xx quickly.
func ExampleVerifyWebhook() {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // in real code: the Secret Webhooks.Create returned, from your configuration

	var mu sync.Mutex
	seen := map[string]bool{} // in real code: a table, so that a restart keeps it
	receiver := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		ev, err := client.VerifyWebhook(secret, r.Header, body)
		if err != nil {
			http.Error(w, "not from Remy", http.StatusBadRequest)
			return
		}
		mu.Lock()
		dup := seen[ev.ID] // a delivery may come twice
		seen[ev.ID] = true
		mu.Unlock()
		if !dup {
			if ct, err := ev.Contact(); err == nil {
				fmt.Println(ev.Type, *ct.GivenName)
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
	// in real code: http.Handle("/remy-webhooks", receiver)

	body := `{"type":"contact.created","timestamp":"2026-01-02T03:04:05Z","data":{"object":{"id":"c1","givenName":"Ada"},"activity":{}}}`
	fmt.Println(deliver(receiver, secret, body, false))
	fmt.Println(deliver(receiver, secret, body, false))
	fmt.Println(deliver(receiver, secret, body, true))
	// Output:
	// contact.created Ada
	// 204
	// 204
	// 400
}
