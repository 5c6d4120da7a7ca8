package web

import (
	"net/url"
	"strings"
	"testing"
)

// browserResolve reads a redirect target as a browser's URL parser does
// (the WHATWG URL standard) and resolves it against the console's own
// address: leading and trailing C0 controls and spaces are trimmed, ASCII
// tab and newlines are removed anywhere, and a backslash is a slash.
func browserResolve(base *url.URL, ref string) (*url.URL, error) {
	ref = strings.TrimFunc(ref, func(r rune) bool { return r <= ' ' })
	ref = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(ref)
	ref = strings.ReplaceAll(ref, `\`, "/")
	u, err := url.Parse(ref)
	if err != nil {
		return nil, err
	}
	return base.ResolveReference(u), nil
}

// FuzzSafeNext: whatever ?next= holds, the login either keeps it exactly
// or sends the user to "/", and a kept value, read as a browser reads it,
// stays on the console's host.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/tenants?x=1#y", "//evil.example", "/\t/evil.example", "/\\evil.example",
		"\\/evil.example", "https://evil.example", "/%09/evil.example", " //evil.example", "/\n/evil", "/\x00/evil",
		"javascript:alert(1)", "/a/../..//evil", "/.//evil", "/?next=//evil", "///evil", "/\u3000/evil", "/@evil.example"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://console.example/login")
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got != "/" && got != next {
			t.Fatalf("safeNext(%q) = %q: neither the value nor /", next, got)
		}
		u, err := browserResolve(base, got)
		if err != nil {
			t.Fatalf("safeNext(%q) = %q, which a browser cannot parse: %v", next, got, err)
		}
		if u.Scheme != "https" || u.Host != "console.example" || u.User != nil {
			t.Fatalf("safeNext(%q) = %q leads a browser to %s", next, got, u)
		}
	})
}
