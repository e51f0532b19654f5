package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseScale(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Scale
		ok   bool
	}{
		{"tiny", Tiny, true}, {"Small", Small, true}, {" medium ", Medium, true}, {"large", Large, true}, {"huge", 0, false}, {"", 0, false},
	} {
		got, err := ParseScale(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseScale(%q) = %v, %v", tt.in, got, err)
		}
		if tt.ok && got.String() != strings.ToLower(strings.TrimSpace(tt.in)) {
			t.Errorf("String() = %q", got.String())
		}
	}
}

func TestKeysetCursor(t *testing.T) {
	k := keyset{vals: []int64{1578783600000}, id: "tagCloudReply1"}
	raw, _ := base64.StdEncoding.DecodeString(k.encode())
	if string(raw) != `a:2:{i:0;i:1578783600000;i:1;s:14:"tagCloudReply1";}` {
		t.Fatalf("encoded %s", raw)
	}
	for _, tt := range []struct {
		name, cursor string
		n            int
		ok           bool
	}{
		{"round trip", k.encode(), 1, true},
		{"offset cursor", offsetCursor(3), 1, false},
		{"wrong arity", k.encode(), 2, false},
		{"not base64", "%%%", 1, false},
		{"null value", base64.StdEncoding.EncodeToString([]byte(`a:2:{i:0;N;i:1;s:1:"x";}`)), 1, true},
		{"bad length", base64.StdEncoding.EncodeToString([]byte(`a:2:{i:0;i:5;i:1;s:9:"x";}`)), 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseKeyset(tt.cursor, tt.n)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v", err)
			}
		})
	}
	if parseOffsetAfter(offsetCursor(41)) != 42 || parseOffsetAfter("garbage") != 0 || parseOffsetAfter(k.encode()) != 0 {
		t.Fatal("offset cursor parsing")
	}
}

func FuzzParseKeyset(f *testing.F) {
	f.Add(keyset{vals: []int64{1, 2}, id: "abc"}.encode(), 2)
	f.Add(offsetCursor(5), 1)
	f.Add("YTowOnt9", 0)
	f.Fuzz(func(t *testing.T, c string, n int) {
		if n < 0 || n > 8 {
			return
		}
		k, err := parseKeyset(c, n)
		if err != nil {
			return
		}
		k2, err := parseKeyset(k.encode(), n)
		if err != nil || k2.id != k.id || len(k2.vals) != len(k.vals) {
			t.Fatalf("re-encode of %q: %v %v", c, k2, err)
		}
	})
}

func FuzzPHPString(f *testing.F) {
	for _, s := range []string{"", "<script>alert(1)</script>", "é😀\n\t\"'&/\\", "\x00\x1f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		b := appendPHPString(nil, s)
		for _, c := range b {
			if c >= 0x80 || strings.IndexByte("<>&'", c) >= 0 {
				t.Fatalf("unescaped byte %q in %s", c, b)
			}
		}
		var back string
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Fatalf("%q → %s → %q (%v)", s, b, back, err)
		}
	})
}

func TestEditions(t *testing.T) {
	w := Generate(3, Tiny)
	eds := w.Editions()
	if len(eds) != len(w.Instances)*Tiny.params().editions {
		t.Fatalf("%d editions", len(eds))
	}
	closedWithWinners := 0
	for _, e := range eds {
		if e.EnvelopeEUR <= 0 || e.Model == "" || len(e.WinnerStatuses) == 0 || e.Proposals == 0 {
			t.Errorf("edition %+v", e)
		}
		if e.WinnersCost > e.EnvelopeEUR {
			t.Errorf("%s %s: winners cost %d > envelope %d", e.Instance, e.Title, e.WinnersCost, e.EnvelopeEUR)
		}
		if e.Winners > 0 {
			closedWithWinners++
		}
	}
	if closedWithWinners == 0 {
		t.Error("no edition has winners")
	}
}
