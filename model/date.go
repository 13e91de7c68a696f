package model

import (
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
	"time"
)

const dateLayout = "2006-01-02"

// DatePattern is the schema pattern of a Date's two written forms: the
// calendar check (no 2023-02-30) is ParseDate's. It is repeated in the
// pattern tags of the fields that hold a Date, which a test compares
// with it.
const DatePattern = `^(?:[0-9]{4}|-)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$`

// Date is a calendar date with no time zone, written YYYY-MM-DD, or --MM-DD
// when its year is unknown (a birthday without one, as vCard's BDAY:--MMDD
// and Google's export write it).
type Date struct{ time.Time }

// noYear is the year a Date without one holds, in Go and in a Postgres
// date column: 5 BC (astronomical year -4). It is a leap year, so --02-29
// exists, and no YYYY-MM-DD can name it (0000, 1 BC, is the earliest), so
// a full date is never read back as one without a year, and the column
// keeps its type, its order and every full date it holds.
const noYear = -4

// ParseDate parses YYYY-MM-DD or --MM-DD and rejects days that do not
// exist (2023-02-30; --02-29 exists, --02-30 does not).
func ParseDate(s string) (Date, error) {
	if rest, ok := strings.CutPrefix(s, "--"); ok {
		// 2000 is a leap year: the month and day are checked in one.
		t, err := time.Parse(dateLayout, "2000-"+rest)
		if err != nil {
			return Date{}, errBadDate
		}
		return Date{time.Date(noYear, t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}, nil
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return Date{}, errBadDate
	}
	return Date{t}, nil
}

var errBadDate = fmt.Errorf("must be a real date written YYYY-MM-DD, or --MM-DD without the year")

// HasYear reports whether the date's year is known.
func (d Date) HasYear() bool { return d.Year() != noYear }

// String is YYYY-MM-DD, or --MM-DD without a year.
func (d Date) String() string {
	if !d.HasYear() {
		return fmt.Sprintf("--%02d-%02d", d.Month(), d.Day())
	}
	return d.Format(dateLayout)
}

// MarshalText writes the date as String does.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// MarshalJSON writes "YYYY-MM-DD" or "--MM-DD" (not time.Time's RFC 3339 form).
func (d Date) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads "YYYY-MM-DD" or "--MM-DD".
func (d *Date) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("must be a string written YYYY-MM-DD or --MM-DD")
	}
	return d.UnmarshalText(b[1 : len(b)-1])
}

// UnmarshalText reads YYYY-MM-DD or --MM-DD.
func (d *Date) UnmarshalText(b []byte) error {
	p, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// Value stores the date as Postgres's text form of a date, which it casts
// to date: years before 1 AD, the one without a year included, are
// written as BC years (Postgres has no year 0).
func (d Date) Value() (driver.Value, error) {
	if y := d.Year(); y <= 0 {
		return fmt.Sprintf("%04d-%02d-%02d BC", 1-y, d.Month(), d.Day()), nil
	}
	return d.Format(dateLayout), nil
}

// Scan reads a Postgres date, whichever form the driver hands it in.
func (d *Date) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*d = Date{time.Date(v.Year(), v.Month(), v.Day(), 0, 0, 0, 0, time.UTC)}
		return nil
	case string:
		return d.scanText(v)
	case []byte:
		return d.scanText(string(v))
	default:
		return fmt.Errorf("model.Date: cannot scan %T", src)
	}
}

// scanText reads Postgres's text form of a date (Value's). The day is
// checked in the year it is in, which for a BC year is not the year
// written (5 BC, written 0005, is a leap year).
func (d *Date) scanText(s string) error {
	s, bc := strings.CutSuffix(s, " BC")
	y, yerr := strconv.Atoi(s[:min(len(s), 4)])
	md, err := time.Parse(dateLayout, "2000"+s[min(len(s), 4):])
	if bc {
		y = 1 - y
	}
	t := time.Date(y, md.Month(), md.Day(), 0, 0, 0, 0, time.UTC)
	if yerr != nil || err != nil || len(s) != len(dateLayout) || t.Day() != md.Day() {
		return fmt.Errorf("model.Date: cannot scan %q", s)
	}
	*d = Date{t}
	return nil
}
