package client

import (
	"context"
	"iter"
)

// Tag is a tag of the account and how many contacts carry it. Tags are
// set through contacts (ContactInput.Tags, Patch{"tags": …}).
type Tag struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// TagsService lists the account's tags: Client.Tags.
type TagsService struct{ c *Client }

// List returns one page of tags, by name.
func (s *TagsService) List(ctx context.Context, p ListParams) (*Page[Tag], error) {
	return list[Tag](ctx, s.c, "/api/v1/tags", p.query())
}

// All yields every tag, each once; see ContactsService.All.
func (s *TagsService) All(ctx context.Context, p ListParams) iter.Seq2[*Tag, error] {
	return all(ctx, p, func(t *Tag) string { return t.Name }, s.List)
}
