package main

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/remy-crm/remy/model"
	"github.com/remy-crm/remy/repo"
)

const demoEmail = "demo@remy.local"

func (c *cli) devCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "dev",
		Short: "Run a ready-to-try API: database, demo account, key and sample contacts",
		Long: `dev is the one command for a newcomer. It uses $DATABASE_URL if set; otherwise
it starts a throwaway Postgres container with testcontainers (binaries built
with -tags dev, as 'task dev' does). It migrates, creates a demo account with a
key and a few sample contacts, prints a ready curl line and serves until
Ctrl-C, which also removes the container.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := c.cfg.logger(c.stderr)
			if c.cfg.DatabaseURL == "" {
				if !devContainers {
					return errors.New("DATABASE_URL is not set, and this remy was built without the dev build tag, so it cannot start a Postgres container: set DATABASE_URL, or run 'go tool task dev' (which builds with -tags dev)")
				}
				fmt.Fprintln(c.stdout, "DATABASE_URL is not set: starting a Postgres container…")
				dsn, stop, err := startDevPostgres(ctx)
				if err != nil {
					return err
				}
				defer stop()
				c.cfg.DatabaseURL = dsn
			}
			store, err := c.open(ctx)
			if err != nil {
				return err
			}
			defer store.DB.Close()
			if err := c.migrate(ctx, store, log); err != nil {
				return err
			}
			secret, err := seedDemo(ctx, store)
			if err != nil {
				return err
			}
			return c.serve(ctx, store, log, func(addr string) {
				base := "http://" + hostPort(addr)
				fmt.Fprintf(c.stdout, `
Remy is running at %[1]s  (Ctrl-C stops it)
  Demo account: %[2]s
  API key:      %[3]s
  Docs:         %[1]s/docs

Try it:
  curl -H "Authorization: Bearer %[3]s" %[1]s/api/v1/contacts

`, base, demoEmail, secret)
			})
		},
	}
}

// seedDemo makes the demo account (once) with three contacts, and a new key.
func seedDemo(ctx context.Context, store *repo.Store) (string, error) {
	acct, err := store.Accounts.ByEmail(ctx, demoEmail)
	if errors.Is(err, model.ErrNotFound) {
		acct, err = store.Accounts.Create(ctx, demoEmail, "Demo")
		if err != nil {
			return "", err
		}
		actor := model.Actor{AccountID: acct.ID, AuthMethod: model.AuthMethodCLI}
		text := func(s string) *string { return &s }
		for _, contact := range []*model.Contact{
			{GivenName: text("Ada"), FamilyName: text("Lovelace"), Company: text("Analytical Engines"),
				Emails: []model.LabeledValue{{Value: "ada@example.com", Label: "work"}}, Tags: []string{"math", "friends"}},
			{GivenName: text("Grace"), FamilyName: text("Hopper"), JobTitle: text("Rear Admiral"), Tags: []string{"navy"}},
			{Nickname: text("Linus"), Phones: []model.LabeledValue{{Value: "+358 9 1234567", Label: "mobile"}}},
		} {
			if _, err := store.Contacts.Create(ctx, actor, contact); err != nil {
				return "", err
			}
		}
	} else if err != nil {
		return "", err
	}
	secret, _, err := store.Keys.Create(ctx, acct.ID, "remy dev", nil)
	return secret, err
}

// hostPort turns a listen address such as [::]:8080 into localhost:8080.
func hostPort(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
