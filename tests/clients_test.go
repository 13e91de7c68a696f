package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/remy-crm/remy/api"
)

// Versions of the TypeScript tools, pinned so a new release cannot change
// what this test checks.
const (
	openapiTypescriptVersion = "7.13.0"
	typescriptVersion        = "5.9.3"
)

// served fetches one of the served OpenAPI documents into dir.
func served(t *testing.T, s *testServer, path, dir string) string {
	t.Helper()
	res := s.do(t, http.MethodGet, path, "", nil)
	wantStatus(t, res, http.StatusOK)
	file := filepath.Join(dir, strings.TrimPrefix(path, "/"))
	if err := os.WriteFile(file, res.Body, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// runIn runs a command in dir and fails the test, showing its output,
// unless it exits 0.
func runIn(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestGeneratedClient_Go generates a Go client from the served
// /openapi-3.0.json with oapi-codegen (the go.mod tool), compiles it and
// drives a real flow through it alone (tests/genclient). oapi-codegen reads
// OpenAPI 3.0, which Huma serves beside the 3.1 document.
func TestGeneratedClient_Go(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	// A second process over the same database with a one-request budget,
	// for the 429.
	limited := newServerOn(t, s.DSN, func(c *api.Config) {
		c.RateLimitRPS = 0.01
		c.RateLimitBurst = 1
	})
	tn := s.newTenant(t)

	dir := t.TempDir()
	doc := served(t, s, "/openapi-3.0.json", dir)
	generated := filepath.Join(dir, "client.gen.go")
	// nullable-type: a PATCH must be able to send an explicit null, and a
	// null in a response must stay distinguishable from a value.
	// disable-required-readonly-as-pointer: a required id is always there.
	config := `package: genclient
generate:
  models: true
  client: true
output-options:
  nullable-type: true
compatibility:
  disable-required-readonly-as-pointer: true
output: ` + generated + "\n"
	configFile := filepath.Join(dir, "oapi-codegen.yaml")
	if err := os.WriteFile(configFile, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	runIn(t, ".", nil, "go", "tool", "oapi-codegen", "-config", configFile, doc)

	pkg, err := filepath.Abs("genclient")
	if err != nil {
		t.Fatal(err)
	}
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{
		filepath.Join(pkg, "client.gen.go"): generated,
	}})
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	out := runIn(t, ".", []string{"REMY_URL=" + s.URL, "REMY_LIMITED_URL=" + limited.URL, "REMY_KEY=" + tn.Key},
		"go", "test", "-tags", "genclient", "-overlay", overlayFile, "-count=1", "-v", "./genclient")
	t.Log(out)
	for _, name := range []string{"TestFlow", "TestRateLimited"} {
		if !strings.Contains(out, "--- PASS: "+name) {
			t.Fatalf("%s did not pass", name)
		}
	}
}

// typescriptTools installs the pinned openapi-typescript and typescript once
// per machine (in the user cache directory, keyed by their versions) and
// returns the directory holding their node_modules.
func typescriptTools(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "remy-tests", "ts-"+openapiTypescriptVersion+"-"+typescriptVersion)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "tsc")); err == nil {
		return dir
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	// Installed beside, then renamed into place: a concurrent run sees
	// either nothing or a complete install.
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "installing-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	pkg := fmt.Sprintf(`{"private": true, "devDependencies": {"openapi-typescript": %q, "typescript": %q}}`,
		openapiTypescriptVersion, typescriptVersion)
	if err := os.WriteFile(filepath.Join(tmp, "package.json"), []byte(pkg), 0o644); err != nil {
		t.Fatal(err)
	}
	runIn(t, tmp, nil, "npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error")
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, "node_modules", ".bin", "tsc")); statErr != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tsClient type-checks the generated types where the bugs would
// show (a @ts-expect-error that is not needed is itself an error), then
// runs against the server.
const tsClient = `import type { components, paths } from "./remy";

declare const process: { env: Record<string, string | undefined>; exit(code: number): never };

type Contact = components["schemas"]["Contact"];
type Activity = components["schemas"]["Activity"];
type ContactList = paths["/api/v1/contacts"]["get"]["responses"][200]["content"]["application/json"];
type ActivityList = paths["/api/v1/activity"]["get"]["responses"][200]["content"]["application/json"];

// Never called: each @ts-expect-error must be needed, so tsc fails if the
// generated types forget that these fields can be null.
export function unchecked(c: Contact, a: Activity): void {
  // @ts-expect-error introducedById is null for a contact without an introducer
  c.introducedById.length;
  // @ts-expect-error changes is null on *.created and *.deleted entries
  Object.keys(a.changes);
}

function introducerIdLength(c: Contact): number {
  return c.introducedById === null ? 0 : c.introducedById.length;
}

function changedFields(a: Activity): string[] {
  return a.changes === null ? [] : Object.keys(a.changes);
}

async function get<T>(path: string): Promise<T> {
  const res = await fetch(process.env.REMY_URL + path, {
    headers: { Authorization: "Bearer " + process.env.REMY_KEY },
  });
  if (res.status !== 200) throw new Error(path + ": " + res.status);
  return (await res.json()) as T;
}

async function main(): Promise<void> {
  const contacts = await get<ContactList>("/api/v1/contacts");
  const lengths = contacts.data.map(introducerIdLength);
  const activity = await get<ActivityList>("/api/v1/activity");
  const changed = activity.data.map(changedFields);
  if (contacts.total !== 2 || lengths.filter((n) => n === 36).length !== 1 || changed.length !== 2) {
    throw new Error("unexpected: " + JSON.stringify({ lengths, changed }));
  }
  console.log("typed client OK", JSON.stringify({ lengths, changed }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
`

// TestGeneratedClient_TypeScript generates TypeScript types from the served
// /openapi.json with openapi-typescript, compiles a small client with
// tsc --strict and runs it with node. It needs npm (CI has it); without npm
// it says so and skips.
func TestGeneratedClient_TypeScript(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"npm", "node"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "NOTICE: %s not found: the TypeScript client check is skipped\n", tool)
			t.Skipf("%s not found: the TypeScript client check needs npm and node", tool)
		}
	}
	s := newServer(t)
	tn := s.newTenant(t)
	ada := s.createContact(t, tn.Key, map[string]any{"givenName": "Ada"})
	s.createContact(t, tn.Key, map[string]any{"givenName": "Grace", "introducedById": ada["id"]})

	dir := t.TempDir()
	doc := served(t, s, "/openapi.json", dir)
	if err := os.WriteFile(filepath.Join(dir, "client.ts"), []byte(tsClient), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(typescriptTools(t), "node_modules", ".bin")
	runIn(t, dir, nil, filepath.Join(bin, "openapi-typescript"), doc, "--output", "remy.ts")
	runIn(t, dir, nil, filepath.Join(bin, "tsc"), "--strict", "--noUnusedLocals", "--target", "es2022",
		"--module", "commonjs", "--lib", "es2022,dom", "--outDir", "out", "client.ts", "remy.ts")
	out := runIn(t, dir, []string{"REMY_URL=" + s.URL, "REMY_KEY=" + tn.Key}, "node", "out/client.js")
	if !strings.Contains(out, "typed client OK") {
		t.Fatalf("node client: %s", out)
	}
}
