package api

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/danielgtaylor/huma/v2"
)

// shareComponents defines once, under components, what documentErrorExamples
// repeats on every operation, and references it: each response header
// declared identically more than once becomes components.headers[name], and
// each response declared identically by more than one operation becomes
// components.responses[name]. What the document says is unchanged; it is
// only said once (a fifth of the size), and generators that make one type
// per inline declaration (ogen) make one type instead of hundreds that do
// not convert into each other.
func shareComponents(oapi *huma.OpenAPI) {
	ops := operations(oapi)
	shareHeaders(oapi, ops)
	shareResponses(oapi, ops)
}

// operations lists the document's operations in path and method order, so
// that what is shared, and its name, does not depend on map order.
func operations(oapi *huma.OpenAPI) []*huma.Operation {
	var ops []*huma.Operation
	for _, p := range slices.Sorted(maps.Keys(oapi.Paths)) {
		item := oapi.Paths[p]
		for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Options, item.Head, item.Patch, item.Trace} {
			if op != nil {
				ops = append(ops, op)
			}
		}
	}
	return ops
}

// canonical is v's JSON, the identity of a declaration.
func canonical(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("openapi: " + err.Error()) // the document itself could not be served either
	}
	return string(b)
}

// sortedCodes is an operation's response codes in order.
func sortedCodes(op *huma.Operation) []string {
	codes := make([]string, 0, len(op.Responses))
	for c := range op.Responses {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	return codes
}

// shareHeaders moves, per header name, the declaration used most often
// (when used more than once) to components.headers and refers to it.
func shareHeaders(oapi *huma.OpenAPI, ops []*huma.Operation) {
	type decl struct {
		header *huma.Param
		uses   int
	}
	byName := map[string]map[string]*decl{} // name → canonical JSON → declaration
	for _, op := range ops {
		for _, resp := range op.Responses {
			for name, h := range resp.Headers {
				if h.Ref != "" {
					continue
				}
				key := canonical(h)
				if byName[name] == nil {
					byName[name] = map[string]*decl{}
				}
				if byName[name][key] == nil {
					byName[name][key] = &decl{header: h}
				}
				byName[name][key].uses++
			}
		}
	}
	shared := map[string]string{} // name → canonical JSON of the shared declaration
	for name, decls := range byName {
		var best string
		for key, d := range decls {
			if d.uses > 1 && (best == "" || d.uses > decls[best].uses || d.uses == decls[best].uses && key < best) {
				best = key
			}
		}
		if best == "" {
			continue
		}
		if oapi.Components.Headers == nil {
			oapi.Components.Headers = map[string]*huma.Header{}
		}
		oapi.Components.Headers[name] = decls[best].header
		shared[name] = best
	}
	for _, op := range ops {
		for _, resp := range op.Responses {
			for name, h := range resp.Headers {
				if key, ok := shared[name]; ok && h.Ref == "" && canonical(h) == key {
					resp.Headers[name] = &huma.Param{Ref: "#/components/headers/" + name}
				}
			}
		}
	}
}

// shareResponses moves each response that several operations declare
// identically to components.responses and refers to it. The name is the
// status's ("Unauthorized"); where a status has several shared forms (a 404
// per resource, a 403 per scope) the words that tell them apart follow it
// ("NotFoundContact", "ForbiddenContactsWrite"), but for the form most
// operations use when its words are those of every form (the 405 of the
// operations that take a key, which differs from the probes' in headers
// only). Forms that no such words tell apart stay inline.
func shareResponses(oapi *huma.OpenAPI, ops []*huma.Operation) {
	forms := responseForms(ops)
	if oapi.Components.Responses == nil {
		oapi.Components.Responses = map[string]*huma.Response{}
	}
	for code, all := range forms {
		for f, name := range formNames(code, all) {
			oapi.Components.Responses[name] = f.resp
			for _, op := range f.users {
				op.Responses[code] = &huma.Response{Ref: "#/components/responses/" + name}
			}
		}
	}
}

// responseForm is one distinct response of a status, with the operations
// that declare it and the words of its messages.
type responseForm struct {
	resp  *huma.Response
	users []*huma.Operation
	words []string
}

// responseForms groups the error responses of ops by status, one form per
// distinct declaration, in order of first use.
func responseForms(ops []*huma.Operation) map[string][]*responseForm {
	forms := map[string][]*responseForm{}
	byKey := map[string]*responseForm{}
	for _, op := range ops {
		for _, code := range sortedCodes(op) {
			resp := op.Responses[code]
			// A 400's messages name the operation's own path parameters
			// and body: it stays with the operation.
			if resp.Ref != "" || code[0] < '4' || code == "400" {
				continue
			}
			key := code + canonical(resp)
			f := byKey[key]
			if f == nil {
				f = &responseForm{resp: resp, words: responseWords(resp)}
				byKey[key] = f
				forms[code] = append(forms[code], f)
			}
			f.users = append(f.users, op)
		}
	}
	return forms
}

// formNames names the forms of status code that more than one operation
// declares (see shareResponses); a form it leaves out stays inline.
func formNames(code string, all []*responseForm) map[*responseForm]string {
	var multi []*responseForm
	for _, f := range all {
		if len(f.users) > 1 {
			multi = append(multi, f)
		}
	}
	status, _ := strconv.Atoi(code)
	base := identifier(http.StatusText(status))
	names := map[*responseForm]string{}
	switch len(multi) {
	case 0:
		return names
	case 1:
		names[multi[0]] = base
		return names
	}
	// Words every shared form has say nothing about which is which.
	common := map[string]int{}
	mostUsed := multi[0]
	for _, f := range multi {
		for _, w := range f.words {
			common[w]++
		}
		if len(f.users) > len(mostUsed.users) {
			mostUsed = f
		}
	}
	taken := map[string]int{}
	for _, f := range multi {
		var suffix []string
		for _, w := range f.words {
			if common[w] < len(multi) && !stopWords[w] && len(suffix) < 3 {
				suffix = append(suffix, identifier(w))
			}
		}
		if len(suffix) == 0 && f != mostUsed {
			continue
		}
		name := base + strings.Join(suffix, "")
		names[f] = name
		taken[name]++
	}
	for f, name := range names {
		if taken[name] > 1 {
			delete(names, f) // ambiguous: left inline
		}
	}
	return names
}

// stopWords are left out of response names.
var stopWords = map[string]bool{"a": true, "an": true, "the": true, "in": true, "is": true, "of": true, "be": true, "must": true,
	"not": true, "does": true, "have": true, "this": true, "to": true, "with": true}

// responseWords are the words of a response's example messages, then of the
// fields its validation examples name, in order and once each.
func responseWords(resp *huma.Response) []string {
	var texts []string
	for _, mt := range resp.Content {
		for _, n := range slices.Sorted(maps.Keys(mt.Examples)) {
			ex := mt.Examples[n]
			texts = append(texts, ex.Summary)
			if e, ok := ex.Value.(*Error); ok && e.Details != nil {
				fields := make([]string, 0, len(e.Details.FieldErrors))
				for f := range e.Details.FieldErrors {
					fields = append(fields, f)
				}
				sort.Strings(fields)
				texts = append(texts, fields...)
			}
		}
	}
	var words []string
	for _, t := range texts {
		for _, w := range strings.FieldsFunc(t, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			w = strings.ToLower(w[:1]) + w[1:]
			if !slices.Contains(words, w) {
				words = append(words, w)
			}
		}
	}
	return words
}

// identifier turns "Method Not Allowed" or "contacts" into
// "MethodNotAllowed" or "Contacts".
func identifier(s string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}
