// Package config loads capstat.yaml: the sources to crawl, the collectivities
// they belong to, budget metadata the API does not carry, schedules, the
// privacy policy and the daemon's settings. Every error names the file, the
// line and the field.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/capstat/capstat/internal/datasets"
)

// Config is the whole configuration file.
type Config struct {
	Database string   `yaml:"database,omitempty"` // working DuckDB file
	Out      string   `yaml:"out,omitempty"`      // publication directory
	Defaults Defaults `yaml:"defaults,omitempty"`
	Sources  []Source `yaml:"sources,omitempty"`
	Publish  Publish  `yaml:"publish,omitempty"`
	Privacy  Privacy  `yaml:"privacy,omitempty"`
	Serve    Serve    `yaml:"serve,omitempty"`
	Queries  Queries  `yaml:"queries,omitempty"`
	Ingest   Ingest   `yaml:"ingest,omitempty"`

	path string
}

// Defaults apply to every source that does not set the field itself.
type Defaults struct {
	Timezone          string   `yaml:"timezone,omitempty"`
	Concurrency       int      `yaml:"concurrency,omitempty"`
	RequestsPerSecond float64  `yaml:"requests_per_second,omitempty"`
	PageSize          int      `yaml:"page_size,omitempty"`
	Timeout           Duration `yaml:"timeout,omitempty"`
	MaxAttempts       int      `yaml:"max_attempts,omitempty"`
	Schedule          string   `yaml:"schedule,omitempty"`
	FullSchedule      string   `yaml:"full_schedule,omitempty"`
	WinnerStatuses    []string `yaml:"winner_statuses,omitempty"`
}

// Source is one Cap Collectif instance.
type Source struct {
	Name              string        `yaml:"name,omitempty"`
	Endpoint          string        `yaml:"endpoint,omitempty"`
	Timezone          string        `yaml:"timezone,omitempty"`
	TokenEnv          string        `yaml:"token_env,omitempty"` // environment variable holding the bearer token
	Locales           []string      `yaml:"locales,omitempty"`
	Concurrency       int           `yaml:"concurrency,omitempty"`
	RequestsPerSecond float64       `yaml:"requests_per_second,omitempty"`
	PageSize          int           `yaml:"page_size,omitempty"`
	Timeout           Duration      `yaml:"timeout,omitempty"`
	MaxAttempts       int           `yaml:"max_attempts,omitempty"`
	Schedule          string        `yaml:"schedule,omitempty"`      // ingest schedule (cron, seconds optional): incremental refresh
	FullSchedule      string        `yaml:"full_schedule,omitempty"` // full sweep schedule (bounds the staleness of incremental refreshes); @manual = none
	Collectivity      Collectivity  `yaml:"collectivity,omitempty"`
	WinnerStatuses    []string      `yaml:"winner_statuses,omitempty"`
	CostQuestion      string        `yaml:"cost_question,omitempty"`
	Projects          []ProjectMeta `yaml:"projects,omitempty"`
}

// Collectivity says who runs a source. Empty fields are inferred from the
// source name when it is a département or région (see transform).
type Collectivity struct {
	Code       string `yaml:"code,omitempty"`
	Kind       string `yaml:"kind,omitempty"` // enum collectivity_kind of datasets.yaml
	Name       string `yaml:"name,omitempty"`
	Population int64  `yaml:"population,omitempty"`
	// PopulationYear is the census year of Population.
	PopulationYear int `yaml:"population_year,omitempty"`
}

// ProjectMeta is budget metadata for one participatory-budget edition.
type ProjectMeta struct {
	ID             string   `yaml:"id,omitempty"`
	Edition        string   `yaml:"edition,omitempty"`
	EnvelopeEUR    int64    `yaml:"envelope_eur,omitempty"`
	Model          string   `yaml:"model,omitempty"` // enum exercise_model of datasets.yaml
	WinnerStatuses []string `yaml:"winner_statuses,omitempty"`
}

// Publish configures releases.
type Publish struct {
	Schedule  string   `yaml:"schedule,omitempty"`
	Retention int      `yaml:"retention,omitempty"`
	Licence   string   `yaml:"licence,omitempty"` // etalab-2.0 or odbl-1.0
	MaxAge    Duration `yaml:"max_age,omitempty"` // dashboards warn when the release is older
	// DCAT writes the DCAT-AP catalogue data.gouv.fr harvests
	// (DIR/catalog.jsonld, served at /catalog.jsonld); it needs BaseURL
	// and a publisher.
	DCAT      bool      `yaml:"dcat,omitempty"`
	BaseURL   string    `yaml:"base_url,omitempty"` // public address of the daemon, e.g. https://data.example.fr
	Publisher Publisher `yaml:"publisher,omitempty"`
	// Mirror copies each release to S3-compatible storage
	// (s3://bucket/prefix; credentials from AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY).
	Mirror         string `yaml:"mirror,omitempty"`
	MirrorEndpoint string `yaml:"mirror_endpoint,omitempty"` // https://s3.gra.io.cloud.ovh.net, or host:port
	MirrorRegion   string `yaml:"mirror_region,omitempty"`
}

