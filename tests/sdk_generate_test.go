package tests

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// sdkModels is the Go SDK's generated code, and sdkModelsConfig the
// oapi-codegen configuration it is generated with.
const (
	sdkModels       = "../api/client/internal/wire/wire.gen.go"
	sdkModelsConfig = "../api/client/internal/wire/oapi-codegen.yaml"
)

// TestSDK_GeneratedCodeCurrent generates the SDK's models from the served
// /openapi-3.0.json (oapi-codegen reads OpenAPI 3.0) and fails unless the
// committed wire.gen.go is exactly that; -update rewrites it (go tool task
// sdk:generate). The SDK's own tests then hold its hand-written types to
// the new models.
func TestSDK_GeneratedCodeCurrent(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	doc := served(t, s, "/openapi-3.0.json", t.TempDir())
	cmd := exec.Command("go", "tool", "oapi-codegen", "-config", sdkModelsConfig, doc)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("oapi-codegen: %v\n%s", err, stderr.Bytes())
	}
	if *update {
		if err := os.WriteFile(sdkModels, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(sdkModels)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		abs, _ := filepath.Abs(sdkModels)
		t.Fatalf("%s is stale: the served document has changed since it was generated; run go tool task sdk:generate, then the SDK's tests (go tool task test:sdk)", abs)
	}
}
