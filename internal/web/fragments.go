package web

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/reports"
	"github.com/tenantry/tenantry/views/layouts"
)

// A page whose expensive part changes only when a collection does keeps
// that part rendered and compressed between requests: a fragment. A
// request renders the rest (the shell with the user's name and token, the
// live parts) and splices the fragment in, as HTML or as deflate blocks,
// so a cached part costs neither templating nor compression again.
//
// Splicing works because a deflate stream is a sequence of blocks, each
// decoded on its own terms: the parts rendered now are compressed and
// flushed to a byte boundary, the fragment's blocks (made the same way
// when it was cached) follow, and the last part closes the stream. The
// gzip trailer's CRC-32 and length cover the whole page.

// fragment is a rendered part of a page.
type fragment struct {
	html    []byte
	deflate []byte // html as deflate blocks, none final, ending on a byte boundary
}

// newFragment renders c and compresses it.
func newFragment(ctx context.Context, c templ.Component) (*fragment, error) {
	var html, z bytes.Buffer
	if err := c.Render(ctx, &html); err != nil {
		return nil, err
	}
	zw := flateWriter(&z)
	defer flatePool.Put(zw)
	if _, err := zw.Write(html.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Flush(); err != nil {
		return nil, err
	}
	return &fragment{html: html.Bytes(), deflate: z.Bytes()}, nil
}

// Render writes the fragment's HTML; on a page being rendered for
// splicing it leaves a mark where the fragment goes.
func (f *fragment) Render(ctx context.Context, w io.Writer) error {
	if sp, ok := ctx.Value(spliceKey{}).(*splice); ok {
		sp.frags = append(sp.frags, f)
		_, err := w.Write(fragmentMark)
		return err
	}
	_, err := w.Write(f.html)
	return err
}

// fragmentMark stands for a fragment in a page until it is spliced in.
// No rendered value can contain it: templ escapes "<" in every value.
var fragmentMark = []byte("<!--fragment " + rand.Text() + "-->")

type spliceKey struct{}

// splice collects the fragments of a page in the order they appear.
type splice struct{ frags []*fragment }

var flatePool sync.Pool

// flateWriter is a pooled deflate writer at the speed the gzip middleware
// uses, writing to w.
func flateWriter(w io.Writer) *flate.Writer {
	if zw, ok := flatePool.Get().(*flate.Writer); ok {
		zw.Reset(w)
		return zw
	}
	zw, _ := flate.NewWriter(w, flate.BestSpeed) // the level is valid
	return zw
}

// gzipHeader is a gzip member header: deflate, no name, no time, unknown OS.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// finalEmptyBlock ends a deflate stream: a final stored block of no bytes.
var finalEmptyBlock = []byte{0x01, 0x00, 0x00, 0xff, 0xff}

// spliceGzip writes parts[0], frags[0], parts[1], ... parts[n] as one
// gzip stream; len(parts) == len(frags)+1.
func spliceGzip(dst *bytes.Buffer, parts [][]byte, frags []*fragment) error {
	dst.Write(gzipHeader)
	var crc uint32
	var size int
	zw := flateWriter(dst)
	defer flatePool.Put(zw)
	for i, part := range parts {
		last := i == len(frags)
		switch {
		case len(part) == 0 && last:
			dst.Write(finalEmptyBlock)
		case len(part) > 0:
			zw.Reset(dst)
			if _, err := zw.Write(part); err != nil {
				return err
			}
			crc, size = crc32.Update(crc, crc32.IEEETable, part), size+len(part)
			var err error
			if last {
				err = zw.Close()
			} else {
				err = zw.Flush()
			}
			if err != nil {
				return err
			}
		}
		if last {
			break
		}
		f := frags[i]
		dst.Write(f.deflate)
		crc, size = crc32.Update(crc, crc32.IEEETable, f.html), size+len(f.html)
	}
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], crc)
	binary.LittleEndian.PutUint32(trailer[4:], uint32(size))
	dst.Write(trailer[:])
	return nil
}

// ownGzipKey marks a request whose page compresses itself: the gzip
// middleware skips it (see splicedRoute).
const ownGzipKey = "tenantry.own-gzip"

