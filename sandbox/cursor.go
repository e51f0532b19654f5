package sandbox

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

const offsetPrefix = "arrayconnection:"

// offsetCursor encodes the offset cursor of item i (overblog Paginator).
func offsetCursor(i int) string {
	return base64.StdEncoding.EncodeToString([]byte(offsetPrefix + strconv.Itoa(i)))
}

// parseOffsetAfter returns the first index after an offset cursor; an
// unparseable cursor silently restarts at 0 like the real server.
func parseOffsetAfter(c string) int {
	raw, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0
	}
	s, ok := strings.CutPrefix(string(raw), offsetPrefix)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n + 1
}

// keyset is an Elasticsearch search_after position: sort values then the id.
type keyset struct {
	vals []int64
	id   string
}

// encode renders the cursor as base64 of a PHP-serialized array.
func (k keyset) encode() string {
	b := make([]byte, 0, 96)
	b = append(b, "a:"...)
	b = strconv.AppendInt(b, int64(len(k.vals)+1), 10)
	b = append(b, ":{"...)
	for i, v := range k.vals {
		b = append(b, "i:"...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ";i:"...)
		b = strconv.AppendInt(b, v, 10)
		b = append(b, ';')
	}
	b = append(b, "i:"...)
	b = strconv.AppendInt(b, int64(len(k.vals)), 10)
	b = append(b, ";s:"...)
	b = strconv.AppendInt(b, int64(len(k.id)), 10)
	b = append(b, ":\""...)
	b = append(b, k.id...)
	b = append(b, "\";}"...)
	return base64.StdEncoding.EncodeToString(b)
}

var errBadCursor = errors.New("cannot unserialize cursor")

// parseKeyset decodes a keyset cursor with nvals sort values. Anything else
// (an offset cursor, garbage) is an error: the real server's unserialize
// fails and answers an internal error.
func parseKeyset(c string, nvals int) (keyset, error) {
	raw, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return keyset{}, errBadCursor
	}
	vals, err := phpUnserializeList(string(raw))
	if err != nil || len(vals) != nvals+1 {
		return keyset{}, errBadCursor
	}
	k := keyset{}
	for _, v := range vals[:nvals] {
		switch x := v.(type) {
		case int64:
			k.vals = append(k.vals, x)
		case nil:
			k.vals = append(k.vals, 0)
		default:
			return keyset{}, errBadCursor
		}
	}
	switch x := vals[nvals].(type) {
	case string:
		k.id = x
	case int64:
		k.id = strconv.FormatInt(x, 10)
	default:
		return keyset{}, errBadCursor
	}
	return k, nil
}

// phpUnserializeList parses a PHP-serialized list of ints, strings and nulls
// (a:N:{i:0;<v>;i:1;<v>;…}).
func phpUnserializeList(s string) ([]any, error) {
	rest, ok := strings.CutPrefix(s, "a:")
	if !ok {
		return nil, errBadCursor
	}
	colon := strings.IndexByte(rest, ':')
	if colon < 0 {
		return nil, errBadCursor
	}
	n, err := strconv.Atoi(rest[:colon])
	if err != nil || n < 0 || n > 16 {
		return nil, errBadCursor
	}
	rest, ok = strings.CutPrefix(rest[colon+1:], "{")
	if !ok {
		return nil, errBadCursor
	}
	out := make([]any, 0, n)
	for i := 0; i < n; i++ {
		var key any
		key, rest, err = phpValue(rest)
		if err != nil || key != int64(i) {
			return nil, errBadCursor
		}
		var v any
		v, rest, err = phpValue(rest)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if rest != "}" {
		return nil, errBadCursor
	}
	return out, nil
}

func phpValue(s string) (any, string, error) {
	switch {
	case strings.HasPrefix(s, "N;"):
		return nil, s[2:], nil
	case strings.HasPrefix(s, "i:"):
		end := strings.IndexByte(s, ';')
		if end < 0 {
			return nil, "", errBadCursor
		}
		v, err := strconv.ParseInt(s[2:end], 10, 64)
		if err != nil {
			return nil, "", errBadCursor
		}
		return v, s[end+1:], nil
	case strings.HasPrefix(s, "s:"):
		colon := strings.IndexByte(s[2:], ':')
		if colon < 0 {
			return nil, "", errBadCursor
		}
		l, err := strconv.Atoi(s[2 : 2+colon])
		body := s[2+colon+1:]
		if err != nil || l < 0 || len(body) < l+3 || body[0] != '"' || body[l+1] != '"' || body[l+2] != ';' {
			return nil, "", errBadCursor
		}
		return body[1 : l+1], body[l+3:], nil
	}
	return nil, "", errBadCursor
}
