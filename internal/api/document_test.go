package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/api/apitest"
)

// TestDocument: the document loads and validates as OpenAPI 3.1, has no
// key twice in an object (JSON parsers keep one silently, so a merge
// could hide an answer), and documents every route the API serves.
func TestDocument(t *testing.T) {
	if _, err := apitest.Router(); err != nil {
		t.Fatal(err)
	}
	if err := noDuplicateKeys(json.NewDecoder(bytes.NewReader(api.Document)), "$"); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(api.Document, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi %q, want 3.1", doc.OpenAPI)
	}
	e := newEnv(t, nil)
	for _, r := range e.api.Routes() {
		if r.Method == echoNotFound {
			continue
		}
		path := r.Path
		for _, p := range []string{"name", "id"} {
			path = strings.ReplaceAll(path, ":"+p, "{"+p+"}")
		}
		if _, ok := doc.Paths[path][strings.ToLower(r.Method)]; !ok {
			t.Errorf("%s %s is served but not documented", r.Method, path)
		}
	}
	r := e.call("", "GET", "/api/v1/openapi.json", nil).want(t, http.StatusOK)
	if !bytes.Equal(r.body, api.Document) {
		t.Error("the served document is not the one in the repository")
	}
}

func noDuplicateKeys(d *json.Decoder, at string) error {
	tok, err := d.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for d.More() {
			k, err := d.Token()
			if err != nil {
				return err
			}
			key := k.(string)
			if seen[key] {
				return &dupError{at + "." + key}
			}
			seen[key] = true
			if err := noDuplicateKeys(d, at+"."+key); err != nil {
				return err
			}
		}
		_, err = d.Token()
	case json.Delim('['):
		for i := 0; d.More(); i++ {
			if err := noDuplicateKeys(d, at+"[]"); err != nil {
				return err
			}
		}
		_, err = d.Token()
	}
	if err == io.EOF {
		return nil
	}
	return err
}

type dupError struct{ at string }

func (e *dupError) Error() string { return "the document has " + e.at + " twice" }
