package web

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/paths"
	"github.com/tenantry/tenantry/views/pages"
)

// The API reference "/api", for every logged-in user: made from the
// OpenAPI document (api.Document) when asked for, so it says what the API
// serves and never drifts. Only the parts of OpenAPI 3.1 the document uses
// are read, into the small structs below.

func (s *Server) apiDocRoutes(g *echo.Group) {
	g.GET(paths.APIDoc, s.handleAPIDoc)
}

func (s *Server) handleAPIDoc(c echo.Context) error {
	vm, err := apiReference()
	if err != nil {
		return fmt.Errorf("read the OpenAPI document: %w", err)
	}
	vm.IsAdmin = userFrom(c).IsAdmin()
	vm.RateLimit = cmp.Or(s.APIRateLimit, api.DefaultRateLimit)
	return render(c, http.StatusOK, pages.APIDocPage(s.page(c, "API reference", "api"), vm))
}

// apiReference is the reference's view model, read once: the document is
// built into the binary. Callers get a copy and set only its own fields.
var apiReference = sync.OnceValues(func() (pages.APIDoc, error) { return apiDoc(api.Document) })

type oaDocument struct {
	Info struct {
		Title, Version, Summary, Description string
	} `json:"info"`
	Paths      json.RawMessage `json:"paths"`
	Components struct {
		Schemas         map[string]*oaSchema   `json:"schemas"`
		Responses       map[string]*oaResponse `json:"responses"`
		Parameters      map[string]*oaParam    `json:"parameters"`
		RequestBodies   map[string]*oaBody     `json:"requestBodies"`
		SecuritySchemes map[string]struct {
			Description string `json:"description"`
		} `json:"securitySchemes"`
	} `json:"components"`
}

type oaOperation struct {
	OperationID string                 `json:"operationId"`
	Summary     string                 `json:"summary"`
	Description string                 `json:"description"`
	Parameters  []*oaParam             `json:"parameters"`
	RequestBody *oaBody                `json:"requestBody"`
	Responses   map[string]*oaResponse `json:"responses"`
	Security    *[]json.RawMessage     `json:"security"` // present and empty: no token
}

type oaParam struct {
	Ref         string    `json:"$ref"`
	Name        string    `json:"name"`
	In          string    `json:"in"`
	Description string    `json:"description"`
	Required    bool      `json:"required"`
	Schema      *oaSchema `json:"schema"`
}

type oaMedia struct {
	Schema *oaSchema `json:"schema"`
}

type oaBody struct {
	Ref         string             `json:"$ref"`
	Description string             `json:"description"`
	Required    bool               `json:"required"`
	Content     map[string]oaMedia `json:"content"`
}

type oaResponse struct {
	Ref         string             `json:"$ref"`
	Description string             `json:"description"`
	Content     map[string]oaMedia `json:"content"`
}

type oaSchema struct {
	Ref         string          `json:"$ref"`
	Type        json.RawMessage `json:"type"` // a name, or a list of names in 3.1
	Format      string          `json:"format"`
	Description string          `json:"description"`
	Items       *oaSchema       `json:"items"`
	Properties  json.RawMessage `json:"properties"` // kept raw for its order
	Required    []string        `json:"required"`
	Enum        []any           `json:"enum"`
	Default     any             `json:"default"`
	Minimum     *float64        `json:"minimum"`
	Maximum     *float64        `json:"maximum"`
	MaxLength   *int            `json:"maxLength"`
	OneOf       []*oaSchema     `json:"oneOf"`
	AnyOf       []*oaSchema     `json:"anyOf"`
	AllOf       []*oaSchema     `json:"allOf"`
}

// methods is the order operations are shown in on a path.
var methods = []string{"get", "post", "put", "patch", "delete", "head", "options"}

// apiDoc reads an OpenAPI document into the reference's view model.
func apiDoc(doc []byte) (pages.APIDoc, error) {
	var d oaDocument
	if err := json.Unmarshal(doc, &d); err != nil {
		return pages.APIDoc{}, err
	}
	vm := pages.APIDoc{Title: d.Info.Title, Version: d.Info.Version, Summary: d.Info.Summary, Description: d.Info.Description,
		DocumentURL: api.Prefix + "/openapi.json", RateLimit: api.DefaultRateLimit}
	if b, ok := d.Components.SecuritySchemes["bearer"]; ok {
		vm.Auth = b.Description
	}
	vm.Errors = apiErrors(d.Components.Schemas["Problem"])
	paths, err := orderedKeys(d.Paths)
	if err != nil {
		return vm, err
	}
	for _, p := range paths {
		var item map[string]json.RawMessage
		if err := json.Unmarshal(p.raw, &item); err != nil {
			return vm, fmt.Errorf("path %s: %w", p.key, err)
		}
		var shared []*oaParam
		if raw, ok := item["parameters"]; ok {
			if err := json.Unmarshal(raw, &shared); err != nil {
				return vm, fmt.Errorf("path %s: %w", p.key, err)
			}
		}
		g := pages.APIPathGroup{Path: p.key}
		for _, m := range methods {
			raw, ok := item[m]
			if !ok {
				continue
			}
			var op oaOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				return vm, fmt.Errorf("%s %s: %w", strings.ToUpper(m), p.key, err)
			}
			g.Operations = append(g.Operations, d.operation(strings.ToUpper(m), p.key, &op, shared))
		}
		vm.Groups = append(vm.Groups, g)
	}
	names := make([]string, 0, len(d.Components.Schemas))
	for n := range d.Components.Schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sc := d.Components.Schemas[n]
		t, _ := typeOf(sc)
		vm.Schemas = append(vm.Schemas, pages.APISchema{Name: n, Description: sc.Description, Type: t, Fields: fields(sc)})
	}
	return vm, nil
}

