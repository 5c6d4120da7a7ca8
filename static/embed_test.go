package static

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPathHasContentHash(t *testing.T) {
	b, err := fs.ReadFile(FS, "app.css")
	if err != nil {
		t.Fatal(err)
	}
	want := "/static/app.css?v=" + hashOf(b)
	if got := Path("app.css"); got != want {
		t.Fatalf("Path(app.css) = %q, want %q", got, want)
	}
	if len(hashOf(b)) != 10 {
		t.Fatalf("hash %q is not 10 characters", hashOf(b))
	}
	if got := Path("vendor/htmx.min.js"); !strings.HasPrefix(got, "/static/vendor/htmx.min.js?v=") {
		t.Fatalf("Path(vendor/htmx.min.js) = %q", got)
	}
}

func TestHandler(t *testing.T) {
	for _, dev := range []bool{false, true} {
		h := Handler(dev, ".")
		for _, tc := range []struct {
			url, ctype, cache string
			status            int
		}{
			{Path("app.css"), "text/css; charset=utf-8", "public, max-age=31536000, immutable", 200},
			{"/static/app.css", "text/css; charset=utf-8", "no-cache", 200},
			{"/static/app.css?v=0000000000", "text/css; charset=utf-8", "no-cache", 200},
			{strings.TrimPrefix(Path("app.js"), "/static"), "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", 200},
			{Path("vendor/htmx.min.js"), "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", 200},
			{Path("vendor/uPlot.iife.min.js"), "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", 200},
			{Path("vendor/uPlot.min.css"), "text/css; charset=utf-8", "public, max-age=31536000, immutable", 200},
			{Path("charts.js"), "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", 200},
			{"/static/vendor/uplot.LICENSE", "text/plain; charset=utf-8", "no-cache", 200},
			{"/static/embed.go", "", "", 404},
			{"/static/../go.mod", "", "", 404},
			{"/static/nope.css", "", "", 404},
		} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.url, nil))
			if rec.Code != tc.status {
				t.Errorf("dev=%v GET %s: status %d, want %d", dev, tc.url, rec.Code, tc.status)
				continue
			}
			if tc.status != 200 {
				continue
			}
			if got := rec.Header().Get("Content-Type"); got != tc.ctype {
				t.Errorf("dev=%v GET %s: Content-Type %q, want %q", dev, tc.url, got, tc.ctype)
			}
			if got := rec.Header().Get("Cache-Control"); got != tc.cache {
				t.Errorf("dev=%v GET %s: Cache-Control %q, want %q", dev, tc.url, got, tc.cache)
			}
			if rec.Body.Len() == 0 {
				t.Errorf("dev=%v GET %s: empty body", dev, tc.url)
			}
		}
	}
}

func TestHandlerServesCSS(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler(false, "").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Path("app.css"), nil))
	want, _ := fs.ReadFile(FS, "app.css")
	if rec.Body.String() != string(want) {
		t.Fatal("body is not the embedded app.css")
	}
}

// Every console page loads these; compressed, they must leave most of a
// 150 KB page budget to the page itself.
func TestShellAssetsStaySmall(t *testing.T) {
	total := 0
	for _, name := range []string{"app.css", "app.js", "charts.js", "vendor/htmx.min.js", "vendor/uPlot.iife.min.js", "vendor/uPlot.min.css"} {
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		total += buf.Len()
	}
	if total > 80<<10 {
		t.Fatalf("shell assets are %d bytes gzip-compressed, over 80 KB", total)
	}
}
