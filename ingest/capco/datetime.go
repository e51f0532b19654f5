package capco

import (
	"encoding/json"
	"fmt"
	"time"
)

// DateTimeLayout is the layout of the Cap Collectif DateTime scalar: PHP
// "Y-m-d H:i:s", wall-clock time of the platform's timezone, no offset.
const DateTimeLayout = "2006-01-02 15:04:05"

// DateTime is a Cap Collectif DateTime value kept exactly as delivered (the
// raw wall-clock string) so that payloads are stored unchanged. The layout is
// validated when decoding; use In to get an instant in the source's timezone.
type DateTime string

// UnmarshalJSON accepts a JSON string in DateTimeLayout.
func (d *DateTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("DateTime: want a string, got %.40s: %w", b, err)
	}
	if _, err := time.Parse(DateTimeLayout, s); err != nil {
		return fmt.Errorf("DateTime: %q is not %q: %w", s, DateTimeLayout, err)
	}
	*d = DateTime(s)
	return nil
}

// MarshalJSON writes the value back exactly as delivered.
func (d DateTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(string(d))
}

// In parses the wall-clock value in loc (the source's configured timezone).
// During a DST fall-back hour the later instant (standard time) is returned:
// Go's rule, and the one of DuckDB's ICU conversion in transform.
func (d DateTime) In(loc *time.Location) (time.Time, error) {
	if loc == nil {
		return time.Time{}, fmt.Errorf("DateTime %q: nil location", string(d))
	}
	t, err := time.ParseInLocation(DateTimeLayout, string(d), loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("DateTime %q: %w", string(d), err)
	}
	return t, nil
}
