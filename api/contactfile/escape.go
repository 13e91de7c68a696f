// Package contactfile reads and writes contact books as files: vCard 3.0
// and 4.0 (through github.com/emersion/go-vcard, with what it lacks added
// here) and CSV in Google Contacts' columns or Remy's own. It knows the
// formats; what an import does with what it reads is the repository's.
package contactfile

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/remy-crm/remy/model"
)

// FormatError is a file that is not what its content type says, as a
// whole: it is refused before anything is read from it.
type FormatError struct {
	Format string // "vCard" or "CSV"
	Reason string
}

func (e *FormatError) Error() string { return "Malformed " + e.Format + ": " + e.Reason }

// go-vcard's decoder unescapes a value before anyone splits it, so that
// "a\;b" (one component) and "a;b" (two), or "a\,b" (one tag) and "a,b"
// (two), cannot be told apart (emersion/go-vcard#5, PR #40), and it keeps
// \; \: and \N as they are. Its replacer only undoes \\, \n and \,
// though, so doubling every backslash of the input first makes it hand
// each value back exactly as written: the escapes are then undone here,
// after splitting, component by component.
func hideEscapes(body []byte) []byte {
	return bytes.ReplaceAll(body, []byte(`\`), []byte(`\\`))
}

// unescape undoes vCard's text escapes: \\, \n or \N (a line break), \,
// \; and \: (which Google writes in URLs); a backslash before anything
// else is dropped.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n', 'N':
			b.WriteByte('\n')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// split cuts a value as written at each sep that no backslash escapes,
// and unescapes each part.
func split(s string, sep byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			parts = append(parts, unescape(s[start:i]))
			start = i + 1
		}
	}
	return append(parts, unescape(s[start:]))
}

// component is the i-th part of parts, or "".
func component(parts []string, i int) string {
	if i < len(parts) {
		return strings.TrimSpace(parts[i])
	}
	return ""
}

// text is s trimmed, or nil when blank.
func text(s string) *string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	return &s
}

// tooMany is the 422 of a file with more than max items.
func tooMany(format string, max int) error {
	return wholeError(fmt.Sprintf("An import holds at most %d %s; this file has more", max, format))
}

// wholeError is a problem with the file as a whole, as a 422 states it.
func wholeError(msg string) error { return &model.ValidationError{Form: []string{msg}} }
