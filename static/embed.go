// Package static holds the console's CSS, JavaScript and vendored htmx and
// uPlot, embedded in the binary and served under content-hashed URLs so
// browsers can cache them forever and still pick up a new release at once.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
	"time"
)

//go:embed app.css app.js charts.js sql.js favicon.svg vendor/htmx.min.js vendor/htmx.LICENSE vendor/uPlot.iife.min.js vendor/uPlot.min.css vendor/uplot.LICENSE
var embedded embed.FS

// FS is the embedded static files, named as in Path ("app.css",
// "vendor/htmx.min.js").
var FS fs.FS = embedded

// hashes maps a file name to the first 10 hex characters of the sha256 of
// its embedded contents.
var hashes = mustHashes(embedded)

// started stands in for the files' modification time, which embed does not
// keep, so conditional requests work.
var started = time.Now()

func mustHashes(fsys fs.FS) map[string]string {
	m := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		m[name] = hashOf(b)
		return nil
	})
	if err != nil {
		panic("static: hashing embedded files: " + err.Error())
	}
	return m
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:10]
}

// Path returns the URL of a static file with its content hash, e.g.
// "/static/app.css?v=3f2a9c01de". An unknown name gets no hash.
func Path(name string) string {
	name = strings.TrimPrefix(name, "/")
	if h, ok := hashes[name]; ok {
		return "/static/" + name + "?v=" + h
	}
	return "/static/" + name
}

// contentTypes is explicit so the answer does not depend on the host's
// /etc/mime.types.
var contentTypes = map[string]string{
	".css":     "text/css; charset=utf-8",
	".js":      "text/javascript; charset=utf-8",
	".svg":     "image/svg+xml",
	".png":     "image/png",
	".ico":     "image/x-icon",
	".LICENSE": "text/plain; charset=utf-8",
}

// Handler serves the static files. It may be mounted with or without the
// "/static/" prefix stripped from the request path. With dev it reads the
// files from dir on disk at every request (edit CSS without rebuilding);
// otherwise it serves the embedded files.
//
// A request whose "v" query parameter equals the file's current content
// hash is cached for a year as immutable; anything else gets "no-cache"
// (revalidated through the ETag), so a stale or missing hash never pins an
// old file in a browser.
func Handler(dev bool, dir string) http.Handler {
	fsys := FS
	if dev {
		fsys = os.DirFS(dir)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/")
		name = strings.TrimPrefix(name, "static/")
		ctype, ok := contentTypes[path.Ext(name)]
		if !ok || !fs.ValidPath(name) {
			http.NotFound(w, r)
			return
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		hash := hashes[name]
		if dev {
			hash = hashOf(b)
		}
		h := w.Header()
		h.Set("Content-Type", ctype)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", `"`+hash+`"`)
		if v := r.URL.Query().Get("v"); v != "" && v == hash {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		http.ServeContent(w, r, name, started, strings.NewReader(string(b)))
	})
}
