package tests

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// importBenchCards is the size of the benchmark's file.
const importBenchCards = 10_000

// benchVCards is a file of n distinct cards, each with a name, two emails
// and two numbers (one labelled Apple's way), an address, a company and
// title, a birthday, tags, a website and a note: about 600 bytes a card.
func benchVCards(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:urn:uuid:00000000-0000-4000-8000-%012d\r\n"+
			"N:Family%d;Given%d;;;\r\nFN:Given%d Family%d\r\nORG:Company %d;Sales\r\nTITLE:Engineer\r\n"+
			"EMAIL;TYPE=INTERNET;TYPE=WORK:p%d@example.com\r\nitem1.EMAIL;TYPE=INTERNET:p%d@home.example\r\nitem1.X-ABLabel:_$!<Home>!$_\r\n"+
			"TEL;TYPE=CELL:+1 415 %03d %04d\r\nTEL;TYPE=WORK:+44 20 7946 %04d\r\n"+
			"ADR;TYPE=HOME:;;%d Main Street\\nApt %d;Springfield;IL;62704;USA\r\nBDAY:--%02d%02d\r\n"+
			"CATEGORIES:friends,batch%d\r\nURL:https://example.com/p%d\r\nNOTE:Met at event %d\\, talked about vCards.\r\n"+
			"X-REMY-INTRODUCED-BY:urn:uuid:00000000-0000-4000-8000-%012d\r\nEND:VCARD\r\n",
			i, i, i, i, i, i%500, i, i, i/10000, i%10000, i%10000, i, i%50, 1+i%12, 1+i%28, i%20, i, i, i/2)
	}
	return b.String()
}

// BenchmarkImportVCard imports a file of 10,000 cards into an empty account
// over HTTP, end to end: parsing, validation, the duplicate check, the bulk
// writes, and an Activity Log entry and feed event for every contact and
// note. It checks that the list's total, kept by the counter triggers,
// is exact.
//
//	go test ./tests -run '^$' -bench ImportVCard -benchtime 3x
func BenchmarkImportVCard(b *testing.B) {
	s := newServer(b)
	file := benchVCards(importBenchCards)
	var took []time.Duration
	for b.Loop() {
		b.StopTimer()
		a := s.newTenant(b)
		b.StartTimer()
		start := time.Now()
		rep := s.imported(b, a.Key, "text/vcard", file, "", http.StatusCreated)
		took = append(took, time.Since(start))
		b.StopTimer()
		if rep.Created != importBenchCards {
			b.Fatalf("created %d of %d", rep.Created, importBenchCards)
		}
		if n := s.footprint(b, a.Key, a.Account.ID); n[0] != importBenchCards || n[2] != 2*importBenchCards || n[3] != 2*importBenchCards {
			b.Fatalf("contacts, notes, entries, events = %v", n)
		}
		b.StartTimer()
	}
	fmt.Fprintf(os.Stdout, "import of %d cards (%.1f MB): %v\n", importBenchCards, float64(len(file))/1e6, took)
}

// BenchmarkExportVCard exports an account of 10,000 contacts, each with a
// note, as vCard 3.0 over HTTP.
//
//	go test ./tests -run '^$' -bench ExportVCard -benchtime 5x
func BenchmarkExportVCard(b *testing.B) {
	s := newServer(b)
	a := s.newTenant(b)
	s.imported(b, a.Key, "text/vcard", benchVCards(importBenchCards), "", http.StatusCreated)
	if _, err := s.Store.DB.ExecContext(context.Background(), "VACUUM (ANALYZE) contacts, notes"); err != nil {
		b.Fatal(err)
	}
	var took []time.Duration
	var size int
	for b.Loop() {
		start := time.Now()
		res := s.do(b, http.MethodGet, "/api/v1/export?format=vcard", a.Key, nil)
		took = append(took, time.Since(start))
		wantStatus(b, res, http.StatusOK)
		if n := strings.Count(string(res.Body), "BEGIN:VCARD\r\n"); n != importBenchCards {
			b.Fatalf("%d cards exported", n)
		}
		size = len(res.Body)
	}
	fmt.Fprintf(os.Stdout, "vCard export of %d contacts (%.1f MB): %v\n", importBenchCards, float64(size)/1e6, took)
}
