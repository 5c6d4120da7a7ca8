package components

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Money formats an amount in minor units (cents) in a currency: 123456 in
// "USD" is "$1,234.56", -100 is "-$1.00", in "CHF" "CHF 1,234.56". ""
// means USD.
//
// Every currency gets two decimals, JPY included: the stores keep amounts in
// hundredths whatever their currency, so dividing by 100 is always right,
// and dropping the decimals would hide part of the data.
func Money(cents int64, currency string) string {
	sign := ""
	// Through uint64 so the smallest int64 has an absolute value too.
	abs := uint64(cents)
	if cents < 0 {
		sign, abs = "-", uint64(-(cents+1))+1
	}
	return sign + CurrencyPrefix(currency) + Int(int64(abs/100)) + fmt.Sprintf(".%02d", abs%100)
}

// MoneyF is Money for a fractional amount of minor units, such as an
// average: it rounds to whole minor units (two decimals of the major unit),
// halves away from zero. NaN and infinities are "—".
func MoneyF(cents float64, currency string) string {
	r := math.Round(cents)
	if math.IsNaN(r) || r >= math.MaxInt64 || r <= math.MinInt64 {
		return "—"
	}
	return Money(int64(r), currency)
}

// CurrencyPrefix is what goes before an amount: "$" for USD (and ""), "€",
// "£", "¥", and the code and a space for any other currency ("CHF ").
func CurrencyPrefix(currency string) string {
	switch strings.ToUpper(currency) {
	case "", "USD":
		return "$"
	case "EUR":
		return "€"
	case "GBP":
		return "£"
	case "JPY":
		return "¥"
	}
	return strings.ToUpper(currency) + " "
}

// Percent formats a relative change with its sign, one decimal and a real
// minus sign: "+12.3%", "−4.0%"; anything that rounds to zero is "0.0%".
func Percent(pct float64) string {
	if math.IsNaN(pct) {
		return "—"
	}
	if math.IsInf(pct, 0) {
		return changeSign(pct) + "∞%"
	}
	s := strconv.FormatFloat(math.Abs(pct), 'f', 1, 64)
	if s == "0.0" {
		return "0.0%"
	}
	whole, frac, _ := strings.Cut(s, ".")
	return changeSign(pct) + groupDigits(whole) + "." + frac + "%"
}

func changeSign(pct float64) string {
	if pct < 0 {
		return "−"
	}
	return "+"
}

// changeClass colours a change: up green, down red, flat grey. It goes by
// the rounded text so "0.0%" is never coloured.
func changeClass(pct float64, ok bool) string {
	switch {
	case !ok || Percent(pct) == "0.0%" || math.IsNaN(pct):
		return "change change-flat"
	case pct > 0:
		return "change change-up"
	}
	return "change change-down"
}

// changeText is Percent, or "—" when there is nothing to compare against.
func changeText(pct float64, ok bool) string {
	if !ok {
		return "—"
	}
	return Percent(pct)
}

// groupDigits puts thousands separators into a string of digits.
func groupDigits(s string) string {
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	head := len(s) % 3
	if head > 0 {
		b.WriteString(s[:head])
	}
	for i := head; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}
