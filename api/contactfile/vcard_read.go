package contactfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-vcard"

	"github.com/remy-crm/remy/model"
)

// IntroducerProperty names, on a card Remy writes, the UID of the card of
// the contact's introducer (urn:uuid: and its id), so that an import can
// link the two again.
const IntroducerProperty = "X-REMY-INTRODUCED-BY"

// ReadVCard reads the cards of body (vCard 3.0 or 4.0) in file order, one
// item each. A card that breaks a rule is an item with its Err set; a body
// that is not vCard at all, is not UTF-8 or ends inside a card is a
// *FormatError, and more than max cards a *model.ValidationError.
func ReadVCard(body []byte, max int) ([]model.ImportItem, error) {
	// A writer may fold a line inside a UTF-8 sequence (RFC 6350 3.2 asks
	// readers to mend it), so the text is checked unfolded.
	if !utf8.Valid(unfold(body)) {
		return nil, &FormatError{"vCard", "the body is not valid UTF-8"}
	}
	dec := vcard.NewDecoder(bytes.NewReader(hideEscapes(body)))
	var items []model.ImportItem
	for {
		card, err := dec.Decode()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &FormatError{"vCard", fmt.Sprintf("card %d: %s", len(items), strings.TrimPrefix(err.Error(), "vcard: "))}
		}
		if len(items) == max {
			return nil, tooMany("cards", max)
		}
		items = append(items, readCard(card))
	}
	if len(items) == 0 {
		return nil, &FormatError{"vCard", "no card (BEGIN:VCARD … END:VCARD) found"}
	}
	return items, nil
}

// unfold is body without its folds (a line break, then a space or a tab).
func unfold(body []byte) []byte {
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); i++ {
		switch {
		case body[i] == '\r' && i+2 < len(body) && body[i+1] == '\n' && (body[i+2] == ' ' || body[i+2] == '\t'):
			i += 2
		case body[i] == '\n' && i+1 < len(body) && (body[i+1] == ' ' || body[i+1] == '\t'):
			i++
		default:
			out = append(out, body[i])
		}
	}
	return out
}

// readCard maps one card onto a contact, its notes and its references.
func readCard(card vcard.Card) model.ImportItem {
	var it model.ImportItem
	verr := &model.ValidationError{}
	if hasNUL(card) {
		verr.Whole("A card must not contain NUL (\\u0000) characters")
	}
	if v := strings.TrimSpace(unescape(card.Value(vcard.FieldVersion))); v != "3.0" && v != "4.0" {
		verr.Whole(fmt.Sprintf("Unsupported vCard version %q: send 3.0 or 4.0", v))
	}
	c := &it.Contact
	c.Nickname = text(unescape(card.Value(vcard.FieldNickname)))
	c.Company = text(component(split(card.Value(vcard.FieldOrganization), ';'), 0))
	c.JobTitle = text(unescape(card.Value(vcard.FieldTitle)))
	c.Emails = labeled(card, vcard.FieldEmail, func(v string) string { return v })
	c.Phones = labeled(card, vcard.FieldTelephone, func(v string) string {
		if len(v) > 4 && strings.EqualFold(v[:4], "tel:") { // vCard 4.0's VALUE=uri
			return v[4:]
		}
		return v
	})
	c.URLs = labeled(card, vcard.FieldURL, func(v string) string { return v })
	c.Addresses = addresses(card)
	c.Tags = categories(card)
	readName(card, c)
	if f := card.Get(vcard.FieldBirthday); f != nil {
		d, ok := parseBirthday(unescape(f.Value), f.Params.Get("X-APPLE-OMIT-YEAR"))
		if !ok {
			verr.Field("birthday", msgBirthday)
		}
		c.Birthday = d
	}
	for _, f := range card[vcard.FieldNote] {
		if body := unescape(f.Value); strings.TrimSpace(body) != "" {
			it.Notes = append(it.Notes, body)
		}
	}
	it.Ref = strings.TrimSpace(unescape(card.Value(vcard.FieldUID)))
	it.IntroducerRef = strings.TrimSpace(unescape(card.Value(IntroducerProperty)))
	if !verr.Empty() {
		it.Err = verr
	}
	return it
}