func (d *oaDocument) operation(method, path string, op *oaOperation, shared []*oaParam) pages.APIOperation {
	o := pages.APIOperation{ID: op.OperationID, Method: method, Path: path, Summary: op.Summary, Description: op.Description,
		Public: op.Security != nil && len(*op.Security) == 0}
	// An operation's parameter overrides the path's of the same name and place.
	params := slices.Clone(shared)
	for _, p := range op.Parameters {
		p = d.param(p)
		params = slices.DeleteFunc(params, func(q *oaParam) bool { q = d.param(q); return q.Name == p.Name && q.In == p.In })
		params = append(params, p)
	}
	for _, p := range params {
		p = d.param(p)
		t, _ := typeOf(p.Schema)
		o.Params = append(o.Params, pages.APIParam{Name: p.Name, In: p.In, Type: t, Required: p.Required,
			Description: withNotes(p.Description, p.Schema)})
	}
	if b := op.RequestBody; b != nil {
		if name, ok := strings.CutPrefix(b.Ref, "#/components/requestBodies/"); ok && d.Components.RequestBodies[name] != nil {
			b = d.Components.RequestBodies[name]
		}
		body := &pages.APIBody{Required: b.Required, Types: mediaTypes(b.Content)}
		if sc := firstSchema(b.Content); sc != nil {
			body.Type, body.Schema = typeOf(sc)
			if body.Schema != "" {
				sc = d.Components.Schemas[body.Schema]
			}
			body.Fields = fields(sc)
		}
		o.Body = body
	}
	codes := make([]string, 0, len(op.Responses))
	for code := range op.Responses {
		codes = append(codes, code)
	}
	sort.Strings(codes) // "default" after the numbers
	for _, code := range codes {
		r := op.Responses[code]
		if name, ok := strings.CutPrefix(r.Ref, "#/components/responses/"); ok && d.Components.Responses[name] != nil {
			r = d.Components.Responses[name]
		}
		resp := pages.APIResponse{Status: code, Description: r.Description, Types: mediaTypes(r.Content)}
		if sc := firstSchema(r.Content); sc != nil {
			_, resp.Schema = typeOf(sc)
		}
		o.Responses = append(o.Responses, resp)
	}
	return o
}

// param resolves a parameter's $ref.
func (d *oaDocument) param(p *oaParam) *oaParam {
	if name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/"); ok && d.Components.Parameters[name] != nil {
		return d.Components.Parameters[name]
	}
	return p
}

