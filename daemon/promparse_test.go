package daemon

import (
	"bufio"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	metricNameRe = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelNameRe  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// parseProm checks text against the Prometheus text exposition format
// (0.0.4) and returns the samples keyed by `name{a="x",b="y"}` (labels
// sorted). It checks: HELP/TYPE syntax, one TYPE per family before its
// samples, samples grouped by family, suffixes allowed by the type
// (_bucket/_sum/_count), a le label on buckets and cumulative bucket counts,
// label syntax and escapes, float values, no duplicate series, final newline.
func parseProm(text string) (map[string]float64, error) {
	if text != "" && !strings.HasSuffix(text, "\n") {
		return nil, fmt.Errorf("no final newline")
	}
	samples := map[string]float64{}
	types := map[string]string{}
	done := map[string]bool{} // families whose block has ended
	current := ""
	lastBucket := map[string]float64{}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		ln := i + 1
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			f := strings.SplitN(line, " ", 4)
			if len(f) < 3 || (f[1] != "HELP" && f[1] != "TYPE") {
				continue // a plain comment
			}
			name := f[2]
			if !metricNameRe.MatchString(name) {
				return nil, fmt.Errorf("line %d: bad metric name %q", ln, name)
			}
			if f[1] == "TYPE" {
				if len(f) != 4 {
					return nil, fmt.Errorf("line %d: TYPE without type", ln)
				}
				switch f[3] {
				case "counter", "gauge", "histogram", "summary", "untyped":
				default:
					return nil, fmt.Errorf("line %d: unknown type %q", ln, f[3])
				}
				if _, dup := types[name]; dup {
					return nil, fmt.Errorf("line %d: second TYPE for %s", ln, name)
				}
				types[name] = f[3]
			}
			if current != "" && current != name {
				done[current] = true
			}
			if done[name] {
				return nil, fmt.Errorf("line %d: %s reopened", ln, name)
			}
			current = name
			continue
		}
		name, labels, value, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", ln, err)
		}
		fam := familyOf(name, types)
		if fam == "" {
			return nil, fmt.Errorf("line %d: sample %s has no TYPE", ln, name)
		}
		if fam != current {
			return nil, fmt.Errorf("line %d: sample %s outside its family block %s", ln, name, fam)
		}
		typ := types[fam]
		suffix := strings.TrimPrefix(name, fam)
		switch typ {
		case "histogram":
			if suffix != "_bucket" && suffix != "_sum" && suffix != "_count" {
				return nil, fmt.Errorf("line %d: histogram sample %s", ln, name)
			}
		case "summary":
			if suffix != "" && suffix != "_sum" && suffix != "_count" {
				return nil, fmt.Errorf("line %d: summary sample %s", ln, name)
			}
		default:
			if suffix != "" {
				return nil, fmt.Errorf("line %d: %s sample %s", ln, typ, name)
			}
		}
		if typ == "counter" && value < 0 {
			return nil, fmt.Errorf("line %d: negative counter", ln)
		}
		key := name + canonicalLabels(labels)
		if _, dup := samples[key]; dup {
			return nil, fmt.Errorf("line %d: duplicate series %s", ln, key)
		}
		samples[key] = value
		if suffix == "_bucket" {
			le, ok := labels["le"]
			if !ok {
				return nil, fmt.Errorf("line %d: bucket without le", ln)
			}
			if _, err := strconv.ParseFloat(le, 64); err != nil {
				return nil, fmt.Errorf("line %d: le %q: %v", ln, le, err)
			}
			delete(labels, "le")
			series := fam + canonicalLabels(labels)
			if prev, ok := lastBucket[series]; ok && value < prev {
				return nil, fmt.Errorf("line %d: buckets not cumulative", ln)
			}
			lastBucket[series] = value
		}
	}
	return samples, nil
}

func familyOf(name string, types map[string]string) string {
	if _, ok := types[name]; ok {
		return name
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suf); ok {
			if _, ok := types[base]; ok {
				return base
			}
		}
	}
	return ""
}

