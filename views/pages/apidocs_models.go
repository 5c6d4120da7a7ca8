package pages

import (
	"strings"

	"github.com/a-h/templ"
)

// APIDoc is the API reference "/api", made from the OpenAPI document at
// request time, so it never drifts from what the API serves.
type APIDoc struct {
	Title, Version, Summary, Description string
	DocumentURL                          string // the OpenAPI document
	Auth                                 string // the bearer scheme's description
	Errors                               []APIError
	RateLimit                            int // calls a token may make a minute, by default
	Groups                               []APIPathGroup
	Schemas                              []APISchema
	IsAdmin                              bool // may make tokens
}

// APIError is a problem code: problem documents' type is /api#error-<code>.
type APIError struct {
	Code, Status, Meaning string
}

// APIPathGroup is one path and its operations.
type APIPathGroup struct {
	Path       string
	Operations []APIOperation
}

// APIOperation is one method on a path.
type APIOperation struct {
	ID, Method, Path, Summary, Description string
	Public                                 bool // needs no token
	Params                                 []APIParam
	Body                                   *APIBody
	Responses                              []APIResponse
}

// APIParam is a path, query or header parameter.
type APIParam struct {
	Name, In, Type, Description string
	Required                    bool
}

// APIBody is a request body: its media types and schema.
type APIBody struct {
	Types    []string
	Schema   string // a named schema, "" if inline
	Type     string // the body's type when not a named schema
	Fields   []APIField
	Required bool
}

// APIField is a property of an object schema.
type APIField struct {
	Name, Type, Description string
	Ref                     string // the named schema Type refers to, if any
	Required                bool
}

// APIResponse is one status an operation answers with.
type APIResponse struct {
	Status, Description string
	Types               []string
	Schema              string // named schema of the body, "" if none
}

// APISchema is a named schema and its fields.
type APISchema struct {
	Name, Description, Type string
	Fields                  []APIField
}

// opAnchor is an operation's fragment id.
func opAnchor(o APIOperation) string {
	if o.ID != "" {
		return "op-" + o.ID
	}
	return "op-" + strings.ToLower(o.Method) + strings.NewReplacer("/", "-", "{", "", "}", "").Replace(o.Path)
}

func schemaAnchor(name string) string { return "schema-" + name }

func schemaLink(name string) templ.SafeURL { return templ.SafeURL("#" + schemaAnchor(name)) }

func errorAnchor(code string) string { return "error-" + code }

// methodClass colours a method tag.
func methodClass(m string) string { return "method method-" + strings.ToLower(m) }

// statusClass colours a response status by its class (2xx, 4xx, 5xx).
func statusClass(s string) string {
	if s == "" {
		return "http-status"
	}
	return "http-status http-status-" + s[:1] + "xx"
}

// textSpan is a piece of a description: plain text or `code`.
type textSpan struct {
	Text string
	Code bool
}

// codeSpans splits a description's Markdown code spans (`…`) from its
// text; the rest of Markdown is shown as written.
func codeSpans(s string) []textSpan {
	parts := strings.Split(s, "`")
	if len(parts)%2 == 0 { // an unmatched backtick: show it as text
		return []textSpan{{Text: s}}
	}
	out := make([]textSpan, 0, len(parts))
	for i, p := range parts {
		if p != "" {
			out = append(out, textSpan{Text: p, Code: i%2 == 1})
		}
	}
	return out
}
