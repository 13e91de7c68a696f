package api

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/remy-crm/remy/api/contactfile"
	"github.com/remy-crm/remy/model"
	"github.com/remy-crm/remy/repo"
)

// ExportParams choose the export's format and, for CSV, the resource.
type ExportParams struct {
	Format   string `query:"format" enum:"json,csv,vcard" default:"json" doc:"json: one document with everything. csv: with resource, one CSV file; without, a zip of contacts.csv and notes.csv. vcard: one vCard per contact, its notes included."`
	Resource string `query:"resource" enum:"contacts,notes" doc:"Export only this resource (json and csv)."`
	Version  string `query:"version" default:"3.0" doc:"The vCard version of format=vcard."`
}

// The Content-Type is set by stream, not declared as an output header:
// OpenAPI describes it through the response's media types.
type exportResponse struct {
	ContentDisposition string `header:"Content-Disposition" doc:"attachment, with a dated file name: remy-export-YYYY-MM-DD.json, .csv (with -contacts or -notes before the extension), .zip or .vcf." example:"attachment; filename=\"remy-export-2026-11-26.json\""`
	CacheControl       string `header:"Cache-Control" doc:"no-store: an export is personal data." example:"no-store"`
	Body               func(huma.Context)
}

// ExportDocument is the body of a JSON export. It is written by hand as it
// streams (exporter.json); this type is its schema.
type ExportDocument struct {
	Data ExportData `json:"data"`
}

// ExportData is everything the account owns at one instant.
type ExportData struct {
	ExportedAt time.Time       `json:"exportedAt" doc:"The instant the snapshot shows."`
	Account    *model.Account  `json:"account"`
	Contacts   []model.Contact `json:"contacts,omitempty" doc:"Every contact; absent when resource=notes."`
	Notes      []model.Note    `json:"notes,omitempty" doc:"Every note; absent when resource=contacts."`
}

const msgTooManyExports = "Too many exports are running; retry in a few seconds"

const exportDescription = `Everything the account owns, and nothing else, read from one consistent
snapshot and streamed as it is read (memory stays flat however large the account).

- ` + "`format=json`" + ` (default): ` + "`{\"data\":{\"exportedAt\",\"account\",\"contacts\":[…],\"notes\":[…]}}`" + ` with the
  API's own resource shapes (with ` + "`resource`" + `, only that list).
- ` + "`format=csv&resource=contacts|notes`" + `: ` + "`text/csv; charset=utf-8`" + `, RFC 4180 quoting, a header row of
  the JSON field names, one row per resource. A null is an empty cell. List fields (emails,
  phones, tags) are one cell holding their JSON array, e.g. ` + "`[{\"value\":\"a@b.c\",\"label\":\"work\"}]`" + `.
- ` + "`format=csv`" + ` alone: ` + "`application/zip`" + ` holding contacts.csv and notes.csv.
- ` + "`format=vcard[&version=3.0|4.0]`" + `: ` + "`text/vcard; charset=utf-8`" + `, one card per contact (UID urn:uuid:<id>, FN, N,
  NICKNAME, ORG, TITLE, EMAIL, TEL, ADR, URL with their labels, BDAY, CATEGORIES for tags, REV, a NOTE per note
  oldest first, and X-REMY-INTRODUCED-BY naming the introducer's UID), lines folded at 75 octets, CRLF line ends;
  POST /api/v1/contacts/import reads it back.

**Formula neutralisation (OWASP CSV injection).** A CSV cell that would start with ` + "`=`, `+`, `-`, `@`" + `,
a tab or a carriage return gets a ` + "`'`" + ` in front, so spreadsheets show it as text. A cell that
already starts with ` + "`'`" + ` gets one too, which keeps the rule reversible: to recover the value,
drop one leading ` + "`'`" + ` from any cell that has one.

If the export fails once streaming has begun, the connection is closed without finishing the
response (a truncated chunked body), so a partial file can never pass for a whole one.`