func parseSample(line string) (string, map[string]string, float64, error) {
	labels := map[string]string{}
	i := strings.IndexAny(line, "{ ")
	if i < 0 {
		return "", nil, 0, fmt.Errorf("no value in %q", line)
	}
	name := line[:i]
	if !metricNameRe.MatchString(name) {
		return "", nil, 0, fmt.Errorf("bad name %q", name)
	}
	rest := line[i:]
	if rest[0] == '{' {
		rest = rest[1:]
		for {
			if strings.HasPrefix(rest, "}") {
				rest = rest[1:]
				break
			}
			eq := strings.Index(rest, `="`)
			if eq < 0 {
				return "", nil, 0, fmt.Errorf("bad labels in %q", line)
			}
			ln := rest[:eq]
			if !labelNameRe.MatchString(ln) {
				return "", nil, 0, fmt.Errorf("bad label name %q", ln)
			}
			rest = rest[eq+2:]
			var sb strings.Builder
			closed := false
			for j := 0; j < len(rest); j++ {
				c := rest[j]
				if c == '\\' {
					if j+1 >= len(rest) {
						return "", nil, 0, fmt.Errorf("dangling escape")
					}
					switch rest[j+1] {
					case '\\':
						sb.WriteByte('\\')
					case '"':
						sb.WriteByte('"')
					case 'n':
						sb.WriteByte('\n')
					default:
						return "", nil, 0, fmt.Errorf("bad escape \\%c", rest[j+1])
					}
					j++
					continue
				}
				if c == '"' {
					rest = rest[j+1:]
					closed = true
					break
				}
				if c == '\n' {
					return "", nil, 0, fmt.Errorf("raw newline in label")
				}
				sb.WriteByte(c)
			}
			if !closed {
				return "", nil, 0, fmt.Errorf("unterminated label value in %q", line)
			}
			if _, dup := labels[ln]; dup {
				return "", nil, 0, fmt.Errorf("duplicate label %s", ln)
			}
			labels[ln] = sb.String()
			if strings.HasPrefix(rest, ",") {
				rest = rest[1:]
			}
		}
	}
	if !strings.HasPrefix(rest, " ") {
		return "", nil, 0, fmt.Errorf("no space before value in %q", line)
	}
	fields := strings.Fields(rest)
	if len(fields) < 1 || len(fields) > 2 {
		return "", nil, 0, fmt.Errorf("bad value/timestamp in %q", line)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return "", nil, 0, fmt.Errorf("value %q: %v", fields[0], err)
	}
	return name, labels, v, nil
}

func canonicalLabels(l map[string]string) string {
	if len(l) == 0 {
		return ""
	}
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Quote(l[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// The checker itself must reject malformed input.
func TestParsePromRejects(t *testing.T) {
	bad := map[string]string{
		"no type":          "x 1\n",
		"bad value":        "# TYPE x gauge\nx one\n",
		"dup series":       "# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"1\"} 2\n",
		"bad escape":       "# TYPE x gauge\nx{a=\"\\t\"} 1\n",
		"unterminated":     "# TYPE x gauge\nx{a=\"1} 1\n",
		"counter suffix":   "# TYPE x counter\nx_sum 1\n",
		"reopened":         "# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\n# HELP x again\n",
		"not cumulative":   "# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"+Inf\"} 3\n",
		"no final newline": "# TYPE x gauge\nx 1",
		"bad name":         "# TYPE 1x gauge\n",
		"negative counter": "# TYPE c counter\nc -1\n",
	}
	for name, text := range bad {
		if _, err := parseProm(text); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	good := "# HELP x a \\\\ help\n# TYPE x gauge\nx{a=\"q\\\"uote\\n\",b=\"\"} +Inf\n# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n"
	s, err := parseProm(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 5 {
		t.Errorf("samples = %v", s)
	}
}

// Whatever names and label values the pipeline reports, the exposition
// stays parseable and the value round-trips.
func FuzzMetricsExposition(f *testing.F) {
	f.Add("capstat_ingest_records_total", "source", `pa"ris\n`, 3.5)
	f.Add("9bad-name", "le", "", -1.0)
	f.Add("", "a:b", "\x00\n\\", 1e308)
	f.Fuzz(func(t *testing.T, name, label, value string, v float64) {
		m := NewMetrics()
		m.Add(name, map[string]string{label: value}, v)
		m.Set(name+"_g", map[string]string{label: value}, v)
		m.Age(name+"_age", name+"_g", "Seconds since "+name+"_g.")
		var sb strings.Builder
		e := &expo{w: bufio.NewWriter(&sb)}
		m.write(e, time.Unix(1e9, 0))
		e.w.Flush()
		samples, err := parseProm(sb.String())
		if err != nil {
			t.Fatalf("%v\n%s", err, sb.String())
		}
		want := map[string]string{sanitizeLabelName(label): value}
		key := sanitizeName(name+"_g") + canonicalLabels(want)
		got, ok := samples[key]
		if !ok || (got != v && !(math.IsNaN(got) && math.IsNaN(v))) {
			t.Fatalf("gauge %s = %v (present %v), want %v\n%s", key, got, ok, v, sb.String())
		}
	})
}
