package dashboards

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzFeedText writes a feed whose entry carries arbitrary text (proposal
// titles are free text: markup, control characters, invalid UTF-8) and
// checks that it stays well-formed XML that decodes to the same text,
// except for characters XML cannot carry.
func FuzzFeedText(f *testing.F) {
	for _, s := range []string{hostileImg, hostileScript, "Jardin 🌻 « Capucines » & co", "]]>", "\x00\x01\x1f", "\xff\xfe", "a\r\nb", "\u2028\ufffe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		dir := t.TempDir()
		b := &builder{rel: &published{ID: "r", CreatedAt: fixtureCreated}, dir: dir, site: &Site{}}
		ev := feedEvent{ID: "urn:capstat:test", Title: text, Summary: text, When: fixtureCreated.Add(-time.Hour), Target: "index.html"}
		if err := b.writeFeed("feed.xml", "urn:capstat:feed:test", "Titre "+text, "index.html", []feedEvent{ev}); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, "feed.xml"))
		if err != nil {
			t.Fatal(err)
		}
		var a atom
		if err := xml.Unmarshal(data, &a); err != nil {
			t.Fatalf("feed with %q is not well-formed: %v\n%s", text, err, data)
		}
		if len(a.Entries) != 1 {
			t.Fatalf("%d entries", len(a.Entries))
		}
		if want := xmlSafe(text); a.Entries[0].Title != want {
			t.Errorf("title %q decoded as %q, want %q", text, a.Entries[0].Title, want)
		}
	})
}

// xmlSafe is what an XML text node can carry of s: invalid bytes and
// characters outside the XML 1.0 range become U+FFFD (encoding/xml writes
// \r as a character reference, so it survives).
func xmlSafe(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				b.WriteRune('\uFFFD')
				continue
			}
		}
		if !(r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			b.WriteRune('\uFFFD')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