// Publisher is who publishes the data, for the catalogue.
type Publisher struct {
	Name         string `yaml:"name,omitempty"`
	URL          string `yaml:"url,omitempty"`
	ContactName  string `yaml:"contact_name,omitempty"`
	ContactEmail string `yaml:"contact_email,omitempty"`
}

// Privacy is the publication privacy policy.
type Privacy struct {
	AuthorKeySecretFile string `yaml:"author_key_secret_file,omitempty"`
	ExactVoteTimes      bool   `yaml:"exact_vote_times,omitempty"` // false: vote times rounded down to the hour
	MinGroupSize        int    `yaml:"min_group_size,omitempty"`
}

// Serve configures the daemon.
type Serve struct {
	Addr          string  `yaml:"addr,omitempty"`
	AdminTokenEnv string  `yaml:"admin_token_env,omitempty"`
	TLSCert       string  `yaml:"tls_cert,omitempty"`
	TLSKey        string  `yaml:"tls_key,omitempty"`
	AccessLog     string  `yaml:"access_log,omitempty"` // file path, "-" for stderr, empty for none
	RateLimit     float64 `yaml:"rate_limit,omitempty"` // API requests per second per client
}

// Ingest configures the crawler's use of the working database.
type Ingest struct {
	// MemoryLimit is DuckDB's memory_limit during a crawl (empty = the
	// ingester's default, 64MB; "keep" = the database's own).
	MemoryLimit string `yaml:"memory_limit,omitempty"`
}

// Queries configures the query engine limits.
type Queries struct {
	MaxRows     int      `yaml:"max_rows,omitempty"`
	Timeout     Duration `yaml:"timeout,omitempty"`
	MemoryLimit string   `yaml:"memory_limit,omitempty"`
	Threads     int      `yaml:"threads,omitempty"`
}

// Duration is a time.Duration written as "30s", "48h".
type Duration struct{ time.Duration }

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: invalid duration %q (want e.g. 30s, 48h)", n.Line, n.Value)
	}
	d.Duration = v
	return nil
}

// MarshalYAML writes the duration as a string such as "30s".
func (d Duration) MarshalYAML() (any, error) { return d.Duration.String(), nil }

// Path is the file the configuration was read from ("" for flags only).
func (c *Config) Path() string { return c.path }

// Default returns the configuration used without a file.
func Default() *Config {
	c := &Config{}
	c.applyDefaults()
	return c
}

