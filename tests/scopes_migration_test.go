package tests

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/remy-crm/remy/migrations"
	"github.com/remy-crm/remy/model"
	"github.com/remy-crm/remy/repo"
)

// Keys made before 000004_api_key_scopes keep working: they get every scope.
func TestMigrate_ExistingKeysGetAllScopes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := repo.Open(ctx, newEmptyDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// The schema as it was before scopes: the migrations up to 000003.
	before := fstest.MapFS{}
	paths, err := filepath.Glob("../migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if name := filepath.Base(p); name < "000004" {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			before[name] = &fstest.MapFile{Data: b}
		}
	}
	if _, err := (migrations.Runner{FS: before}).Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	store := repo.NewStore(db)
	a, err := store.Accounts.Create(ctx, "old@example.com", "Old")
	if err != nil {
		t.Fatal(err)
	}
	secret := model.NewAPIKeySecret()
	if _, err := db.ExecContext(ctx, "INSERT INTO api_keys (account_id, prefix, hash) VALUES (?, ?, ?)",
		a.ID, secret[:model.KeyDisplayChars], model.HashKey(secret)); err != nil {
		t.Fatal(err)
	}

	if _, err := migrations.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	k, err := store.Keys.Authenticate(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if k.Scopes.String() != "all" {
		t.Fatalf("an existing key holds %s after the migration, want all", k.Scopes)
	}
	// The column admits only known scopes, and at least one.
	for _, bad := range []string{"{admin}", "{}"} {
		_, err := db.ExecContext(ctx, "UPDATE api_keys SET scopes = ? WHERE id = ?", bad, k.ID)
		if err == nil || !strings.Contains(err.Error(), "api_keys_scopes_check") {
			t.Errorf("scopes %s: %v, want the check constraint to refuse it", bad, err)
		}
	}
}
