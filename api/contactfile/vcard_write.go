package contactfile

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-vcard"

	"github.com/remy-crm/remy/model"
)

// VCardVersions are the versions Remy writes, the first by default.
var VCardVersions = []string{"3.0", "4.0"}

// productID names the writer of the cards (PRODID).
const productID = "-//Remy//Remy API//EN"

// revLayout is REV's timestamp form, which both versions read.
const revLayout = "20060102T150405Z"

// go-vcard's encoder escapes backslashes, line breaks and every comma, and
// no semicolon (emersion/go-vcard#5, PR #40): a comma between the values
// of a list (CATEGORIES) must not be escaped, and a semicolon inside a
// component or a text must be. Those two travel through the encoder as
// marks it leaves alone, which lineWriter turns into what they stand for.
// The marks start with NUL, which no text Remy stores can hold (Normalize
// and Postgres refuse it), so no data can pass for one.
const (
	markSemicolon = "\x00s"
	markListComma = "\x00c"
)

var (
	// textEscaper prepares a text for the encoder: its semicolons as marks,
	// and its line breaks as LF, the only one vCard can write (\n).
	textEscaper = strings.NewReplacer(";", markSemicolon, "\r\n", "\n", "\r", "\n")
	marks       = strings.NewReplacer(markSemicolon, `\;`, markListComma, ",")
)

// VCardWriter writes contacts as vCards, one after another.
type VCardWriter struct {
	version string
	enc     *vcard.Encoder
}

// NewVCardWriter writes cards of version (one of VCardVersions) to w.
func NewVCardWriter(w io.Writer, version string) *VCardWriter {
	return &VCardWriter{version: version, enc: vcard.NewEncoder(&lineWriter{w: w})}
}

// Write writes the card of c, with notes (oldest first) as NOTEs.
func (vw *VCardWriter) Write(c *model.Contact, notes []string) error {
	return vw.enc.Encode(vw.card(c, notes))
}

// card is c as a vCard: see README, Export, for each property.
func (vw *VCardWriter) card(c *model.Contact, notes []string) vcard.Card {
	card := vcard.Card{}
	card.SetValue(vcard.FieldVersion, vw.version)
	card.SetValue(vcard.FieldProductID, productID)
	card.SetValue(vcard.FieldUID, "urn:uuid:"+c.ID.String())
	card.SetValue(vcard.FieldFormattedName, textValue(formattedName(c)))
	card.SetValue(vcard.FieldName, structured(deref(c.FamilyName), deref(c.GivenName), "", "", ""))
	for key, v := range map[string]*string{vcard.FieldNickname: c.Nickname, vcard.FieldTitle: c.JobTitle} {
		if v != nil {
			card.SetValue(key, textValue(*v))
		}
	}
	if c.Company != nil {
		card.SetValue(vcard.FieldOrganization, structured(*c.Company))
	}
	items := 0
	add := func(key, value, label string) {
		f := &vcard.Field{Value: value}
		switch {
		case label == "":
		case wellKnownTypes[key][label]:
			f.Params = vcard.Params{vcard.ParamType: {strings.ToUpper(label)}}
		default:
			items++
			f.Group = fmt.Sprintf("item%d", items)
			card.Add(labelProperty, &vcard.Field{Group: f.Group, Value: textValue(label)})
		}
		card.Add(key, f)
	}
	for _, e := range c.Emails {
		add(vcard.FieldEmail, textValue(e.Value), e.Label)
	}
	for _, p := range c.Phones {
		add(vcard.FieldTelephone, textValue(p.Value), p.Label)
	}
	for _, a := range c.Addresses {
		add(vcard.FieldAddress, structured("", "", a.Street, a.City, a.Region, a.PostalCode, a.Country), a.Label)
	}
	for _, u := range c.URLs {
		add(vcard.FieldURL, textValue(u.Value), u.Label)
	}
	vw.addRest(card, c, notes)
	return card
}

// addRest adds the birthday, tags, revision, notes and introducer.
func (vw *VCardWriter) addRest(card vcard.Card, c *model.Contact, notes []string) {
	if c.Birthday != nil {
		card.SetValue(vcard.FieldBirthday, vw.birthday(*c.Birthday))
	}
	if len(c.Tags) > 0 {
		tags := make([]string, len(c.Tags))
		for i, t := range c.Tags {
			tags[i] = textValue(t)
		}
		card.SetValue(vcard.FieldCategories, strings.Join(tags, markListComma))
	}
	card.SetValue(vcard.FieldRevision, c.UpdatedAt.UTC().Format(revLayout))
	for _, n := range notes {
		card.AddValue(vcard.FieldNote, textValue(n))
	}
	if c.IntroducedByID != nil {
		card.SetValue(IntroducerProperty, "urn:uuid:"+c.IntroducedByID.String())
	}
}

// birthday is BDAY's value: YYYY-MM-DD for 3.0, YYYYMMDD for 4.0 (which
// has only the basic form), and --MMDD without a year in both, as Google
// writes it.
func (vw *VCardWriter) birthday(d model.Date) string {
	switch {
	case !d.HasYear():
		return fmt.Sprintf("--%02d%02d", d.Month(), d.Day())
	case vw.version == "3.0":
		return fmt.Sprintf("%04d-%02d-%02d", d.Year(), d.Month(), d.Day())
	}
	return fmt.Sprintf("%04d%02d%02d", d.Year(), d.Month(), d.Day())
}

// formattedName is FN: given and family name, else the nickname, else the
// company, else the first email.
func formattedName(c *model.Contact) string {
	if n := strings.TrimSpace(deref(c.GivenName) + " " + deref(c.FamilyName)); n != "" {
		return n
	}
	for _, s := range []*string{c.Nickname, c.Company} {
		if s != nil {
			return *s
		}
	}
	if len(c.Emails) > 0 {
		return c.Emails[0].Value
	}
	return ""
}

// textValue is a text ready for the encoder (see the marks).
func textValue(s string) string { return textEscaper.Replace(s) }

// structured joins the components of a compound value (N, ADR, ORG).
func structured(components ...string) string {
	for i, c := range components {
		components[i] = textValue(c)
	}
	return strings.Join(components, ";")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// lineWriter is what the encoder writes to: it turns the marks into what
// they stand for and folds each line at 75 octets (RFC 6350 3.2: CRLF and
// a space before each continuation), never inside a UTF-8 sequence.
type lineWriter struct {
	w       io.Writer
	pending []byte
	out     []byte
}

var crlf = []byte("\r\n")

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.pending = append(lw.pending, p...)
	rest := lw.pending
	for {
		i := bytes.Index(rest, crlf)
		if i < 0 {
			break
		}
		if err := lw.line(rest[:i]); err != nil {
			return 0, err
		}
		rest = rest[i+2:]
	}
	lw.pending = append(lw.pending[:0], rest...)
	return len(p), nil
}

// maxLineOctets is the longest line, CRLF aside.
const maxLineOctets = 75

func (lw *lineWriter) line(l []byte) error {
	s := marks.Replace(string(l))
	lw.out = lw.out[:0]
	for width := maxLineOctets; ; width = maxLineOctets - 1 {
		if len(s) <= width {
			lw.out = append(append(lw.out, s...), crlf...)
			break
		}
		cut := width
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		lw.out = append(append(append(lw.out, s[:cut]...), crlf...), ' ')
		s = s[cut:]
	}
	_, err := lw.w.Write(lw.out)
	return err
}
