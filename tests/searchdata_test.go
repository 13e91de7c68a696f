package tests

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"golang.org/x/text/unicode/norm"

	"github.com/remy-crm/remy/model"
)

// searchShape is a kind of contact book the search benchmark and the
// search identity test fill accounts with: contact i of a book, the same
// every run for the same seed.
type searchShape struct {
	name    string
	about   string
	contact func(seed uint64, i int) model.Contact
}

// searchShapes are the two books: the benchmark's own (few distinct names,
// every email unique, many tags) and one of ordinary people, whose common
// name parts and mail domains make 2–3 letter terms match 10–30 % of it.
var searchShapes = []searchShape{
	{name: "synthetic", about: "80 given and 60 family names (some accented or missing), 20 companies (a third missing), one unique email each, a nickname on one in seven, each of 12 tags on about one in eight, created a minute apart",
		contact: syntheticContact},
	{name: "ordinary", about: "253 given and 120 family names and 50 companies, each drawn with a long tail (a few very common), emails at ten mail providers or the company's domain, a phone on half, 0–3 of 12 tags",
		contact: ordinaryContact},
}

// hash is a deterministic 64-bit mix of i and salt (splitmix64's finaliser).
func hash(seed uint64, i int, salt uint64) uint64 {
	z := seed ^ uint64(i)*0x9e3779b97f4a7c15 ^ salt*0xbf58476d1ce4e5b9
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// pick is one of list, chosen by hash; skew > 1 favours its head (a long
// tail, as real names have).
func pick(list []string, h uint64, skew float64) string {
	u := float64(h>>11) / (1 << 53)
	return list[int(math.Pow(u, skew)*float64(len(list)))]
}

// asciiFold is s lower-cased, without accents, keeping only letters and
// digits: the local part of an email made from a name.
func asciiFold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

var (
	synGiven   = strings.Fields("Grace Ada José Zoë Mary John James Robert Linda Patricia Michael William Elizabeth David Richard Joseph Thomas Charles Christopher Daniel Matthew Anthony Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy Ronald Edward Jason Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel Barbara Susan Jessica Sarah Karen Nancy Lisa Betty Margaret Sandra Ashley Kimberly Emily Donna Michelle Dorothy Carol Amanda Melissa Deborah François Chloé Renée Søren Björn Ángel Inés Hannah Olivia Sophia")
	synFamily  = strings.Split("Smith,Johnson,Williams,Brown,Jones,Garcia,Miller,Davis,Rodriguez,Martinez,Hernandez,Lopez,Gonzalez,Wilson,Anderson,Thomas,Taylor,Moore,Jackson,Martin,Lee,Perez,Thompson,White,Harris,Sanchez,Clark,Ramirez,Lewis,Robinson,Walker,Young,Allen,King,Wright,Scott,Torres,Nguyen,Hill,Flores,Green,Adams,Nelson,Baker,Hall,Rivera,Campbell,Mitchell,Carter,Roberts,Müller,Núñez,Çelik,Dubois,Lefèvre,van der Berg,O'Brien,Kowalski,Novák,Søndergaard", ",")
	synCompany = strings.Split("Acme,Globex,Initech,Umbrella,Hooli,Stark Industries,Wayne Enterprises,Wonka,Tyrell,Cyberdyne,Soylent,Massive Dynamic,Aperture,Vandelay,Pied Piper,Dunder Mifflin,Oceanic,Gringotts,Monsters Inc,Navy", ",")
	synDomain  = strings.Fields("example.com navy.mil mail.test corp.test uni.test")
	synTags    = strings.Fields("vip friends family work crypto admiral london paris golf investor press school")
)

// syntheticContact is the benchmark's original book (searchSeedSQL of the
// previous rounds, in Go): creation a minute apart from 2024-01-01, updates
// 0–99 days later.
func syntheticContact(seed uint64, i int) model.Contact {
	c := model.Contact{Version: 1, Emails: []model.LabeledValue{}, Phones: []model.LabeledValue{},
		Addresses: []model.Address{}, URLs: []model.LabeledValue{}, Tags: []string{}}
	g, f := pick(synGiven, hash(seed, i, 1), 1), pick(synFamily, hash(seed, i, 7), 1)
	if i%25 != 0 {
		c.GivenName = ptr(g)
	}
	if i%20 != 0 {
		c.FamilyName = ptr(f)
	}
	if i%7 == 0 {
		c.Nickname = ptr("Nick" + strconv.Itoa(i%500))
	}
	if i%3 != 0 {
		c.Company = ptr(pick(synCompany, hash(seed, i, 11), 1))
	}
	local := "x"
	if c.GivenName != nil {
		local = asciiFold(g)
	}
	local += "."
	if c.FamilyName != nil {
		local += asciiFold(f)
	} else {
		local += "y"
	}
	c.Emails = append(c.Emails, model.LabeledValue{Value: local + strconv.Itoa(i) + "@" + pick(synDomain, hash(seed, i, 17), 1), Label: "work"})
	for k, t := range synTags {
		if hash(seed, i, 13+uint64(k))%8 == 0 {
			c.Tags = append(c.Tags, t)
		}
	}
	c.CreatedAt = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
	c.UpdatedAt = c.CreatedAt.AddDate(0, 0, i%100)
	return c
}

var (
	ordGiven   = strings.Fields("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph Jessica Thomas Sarah Christopher Karen Charles Lisa Daniel Nancy Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Dorothy Jacob Amy Gary Kathleen Nicholas Angela Eric Shirley Jonathan Emma Stephen Brenda Larry Pamela Justin Nicole Scott Anna Brandon Samantha Benjamin Katherine Samuel Christine Gregory Debra Alexander Rachel Patrick Carolyn Frank Janet Raymond Maria Jack Olivia Dennis Heather Jerry Helen Tyler Catherine Aaron Diane José Julie Adam Victoria Nathan Joyce Henry Lauren Zachary Kelly Douglas Christina Peter Ruth Kyle Joan Noah Virginia Ethan Judith Jeremy Evelyn Christian Hannah Walter Andrea Keith Megan Austin Cheryl Roger Jacqueline Terry Madison Sean Teresa Gerald Abigail Carl Sophia Dylan Martha Harold Sara Jordan Gloria Jesse Janice Bryan Kathryn Lawrence Ann Arthur Isabella Gabriel Judy Bruce Charlotte Logan Julia Billy Grace Joe Amber Alan Alice Juan Jean Elijah Denise Willie Frances Albert Danielle Wayne Marilyn Randy Natalie Mason Beverly Vincent Diana Liam Brittany Roy Theresa Bobby Kayla Caleb Alexis Bradley Doris Russell Lori Lucas Tiffany François Zoë Søren Chloé Björn Ángel Inés Renée Małgorzata Jürgen")
	ordFamily  = strings.Split("Smith,Johnson,Williams,Brown,Jones,Garcia,Miller,Davis,Rodriguez,Martinez,Hernandez,Lopez,Gonzalez,Wilson,Anderson,Thomas,Taylor,Moore,Jackson,Martin,Lee,Perez,Thompson,White,Harris,Sanchez,Clark,Ramirez,Lewis,Robinson,Walker,Young,Allen,King,Wright,Scott,Torres,Nguyen,Hill,Flores,Green,Adams,Nelson,Baker,Hall,Rivera,Campbell,Mitchell,Carter,Roberts,Gomez,Phillips,Evans,Turner,Diaz,Parker,Cruz,Edwards,Collins,Reyes,Stewart,Morris,Morales,Murphy,Cook,Rogers,Gutierrez,Ortiz,Morgan,Cooper,Peterson,Bailey,Reed,Kelly,Howard,Ramos,Kim,Cox,Ward,Richardson,Watson,Brooks,Chavez,Wood,James,Bennett,Gray,Mendoza,Ruiz,Hughes,Price,Alvarez,Castillo,Sanders,Patel,Myers,Long,Ross,Foster,Jimenez,Müller,Núñez,Çelik,Dubois,Lefèvre,van der Berg,O'Brien,Kowalski,Novák,Søndergaard,Schmidt,Rossi,Tanaka,Wang,Singh,Nakamura,Ivanov,Fischer,Weber,Becker", ",")
	ordCompany = strings.Split("Acme,Globex,Initech,Umbrella,Hooli,Stark Industries,Wayne Enterprises,Wonka,Tyrell,Cyberdyne,Soylent,Massive Dynamic,Aperture,Vandelay,Pied Piper,Dunder Mifflin,Oceanic,Gringotts,Monsters Inc,Navy,Google,Microsoft,Apple,Amazon,Meta,Netflix,Salesforce,Oracle,IBM,Intel,Deloitte,Accenture,McKinsey,KPMG,Goldman Sachs,JPMorgan,Bank of America,Wells Fargo,Pfizer,Johnson & Johnson,Stanford University,MIT,Harvard,City Hospital,Freelance,Self-employed,Blue Bottle,Local Bakery,Smith & Sons,Riverside Clinic", ",")
	ordDomain  = strings.Fields("gmail.com gmail.com gmail.com yahoo.com outlook.com hotmail.com icloud.com aol.com proton.me fastmail.com")
	ordTitle   = strings.Fields("Engineer Manager Director Sales Designer Consultant Analyst Founder")
	ordTags    = strings.Split("family,friends,work,vip,school,gym,book club,neighbors,clients,investors,press,travel", ",")
)

// ordinaryContact is a book of ordinary people: names, companies and mail
// providers each with a long tail, so short terms are common.
func ordinaryContact(seed uint64, i int) model.Contact {
	c := model.Contact{Version: 1, Emails: []model.LabeledValue{}, Phones: []model.LabeledValue{},
		Addresses: []model.Address{}, URLs: []model.LabeledValue{}, Tags: []string{}}
	g := pick(ordGiven, hash(seed, i, 1), 1.6)
	c.GivenName = ptr(g)
	f := "y"
	if i%30 != 0 {
		f = pick(ordFamily, hash(seed, i, 7), 1.3)
		c.FamilyName = ptr(f)
	}
	if i%11 == 0 {
		c.Nickname = ptr(string([]rune(g)[:3]))
	}
	domain := pick(ordDomain, hash(seed, i, 17), 1)
	if i%4 != 0 {
		co := pick(ordCompany, hash(seed, i, 11), 1.5)
		c.Company = ptr(co)
		if i%2 == 0 {
			c.JobTitle = ptr(pick(ordTitle, hash(seed, i, 5), 1))
		}
		if i%3 == 0 {
			domain = asciiFold(co) + ".com"
		}
	}
	if i%9 != 0 {
		gf, ff := asciiFold(g), asciiFold(f)
		var local string
		switch hash(seed, i, 19) % 4 {
		case 0:
			local = gf + "." + ff
		case 1:
			local = gf[:1] + ff
		case 2:
			local = gf + strconv.Itoa(i%1000)
		default:
			local = ff + "_" + gf[:1] + strconv.Itoa(i%97)
		}
		c.Emails = append(c.Emails, model.LabeledValue{Value: local + "@" + domain, Label: "home"})
	}
	if i%2 == 0 {
		c.Phones = append(c.Phones, model.LabeledValue{Value: fmt.Sprintf("+1 415 555 %04d", i%10000), Label: "mobile"})
	}
	if hash(seed, i, 43)%4 != 0 {
		n := 1 + int(hash(seed, i, 29)%3)
		for k := range n {
			t := ordTags[hash(seed, i, 31+uint64(k))%uint64(len(ordTags))]
			if !slices.Contains(c.Tags, t) {
				c.Tags = append(c.Tags, t)
			}
		}
	}
	return c
}

// bookOf is n contacts of shape for accountID, normalised as any write
// path normalises them.
func bookOf(shape searchShape, seed uint64, accountID uuid.UUID, n int) ([]model.Contact, error) {
	out := make([]model.Contact, n)
	for i := range out {
		c := shape.contact(seed, i+1)
		c.AccountID = accountID
		if err := c.Normalize(); err != nil {
			return nil, fmt.Errorf("contact %d: %w", i+1, err)
		}
		out[i] = c
	}
	return out, nil
}

// bulkBatch is how many rows one statement of bulkInsert writes.
const bulkBatch = 1000

// bulkInsert writes contacts as an import does: one transaction, multi-row
// INSERT statements of bulkBatch rows (100 of them for 100,000 contacts).
func bulkInsert(ctx context.Context, db *bun.DB, contacts []model.Contact) error {
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for start := 0; start < len(contacts); start += bulkBatch {
			batch := contacts[start:min(start+bulkBatch, len(contacts))]
			if _, err := tx.NewInsert().Model(&batch).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
}