func (s *server) registerExport() {
	huma.Register(s.api, huma.Operation{
		OperationID: "exportAccount",
		Method:      http.MethodGet,
		Path:        exportPath,
		Summary:     "Export the whole account",
		Description: exportDescription,
		Tags:        []string{"Export"},
		Security:    requireScope(model.ScopeExportRead),
		Errors:      errs(http.StatusUnprocessableEntity, http.StatusServiceUnavailable),
		Metadata: map[string]any{errorExamplesKey: map[int][]string{http.StatusServiceUnavailable: {msgTooManyExports}},
			paramEnumsKey: map[string][]string{"version": contactfile.VCardVersions}},
		Responses: map[string]*huma.Response{"200": {
			Description: "The export file: JSON by default, CSV (UTF-8) with format=csv&resource=…, a zip of both CSV files with format=csv alone, vCards with format=vcard.",
			Content: map[string]*huma.MediaType{
				"application/json": {Schema: s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[ExportDocument](), true, "ExportDocument")},
				"text/csv":         {Schema: &huma.Schema{Type: huma.TypeString, Format: "binary", Extensions: map[string]any{"contentMediaType": "text/csv"}}},
				"application/zip":  {Schema: &huma.Schema{Type: huma.TypeString, Format: "binary", Extensions: map[string]any{"contentMediaType": "application/zip"}}},
				"text/vcard":       {Schema: &huma.Schema{Type: huma.TypeString, Format: "binary", Extensions: map[string]any{"contentMediaType": "text/vcard"}}},
			},
		}},
	}, func(ctx context.Context, in *ExportParams) (*exportResponse, error) {
		select {
		case s.exportSlots <- struct{}{}: // given back by stream, or below
		default:
			return nil, newError(http.StatusServiceUnavailable, msgTooManyExports).withHeader("Retry-After", "5")
		}
		// The snapshot opens here, so a failure is still a JSON error; it is
		// closed when the body has been streamed.
		snap, err := s.store.Export.Begin(ctx, accountID(ctx))
		if err != nil {
			<-s.exportSlots
			return nil, problem(err, "Account")
		}
		write, name, ctype := exporter{snap: snap, resource: in.Resource, version: in.Version}.file(in.Format)
		return &exportResponse{
			ContentDisposition: `attachment; filename="` + name + `"`,
			CacheControl:       "no-store",
			Body: func(hc huma.Context) {
				hc.SetHeader("Content-Type", ctype)
				s.stream(hc, snap, write)
			},
		}, nil
	})
}

// stream runs write over the response and closes the snapshot. A failure
// after the first byte cannot change the status any more: the connection is
// aborted instead, so the client sees a broken transfer, not a short file.
func (s *server) stream(hc huma.Context, snap *repo.Snapshot, write func(ctx context.Context, w io.Writer) error) {
	defer func() { <-s.exportSlots }()
	defer snap.Close()
	ctx := hc.Context()
	hc.SetStatus(http.StatusOK)
	dw := deadlineWriter{w: hc.BodyWriter()}
	if rw, ok := hc.BodyWriter().(http.ResponseWriter); ok {
		dw.rc = http.NewResponseController(rw)
		defer dw.rc.SetWriteDeadline(time.Time{}) // the connection may serve another request
	}
	bw := bufio.NewWriterSize(dw, 32<<10)
	err := write(ctx, bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		if ctx.Err() == nil {
			logger(ctx).ErrorContext(ctx, "export failed mid-stream", "error", err)
		}
		panic(http.ErrAbortHandler)
	}
}

const exportPath = "/api/v1/export"

// maxConcurrentExports bounds the exports running at once in one process.
// Each holds a pooled database connection (and a snapshot) for as long as
// its client takes to read it, so without a bound a few slow downloads
// could take every connection from the rest of the API.
const maxConcurrentExports = 2

// stallTimeout bounds how long one write of an export may block, so a
// client that stops reading cannot hold a database connection and its
// snapshot open for long. The server has no overall WriteTimeout: a big
// export to a slow but live client may take as long as it takes.
const stallTimeout = time.Minute

// deadlineWriter pushes the connection's write deadline stallTimeout ahead
// before every write.
type deadlineWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	if d.rc != nil {
		_ = d.rc.SetWriteDeadline(time.Now().Add(stallTimeout))
	}
	return d.w.Write(p)
}

// exporter writes one snapshot in one of the formats.
type exporter struct {
	snap     *repo.Snapshot
	resource string // "", "contacts" or "notes"
	version  string // of vCards
}

// file picks the writer, file name and content type for a format.
func (e exporter) file(format string) (write func(context.Context, io.Writer) error, name, contentType string) {
	name = "remy-export-" + e.snap.At.Format(time.DateOnly)
	if format == "vcard" {
		return e.vcard, name + ".vcf", "text/vcard; charset=utf-8"
	}
	if e.resource != "" {
		name += "-" + e.resource
	}
	switch {
	case format == "csv" && e.resource == "":
		return e.zip, name + ".zip", "application/zip"
	case format == "csv":
		return e.csv, name + ".csv", "text/csv; charset=utf-8"
	}
	return e.json, name + ".json", "application/json"
}

// json writes {"data":{…}} with one resource per line.
func (e exporter) json(ctx context.Context, w io.Writer) error {
	jw := newJSONWriter(w)
	io.WriteString(w, `{"data":{"exportedAt":`)
	if err := jw.value(e.snap.At); err != nil {
		return err
	}
	io.WriteString(w, `,"account":`)
	if err := jw.value(e.snap.Account); err != nil {
		return err
	}
	if e.resource != "notes" {
		io.WriteString(w, `,"contacts":[`)
		err := e.snap.Contacts(ctx, func(c *model.Contact) error { return jw.item(c) })
		if err != nil {
			return err
		}
		jw.end()
	}
	if e.resource != "contacts" {
		io.WriteString(w, `,"notes":[`)
		err := e.snap.Notes(ctx, func(n *model.Note) error { return jw.item(n) })
		if err != nil {
			return err
		}
		jw.end()
	}
	_, err := io.WriteString(w, "}}\n")
	return err
}

