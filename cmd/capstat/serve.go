package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/capstat/capstat/daemon"
	"github.com/capstat/capstat/internal/config"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/schedules"
)

func newServeCmd(g *globals) *cobra.Command {
	var addr, schedule string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Daemon: scheduled ingest/publish and the HTTP server (site, downloads, API)",
		Long: `Starts the scheduler and the HTTP server in one process. Runs the whole
pipeline once at start when no release exists yet. Per-source ingest jobs
(ingest-<source>, incremental refresh) run on each source's schedule, full
sweeps (full-<source>) on its full_schedule, never at the same time as the
refresh; the publish job (transform → publish → dashboards) runs on
publish.schedule. SIGTERM stops accepting requests, interrupts the running
job at a checkpoint and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.config()
			if err != nil {
				return err
			}
			if addr != "" {
				c.Serve.Addr = addr
			}
			if schedule != "" {
				if err := config.CheckSchedule(schedule); err != nil {
					return fmt.Errorf("--schedule: %w", err)
				}
				for i := range c.Sources {
					c.Sources[i].Schedule = schedule
				}
				c.Publish.Schedule = schedule
			}
			return daemon.Run(cmd.Context(), c, g.logger)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "listen address HOST:PORT (default serve.addr, 127.0.0.1:8080)")
	cmd.Flags().StringVar(&schedule, "schedule", "", "cron schedule (seconds optional) of every source's refresh and of publishing, overriding the config (full sweeps keep full_schedule)")
	return cmd
}

func newJobsCmd(g *globals) *cobra.Command {
	var limit int
	var addr string
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "Show the daemon's job history",
		Long: `Asks the running daemon (GET /api/jobs on --addr, default serve.addr); when
no daemon answers there, reads the history stored in the working database.
While a daemon holds that database, only the daemon can answer: give its
--addr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.config()
			if err != nil {
				return err
			}
			if addr == "" {
				addr = c.Serve.Addr
			}
			base := addr
			if !strings.Contains(base, "://") {
				base = "http://" + base
			}
			runs, derr := jobsFromDaemon(cmd.Context(), base, limit)
			if derr != nil {
				g.logger.Debug("daemon not reachable, reading the database", "addr", addr, "err", derr)
				var err error
				if runs, err = jobsFromDB(cmd.Context(), c.Database, limit); err != nil {
					if duckdbx.IsLocked(err) {
						return fmt.Errorf("no daemon answers on %s (%v), and the working database %s is held by another process: a daemon running elsewhere? Ask it with --addr HOST:PORT", addr, derr, c.Database)
					}
					return err
				}
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tJOB\tTRIGGER\tSTATUS\tQUEUED\tDURATION\tERROR")
			for _, r := range runs {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%.1fs\t%s\n", r.ID, r.Job, r.Trigger, r.Status,
					r.QueuedAt.Local().Format(time.DateTime), r.DurationSec, r.Error)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "number of runs")
	cmd.Flags().StringVar(&addr, "addr", "", "the daemon's address HOST:PORT, as given to serve (default serve.addr, 127.0.0.1:8080)")
	return cmd
}

func jobsFromDaemon(ctx context.Context, base string, limit int) ([]schedules.Run, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/api/jobs?limit=%d", base, limit), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/jobs: %s", resp.Status)
	}
	var body struct {
		Runs []schedules.Run `json:"runs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("GET /api/jobs: %w", err)
	}
	return body.Runs, nil
}

func jobsFromDB(ctx context.Context, path string, limit int) ([]schedules.Run, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no daemon reachable and no working database at %s", path)
	}
	db, err := duckdbx.OpenReadOnly(ctx, path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	runs, err := schedules.ReadHistory(ctx, db, limit)
	if err != nil {
		return nil, fmt.Errorf("job history in %s: %w", path, err)
	}
	return runs, nil
}
