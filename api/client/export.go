package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
)

// ExportParams chooses an export's form.
type ExportParams struct {
	// Format is "json" (the default: one document), "csv" (with Resource,
	// one CSV file; without, a zip of contacts.csv and notes.csv) or
	// "vcard" (the contacts as vCards).
	Format string
	// Resource is "contacts" or "notes" to export only that; "" for both.
	Resource string
	// Version is the vCard version of format "vcard": "3.0" (the default,
	// what Apple and Google read) or "4.0".
	Version string
}

func (p ExportParams) query() url.Values {
	q := url.Values{}
	if p.Format != "" {
		q.Set("format", p.Format)
	}
	if p.Resource != "" {
		q.Set("resource", p.Resource)
	}
	if p.Version != "" {
		q.Set("version", p.Version)
	}
	return q
}

// Export streams everything the account owns, read from one consistent
// snapshot. Read the body to the end and close it; a body that ends early
// (an error while reading) is not a complete export. Retries happen only
// before the body starts. Errors: ErrValidation for an unknown format,
// ErrUnavailable when the server is busy with other exports.
func (c *Client) Export(ctx context.Context, p ExportParams) (io.ReadCloser, error) {
	r := newRequest(http.MethodGet, "/api/v1/export", nil)
	r.stream, r.query = true, p.query()
	res, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	return res.stream, nil
}
