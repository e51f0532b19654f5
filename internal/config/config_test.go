package config

import (
	"strings"
	"testing"
	"time"
)

func TestLoadGood(t *testing.T) {
	c, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sources) != 2 {
		t.Fatalf("sources = %d, want 2", len(c.Sources))
	}
	l := c.Sources[0]
	if l.Timezone != "Europe/Paris" || l.Concurrency != 4 || l.PageSize != 50 || l.Timeout.Duration != 30*time.Second {
		t.Errorf("defaults not applied: %+v", l)
	}
	if l.Projects[0].EnvelopeEUR != 1500000 || l.Projects[0].Model != "bp" {
		t.Errorf("project meta = %+v", l.Projects[0])
	}
	t.Setenv("LANDES_TOKEN", "s3cret")
	if l.Token() != "s3cret" {
		t.Errorf("token = %q", l.Token())
	}
	if c.Sources[1].Concurrency != 2 || c.Sources[1].Collectivity.Population != 63000 {
		t.Errorf("overrides lost: %+v", c.Sources[1])
	}
	if c.Database != "./var/test.duckdb" || c.Out != "./public" {
		t.Errorf("paths = %q %q", c.Database, c.Out)
	}
}

func TestParseErrorsNameFileLineField(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown field", "sources:\n  - name: a\n    endpont: http://x/graphql\n", []string{"bad.yaml:3:", "sources[0].endpont", `unknown key "endpont"`, "accepted keys: name, endpoint,"}},
		{"unknown top-level key", "database: x.duckdb\nsource:\n  - name: a\n", []string{"bad.yaml:2:", `unknown key "source" in the top level`, "sources"}},
		{"unknown nested key", "serve:\n  address: 1.2.3.4:80\n", []string{"bad.yaml:2:", "serve.address", "accepted keys: addr,"}},
		{"bad cron", "sources:\n  - name: a\n    endpoint: http://x/graphql\n    schedule: every day\n", []string{"bad.yaml:4:", "sources[0].schedule", "not a cron schedule", "0 30 3 * * *"}},
		{"bad full sweep cron", "sources:\n  - name: a\n    endpoint: http://x/graphql\n    full_schedule: nightly\n", []string{"bad.yaml:4:", "sources[0].full_schedule", "not a cron schedule", "@manual"}},
		{"bad default full sweep cron", "defaults:\n  full_schedule: \"0 25 * * *\"\n", []string{"bad.yaml:2:", "defaults.full_schedule", "not a cron schedule"}},
		{"bad publish cron", "publish:\n  schedule: \"61 * * * *\"\n", []string{"bad.yaml:2:", "publish.schedule", "not a cron schedule"}},
		{"bad endpoint", "sources:\n  - name: a\n    endpoint: ftp://x\n", []string{"bad.yaml:3", "sources[0].endpoint", "http(s) URL"}},
		{"bad timezone", "sources:\n  - name: a\n    endpoint: http://x/graphql\n    timezone: Mars/Olympus\n", []string{"bad.yaml:4", "sources[0].timezone"}},
		{"duplicate", "sources:\n  - name: a\n    endpoint: http://x/graphql\n  - name: a\n    endpoint: http://y/graphql\n", []string{"bad.yaml:4", "sources[1].name", "twice"}},
		{"bad model", "sources:\n  - name: a\n    endpoint: http://x/graphql\n    projects:\n      - id: p\n        model: loto\n", []string{"bad.yaml:6", "projects[0].model", "bp, bp-thematique, appel-a-projets, orientations, other"}},
		{"bad kind", "sources:\n  - name: a\n    endpoint: http://x/graphql\n    collectivity: {kind: canton}\n", []string{"bad.yaml:4", "collectivity.kind", "departement, region, commune, other"}},
		{"bad duration", "defaults:\n  timeout: soon\n", []string{"bad.yaml:2:", "invalid duration"}},
		{"bad yaml", "sources: [\n", []string{"bad.yaml"}},
		{"bad type", "sources:\n  - name: a\n    endpoint: http://x/graphql\n    concurrency: many\n", []string{"bad.yaml:4:", "many"}},
		{"page size", "sources:\n  - name: a\n    endpoint: http://x/graphql\n    page_size: 500\n", []string{"bad.yaml:4", "page_size"}},
		{"licence", "publish:\n  licence: cc0\n", []string{"bad.yaml:2", "publish.licence"}},
		{"dcat without base_url", "publish:\n  dcat: true\n  publisher: {name: Département}\n", []string{"bad.yaml:2", "publish.dcat", "publish.base_url"}},
		{"dcat without publisher", "publish:\n  dcat: true\n  base_url: https://data.example.fr\n", []string{"bad.yaml:2", "publish.publisher.name"}},
		{"bad base_url", "publish:\n  base_url: data.example.fr\n", []string{"bad.yaml:2", "publish.base_url"}},
		{"missing source name", "sources:\n  - endpoint: http://x/graphql\n", []string{"bad.yaml:2", "sources[0].name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// full_schedule defaults to the nightly sweep, follows defaults.full_schedule
// and takes @manual (no scheduled sweep) like schedule.
func TestFullSchedule(t *testing.T) {
	c, err := Parse("f.yaml", []byte("sources:\n  - name: a\n    endpoint: http://x/graphql\n  - name: b\n    endpoint: http://y/graphql\n    full_schedule: \"@manual\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Sources[0].FullSchedule; got != "0 3 * * *" {
		t.Errorf("default full_schedule = %q, want %q", got, "0 3 * * *")
	}
	if got := c.Sources[1].FullSchedule; got != ManualOnly {
		t.Errorf("full_schedule = %q, want %q", got, ManualOnly)
	}
	c, err = Parse("f.yaml", []byte("defaults:\n  full_schedule: \"CRON_TZ=UTC 0 1 * * 0\"\nsources:\n  - name: a\n    endpoint: http://x/graphql\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Sources[0].FullSchedule; got != "CRON_TZ=UTC 0 1 * * 0" {
		t.Errorf("full_schedule from defaults = %q", got)
	}
	d := Default()
	if err := d.AddSourceFlag("a=http://x/graphql"); err != nil {
		t.Fatal(err)
	}
	if d.Sources[0].FullSchedule != DefaultFullSchedule {
		t.Errorf("--source full_schedule = %q", d.Sources[0].FullSchedule)
	}
}

func TestAddSourceFlag(t *testing.T) {
	c := Default()
	if err := c.AddSourceFlag("landes=http://127.0.0.1:8787/landes/graphql"); err != nil {
		t.Fatal(err)
	}
	if c.Sources[0].Name != "landes" || c.Sources[0].Concurrency != 4 {
		t.Errorf("source = %+v", c.Sources[0])
	}
	for _, bad := range []string{"landes", "Landes=http://x/graphql", "x=notaurl", "2024=http://x/graphql", "a/b=http://x/graphql", "-x=http://x/graphql"} {
		if err := Default().AddSourceFlag(bad); err == nil {
			t.Errorf("AddSourceFlag(%q) accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("sources:\n  - name: a\n    endpoint: http://x/graphql\n"))
	f.Add([]byte("publish: {retention: -1}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
	})
}

func TestExampleConfigLoads(t *testing.T) {
	c, err := Load("../../capstat.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sources) != 2 || c.Sources[0].Schedule == "" || c.Sources[0].FullSchedule == "" || c.Serve.Addr == "" {
		t.Errorf("example config = %+v", c)
	}
}
