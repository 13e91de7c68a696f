package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// maxLimit is the largest page the API serves; All… iterators ask for it
// unless told otherwise, to make the fewest requests.
const maxLimit = 100

// Page is one page of a list: Data, and Total, how many items match
// before pagination.
type Page[T any] struct {
	Data  []T `json:"data"`
	Total int `json:"total"`
}

// ListParams pages through a list: Limit 1–100 (0: the server's default,
// 50), Offset from 0.
type ListParams struct {
	Limit, Offset int
}

func (p ListParams) query() url.Values {
	q := url.Values{}
	p.addTo(q)
	return q
}

func (p ListParams) addTo(q url.Values) {
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Offset > 0 {
		q.Set("offset", strconv.Itoa(p.Offset))
	}
}

// envelope is the {"data": …} of a single resource.
type envelope[T any] struct {
	Data T `json:"data"`
}

// one sends r and returns the resource in the answer's envelope, with the
// answer's headers (for the ETag).
func one[T any](ctx context.Context, c *Client, r *request) (*T, http.Header, error) {
	var out envelope[*T]
	h, err := c.call(ctx, r, &out)
	if err != nil {
		return nil, nil, err
	}
	if out.Data == nil {
		out.Data = new(T)
	}
	return out.Data, h, nil
}

// list sends a GET of path with q and returns the page.
func list[T any](ctx context.Context, c *Client, path string, q url.Values) (*Page[T], error) {
	r := newRequest(http.MethodGet, path, nil)
	r.query = q
	var p Page[T]
	if _, err := c.call(ctx, r, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// all walks every page from p.Offset, each of p.Limit items (0: the
// largest), and yields each item once: offset paging over a list that
// changes meanwhile can show an item on two pages, and key tells them
// apart. An error is yielded once and ends the walk.
func all[T any](ctx context.Context, p ListParams, key func(*T) string,
	page func(ctx context.Context, p ListParams) (*Page[T], error)) iter.Seq2[*T, error] {
	if p.Limit <= 0 {
		p.Limit = maxLimit
	}
	return func(yield func(*T, error) bool) {
		seen := map[string]bool{}
		for {
			pg, err := page(ctx, p)
			if err != nil {
				yield(nil, err)
				return
			}
			for i := range pg.Data {
				item := &pg.Data[i]
				if k := key(item); !seen[k] {
					seen[k] = true
					if !yield(item, nil) {
						return
					}
				}
			}
			p.Offset += len(pg.Data)
			if len(pg.Data) < p.Limit || p.Offset >= pg.Total {
				return
			}
		}
	}
}

// pathID escapes an id for a path segment.
func pathID(id string) string { return url.PathEscape(id) }
