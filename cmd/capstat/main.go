// Command capstat ingests Cap Collectif participation data into DuckDB,
// computes participation and budget-comparison metrics, publishes versioned
// open-data releases and dashboards, and serves them.
//
//	capstat run        ingest → transform → publish → dashboards
//	capstat ingest     crawl the configured sources into the working database
//	capstat transform  run the SQL models and data tests
//	capstat publish    write a release and make it current
//	capstat dashboards render the static site from the current release
//	capstat query      run a canned or ad-hoc query on the current release
//	capstat serve      daemon: schedules + HTTP (site, downloads, API)
//	capstat jobs       job history of the daemon
//	capstat export     other formats of a release (Pabulib .pb files)
//	capstat sandbox    a faithful fake Cap Collectif API for demos and tests
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/capstat/capstat/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "capstat:", err)
		var exit exitError
		if errors.As(err, &exit) {
			os.Exit(int(exit))
		}
		os.Exit(1)
	}
}

// exitError carries a specific exit code (2 for bad usage or config).
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit %d", int(e)) }

// globals are the flags every command shares.
type globals struct {
	configPath string
	db, out    string
	sources    []string
	logLevel   string
	logger     *slog.Logger
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "capstat",
		Short:         "Open-data analytics for civic participation on Cap Collectif platforms",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			g.logger = newLogger(g.logLevel)
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.configPath, "config", "", "configuration file (default $CAPSTAT_CONFIG unless --source is given)")
	pf.StringVar(&g.db, "db", "", "working DuckDB database (default ./var/capstat.duckdb)")
	pf.StringVar(&g.out, "out", "", "publication directory (default ./public)")
	pf.StringArrayVar(&g.sources, "source", nil, "ad-hoc source NAME=URL, repeatable (without a config file)")
	pf.StringVar(&g.logLevel, "log-level", "info", "debug, info, warn or error")
	root.AddCommand(
		newRunCmd(g), newIngestCmd(g), newTransformCmd(g), newPublishCmd(g),
		newDashboardsCmd(g), newQueryCmd(g), newServeCmd(g), newJobsCmd(g),
		newSandboxCmd(g), newExportCmd(g),
	)
	return root
}

// config loads the configuration file, or builds one from --source flags,
// then applies --db and --out.
func (g *globals) config() (*config.Config, error) {
	var c *config.Config
	if g.configPath == "" && len(g.sources) == 0 {
		g.configPath = os.Getenv("CAPSTAT_CONFIG")
	}
	switch {
	case g.configPath != "" && len(g.sources) > 0:
		return nil, fmt.Errorf("use either --config or --source, not both")
	case g.configPath != "":
		var err error
		if c, err = config.Load(g.configPath); err != nil {
			return nil, err
		}
	default:
		c = config.Default()
		for _, s := range g.sources {
			if err := c.AddSourceFlag(s); err != nil {
				return nil, err
			}
		}
	}
	if g.db != "" {
		c.Database = g.db
	}
	if g.out != "" {
		c.Out = g.out
	}
	return c, nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	if term.IsTerminal(int(os.Stderr.Fd())) {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}
