package fleet

import (
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Roles. Admins may do everything; viewers read.
const (
	RoleAdmin  = "admin"
	RoleViewer = "viewer"
)

// User is a person who can log in to the console.
type User struct {
	ID        int64
	Email     string
	Role      string
	Disabled  bool
	CreatedAt time.Time
}

// IsAdmin reports whether u may change things.
func (u *User) IsAdmin() bool { return u != nil && u.Role == RoleAdmin && !u.Disabled }

// NormalizeEmail validates an address and returns it lowercased.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s, "@") {
		return "", Errorf(EINVALID, "%q is not a valid e-mail address.", Truncate(s, 60))
	}
	return strings.ToLower(s), nil
}

// ValidateRole checks a role name.
func ValidateRole(role string) error {
	if role != RoleAdmin && role != RoleViewer {
		return Errorf(EINVALID, "Role %q is invalid: use admin or viewer.", Truncate(role, 20))
	}
	return nil
}

// Password rules follow NIST SP 800-63B (revision 4) for a password that
// is the only factor: at least 15 characters, counted as Unicode code
// points; no composition rules; every printable character and space
// allowed; refused when it is a known common password or built from the
// account's own name or the service's. The upper bound is bcrypt's: it
// reads 72 bytes and ignores the rest, so a longer password would accept
// any suffix. 72 bytes are 72 ASCII characters (NIST asks that at least
// 64 be allowed), fewer when they are not ASCII; the message says so.
const (
	MinPasswordLen   = 15
	MaxPasswordBytes = 72
)

// ValidatePassword checks a new password. avoid holds words the password
// must not be built from, such as the account's e-mail address.
func ValidatePassword(p string, avoid ...string) error {
	if !utf8.ValidString(p) {
		return Errorf(EINVALID, "Password is not valid UTF-8 text.")
	}
	if n := utf8.RuneCountInString(p); n < MinPasswordLen {
		return Errorf(EINVALID, "Password is too short (%d characters): use at least %d. A few unrelated words make a long password easy to remember.", n, MinPasswordLen)
	}
	if len(p) > MaxPasswordBytes {
		return Errorf(EINVALID, "Password is too long: at most %d bytes (%d ASCII characters, fewer with accents or other scripts), and this one has %d.", MaxPasswordBytes, MaxPasswordBytes, len(p))
	}
	for _, r := range p {
		if unicode.IsControl(r) {
			return Errorf(EINVALID, "Password must not contain control characters such as tabs or newlines.")
		}
	}
	folded := strings.ToLower(p)
	if commonPasswords[folded] || repetitive(folded) {
		return Errorf(EINVALID, "Password is too easy to guess: it is a common password or a repeated pattern. Choose another.")
	}
	words := []string{"tenantry"}
	for _, a := range avoid {
		a = strings.ToLower(a)
		words = append(words, a)
		if local, _, ok := strings.Cut(a, "@"); ok {
			words = append(words, local)
		}
	}
	for _, w := range words {
		if len(w) >= 4 && strings.Contains(folded, w) && utf8.RuneCountInString(strings.ReplaceAll(folded, w, "")) < MinPasswordLen {
			return Errorf(EINVALID, "Password is too easy to guess: it is mostly your e-mail address or the service's name. Choose another.")
		}
	}
	return nil
}

// repetitive reports a password of at most three distinct characters, or
// a run of consecutive ones ("123456789012345", "abcdefghijklmnop").
func repetitive(p string) bool {
	distinct := map[rune]bool{}
	seq := true
	var prev rune
	for i, r := range p {
		distinct[r] = true
		if i > 0 && r != prev+1 && !(prev == '9' && r == '0') {
			seq = false
		}
		prev = r
	}
	return len(distinct) <= 3 || seq
}

// commonPasswords are frequent passwords long enough to pass the length
// rule, from public lists of leaked passwords (lowercase).
var commonPasswords = map[string]bool{}

func init() {
	for _, p := range strings.Fields(`
		123456789012345 1234567890123456 12345678901234567890 qwertyuiopasdfg qwertyuiopasdfgh
		qwertyuiopasdfghjkl qwertyuiopasdfghjklzxcvbnm 1q2w3e4r5t6y7u8i 1q2w3e4r5t6y7u8i9o0p
		1qaz2wsx3edc4rfv 1qaz2wsx3edc4rfv5tgb zaq12wsxcde34rfv passwordpassword password1234567
		password12345678 password123456789 iloveyouiloveyou administrator123 administrator1234
		letmeinletmein123 welcome123456789 changemechangeme changeme12345678 qazwsxedcrfvtgbyhn
		trustno1trustno1 abc123abc123abc123 football12345678 baseball12345678 superman12345678
		correcthorsebatterystaple correct-horse-battery-staple correct_horse_battery_staple
		thequickbrownfoxjumpsoverthelazydog passw0rdpassw0rd p@ssw0rdp@ssw0rd p@ssword12345678`) {
		commonPasswords[p] = true
	}
}
