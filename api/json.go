package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
)

// errInvalidUTF8 is reported as 400 "Malformed JSON: invalid UTF-8".
var errInvalidUTF8 = errors.New("invalid UTF-8")

// jsonFormat is Huma's JSON format with a stricter reader. encoding/json
// quietly replaces invalid UTF-8, and lone UTF-16 surrogates written as
// \u escapes, with U+FFFD: the stored text would differ from what was sent.
// It also keeps the last of duplicate keys where other parsers (a proxy, a
// WAF, the client's own logs) may keep the first. Remy refuses such bodies,
// whole, before anything is decoded.
var jsonFormat = huma.Format{
	Marshal: huma.DefaultJSONFormat.Marshal,
	Unmarshal: func(data []byte, v any) error {
		if err := checkJSON(data); err != nil {
			return err
		}
		return json.Unmarshal(data, v)
	},
}

// checkJSON is what encoding/json lets through and Remy does not: invalid
// UTF-8 (or lone surrogates) and duplicate object keys.
func checkJSON(data []byte) error {
	if !validJSONText(data) {
		return errInvalidUTF8
	}
	if k, ok := duplicateKey(data); ok {
		return fmt.Errorf("duplicate key %q", k)
	}
	return nil
}

// duplicateKey finds a key that appears twice in one object, at any depth.
// Syntax errors are left for json.Unmarshal to report.
func duplicateKey(data []byte) (string, bool) {
	type frame struct {
		keys      map[string]struct{} // nil for an array
		expectKey bool
	}
	var stack []*frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].expectKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		if n := len(stack); n > 0 && stack[n-1].expectKey {
			if key, ok := tok.(string); ok {
				if _, dup := stack[n-1].keys[key]; dup {
					return key, true
				}
				stack[n-1].keys[key] = struct{}{}
				stack[n-1].expectKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]struct{}{}, expectKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// validJSONText reports whether data is valid UTF-8 and every \u escape
// of a UTF-16 surrogate is part of a proper pair, i.e. whether the strings
// in it decode without replacement. It does not check JSON syntax.
func validJSONText(data []byte) bool {
	if !utf8.Valid(data) {
		return false
	}
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' {
			continue
		}
		i++ // the escaped character; "\\" is skipped whole
		if i >= len(data) || data[i] != 'u' {
			continue
		}
		r, ok := hex4(data[i+1:])
		if !ok {
			continue // malformed: json.Unmarshal reports it
		}
		i += 4
		switch {
		case r >= 0xDC00 && r <= 0xDFFF: // a low surrogate with no high one before it
			return false
		case r >= 0xD800 && r <= 0xDBFF:
			if i+6 >= len(data) || data[i+1] != '\\' || data[i+2] != 'u' {
				return false
			}
			lo, ok := hex4(data[i+3:])
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			i += 6
		}
	}
	return true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}