// Load reads and validates a configuration file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates configuration bytes; path is used in errors.
func Parse(path string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(path, err)
	}
	c := &Config{path: path}
	if errs := unknownKeys(path, &root, reflect.TypeFor[Config](), ""); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(root.Content) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(c); err != nil {
			return nil, yamlError(path, err)
		}
	}
	c.path = path
	c.applyDefaults()
	if err := c.validate(lines(&root)); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) applyDefaults() {
	if c.Database == "" {
		c.Database = "./var/capstat.duckdb"
	}
	if c.Out == "" {
		c.Out = "./public"
	}
	d := &c.Defaults
	if d.Timezone == "" {
		d.Timezone = "Europe/Paris"
	}
	if d.Concurrency == 0 {
		d.Concurrency = 4
	}
	if d.RequestsPerSecond == 0 {
		d.RequestsPerSecond = 20
	}
	if d.PageSize == 0 {
		d.PageSize = 50
	}
	if d.Timeout.Duration == 0 {
		d.Timeout.Duration = 30 * time.Second
	}
	if d.MaxAttempts == 0 {
		d.MaxAttempts = 6
	}
	if d.Schedule == "" {
		d.Schedule = "0 15 4 * * *" // 04:15 Paris time, outside the DST hours
	}
	if d.FullSchedule == "" {
		d.FullSchedule = DefaultFullSchedule
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		if s.Timezone == "" {
			s.Timezone = d.Timezone
		}
		if s.Concurrency == 0 {
			s.Concurrency = d.Concurrency
		}
		if s.RequestsPerSecond == 0 {
			s.RequestsPerSecond = d.RequestsPerSecond
		}
		if s.PageSize == 0 {
			s.PageSize = d.PageSize
		}
		if s.Timeout.Duration == 0 {
			s.Timeout = d.Timeout
		}
		if s.MaxAttempts == 0 {
			s.MaxAttempts = d.MaxAttempts
		}
		if s.Schedule == "" {
			s.Schedule = d.Schedule
		}
		if s.FullSchedule == "" {
			s.FullSchedule = d.FullSchedule
		}
		if len(s.WinnerStatuses) == 0 {
			s.WinnerStatuses = d.WinnerStatuses
		}
	}
	if c.Publish.Schedule == "" {
		c.Publish.Schedule = "0 0 5 * * *"
	}
	if c.Publish.Retention == 0 {
		c.Publish.Retention = 10
	}
	if c.Publish.Licence == "" {
		c.Publish.Licence = "etalab-2.0"
	}
	if c.Publish.MaxAge.Duration == 0 {
		c.Publish.MaxAge.Duration = 48 * time.Hour
	}
	if c.Privacy.MinGroupSize == 0 {
		c.Privacy.MinGroupSize = 5
	}
	if c.Privacy.AuthorKeySecretFile == "" {
		c.Privacy.AuthorKeySecretFile = "./var/secrets/author-key"
	}
	if c.Serve.Addr == "" {
		c.Serve.Addr = "127.0.0.1:8080"
	}
	if c.Serve.AdminTokenEnv == "" {
		c.Serve.AdminTokenEnv = "CAPSTAT_ADMIN_TOKEN"
	}
	if c.Serve.RateLimit == 0 {
		c.Serve.RateLimit = 20
	}
	if c.Queries.MaxRows == 0 {
		c.Queries.MaxRows = 1000
	}
	if c.Queries.Timeout.Duration == 0 {
		c.Queries.Timeout.Duration = 5 * time.Second
	}
	if c.Queries.MemoryLimit == "" {
		c.Queries.MemoryLimit = "512MB"
	}
	if c.Queries.Threads == 0 {
		c.Queries.Threads = 2
	}
}

// DefaultFullSchedule is the default full_schedule: a full sweep of each
// source every night at 03:00 (Europe/Paris), before the 04:15 refresh
// and the 05:00 publication.
const DefaultFullSchedule = "0 3 * * *"

// sourceName is a slug with at least one letter: it names hive partition
// folders (source=<name>), where an all-digit name would read back as a number.
var sourceName = regexp.MustCompile(`^[a-z0-9-]*[a-z][a-z0-9-]*$`)

// yamlLine is the "line N: " of yaml's messages.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// yamlError rewrites yaml's errors as one "FILE:LINE: message" per problem
// ("line 4: cannot unmarshal !!str `many` into int" → "bad.yaml:4: …").
func yamlError(path string, err error) error {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	var errs []error
	for _, m := range msgs {
		m = strings.TrimSpace(m)
		if sm := yamlLine.FindStringSubmatch(m); sm != nil {
			errs = append(errs, fmt.Errorf("%s:%s: %s", path, sm[1], m[len(sm[0]):]))
		} else {
			errs = append(errs, fmt.Errorf("%s: %s", path, strings.TrimPrefix(m, "yaml: ")))
		}
	}
	return errors.Join(errs...)
}

