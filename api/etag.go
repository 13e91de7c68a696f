package api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/remy-crm/remy/model"
)

// etag is the strong entity tag of one version of a resource: a short hash of
// its id and version, quoted. The id is in the hash so that a tag of one
// resource never matches another's; the version changes on every write.
func etag(id uuid.UUID, version int64) string {
	sum := sha256.Sum256([]byte(id.String() + ":" + strconv.FormatInt(version, 10)))
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

// IfMatchParam makes a write conditional (PATCH, DELETE). Embed it in an
// operation's input and pass in.precondition() to the repository.
type IfMatchParam struct {
	IfMatch string `header:"If-Match" doc:"Apply the change only if the resource's current ETag is one of these (comma-separated), or * for any. Otherwise 412 and nothing changes." example:"\"3f2a9c0d1b7e4a55\""`
}

// IfNoneMatchParam makes a read conditional (GET). Embed it in an
// operation's input and call in.notModified(tag) before answering.
type IfNoneMatchParam struct {
	IfNoneMatch string `header:"If-None-Match" doc:"Answer 304 Not Modified, without a body, if the resource's current ETag is one of these (comma-separated), or * for any." example:"\"3f2a9c0d1b7e4a55\""`
}

// ETagHeader is the output header of every operation that returns one
// resource: embed it in the response struct.
type ETagHeader struct {
	ETag string `header:"ETag" doc:"Strong entity tag of the returned version of the resource; send it in If-Match to update or delete only that version, or in If-None-Match to revalidate."`
}

// matches reports whether list, an If-Match or If-None-Match field value,
// names tag. weak selects weak comparison (If-None-Match), where W/"x"
// matches "x"; If-Match compares strongly, so a weak tag never matches.
func matches(list, tag string, weak bool) bool {
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "*" {
			return true
		}
		if w, ok := strings.CutPrefix(item, "W/"); ok {
			if !weak {
				continue
			}
			item = w
		}
		if item == tag {
			return true
		}
	}
	return false
}

// precondition returns the check that the repository runs against the
// locked row, so the comparison and the write are one atomic step; nil when
// the request carries no If-Match. tagOf is the resource's etag.
func precondition[T any](p IfMatchParam, tagOf func(*T) string) model.Precondition[T] {
	if strings.TrimSpace(p.IfMatch) == "" {
		return nil
	}
	return func(current *T) error {
		if !matches(p.IfMatch, tagOf(current), false) {
			return model.ErrPreconditionFailed
		}
		return nil
	}
}

// notModified returns the 304 to answer when If-None-Match names tag, and
// nil otherwise. The 304 carries the ETag and no body.
func (p IfNoneMatchParam) notModified(tag string) error {
	if strings.TrimSpace(p.IfNoneMatch) == "" || !matches(p.IfNoneMatch, tag, true) {
		return nil
	}
	return newError(http.StatusNotModified, "").withHeader("ETag", tag)
}

// notModifiedResponse documents the 304 of a GET that embeds
// IfNoneMatchParam: set it as the operation's Responses.
func notModifiedResponse() map[string]*huma.Response {
	return map[string]*huma.Response{
		"304": {
			Description: "Not Modified: If-None-Match named the current ETag. No body.",
			Headers: map[string]*huma.Param{
				"ETag": {Description: "The current ETag.", Schema: &huma.Schema{Type: "string"}},
			},
		},
	}
}
