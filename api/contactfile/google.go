package contactfile

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/remy-crm/remy/model"
)

// googleSingle are the columns of Google Contacts' export that hold one
// value of a contact, by their lower-cased name (the current export's and
// the legacy one's), and what each is.
var googleSingle = map[string]string{
	"first name": "given", "given name": "given",
	"middle name": "middle", "additional name": "middle",
	"last name": "family", "family name": "family",
	"name":              "name",
	"nickname":          "nickname",
	"organization name": "company", "organization 1 - name": "company",
	"organization title": "title", "organization 1 - title": "title",
	"birthday": "birthday",
	"notes":    "notes",
	"labels":   "labels", "group membership": "labels",
}

// googleRepeated matches the numbered columns: E-mail 1 - Value,
// Address 2 - Postal Code, Website 1 - Label (Type in the legacy export).
var googleRepeated = regexp.MustCompile(`(?i)^(e-mail|phone|address|website) (\d+) - (.+)$`)

// googleLabels are Google's own labels, lower-cased on import as TYPE
// parameters are; a label of the user's own is kept as written.
var googleLabels = []string{"home", "work", "other", "mobile", "main", "home fax", "work fax", "pager",
	"google voice", "homepage", "blog", "profile", "ftp"}

// googleColumns reads rows of Google Contacts' export, or is nil when
// header has none of its columns. Several values in one cell are joined by
// " ::: "; the label of a contact's primary value starts with "* ", and so
// do the system groups among the labels (* myContacts, * starred), which
// are not tags.
func googleColumns(header []string) rowReader {
	single := map[string]int{}
	repeated := map[string]map[int]map[string]int{} // kind → number → part → column
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		if role, ok := googleSingle[name]; ok {
			single[role] = i
		} else if m := googleRepeated.FindStringSubmatch(name); m != nil {
			n, _ := strconv.Atoi(m[2])
			if repeated[m[1]] == nil {
				repeated[m[1]] = map[int]map[string]int{}
			}
			if repeated[m[1]][n] == nil {
				repeated[m[1]][n] = map[string]int{}
			}
			repeated[m[1]][n][m[3]] = i
		}
	}
	if len(single) == 0 && len(repeated) == 0 {
		return nil
	}
	return func(cells []string) model.ImportItem {
		get := func(role string) string {
			i, ok := single[role]
			if !ok {
				return ""
			}
			return strings.TrimSpace(cell(cells, i))
		}
		it := googleRow(get)
		c := &it.Contact
		c.Emails = googleLabeled(repeated["e-mail"], cells)
		c.Phones = googleLabeled(repeated["phone"], cells)
		c.URLs = googleLabeled(repeated["website"], cells)
		c.Addresses = googleAddresses(repeated["address"], cells)
		return it
	}
}

// googleRow reads the single-valued columns of a row.
func googleRow(get func(role string) string) model.ImportItem {
	var it model.ImportItem
	c := &it.Contact
	c.GivenName = text(get("given") + " " + get("middle"))
	c.FamilyName = text(get("family"))
	if c.GivenName == nil && c.FamilyName == nil {
		c.GivenName = text(get("name"))
	}
	c.Nickname, c.Company, c.JobTitle = text(get("nickname")), text(get("company")), text(get("title"))
	if b := get("birthday"); b != "" {
		d, ok := parseBirthday(b, "")
		if !ok {
			it.Err = model.FieldError("birthday", msgBirthday)
		}
		c.Birthday = d
	}
	if n := get("notes"); n != "" {
		it.Notes = []string{n}
	}
	for _, t := range multiple(get("labels")) {
		if !strings.HasPrefix(t, "* ") {
			c.Tags = append(c.Tags, t)
		}
	}
	return it
}

// multiple splits a cell of several values (" ::: ").
func multiple(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ":::") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// googleLabeled reads the numbered Label (or Type) and Value columns of
// one kind, in number order.
func googleLabeled(byNumber map[int]map[string]int, cells []string) []model.LabeledValue {
	var out []model.LabeledValue
	for _, n := range slices.Sorted(maps.Keys(byNumber)) {
		parts := byNumber[n]
		label := googleLabel(cellOf(parts, cells, "label", "type"))
		for _, v := range multiple(cellOf(parts, cells, "value")) {
			out = append(out, model.LabeledValue{Value: v, Label: label})
		}
	}
	return out
}

// googleAddresses reads the numbered Address columns. A PO box and an
// extended address become lines of the street; an address given only as
// Formatted is that street.
func googleAddresses(byNumber map[int]map[string]int, cells []string) []model.Address {
	var out []model.Address
	for _, n := range slices.Sorted(maps.Keys(byNumber)) {
		parts := byNumber[n]
		var lines []string
		for _, p := range []string{"po box", "extended address", "street"} {
			if s := strings.TrimSpace(cellOf(parts, cells, p)); s != "" {
				lines = append(lines, s)
			}
		}
		a := model.Address{Label: googleLabel(cellOf(parts, cells, "label", "type")), Street: strings.Join(lines, "\n"),
			City: cellOf(parts, cells, "city"), Region: cellOf(parts, cells, "region"),
			PostalCode: cellOf(parts, cells, "postal code"), Country: cellOf(parts, cells, "country")}
		if a.Street+a.City+a.Region+a.PostalCode+a.Country == "" {
			a.Street = strings.TrimSpace(cellOf(parts, cells, "formatted"))
		}
		if a.Street+a.City+a.Region+a.PostalCode+a.Country != "" {
			out = append(out, a)
		}
	}
	return out
}

// cellOf is the cell of the first of names among parts' columns.
func cellOf(parts map[string]int, cells []string, names ...string) string {
	for _, name := range names {
		if i, ok := parts[name]; ok {
			return strings.TrimSpace(cell(cells, i))
		}
	}
	return ""
}

// googleLabel is a label of Google's export without the primary value's
// "* ", Google's own labels lower-cased.
func googleLabel(s string) string {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "* "))
	if l := strings.ToLower(s); slices.Contains(googleLabels, l) {
		return l
	}
	return s
}
