package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/remy-crm/remy/model"
)

func (s *server) registerTags() {
	huma.Register(s.api, huma.Operation{
		OperationID: "listTags",
		Method:      http.MethodGet,
		Path:        "/api/v1/tags",
		Summary:     "List tags",
		Description: "Returns a page of the tags the account's contacts carry, sorted by name, each with how many contacts carry it. Tags are set through the contact resource; this only lists them.",
		Tags:        []string{"Tags"},
		Security:    requireScope(model.ScopeContactsRead),
		Errors:      errs(http.StatusUnprocessableEntity),
	}, func(ctx context.Context, in *ListParams) (*listResponse[model.Tag], error) {
		page, err := s.store.Tags.List(ctx, accountID(ctx), in.model())
		if err != nil {
			return nil, problem(err, "Tag")
		}
		return listOut(page), nil
	})
}