// validate checks values; at maps a field path such as "sources[2].endpoint"
// to its line in the file.
func (c *Config) validate(at map[string]int) error {
	cat := datasets.MustLoad() // the allowed values of kinds and models
	var errs []error
	fail := func(field, format string, args ...any) {
		line := at[field]
		for p := field; line == 0 && p != ""; {
			i := strings.LastIndexAny(p, ".[")
			if i < 0 {
				break
			}
			p = p[:i]
			line = at[p]
		}
		loc := c.path
		if loc == "" {
			loc = "command line"
		}
		if line > 0 {
			loc = fmt.Sprintf("%s:%d", c.path, line)
		}
		errs = append(errs, fmt.Errorf("%s: %s: %s", loc, field, fmt.Sprintf(format, args...)))
	}
	names := map[string]bool{}
	for i, s := range c.Sources {
		p := fmt.Sprintf("sources[%d]", i)
		if !sourceName.MatchString(s.Name) || len(s.Name) > 63 || strings.HasPrefix(s.Name, "-") {
			fail(p+".name", "%q is not a valid source name (lower-case letters, digits and '-', at least one letter)", s.Name)
		} else if names[s.Name] {
			fail(p+".name", "source %q is declared twice", s.Name)
		}
		names[s.Name] = true
		if u, err := url.Parse(s.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fail(p+".endpoint", "%q is not an http(s) URL", s.Endpoint)
		}
		if _, err := time.LoadLocation(s.Timezone); err != nil {
			fail(p+".timezone", "unknown time zone %q", s.Timezone)
		}
		if s.Concurrency < 1 || s.Concurrency > 32 {
			fail(p+".concurrency", "must be between 1 and 32, got %d", s.Concurrency)
		}
		if s.RequestsPerSecond < 0 {
			fail(p+".requests_per_second", "must be positive, got %g", s.RequestsPerSecond)
		}
		if s.PageSize < 1 || s.PageSize > 100 {
			fail(p+".page_size", "must be between 1 and 100, got %d", s.PageSize)
		}
		if err := CheckSchedule(s.Schedule); err != nil {
			fail(p+".schedule", "%v", err)
		}
		if err := CheckSchedule(s.FullSchedule); err != nil {
			fail(p+".full_schedule", "%v", err)
		}
		if kinds := cat.Enum("collectivity_kind"); s.Collectivity.Kind != "" && !slices.Contains(kinds, s.Collectivity.Kind) {
			fail(p+".collectivity.kind", "%q is not one of %s", s.Collectivity.Kind, strings.Join(kinds, ", "))
		}
		if s.Collectivity.Population < 0 {
			fail(p+".collectivity.population", "must be positive")
		}
		for j, pm := range s.Projects {
			q := fmt.Sprintf("%s.projects[%d]", p, j)
			if pm.ID == "" {
				fail(q+".id", "a project id is required")
			}
			if models := cat.Enum("exercise_model"); pm.Model != "" && !slices.Contains(models, pm.Model) {
				fail(q+".model", "%q is not one of %s", pm.Model, strings.Join(models, ", "))
			}
			if pm.EnvelopeEUR < 0 {
				fail(q+".envelope_eur", "must be positive")
			}
		}
	}
	if err := CheckSchedule(c.Defaults.Schedule); err != nil {
		fail("defaults.schedule", "%v", err)
	}
	if err := CheckSchedule(c.Defaults.FullSchedule); err != nil {
		fail("defaults.full_schedule", "%v", err)
	}
	if err := CheckSchedule(c.Publish.Schedule); err != nil {
		fail("publish.schedule", "%v", err)
	}
	if c.Publish.BaseURL != "" {
		if u, err := url.Parse(c.Publish.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fail("publish.base_url", "%q is not an http(s) URL", c.Publish.BaseURL)
		}
	}
	if c.Publish.DCAT {
		if c.Publish.BaseURL == "" {
			fail("publish.dcat", "the DCAT catalogue needs publish.base_url, the public address of the daemon (download URLs are absolute)")
		}
		if c.Publish.Publisher.Name == "" {
			fail("publish.dcat", "the DCAT catalogue needs publish.publisher.name (the collectivity or body that publishes the data)")
		}
	}
	if m := c.Publish.Mirror; m != "" {
		if u, err := url.Parse(m); err != nil || u.Scheme != "s3" || u.Host == "" {
			fail("publish.mirror", "%q is not s3://bucket/prefix", m)
		}
	}
	if c.Publish.Licence != "etalab-2.0" && c.Publish.Licence != "odbl-1.0" {
		fail("publish.licence", "%q is not etalab-2.0 or odbl-1.0", c.Publish.Licence)
	}
	if c.Publish.Retention < 1 {
		fail("publish.retention", "must keep at least 1 release")
	}
	if c.Privacy.MinGroupSize < 1 {
		fail("privacy.min_group_size", "must be at least 1")
	}
	if (c.Serve.TLSCert == "") != (c.Serve.TLSKey == "") {
		fail("serve.tls_cert", "tls_cert and tls_key go together")
	}
	return errors.Join(errs...)
}

// lines maps field paths ("sources[0].endpoint") to line numbers.
func lines(root *yaml.Node) map[string]int {
	at := map[string]int{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				at[p] = k.Line
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				at[p] = c.Line
				walk(c, p)
			}
		}
	}
	walk(root, "")
	return at
}

// AddSourceFlag adds the source of a --source NAME=URL flag, with the
// configuration's defaults.
func (c *Config) AddSourceFlag(v string) error {
	name, endpoint, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("--source %q: want NAME=URL", v)
	}
	c.Sources = append(c.Sources, Source{Name: strings.TrimSpace(name), Endpoint: strings.TrimSpace(endpoint)})
	c.applyDefaults()
	return c.validate(nil)
}

// Token returns the source's bearer token from its environment variable.
func (s *Source) Token() string {
	if s.TokenEnv == "" {
		return ""
	}
	return os.Getenv(s.TokenEnv)
}
