package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/capstat/capstat/daemon"
	"github.com/capstat/capstat/ingest"
	"github.com/capstat/capstat/internal/config"
	"github.com/capstat/capstat/pipeline"
	"github.com/capstat/capstat/queries"
)

// pipelineFor builds the pipeline of the loaded configuration.
func (g *globals) pipeline() (*pipeline.Pipeline, error) {
	c, err := g.config()
	if err != nil {
		return nil, err
	}
	p := &pipeline.Pipeline{Config: c, Logger: g.logger, Summary: os.Stdout}
	if term.IsTerminal(int(os.Stderr.Fd())) {
		p.Progress = os.Stderr
	}
	return p, nil
}

// fullFlag is the --full flag of run and ingest.
const fullFlag = "force a full sweep (default: an incremental refresh of each source whose full sweep is complete)"

func newRunCmd(g *globals) *cobra.Command {
	var full bool
	cmd := &cobra.Command{
		Use:   "run [--full]",
		Short: "Run the whole pipeline: ingest → transform → publish → dashboards",
		Long: `Runs every stage in order and stops at the first failure; the release
that was current before stays current and served. The ingest refreshes each
source incrementally once its database holds a complete full sweep (the
summary says which mode ran); --full sweeps everything again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := g.pipeline()
			if err != nil {
				return err
			}
			p.Full = full
			return p.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&full, "full", false, fullFlag)
	return cmd
}

func newIngestCmd(g *globals) *cobra.Command {
	var only []string
	var full bool
	cmd := &cobra.Command{
		Use:   "ingest [--only NAME…] [--full]",
		Short: "Crawl the configured Cap Collectif sources into the working database",
		Long: `Crawls every project and contribution of each source (projects, steps,
proposals, votes, questionnaires, contributions, events, users, districts)
into raw tables of the working DuckDB database. The first crawl of a source
is a full sweep; later ones page only what changed since the last run
(incremental), unless --full asks for a full sweep, which also re-reads
what an incremental refresh cannot see. Resumable after a crash; a second
run over unchanged data changes nothing. Unless GOMEMLIMIT is set,
the process keeps a soft Go memory limit of 48 MiB (the crawl's live heap
is about 40 MB).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := g.pipeline()
			if err != nil {
				return err
			}
			if os.Getenv("GOMEMLIMIT") == "" {
				debug.SetMemoryLimit(ingest.GoMemoryLimit)
			}
			p.Full = full
			return p.Ingest(cmd.Context(), only)
		},
	}
	cmd.Flags().StringSliceVar(&only, "only", nil, "crawl only these sources (by name)")
	cmd.Flags().BoolVar(&full, "full", false, fullFlag)
	return cmd
}

func newTransformCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "transform",
		Short: "Build the staging, core and metrics models and run the data tests",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := g.pipeline()
			if err != nil {
				return err
			}
			return p.Transform(cmd.Context())
		},
	}
}

func newPublishCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "publish",
		Short: "Write a versioned open-data release (Parquet, CSV, metadata) and make it current",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := g.pipeline()
			if err != nil {
				return err
			}
			rel, err := p.Publish(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "release %s (%d files) in %s\n", rel.ID, len(rel.Manifest.Files), rel.Dir)
			return nil
		},
	}
}

func newDashboardsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "dashboards",
		Short: "Render the static HTML dashboards from the current release",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := g.pipeline()
			if err != nil {
				return err
			}
			return p.Dashboards(cmd.Context())
		},
	}
}

// queryLimits are the configured limits of the query engine.
func queryLimits(c *config.Config) queries.Limits { return daemon.QueryLimits(c) }
