package contactfile

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/remy-crm/remy/model"
)

// rowReader reads one CSV record (cells by column) into an item.
type rowReader func(cells []string) model.ImportItem

// ReadCSV reads the rows of a CSV file in Google Contacts' columns (the
// current export's or the legacy one's) or in Remy's own (its contacts
// export), told apart by the header, one item per row. A body that is not
// UTF-8 or breaks CSV's quoting is a *FormatError; a header with none of
// the known columns, or more than max rows, a *model.ValidationError.
func ReadCSV(body []byte, max int) ([]model.ImportItem, error) {
	if !utf8.Valid(body) {
		return nil, &FormatError{"CSV", "the body is not valid UTF-8"}
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\uFEFF"))))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, &FormatError{"CSV", "no header row"}
	}
	if err != nil {
		return nil, csvError(err)
	}
	read := remyColumns(header)
	if read == nil {
		read = googleColumns(header)
	}
	if read == nil {
		return nil, wholeError(msgUnknownHeader)
	}
	var items []model.ImportItem
	for {
		cells, err := r.Read()
		if errors.Is(err, io.EOF) {
			return items, nil
		}
		if err != nil {
			return nil, csvError(err)
		}
		if len(items) == max {
			return nil, tooMany("rows", max)
		}
		it := read(cells)
		if len(cells) != len(header) {
			it.Err = wholeError(fmt.Sprintf("The row has %d cells, the header %d", len(cells), len(header)))
		} else if strings.ContainsRune(strings.Join(cells, ""), 0) {
			it.Err = wholeError("A row must not contain NUL (\\u0000) characters")
		}
		items = append(items, it)
	}
}

// msgUnknownHeader is the 422 of a CSV file whose header Remy cannot read.
const msgUnknownHeader = "The CSV header has none of the columns Remy reads: Google Contacts' export " +
	"(First Name, Last Name, E-mail 1 - Value, Phone 1 - Value, Labels, …; or the legacy Given Name, Family Name, E-mail 1 - Type, Group Membership, …) " +
	"or Remy's contacts export (givenName, familyName, emails, phones, tags, …)"

// csvError is a CSV syntax error as the 400 states it.
func csvError(err error) error {
	return &FormatError{"CSV", strings.TrimPrefix(err.Error(), "parse error ")}
}

// cell is cells[i], or "" when the row is short.
func cell(cells []string, i int) string {
	if i >= 0 && i < len(cells) {
		return cells[i]
	}
	return ""
}

// contactRef is the type of a contact's reference to another contact
// (introducedById), which a file names by the other's id in that file.
var contactRef = reflect.TypeFor[*uuid.UUID]()

// remyColumns reads rows of Remy's contacts export, or is nil when header
// names none of a contact's settable fields. Each cell loses the ' that
// the export's formula neutralisation put in front; id is the row's Ref,
// introducedById its introducer's; createdAt and updatedAt are the
// server's to set, so they are not read.
func remyColumns(header []string) rowReader {
	type column struct {
		i int
		f model.Field[model.Contact]
	}
	var cols []column
	ref, intro := -1, -1
	for i, name := range header {
		f, ok := model.ContactFields.ByJSON(strings.TrimSpace(name))
		switch {
		case !ok:
		case f.JSON == "id":
			ref = i
		case f.Settable && f.Type == contactRef:
			intro = i
		case f.Settable:
			cols = append(cols, column{i, f})
		}
	}
	if len(cols) == 0 {
		return nil
	}
	return func(cells []string) model.ImportItem {
		var it model.ImportItem
		verr := &model.ValidationError{}
		for _, col := range cols {
			if msg := setField(&it.Contact, col.f, unneutralize(cell(cells, col.i))); msg != "" {
				verr.Field(col.f.JSON, msg)
			}
		}
		it.Ref = strings.TrimSpace(unneutralize(cell(cells, ref)))
		it.IntroducerRef = strings.TrimSpace(unneutralize(cell(cells, intro)))
		if !verr.Empty() {
			it.Err = verr
		}
		return it
	}
}

// setField sets field f of c from a cell of Remy's export: a list is the
// JSON array the API shows, anything else its text; empty is null. It
// returns what is wrong with the cell, or "".
func setField(c *model.Contact, f model.Field[model.Contact], s string) string {
	if s == "" {
		return ""
	}
	raw := []byte(s)
	if f.Type.Kind() != reflect.Slice {
		raw, _ = json.Marshal(s) // a string always encodes
	}
	err := json.Unmarshal(raw, f.Addr(c))
	switch {
	case err == nil:
		return ""
	case f.Type.Kind() == reflect.Slice:
		return "Must be a JSON array, as Remy's export writes it"
	}
	msg := err.Error()
	return strings.ToUpper(msg[:1]) + msg[1:]
}

// unneutralize undoes the export's formula neutralisation: one leading '.
func unneutralize(s string) string { return strings.TrimPrefix(s, "'") }
