package fleet

import (
	"strings"
	"testing"
)

// TestValidatePassword: NIST SP 800-63B's rules, in characters, and
// bcrypt's 72-byte bound.
func TestValidatePassword(t *testing.T) {
	for _, tc := range []struct {
		pw    string
		avoid []string
		want  string // "" when accepted
	}{
		{"fifteen chars!!", nil, ""},
		{"fourteen chars", nil, "too short"},
		{strings.Repeat("éàüöç", 3), nil, ""},                   // 15 characters, 30 bytes
		{strings.Repeat("日本", 7), nil, "too short"},             // 14 characters, 42 bytes
		{strings.Repeat("seventy2 ", 8), nil, ""},               // 72 bytes
		{strings.Repeat("seventy2 ", 8) + "y", nil, "too long"}, // 73
		{strings.Repeat("日本語", 8) + "x", nil, "too long"},       // 25 characters, 73 bytes
		{"Correct1Horse2Battery", nil, ""},                      // no composition rules, not on the list
		{"PasswordPassword", nil, "too easy"},                   // on the list, any case
		{"abcdefghijklmnop", nil, "too easy"},                   // a run
		{"ababababababababab", nil, "too easy"},                 // two characters
		{"jane.doe@example.com", []string{"Jane.Doe@example.com"}, "too easy"},
		{"jane.doe-2026-01!", []string{"jane.doe@example.com"}, "too easy"},
		{"jane.doe with a long phrase", []string{"jane.doe@example.com"}, ""},
		{"my tenantry console at work", nil, ""},
		{"tenantry-tenantry", nil, "too easy"},
		{"new\nline in the password", nil, "control"},
	} {
		err := ValidatePassword(tc.pw, tc.avoid...)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q refused: %v", tc.pw, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: %v, want %q", tc.pw, err, tc.want)
		}
	}
}
