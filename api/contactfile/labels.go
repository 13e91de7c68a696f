package contactfile

import (
	"strings"

	"github.com/emersion/go-vcard"
)

// labelProperty is Apple's property for a label of its own or a custom
// one, on the same group (item1.) as the value it labels; Google reads and
// writes it too.
const labelProperty = "X-ABLABEL"

// genericTypes say nothing a label would: every email is an internet one,
// every number a voice one unless said otherwise, and pref is an order.
var genericTypes = map[string]bool{"internet": true, "pref": true, "voice": true, "x400": true}

// label is the label of a value: its group's X-ABLabel (Apple's own
// labels, written _$!<Work>!$_, lower-cased), else the first of its TYPE
// parameters that is not generic, lower-cased, else "".
func label(card vcard.Card, f *vcard.Field) string {
	if f.Group != "" {
		for _, l := range card[labelProperty] {
			if strings.EqualFold(l.Group, f.Group) {
				return appleLabel(strings.TrimSpace(unescape(l.Value)))
			}
		}
	}
	for _, t := range f.Params[vcard.ParamType] {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" && !genericTypes[t] {
			return t
		}
	}
	return ""
}

// appleLabel is one of Apple's own labels (_$!<HomePage>!$_) as a plain
// lower-case one, and any other label as it is.
func appleLabel(s string) string {
	if inner, ok := strings.CutPrefix(s, "_$!<"); ok {
		if inner, ok = strings.CutSuffix(inner, ">!$_"); ok {
			return strings.ToLower(inner)
		}
	}
	return s
}

// wellKnownTypes are, by property, the labels a card states as a TYPE
// parameter, which every reader understands. Any other label (one in
// another case, too, which TYPE would not keep) goes on an X-ABLabel of
// the value's group, the form Apple and Google read back. voice, pref and
// internet are not among them: a reader drops them (see genericTypes).
var wellKnownTypes = map[string]map[string]bool{
	vcard.FieldEmail:     {"home": true, "work": true},
	vcard.FieldTelephone: {"home": true, "work": true, "cell": true, "fax": true, "pager": true, "text": true, "video": true, "textphone": true},
	vcard.FieldAddress:   {"home": true, "work": true},
	vcard.FieldURL:       {"home": true, "work": true},
}