func mediaTypes(content map[string]oaMedia) []string {
	out := make([]string, 0, len(content))
	for t := range content {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// firstSchema is the schema of the body's first media type (JSON first).
func firstSchema(content map[string]oaMedia) *oaSchema {
	if m, ok := content["application/json"]; ok && m.Schema != nil {
		return m.Schema
	}
	for _, t := range mediaTypes(content) {
		if sc := content[t].Schema; sc != nil {
			return sc
		}
	}
	return nil
}

// typeOf names a schema's type for a reader: "string (date-time)",
// "Tenant[]", "string | null"; ref is the named schema it is, if any.
func typeOf(sc *oaSchema) (t, ref string) {
	if sc == nil {
		return "", ""
	}
	if name, ok := strings.CutPrefix(sc.Ref, "#/components/schemas/"); ok {
		return name, name
	}
	for _, alts := range [][]*oaSchema{sc.OneOf, sc.AnyOf} {
		if len(alts) > 0 {
			var names []string
			for _, a := range alts {
				n, _ := typeOf(a)
				names = append(names, n)
			}
			return strings.Join(names, " | "), ""
		}
	}
	if len(sc.AllOf) == 1 {
		return typeOf(sc.AllOf[0])
	}
	var types []string
	if len(sc.Type) > 0 && sc.Type[0] == '[' {
		_ = json.Unmarshal(sc.Type, &types)
	} else if len(sc.Type) > 0 {
		var one string
		_ = json.Unmarshal(sc.Type, &one)
		types = []string{one}
	}
	for i, name := range types {
		switch {
		case name == "array" && sc.Items != nil:
			it, itRef := typeOf(sc.Items)
			types[i], ref = it+"[]", itRef
		case sc.Format != "" && name != "null":
			types[i] = name + " (" + sc.Format + ")"
		}
	}
	if len(types) == 0 {
		return "any", ""
	}
	return strings.Join(types, " | "), ref
}

// fields lists an object schema's properties in the document's order.
func fields(sc *oaSchema) []pages.APIField {
	if sc == nil || len(sc.Properties) == 0 {
		return nil
	}
	props, err := orderedKeys(sc.Properties)
	if err != nil {
		return nil
	}
	var out []pages.APIField
	for _, p := range props {
		var ps oaSchema
		if json.Unmarshal(p.raw, &ps) != nil {
			continue
		}
		t, ref := typeOf(&ps)
		out = append(out, pages.APIField{Name: p.key, Type: t, Ref: ref, Required: slices.Contains(sc.Required, p.key),
			Description: withNotes(ps.Description, &ps)})
	}
	return out
}

// withNotes adds a schema's constraints to its description: allowed
// values, bounds, default.
func withNotes(desc string, sc *oaSchema) string {
	if sc == nil {
		return desc
	}
	var notes []string
	if len(sc.Enum) > 0 {
		vals := make([]string, len(sc.Enum))
		for i, v := range sc.Enum {
			vals[i] = jsonText(v)
		}
		notes = append(notes, "One of "+strings.Join(vals, ", ")+".")
	}
	switch {
	case sc.Minimum != nil && sc.Maximum != nil:
		notes = append(notes, fmt.Sprintf("From %s to %s.", num(*sc.Minimum), num(*sc.Maximum)))
	case sc.Maximum != nil:
		notes = append(notes, "At most "+num(*sc.Maximum)+".")
	case sc.Minimum != nil:
		notes = append(notes, "At least "+num(*sc.Minimum)+".")
	}
	if sc.MaxLength != nil {
		notes = append(notes, fmt.Sprintf("At most %d characters.", *sc.MaxLength))
	}
	if sc.Default != nil {
		notes = append(notes, "Default "+jsonText(sc.Default)+".")
	}
	return strings.TrimSpace(desc + " " + strings.Join(notes, " "))
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// jsonText is a value as JSON in code quotes: `"ready"`, `100`.
func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return "`" + string(b) + "`"
}

// errorMeanings says what each problem code means and what to do; the
// codes themselves come from the document's Problem schema.
var errorMeanings = map[string][2]string{
	"invalid":      {"400, 413, 415, 422", "A parameter, header or body is wrong (422: the JSON body; 413: too large; 415: not JSON); detail says which. Fix the request: retrying it as is fails again."},
	"not_found":    {"404", "No such tenant, job or route."},
	"conflict":     {"409", "The name is taken, or the tenant is not in a state that allows the call."},
	"forbidden":    {"403", "A viewer's token on a call that changes things: use an admin token."},
	"unauthorized": {"401", "No token, or an unknown, revoked or expired one; detail says which. Ask an admin for a new token."},
	"unavailable":  {"503", "The platform or a database cannot be reached now: retry later."},
	"rate_limited": {"429", "The token made more calls this minute than it may: retry after Retry-After seconds."},
	"busy":         {"429", "Too much heavy work (SQL, exports) at once: retry after Retry-After seconds."},
	"internal":     {"500", "An unexpected failure, logged with the request id (X-Request-Id): retrying may help; if not, tell an admin."},
}

// apiErrors lists the problem codes the document declares.
func apiErrors(problem *oaSchema) []pages.APIError {
	var codes []string
	if problem != nil && len(problem.Properties) > 0 {
		var props map[string]oaSchema
		if json.Unmarshal(problem.Properties, &props) == nil {
			for _, v := range props["code"].Enum {
				if s, ok := v.(string); ok {
					codes = append(codes, s)
				}
			}
		}
	}
	if len(codes) == 0 {
		for c := range errorMeanings {
			codes = append(codes, c)
		}
		sort.Strings(codes)
	}
	out := make([]pages.APIError, 0, len(codes))
	for _, c := range codes {
		m, ok := errorMeanings[c]
		if !ok {
			m = [2]string{"", "See the problem's detail."}
		}
		out = append(out, pages.APIError{Code: c, Status: m[0], Meaning: m[1]})
	}
	return out
}

type keyed struct {
	key string
	raw json.RawMessage
}

// orderedKeys reads a JSON object's members in the order written, which
// encoding/json's maps lose: the document's authors ordered paths and
// fields for a reader.
func orderedKeys(obj json.RawMessage) ([]keyed, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var out []keyed
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		out = append(out, keyed{key: t.(string), raw: raw})
	}
	return out, nil
}