// readName takes the given and family names from N (the given name with
// any additional names after it), or, when N has neither, the given name
// from FN, unless FN only repeats the nickname, the company or the first
// email, as it does on a card written for a contact without a name.
func readName(card vcard.Card, c *model.Contact) {
	n := split(card.Value(vcard.FieldName), ';')
	c.FamilyName = text(component(n, 0))
	given := component(n, 1)
	if extra := component(n, 2); extra != "" {
		given = strings.TrimSpace(given + " " + strings.ReplaceAll(extra, ",", " "))
	}
	c.GivenName = text(given)
	if c.GivenName != nil || c.FamilyName != nil {
		return
	}
	fn := strings.TrimSpace(unescape(card.Value(vcard.FieldFormattedName)))
	for _, other := range []*string{c.Nickname, c.Company} {
		if other != nil && *other == fn {
			return
		}
	}
	if len(c.Emails) > 0 && c.Emails[0].Value == fn {
		return
	}
	c.GivenName = text(fn)
}

// labeled reads every property named key as a value (through clean) and
// its label.
func labeled(card vcard.Card, key string, clean func(string) string) []model.LabeledValue {
	var out []model.LabeledValue
	for _, f := range card[key] {
		v := strings.TrimSpace(clean(unescape(f.Value)))
		if v != "" {
			out = append(out, model.LabeledValue{Value: v, Label: label(card, f)})
		}
	}
	return out
}

// addresses reads ADR: post office box; extended address; street;
// locality; region; postal code; country. The box and the extended address
// become lines of the street, before it.
func addresses(card vcard.Card) []model.Address {
	var out []model.Address
	for _, f := range card[vcard.FieldAddress] {
		p := split(f.Value, ';')
		var lines []string
		for _, i := range []int{0, 1, 2} {
			if s := component(p, i); s != "" {
				lines = append(lines, s)
			}
		}
		a := model.Address{Label: label(card, f), Street: strings.Join(lines, "\n"), City: component(p, 3),
			Region: component(p, 4), PostalCode: component(p, 5), Country: component(p, 6)}
		if a.Street+a.City+a.Region+a.PostalCode+a.Country != "" {
			out = append(out, a)
		}
	}
	return out
}

// googleGroups are the system groups Google's export lists among a card's
// categories; they are not the user's tags.
var googleGroups = map[string]bool{"myContacts": true, "starred": true}

// categories are the card's tags: every CATEGORIES value, without Google's
// system groups on a card Google wrote.
func categories(card vcard.Card) []string {
	google := strings.Contains(card.Value(vcard.FieldProductID), "Google")
	var tags []string
	for _, f := range card[vcard.FieldCategories] {
		for _, t := range split(f.Value, ',') {
			t = strings.TrimSpace(t)
			if t != "" && !(google && googleGroups[t]) && !strings.HasPrefix(t, "* ") {
				tags = append(tags, t)
			}
		}
	}
	return tags
}

// hasNUL reports a NUL anywhere in the card, which no text Remy stores
// may hold.
func hasNUL(card vcard.Card) bool {
	for key, fields := range card {
		for _, f := range fields {
			if strings.ContainsRune(key+f.Group+f.Value, 0) {
				return true
			}
			for k, vs := range f.Params {
				if strings.ContainsRune(k+strings.Join(vs, ""), 0) {
					return true
				}
			}
		}
	}
	return false
}

// parseBirthday reads a birthday as vCard and Google write it: YYYY-MM-DD,
// YYYYMMDD, --MM-DD or --MMDD (a time after T is ignored). Apple writes a
// year-less one as a full date in the year X-APPLE-OMIT-YEAR names.
func parseBirthday(v, omitYear string) (*model.Date, bool) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, 'T'); i >= 0 {
		v = v[:i]
	}
	switch {
	case len(v) == 6 && strings.HasPrefix(v, "--"):
		v = "--" + v[2:4] + "-" + v[4:]
	case len(v) == 8 && !strings.Contains(v, "-"):
		v = v[:4] + "-" + v[4:6] + "-" + v[6:]
	}
	if omitYear != "" && strings.HasPrefix(v, omitYear+"-") {
		v = "-" + v[len(omitYear):]
	}
	d, err := model.ParseDate(v)
	if err != nil {
		return nil, false
	}
	return &d, true
}

// msgBirthday refuses a birthday parseBirthday cannot read.
const msgBirthday = "Must be a real date written YYYY-MM-DD, YYYYMMDD, --MM-DD or --MMDD"
