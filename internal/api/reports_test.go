package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/fleet"
)

// TestReports: the three reports answer, for the pages' parameters, the
// very JSON the pages answer, and refuse bad parameters the same way.
func TestReports(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	today := time.Now().UTC()
	for d := range 40 {
		day := today.AddDate(0, 0, -d).Format(fleet.DayLayout)
		for s := range 3 {
			if _, err := e.db.SQL().Exec(`INSERT INTO metrics(date, database_name, total_orders, total_revenue, active_carts, new_products)
				VALUES(?, ?, ?, ?, ?, ?)`, day, fmt.Sprintf("store-%d", s), d+s, (d+1)*(s+1)*1000, s, d%3); err != nil {
				t.Fatal(err)
			}
		}
	}
	u, err := e.db.AddUser(ctx, "viewer@example.com", "correct horse battery staple", fleet.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	session, err := e.db.CreateSession(ctx, u.ID, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	from, to := today.AddDate(0, 0, -9).Format(fleet.DayLayout), today.Format(fleet.DayLayout)
	for _, q := range []string{
		"top-stores", "top-stores?sort=name&per=2&page=2", "top-stores?month=" + today.AddDate(0, -1, 0).Format("2006-01") + "&sort=change",
		"daily-activity", "daily-activity?from=" + from + "&to=" + to,
		"average-revenue?from=" + from + "&to=" + to,
	} {
		r := e.call(e.viewer, "GET", "/api/v1/reports/"+q, nil).want(t, http.StatusOK)
		page := pageJSON(t, e, session, "/reports/"+q)
		if !bytes.Equal(bytes.TrimSpace(r.body), bytes.TrimSpace(page)) {
			t.Errorf("%s: the API answers\n%s\nthe page\n%s", q, r.body, page)
		}
	}
	for _, q := range []string{"top-stores?sort=price", "top-stores?month=2026-13", "daily-activity?from=2026-02-30&to=2026-03-01", "average-revenue?from=" + to + "&to=" + from} {
		p := e.call(e.viewer, "GET", "/api/v1/reports/"+q, nil).want(t, http.StatusBadRequest).problem(t)
		if p.Code != fleet.EINVALID {
			t.Errorf("%s: %+v", q, p)
		}
	}
}

// pageJSON reads a report page as JSON, logged in with a session.
func pageJSON(t *testing.T, e *env, session, path string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", e.ts.URL+path, nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Cookie", "tenantry_session="+session)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("page %s: %d %s", path, res.StatusCode, b)
	}
	return b
}

// TestDocumentRankBys: the document offers the ranking's orders, and its
// default, as the reports know them.
func TestDocumentRankBys(t *testing.T) {
	var doc struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	var path struct {
		Get struct {
			Parameters []struct {
				Name   string `json:"name"`
				Schema struct {
					Enum    []fleet.RankBy  `json:"enum"`
					Default json.RawMessage `json:"default"`
				} `json:"schema"`
			} `json:"parameters"`
		} `json:"get"`
	}
	if err := json.Unmarshal(api.Document, &doc); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(doc.Paths[api.Prefix+"/reports/top-stores"], &path); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range path.Get.Parameters {
		if p.Name == "sort" {
			found = true
			if !slices.Equal(p.Schema.Enum, fleet.RankBys) || string(p.Schema.Default) != `"`+string(fleet.DefaultRankBy)+`"` {
				t.Errorf("the document sorts by %v (default %s), the reports by %v (default %q)", p.Schema.Enum, p.Schema.Default, fleet.RankBys, fleet.DefaultRankBy)
			}
		}
	}
	if !found {
		t.Error("the document has no sort parameter for the top stores")
	}
}
