package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/a-h/templ"
)

// TestSpliceGzip decodes spliced streams with the standard gzip reader,
// one member only: empty parts, fragments first and last, fragments past
// deflate's 32 KB window, text that repeats across the seams.
func TestSpliceGzip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	noise := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		return string(b)
	}
	repeated := strings.Repeat("<tr><td>2026-11-22</td><td>1,234</td></tr>\n", 2000)
	for _, tc := range []struct {
		name  string
		parts []string
		frags []string
	}{
		{"no fragment", []string{"<html>" + repeated + "</html>"}, nil},
		{"one", []string{"<head>", "</body>"}, []string{repeated}},
		{"empty parts", []string{"", "", ""}, []string{"a", repeated}},
		{"empty fragment", []string{"x", "y"}, []string{""}},
		{"large noise", []string{noise(70_000), noise(10)}, []string{noise(100_000)}},
		{"same text on both sides", []string{repeated, repeated, repeated}, []string{repeated, repeated}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var frags []*fragment
			var want strings.Builder
			parts := make([][]byte, len(tc.parts))
			for i, p := range tc.parts {
				parts[i] = []byte(p)
				want.WriteString(p)
				if i < len(tc.frags) {
					f, err := newFragment(context.Background(), templ.Raw(tc.frags[i]))
					if err != nil {
						t.Fatal(err)
					}
					frags = append(frags, f)
					want.WriteString(tc.frags[i])
				}
			}
			var z bytes.Buffer
			if err := spliceGzip(&z, parts, frags); err != nil {
				t.Fatal(err)
			}
			zr, err := gzip.NewReader(&z)
			if err != nil {
				t.Fatal(err)
			}
			zr.Multistream(false)
			got, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != want.String() {
				t.Fatalf("decoded %d bytes, want %d", len(got), want.Len())
			}
			if err := zr.Reset(&z); err != io.EOF {
				t.Fatalf("more after the gzip member: %v", err)
			}
		})
	}
}

// TestFragmentRendersWholeOutsideASplice: a fragment rendered on its own
// (in a page test, say) is its HTML.
func TestFragmentRendersWholeOutsideASplice(t *testing.T) {
	f, err := newFragment(context.Background(), templ.Raw("<p>hi</p>"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := f.Render(context.Background(), &b); err != nil || b.String() != "<p>hi</p>" {
		t.Fatalf("got %q, %v", b.String(), err)
	}
}
