package model

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"
)

// DefaultPhoneRegion is the region assumed for a phone number written
// without a country code, when REMY_PHONE_REGION does not say otherwise.
const DefaultPhoneRegion = "US"

// ParsePhoneRegion checks a region code for PhoneKey (REMY_PHONE_REGION):
// one phonenumbers knows, ISO 3166-1 alpha-2 ("US", "GB"), in any case.
func ParsePhoneRegion(s string) (string, error) {
	r := strings.ToUpper(strings.TrimSpace(s))
	if !phonenumbers.GetSupportedRegions()[r] {
		return "", fmt.Errorf("%q is not a region phone numbers are known for: want an ISO 3166-1 alpha-2 code such as US, GB or DE", s)
	}
	return r, nil
}

// Keys that decide when two contacts are the same person: the import's
// duplicate check, GET /contacts/duplicates and merge's list union all
// compare through these, so they can never disagree.

// EmailKey is an email address as compared for duplicates: trimmed and
// case-folded (the local part is case-sensitive by RFC, but no provider
// a contact book meets treats it so).
func EmailKey(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// PhoneKey is a phone number in E.164 (+14155550123), reading a number
// without a country code as one of region. A value that does not parse as
// a possible number keys as its digits alone, so "555-0100" and "5550100"
// still match each other; "" when it has no digits at all.
func PhoneKey(phone, region string) string {
	if region == "" {
		region = DefaultPhoneRegion
	}
	if n, err := phonenumbers.Parse(phone, region); err == nil && phonenumbers.IsPossibleNumber(n) {
		return phonenumbers.Format(n, phonenumbers.E164)
	}
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, phone)
	return digits
}

// NameKey is "given family" compared case- and accent-insensitively
// ("José Núñez" = "jose nunez"); "" unless both parts are present.
func NameKey(given, family *string) string {
	if given == nil || family == nil {
		return ""
	}
	g, f := foldName(*given), foldName(*family)
	if g == "" || f == "" {
		return ""
	}
	return g + " " + f
}

// foldName lower-cases, strips combining marks after NFD decomposition and
// collapses runs of white space.
func foldName(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