// render renders a component into a buffer first, so a template error
// never sends half a page. Fragments in it are spliced in, compressed
// if the gzip middleware left compression to the page.
func render(c echo.Context, status int, comp templ.Component) error {
	sp := &splice{}
	var buf bytes.Buffer
	if err := comp.Render(context.WithValue(c.Request().Context(), spliceKey{}, sp), &buf); err != nil {
		return err
	}
	own, _ := c.Get(ownGzipKey).(bool)
	if len(sp.frags) == 0 && !own {
		return c.HTMLBlob(status, buf.Bytes())
	}
	parts := bytes.Split(buf.Bytes(), fragmentMark)
	if len(parts) != len(sp.frags)+1 {
		return fmt.Errorf("page has %d fragment marks for %d fragments", len(parts)-1, len(sp.frags))
	}
	if own && strings.Contains(c.Request().Header.Get(echo.HeaderAcceptEncoding), "gzip") {
		var z bytes.Buffer
		if err := spliceGzip(&z, parts, sp.frags); err != nil {
			return err
		}
		h := c.Response().Header()
		h.Set(echo.HeaderContentEncoding, "gzip")
		h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
		return c.Blob(status, echo.MIMETextHTMLCharsetUTF8, z.Bytes())
	}
	var page bytes.Buffer
	for i, part := range parts {
		page.Write(part)
		if i < len(sp.frags) {
			page.Write(sp.frags[i].html)
		}
	}
	if own {
		c.Response().Header().Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	}
	return c.HTMLBlob(status, page.Bytes())
}

// shellKey is what a page's shell shows that differs between pages.
type shellKey struct{ title, nav, user, role, csrf, currency string }

// shellHalves is a shell rendered around a mark, cut in two.
type shellHalves struct{ head, tail *fragment }

const shellCacheMax = 1024

// renderShell renders body in the page shell. The shell's two halves are
// kept as fragments per user session and page, so a page that is all
// fragments costs no templating or compression at all; a page with a
// flash message is made whole.
func (s *Server) renderShell(c echo.Context, status int, p layouts.Page, body templ.Component) error {
	if p.Flash != nil {
		return render(c, status, layouts.Shell(p, body))
	}
	k := shellKey{p.Title, p.Nav, p.User, p.Role, p.CSRF, p.Currency}
	s.shellMu.Lock()
	h, ok := s.shells[k]
	s.shellMu.Unlock()
	if !ok {
		var page bytes.Buffer
		if err := layouts.Shell(p, templ.Raw(string(fragmentMark))).Render(c.Request().Context(), &page); err != nil {
			return err
		}
		head, tail, found := bytes.Cut(page.Bytes(), fragmentMark)
		if !found {
			return fmt.Errorf("page shell for %q lost its body", p.Title)
		}
		var err error
		if h.head, err = newFragment(c.Request().Context(), templ.Raw(string(head))); err != nil {
			return err
		}
		if h.tail, err = newFragment(c.Request().Context(), templ.Raw(string(tail))); err != nil {
			return err
		}
		s.shellMu.Lock()
		if s.shells == nil || len(s.shells) >= shellCacheMax {
			s.shells = make(map[shellKey]shellHalves)
		}
		s.shells[k] = h
		s.shellMu.Unlock()
	}
	return render(c, status, templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		if err := h.head.Render(ctx, w); err != nil {
			return err
		}
		if err := body.Render(ctx, w); err != nil {
			return err
		}
		return h.tail.Render(ctx, w)
	}))
}

// splicedRoute registers a GET route whose pages hold fragments: their
// HTML compresses itself (other answers, JSON, go through the gzip
// middleware).
func (s *Server) splicedRoute(g *echo.Group, path string, h echo.HandlerFunc) {
	g.GET(path, h)
	s.spliced[path] = true
}

// skipGzip tells the gzip middleware which requests compress themselves.
func (s *Server) skipGzip(c echo.Context) bool {
	if c.Request().Method == http.MethodGet && s.spliced[c.Path()] && !wantsJSON(c) {
		c.Set(ownGzipKey, true)
		return true
	}
	return false
}

// cachedFragment is the fragment under key for the metrics generation gen,
// rendered by build at most once per generation.
func cachedFragment(s *Server, ctx context.Context, gen int64, key string, build func() templ.Component) (templ.Component, error) {
	return reports.Cached(&s.fragments, ctx, gen, key, func(ctx context.Context) (templ.Component, error) {
		return newFragment(ctx, build())
	})
}
