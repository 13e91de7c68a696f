package model

import (
	"database/sql/driver"
	"fmt"
	"time"
)

const dateLayout = "2006-01-02"

// Date is a calendar date with no time zone, written YYYY-MM-DD.
type Date struct{ time.Time }

// ParseDate parses YYYY-MM-DD and rejects dates that do not exist (2023-02-30).
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("must be a real date written YYYY-MM-DD")
	}
	return Date{t}, nil
}

func (d Date) String() string { return d.Format(dateLayout) }

// MarshalText writes YYYY-MM-DD.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// MarshalJSON writes "YYYY-MM-DD" (not time.Time's RFC 3339 form).
func (d Date) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads "YYYY-MM-DD".
func (d *Date) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("must be a string written YYYY-MM-DD")
	}
	return d.UnmarshalText(b[1 : len(b)-1])
}

// UnmarshalText reads YYYY-MM-DD.
func (d *Date) UnmarshalText(b []byte) error {
	p, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// Value stores the date as text, which Postgres casts to date.
func (d Date) Value() (driver.Value, error) { return d.String(), nil }

// Scan reads a Postgres date, whichever form the driver hands it in.
func (d *Date) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*d = Date{time.Date(v.Year(), v.Month(), v.Day(), 0, 0, 0, 0, time.UTC)}
		return nil
	case string:
		return d.UnmarshalText([]byte(v))
	case []byte:
		return d.UnmarshalText(v)
	default:
		return fmt.Errorf("model.Date: cannot scan %T", src)
	}
}
