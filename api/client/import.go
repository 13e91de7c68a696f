package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// ImportParams says what an import reads and what it does with duplicates.
type ImportParams struct {
	// Format is "vcard" (text/vcard, the default) or "csv" (text/csv, with
	// Google Contacts' columns).
	Format string
	// DryRun reports what the import would do, and changes nothing.
	DryRun bool
	// OnDuplicate is what happens to a card that matches an existing
	// contact (same email, phone or name): "skip", "merge" into it, or
	// "create" another; "" leaves it to the server.
	OnDuplicate string
}

// ImportResult counts what an import did, with one ImportItem per card or
// row, in the order they came.
type ImportResult struct {
	Created int          `json:"created"`
	Merged  int          `json:"merged"`
	Skipped int          `json:"skipped"`
	Failed  int          `json:"failed"`
	Results []ImportItem `json:"results"`
}

// ImportItem is what became of one card or row.
type ImportItem struct {
	Index       int                `json:"index"`       // from 0, in input order
	Status      string             `json:"status"`      // "created", "merged", "skipped" or "failed"
	ID          string             `json:"id"`          // the contact created or merged into
	Error       string             `json:"error"`       // why it failed
	Details     *ValidationDetails `json:"details"`     // what failed, by field
	DuplicateOf string             `json:"duplicateOf"` // the existing contact it matched
}

// ValidationDetails says what failed, by field (FieldErrors) and for the
// item as a whole (FormErrors).
type ValidationDetails struct {
	FieldErrors map[string][]string `json:"fieldErrors"`
	FormErrors  []string            `json:"formErrors"`
}

var importTypes = map[string]string{"": "text/vcard", "vcard": "text/vcard", "csv": "text/csv"}

// Import adds the contacts in a vCard file (Apple, Google and others
// export these) or a Google Contacts CSV, read whole from r so that a retry
// sends the same bytes. Each card succeeds or fails on its own: see
// ImportResult. Errors: ErrValidation, ErrBadRequest (unreadable input).
func (s *ContactsService) Import(ctx context.Context, r io.Reader, p ImportParams) (*ImportResult, error) {
	ct, ok := importTypes[p.Format]
	if !ok {
		return nil, fmt.Errorf("remy: import format %q: want \"vcard\" or \"csv\"", p.Format)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("remy: reading the import: %w", err)
	}
	req := newRequest(http.MethodPost, contactsPath+"/import", nil)
	req.body, req.contentType = body, ct
	if p.DryRun {
		req.query.Set("dryRun", strconv.FormatBool(true))
	}
	if p.OnDuplicate != "" {
		req.query.Set("onDuplicate", p.OnDuplicate)
	}
	res, _, err := one[ImportResult](ctx, s.c, req)
	return res, err
}

// DuplicateGroup is a set of contacts that look like one person, and why:
// Reason ("email", "phone", "name") and the Value they share.
type DuplicateGroup struct {
	Reason   string    `json:"reason"`
	Value    string    `json:"value"`
	Contacts []Contact `json:"contacts"`
}

// Duplicates returns one page of groups of contacts that look like the
// same person, to merge.
func (s *ContactsService) Duplicates(ctx context.Context, p ListParams) (*Page[DuplicateGroup], error) {
	return list[DuplicateGroup](ctx, s.c, contactsPath+"/duplicates", p.query())
}

// Merge folds the contacts sourceIDs into the contact id and deletes them:
// their emails, phones, tags and notes move over. With IfMatch (the
// target's ETag) it applies only to that version of the target.
// Errors: ErrNotFound, ErrValidation, ErrPreconditionFailed.
func (s *ContactsService) Merge(ctx context.Context, id string, sourceIDs []string, opts ...CallOption) (*Contact, error) {
	r := newRequest(http.MethodPost, contactPath(id)+"/merge", opts)
	if err := r.jsonBody(map[string][]string{"sourceIds": sourceIDs}); err != nil {
		return nil, err
	}
	ct, h, err := one[Contact](ctx, s.c, r)
	if err != nil {
		return nil, err
	}
	return withETag(ct, h), nil
}
