package console

import (
	"unicode"
	"unicode/utf8"
)

// Params returns the names of the named parameters in sql (:name, @name
// or $name), each once, in order of first appearance, without their
// prefix. Text in strings, quoted identifiers and comments is skipped, as
// SQLite's tokenizer skips it.
func Params(sql string) []string {
	var names []string
	seen := map[string]bool{}
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(sql, i, c)
		case c == '[':
			i = skipTo(sql, i+1, "]")
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			i = skipTo(sql, i+2, "\n")
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			i = skipTo(sql, i+2, "*/")
		case (c == ':' || c == '@' || c == '$') && i+1 < len(sql):
			j := i + 1
			for j < len(sql) {
				r, size := utf8.DecodeRuneInString(sql[j:])
				if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				j += size
			}
			if name := sql[i+1 : j]; name != "" && !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
			i = max(j, i+1)
		default:
			i++
		}
	}
	return names
}

// skipQuoted returns the index after the quoted text starting at i; a
// doubled quote is part of the text.
func skipQuoted(s string, i int, q byte) int {
	for j := i + 1; j < len(s); j++ {
		if s[j] == q {
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

// skipTo returns the index after the first end at or after i, or len(s).
func skipTo(s string, i int, end string) int {
	for j := i; j+len(end) <= len(s); j++ {
		if s[j:j+len(end)] == end {
			return j + len(end)
		}
	}
	return len(s)
}