// jsonWriter encodes values the way the API does (no HTML escaping) through
// one reused buffer, and writes array items one per line.
type jsonWriter struct {
	w     io.Writer
	buf   bytes.Buffer
	enc   *json.Encoder
	items int
}

func newJSONWriter(w io.Writer) *jsonWriter {
	jw := &jsonWriter{w: w}
	jw.enc = json.NewEncoder(&jw.buf)
	jw.enc.SetEscapeHTML(false)
	return jw
}

func (jw *jsonWriter) value(v any) error {
	jw.buf.Reset()
	if err := jw.enc.Encode(v); err != nil {
		return err
	}
	_, err := jw.w.Write(bytes.TrimSuffix(jw.buf.Bytes(), []byte("\n")))
	return err
}

func (jw *jsonWriter) item(v any) error {
	sep := ",\n"
	if jw.items == 0 {
		sep = "\n"
	}
	jw.items++
	io.WriteString(jw.w, sep)
	return jw.value(v)
}

// end closes the array begun before the first item.
func (jw *jsonWriter) end() {
	if jw.items > 0 {
		io.WriteString(jw.w, "\n")
	}
	io.WriteString(jw.w, "]")
	jw.items = 0
}

// vcard writes one card per contact, with its notes.
func (e exporter) vcard(ctx context.Context, w io.Writer) error {
	return e.snap.ContactsWithNotes(ctx, contactfile.NewVCardWriter(w, e.version).Write)
}

func (e exporter) csv(ctx context.Context, w io.Writer) error {
	if e.resource == "notes" {
		return e.notesCSV(ctx, w)
	}
	return e.contactsCSV(ctx, w)
}

func (e exporter) zip(ctx context.Context, w io.Writer) error {
	zw := zip.NewWriter(w)
	for _, f := range []struct {
		name  string
		write func(context.Context, io.Writer) error
	}{{"contacts.csv", e.contactsCSV}, {"notes.csv", e.notesCSV}} {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: e.snap.At})
		if err != nil {
			return err
		}
		if err := f.write(ctx, fw); err != nil {
			return err
		}
	}
	return zw.Close()
}

func (e exporter) contactsCSV(ctx context.Context, w io.Writer) error {
	return writeCSV(w, func(row func(*model.Contact) error) error { return e.snap.Contacts(ctx, row) })
}

func (e exporter) notesCSV(ctx context.Context, w io.Writer) error {
	return writeCSV(w, func(row func(*model.Note) error) error { return e.snap.Notes(ctx, row) })
}

// writeCSV writes the resources walk passes to its callback, one row each:
// a column for every field the API shows, named and ordered as the
// resource's JSON.
func writeCSV[T any](w io.Writer, walk func(row func(*T) error) error) error {
	var fields []model.Field[T]
	var header []string
	for _, f := range model.FieldsOf[T]().All {
		if f.JSON != "" {
			fields, header = append(fields, f), append(header, f.JSON)
		}
	}
	cw := newCSVWriter(w, header)
	cells := make([]string, len(fields))
	err := walk(func(v *T) error {
		for i, f := range fields {
			cells[i] = csvCell(f.Get(v))
		}
		return cw.row(cells...)
	})
	if err != nil {
		return err
	}
	return cw.flush()
}

// csvCell is a field's value as a CSV cell: text as it is, a null as an
// empty cell, a time in RFC 3339, a list as the JSON array the API returns
// for it.
func csvCell(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case *string:
		if v == nil {
			return ""
		}
		return *v
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case fmt.Stringer: // ids, dates
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
			return ""
		}
		return v.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "" // lists of strings and LabeledValue always marshal
	}
	return string(b)
}

// csvWriter is encoding/csv (RFC 4180 quoting) plus formula neutralisation.
// Line breaks inside a cell are written as they are stored.
type csvWriter struct {
	w      *csv.Writer
	record []string
	err    error
}

func newCSVWriter(w io.Writer, header []string) *csvWriter {
	cw := &csvWriter{w: csv.NewWriter(w), record: make([]string, len(header))}
	cw.err = cw.w.Write(header)
	return cw
}

func (cw *csvWriter) row(cells ...string) error {
	if cw.err != nil {
		return cw.err
	}
	for i, c := range cells {
		cw.record[i] = neutralize(c)
	}
	return cw.w.Write(cw.record)
}

func (cw *csvWriter) flush() error {
	cw.w.Flush()
	return cw.w.Error()
}

// neutralize prefixes ' to a cell a spreadsheet would read as a formula
// (OWASP: leading =, +, -, @, tab, CR) and, to keep the rule reversible, to
// a cell already starting with '.
func neutralize(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r'", rune(s[0])) {
		return "'" + s
	}
	return s
}
