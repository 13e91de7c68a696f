package api

import (
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/remy-crm/remy/model"
)

// requireScope is the security requirement of an /api/v1 operation: a bearer
// API key holding scope. The authenticate middleware reads it back from the
// operation, and /openapi.json states it (security: [{"bearer": [scope]}]).
func requireScope(scope model.Scope) []map[string][]string {
	return []map[string][]string{{"bearer": {string(scope)}}}
}

// public is the (empty) security requirement of the unauthenticated
// operations, stated so that the document says so explicitly.
var public = []map[string][]string{{}}

// missingScope returns the first scope op requires that scopes does not
// grant, or "" if the key may call op.
func missingScope(op *huma.Operation, scopes model.Scopes) model.Scope {
	for _, req := range op.Security {
		for _, name := range req["bearer"] {
			if s := model.Scope(name); !scopes.Allows(s) {
				return s
			}
		}
	}
	return ""
}

func forbiddenMessage(s model.Scope) string {
	return "This API key does not have the " + string(s) + " scope"
}

// forbidden answers a key that lacks the operation's scope. Like every
// request of a known key, it spends from the key's rate limit, so a
// restricted key cannot probe without bound.
func (s *server) forbidden(ctx huma.Context, key *model.APIKey, missing model.Scope) {
	if !s.limit(ctx, "key:"+key.ID.String()) {
		return
	}
	fail(ctx, newError(http.StatusForbidden, forbiddenMessage(missing)))
}

// scopeList names every scope for the API description, as code.
var scopeList = "`" + strings.Join(model.AllScopes.Names(), "`, `") + "`"
