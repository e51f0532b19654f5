package reports

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/reports/release"
)

// Options configures Publish.
type Options struct {
	// OutDir is the publication root (default ./public).
	OutDir string
	// Retention keeps the last N releases (default 10); the current one is
	// never deleted.
	Retention int
	// Licence is "etalab-2.0" (Licence Ouverte 2.0, default) or "odbl-1.0".
	Licence string
	// Privacy is the release-time privacy policy. Use DefaultPrivacy().
	Privacy Privacy
	// Sources feed the datapackage "sources" (instance name + endpoint).
	Sources []SourceInfo
	// Now returns the release time (default time.Now); for tests.
	Now func() time.Time
	// Logger receives progress logs (default slog.Default()).
	Logger *slog.Logger
	// Catalog is the data contract (default datasets.Load()).
	Catalog *datasets.Contract
	// Partitioned lists the datasets written as hive partitions by source
	// (default proposal_votes, contributions, participation_daily).
	Partitioned []string
	// CSVMaxRows is the largest dataset (rows) also written as CSV
	// (default SpreadsheetMaxRows, what a spreadsheet opens).
	CSVMaxRows int64
	// DCAT, when set, writes the DCAT-AP catalogue of the current release
	// (DIR/catalog.jsonld and DIR/catalog.rdf) with each release.
	DCAT *DCAT
	// Workers is the number of datasets written at once, each on its own
	// connection of the working database (default DefaultWorkers).
	Workers int

	// beforeSwitch runs after the release is written and verified, before
	// it is renamed and made current; tests use it to inject a failure.
	beforeSwitch func(tmpDir string) error
}

// Privacy is the release-time privacy policy.
type Privacy struct {
	// CoarsenVoteTimes truncates vote timestamps to the hour.
	CoarsenVoteTimes bool
	// MinGroupSize is k: in a demographic breakdown, a group smaller than k
	// is suppressed (default 5; 1 disables suppression).
	MinGroupSize int
}

// DefaultPrivacy is the policy on by default: vote times coarsened to the
// hour and groups below 5 suppressed.
func DefaultPrivacy() Privacy { return Privacy{CoarsenVoteTimes: true, MinGroupSize: 5} }

// SourceInfo names one Cap Collectif instance the data comes from.
type SourceInfo struct {
	Name     string `json:"title"`
	Endpoint string `json:"path"`
	// DataAsOf is the end of the source's last complete crawl (zero:
	// unknown), written to the manifest's data_as_of.
	DataAsOf time.Time `json:"-"`
}

var licences = map[string]release.Licence{
	"etalab-2.0": {Name: "etalab-2.0", Path: "https://www.etalab.gouv.fr/licence-ouverte-open-licence/", Title: "Licence Ouverte / Open Licence version 2.0"},
	"odbl-1.0":   {Name: "ODbL-1.0", Path: "https://opendatacommons.org/licenses/odbl/1-0/", Title: "Open Data Commons Open Database License (ODbL) 1.0"},
}

var defaultPartitioned = []string{"proposal_votes", "contributions", "participation_daily"}

func (o Options) withDefaults() (Options, error) {
	if o.OutDir == "" {
		o.OutDir = "public"
	}
	if o.Retention <= 0 {
		o.Retention = 10
	}
	if o.Licence == "" {
		o.Licence = "etalab-2.0"
	}
	if _, ok := licences[o.Licence]; !ok {
		return o, fmt.Errorf("unknown licence %q (want etalab-2.0 or odbl-1.0)", o.Licence)
	}
	if o.Privacy.MinGroupSize <= 0 {
		o.Privacy.MinGroupSize = 5
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Catalog == nil {
		c, err := datasets.Load()
		if err != nil {
			return o, err
		}
		o.Catalog = c
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.CSVMaxRows <= 0 {
		o.CSVMaxRows = SpreadsheetMaxRows
	}
	if o.Partitioned == nil {
		o.Partitioned = defaultPartitioned
	}
	return o, nil
}
