package sandbox

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// appendPHPString appends s as a JSON string the way Symfony's JsonResponse
// encodes it (json_encode with JSON_HEX_TAG|JSON_HEX_APOS|JSON_HEX_AMP|
// JSON_HEX_QUOT, escaped slashes and \uXXXX for every non-ASCII character).
func appendPHPString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			var esc string
			switch c {
			case '"':
				esc = `\u0022`
			case '\\':
				esc = `\\`
			case '/':
				esc = `\/`
			case '<':
				esc = `\u003C`
			case '>':
				esc = `\u003E`
			case '&':
				esc = `\u0026`
			case '\'':
				esc = `\u0027`
			case '\n':
				esc = `\n`
			case '\r':
				esc = `\r`
			case '\t':
				esc = `\t`
			case '\b':
				esc = `\b`
			case '\f':
				esc = `\f`
			default:
				if c < 0x20 {
					b = append(b, s[start:i]...)
					b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
					i++
					start = i
					continue
				}
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, esc...)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		b = append(b, s[start:i]...)
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			b = appendU(b, r1)
			b = appendU(b, r2)
		} else {
			b = appendU(b, r)
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[(r>>12)&0xf], hexDigits[(r>>8)&0xf], hexDigits[(r>>4)&0xf], hexDigits[r&0xf])
}

// appendPHPFloat appends a float like PHP 7.1+ json_encode (shortest
// round-trip form, ".0" kept for whole numbers).
func appendPHPFloat(b []byte, f float64) []byte {
	n := len(b)
	b = strconv.AppendFloat(b, f, 'g', -1, 64)
	for _, c := range b[n:] {
		if c == '.' || c == 'e' || c == 'n' || c == 'I' {
			return b
		}
	}
	return append(b, '.', '0')
}
