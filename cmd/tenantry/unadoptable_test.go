package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/platform/local/localtest"

	"github.com/chromedp/chromedp"
)

// TestTenantsListNotesUnadoptable: tenants list says on stderr which files
// it could not adopt and why; its JSON on stdout is the same array of
// tenants as ever, the good file among them.
func TestTenantsListNotesUnadoptable(t *testing.T) {
	c := newCLI(t)
	c.ok("tenants", "create", "store-1")
	localtest.PlantBadFiles(t, filepath.Join(c.data, "tenants"))

	code, out, errs := c.run("", "tenants", "list", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var ts []map[string]any
	if err := json.Unmarshal([]byte(out), &ts); err != nil {
		t.Fatalf("stdout is not the JSON array: %v\n%s", err, out)
	}
	var names []string
	for _, tn := range ts {
		names = append(names, fmt.Sprint(tn["name"]))
		for _, k := range []string{"name", "status", "url", "schema_version", "created_at"} {
			if _, ok := tn[k]; !ok {
				t.Errorf("tenant %v has no %q", tn["name"], k)
			}
		}
	}
	if strings.Join(names, ",") != "dropped,store-1" {
		t.Errorf("tenants %v, want dropped and store-1", names)
	}
	for f, reason := range localtest.BadFiles {
		if want := "tenantry: not adopted: " + f + ": " + reason + "\n"; !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if n := strings.Count(errs, "\n"); n != len(localtest.BadFiles) {
		t.Errorf("stderr has %d lines, want one per bad file:\n%s", n, errs)
	}

	// The table says the same on stderr; stdout is only the table.
	code, out, errs = c.run("", "tenants", "list")
	if code != 0 || strings.Contains(out, "not adopted") || strings.Count(errs, "not adopted") != len(localtest.BadFiles) {
		t.Errorf("tenants list: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
}

// TestBrowserUnadoptableNotice: the Tenants page shows which files in the
// tenants directory could not be adopted and why, above the table, at
// desktop and narrow widths.
func TestBrowserUnadoptableNotice(t *testing.T) {
	ctx := newBrowser(t)
	c := newCLI(t)
	c.env["TENANTRY_PASSWORD"] = testPassword
	c.ok("users", "add", adminEmail)
	c.ok("tenants", "create", "store-1")
	localtest.PlantBadFiles(t, filepath.Join(c.data, "tenants"))
	base := c.serve().URL
	login(ctx, t, base, adminEmail, testPassword)

	for _, width := range []int64{1366, 800} {
		step(ctx, t, fmt.Sprintf("open Tenants %d px wide", width),
			chromedp.EmulateViewport(width, 800),
			chromedp.Navigate(base+"/tenants"),
			chromedp.WaitVisible(tid("unadoptable-notice")),
		)
		files := texts(ctx, t, tid("unadoptable-file"))
		if len(files) != len(localtest.BadFiles) {
			t.Errorf("%d px: the notice lists %q", width, files)
		}
		for _, line := range files {
			f, _, _ := strings.Cut(line, " ")
			if reason := localtest.BadFiles[f]; reason == "" || !strings.Contains(line, reason) {
				t.Errorf("%d px: %q, want a file of %v with its reason", width, line, localtest.BadFiles)
			}
		}
		if n := text(ctx, t, tid("tenant-count")); !strings.HasPrefix(n, "2") {
			t.Errorf("%d px: tenant count %q, want 2 (store-1 and the dropped file)", width, n)
		}
		wide := get(ctx, t, "measure", chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= document.documentElement.clientWidth`))
		if !wide {
			t.Errorf("%d px: the page scrolls sideways", width)
		}
		shot(ctx, t, fmt.Sprintf("tenants-unadoptable-%d", width))
	}
}
