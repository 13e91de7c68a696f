package tests

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// startDev runs `remy dev` over dsn on addr (REMY_ADDR) with extra env and
// returns its base URL and the demo key it prints.
func startDev(t *testing.T, dsn, addr string, env ...string) (base, key string) {
	t.Helper()
	cmd := exec.Command(remyBinary(t), "dev")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dsn, "REMY_ADDR="+addr, "REMY_PUBLIC_URL=", "REMY_LOG_LEVEL=warn")
	cmd.Env = append(cmd.Env, env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	running := regexp.MustCompile(`Remy is running at (\S+)`)
	apiKey := regexp.MustCompile(`API key:\s+(rmy_\S+)`)
	found := make(chan [2]string, 1)
	go func() {
		var b, k string
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := running.FindStringSubmatch(sc.Text()); m != nil {
				b = m[1]
			}
			if m := apiKey.FindStringSubmatch(sc.Text()); m != nil {
				k = m[1]
			}
			if b != "" && k != "" {
				found <- [2]string{b, k}
				b, k = "", ""
			}
		}
	}()
	select {
	case f := <-found:
		waitHealthy(t, f[0])
		return f[0], f[1]
	case <-time.After(60 * time.Second):
		t.Fatal("remy dev did not print its address and key")
	}
	return "", ""
}

// freeAddr is a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func documentServers(t *testing.T, base string) []string {
	t.Helper()
	var doc struct {
		Servers []struct{ URL string } `json:"servers"`
	}
	clientAt(base).document(t, &doc)
	var out []string
	for _, s := range doc.Servers {
		out = append(out, s.URL)
	}
	return out
}

// Without REMY_PUBLIC_URL, the document names the address the server
// really listens on, so /docs "Try it out" reaches it; with it, that URL.
func TestServe_ServersNameTheListenAddress(t *testing.T) {
	t.Parallel()
	dsn := newEmptyDatabase(t)
	if r := remy(t, dsn, "migrate"); r.code != 0 {
		t.Fatalf("migrate: %+v", r)
	}
	t.Run("serve, REMY_PUBLIC_URL unset", func(t *testing.T) {
		base := startServe(t, dsn, "REMY_PUBLIC_URL=")
		if got := documentServers(t, base); len(got) != 1 || got[0] != base {
			t.Fatalf("servers = %v, want [%s]", got, base)
		}
	})
	t.Run("serve, REMY_PUBLIC_URL set", func(t *testing.T) {
		base := startServe(t, dsn, "REMY_PUBLIC_URL=https://crm.example.com/")
		if got := documentServers(t, base); len(got) != 1 || got[0] != "https://crm.example.com" {
			t.Fatalf("servers = %v, want [https://crm.example.com]", got)
		}
	})
	t.Run("dev on REMY_ADDR", func(t *testing.T) {
		addr := freeAddr(t)
		base, _ := startDev(t, dsn, addr)
		if want := "http://" + addr; base != want {
			t.Fatalf("remy dev says it runs at %s, want %s", base, want)
		}
		if got := documentServers(t, base); len(got) != 1 || got[0] != base {
			t.Fatalf("servers = %v, want [%s]", got, base)
		}
	})
}

// findChromium is the path of a headless-capable Chromium, or "".
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// In a real browser, /docs of `remy dev` on an arbitrary address shows the
// Schemas section, and "Try it out" on listContacts, authorised with the
// demo key, gets a 200 from that very server.
func TestDocs_TryItOutInBrowser(t *testing.T) {
	t.Parallel()
	chromium := findChromium()
	if chromium == "" {
		t.Skip("NOTICE: headless Chromium is not installed (Debian: apt-get install chromium), so the /docs \"Try it out\" browser test did not run")
	}
	dsn := newEmptyDatabase(t)
	if r := remy(t, dsn, "migrate"); r.code != 0 {
		t.Fatalf("migrate: %+v", r)
	}
	addr := freeAddr(t)
	base, key := startDev(t, dsn, addr)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		// Only the server under test: no other host may serve anything.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	const op = `#operations-Contacts-listContacts`
	var status, requestURL, schemas, server string
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/docs"),
		chromedp.WaitVisible(op, chromedp.ByQuery),
		chromedp.Text(`section.models h4`, &schemas, chromedp.ByQuery),
		chromedp.Value(`.servers select`, &server, chromedp.ByQuery),
		// Authorize with the key remy dev printed.
		chromedp.Click(`.auth-wrapper .authorize`, chromedp.ByQuery),
		chromedp.WaitVisible(`.modal-ux input`, chromedp.ByQuery),
		chromedp.SendKeys(`.modal-ux input`, key, chromedp.ByQuery),
		chromedp.Click(`.modal-ux .auth-btn-wrapper .authorize`, chromedp.ByQuery),
		chromedp.Click(`.modal-ux .btn-done`, chromedp.ByQuery),
		// Try it out: listContacts.
		chromedp.Click(op+` .opblock-summary-control`, chromedp.ByQuery),
		chromedp.WaitVisible(op+` .try-out__btn`, chromedp.ByQuery),
		chromedp.Click(op+` .try-out__btn`, chromedp.ByQuery),
		chromedp.Click(op+` .execute`, chromedp.ByQuery),
		chromedp.WaitVisible(op+` .live-responses-table tr.response .response-col_status`, chromedp.ByQuery),
		chromedp.Text(op+` .live-responses-table tr.response .response-col_status`, &status, chromedp.ByQuery),
		chromedp.Text(op+` .request-url pre`, &requestURL, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("drive /docs in Chromium: %v", err)
	}
	if !strings.Contains(schemas, "Schemas") {
		t.Errorf("the Schemas section is not shown (got %q)", schemas)
	}
	if server != base {
		t.Errorf("servers selector = %q, want %s", server, base)
	}
	if code, _ := strconv.Atoi(strings.Fields(status + " 0")[0]); code != http.StatusOK {
		t.Errorf("Try it out: status %q, want 200 (request URL %q)", status, requestURL)
	}
	if !strings.HasPrefix(strings.TrimSpace(requestURL), base+"/api/v1/contacts") {
		t.Errorf("Try it out sent the request to %q, want %s/api/v1/contacts", requestURL, base)
	}
}
