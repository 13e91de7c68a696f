package tests

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/remy-crm/remy/model"
)

// Size of the benchmark account.
const benchContacts, benchNotes = 100_000, 100_000

// BenchmarkExport exports an account of 100,000 contacts and 100,000 notes
// over HTTP and reports rows/s and the peak RSS growth of the process (the
// server and the client reading the body share it). "naive-json" is the
// simplest code doing the same job: load both lists into slices and
// json.Marshal one document. Run it with
//
//	go test ./tests/ -run '^$' -bench BenchmarkExport -benchtime 3x
//
// Seeding takes a few seconds and happens only under -bench.
func BenchmarkExport(b *testing.B) {
	s := newServer(b)
	a := s.newTenant(b)
	start := time.Now()
	seedAccount(b, s, a, benchContacts, benchNotes, 0)
	b.Logf("seeded %d contacts and %d notes in %v", benchContacts, benchNotes, time.Since(start).Round(time.Millisecond))

	naive := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := naiveExport(r.Context(), s, a, w); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	b.Cleanup(naive.Close)

	for _, bc := range []struct{ name, url string }{
		{"json", s.URL + "/api/v1/export?format=json"},
		{"csv-zip", s.URL + "/api/v1/export?format=csv"},
		{"csv-contacts", s.URL + "/api/v1/export?format=csv&resource=contacts"},
		{"naive-json", naive.URL},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var bytes int64
			var peak int64
			for b.Loop() {
				b.StopTimer()
				base := resetPeakRSS(b)
				b.StartTimer()
				bytes = benchGet(b, bc.url, a.Key)
				b.StopTimer()
				peak = max(peak, peakRSS(b)-base)
				b.StartTimer()
			}
			rows := float64(benchContacts + benchNotes)
			if bc.name == "csv-contacts" {
				rows = benchContacts
			}
			b.ReportMetric(rows*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-growth-MB")
			b.ReportMetric(float64(bytes)/(1<<20), "body-MB")
		})
	}
}

func benchGet(b *testing.B, url, key string) int64 {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		b.Fatalf("export: status %d, %d bytes, %v", res.StatusCode, n, err)
	}
	return n
}

// naiveExport is the baseline: everything in memory, then one Marshal.
func naiveExport(ctx context.Context, s *testServer, a tenant, w http.ResponseWriter) error {
	var contacts []model.Contact
	var notes []model.Note
	if err := s.Store.DB.NewSelect().Model(&contacts).Where("account_id = ?", a.Account.ID).Order("created_at", "id").Scan(ctx); err != nil {
		return err
	}
	if err := s.Store.DB.NewSelect().Model(&notes).Where("account_id = ?", a.Account.ID).Order("created_at", "id").Scan(ctx); err != nil {
		return err
	}
	doc := map[string]any{"data": map[string]any{
		"exportedAt": time.Now().UTC(), "account": a.Account, "contacts": contacts, "notes": notes,
	}}
	body, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(body)
	return err
}

// resetPeakRSS returns memory to the OS, resets the kernel's high-water
// mark (VmHWM) to the current RSS and returns that RSS in bytes.
func resetPeakRSS(b *testing.B) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Fatalf("reset VmHWM: %v", err)
	}
	return procStatus(b, "VmRSS")
}

// peakRSS is the high-water mark of RSS since the last reset, in bytes.
func peakRSS(b *testing.B) int64 { return procStatus(b, "VmHWM") }

func procStatus(b *testing.B, field string) int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatalf("no %s in /proc/self/status", field)
	return 0
}
