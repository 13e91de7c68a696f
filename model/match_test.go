package model

import "testing"

func TestMatchKeys(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"(415) 555-0123", "+1 415 555 0123"},
		{"+44 20 7946 0958", "+442079460958"},
		{"555-0100", "5550100"},
	} {
		if ka, kb := PhoneKey(c.a, "US"), PhoneKey(c.b, "US"); ka != kb || ka == "" {
			t.Errorf("PhoneKey(%q)=%q, PhoneKey(%q)=%q: want equal", c.a, ka, c.b, kb)
		}
	}
	if PhoneKey("020 7946 0958", "GB") != "+442079460958" {
		t.Errorf("GB national number: %q", PhoneKey("020 7946 0958", "GB"))
	}
	if EmailKey(" Ann@Example.COM ") != "ann@example.com" {
		t.Error("EmailKey does not fold case")
	}
	g1, f1, g2, f2 := "José", "Núñez", " jose ", "NUNEZ"
	if NameKey(&g1, &f1) != NameKey(&g2, &f2) || NameKey(&g1, &f1) == "" {
		t.Errorf("NameKey: %q vs %q", NameKey(&g1, &f1), NameKey(&g2, &f2))
	}
	if NameKey(&g1, nil) != "" {
		t.Error("NameKey without a family name must be empty")
	}
}
