package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/capstat/capstat/internal/config"
	"github.com/capstat/capstat/sandbox"
)

func newSandboxCmd(g *globals) *cobra.Command {
	var (
		addr, scale, token, writeConfig string
		writeVoteExports                string
		instances                       []string
		seed                            int64
		epoch                           int
		failRate                        float64
		latency, timeoutAfter, nodeCost time.Duration
		introspection, hostile          bool
	)
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Serve a faithful fake Cap Collectif API with deterministic French data",
		Long: `Serves POST /{instance}/graphql for several collectivities at once, with the
real API's schema switch, ids, cursors, limits, dates, errors and quirks.
Same seed and scale, same bytes. Used by 'make demo' and the tests.

The world evolves by epochs of 6 hours (new votes, proposals, opinions and
users in the open steps only): --epoch N starts at epoch N, and
POST /_admin/epoch (?to=N) advances a running sandbox; GET answers it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := sandbox.ParseScale(scale)
			if err != nil {
				return err
			}
			srv, err := sandbox.New(sandbox.Options{
				Seed: seed, Scale: sc, Instances: instances, Token: token,
				FailRate: failRate, Latency: latency, TimeoutAfter: timeoutAfter,
				NodeCost: nodeCost, Introspection: introspection, PlainText: !hostile, Epoch: epoch, Logger: g.logger,
			})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("sandbox: %w", err)
			}
			if writeConfig != "" {
				if err := writeSandboxConfig(writeConfig, "http://"+ln.Addr().String(), srv.World()); err != nil {
					ln.Close()
					return err
				}
			}
			if writeVoteExports != "" {
				if err := writeSandboxVoteExports(writeVoteExports, srv.World()); err != nil {
					ln.Close()
					return err
				}
			}
			g.logger.Info("sandbox listening", "addr", ln.Addr().String(), "seed", seed, "scale", sc.String(), "epoch", epoch)
			return serveUntilDone(cmd.Context(), &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}, ln)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8787", "listen address")
	f.Int64Var(&seed, "seed", 1, "data generator seed")
	f.StringVar(&scale, "scale", "small", "tiny, small, medium or large")
	f.IntVar(&epoch, "epoch", 0, "start the evolving world at this epoch (6 hours each; POST /_admin/epoch advances it)")
	f.StringSliceVar(&instances, "instance", nil, "instances to serve (default: all nine collectivities)")
	f.StringVar(&token, "token", "", "API key accepted as a bearer token (unlocks estimatedCost)")
	f.Float64Var(&failRate, "fail-rate", 0, "fraction of requests answered 502/503/429")
	f.DurationVar(&latency, "latency", 0, "latency added to every request")
	f.DurationVar(&timeoutAfter, "timeout-after", 0, "answer an HTML 502 when a request's simulated cost exceeds this")
	f.DurationVar(&nodeCost, "node-cost", 0, "simulated server time per returned object, for --timeout-after (default 20ms)")
	f.BoolVar(&introspection, "introspection", false, "allow __schema/__type (the graphql_introspection feature flag)")
	f.BoolVar(&hostile, "hostile", false, "keep the hostile test strings (script tags in titles…) that the tests use; off for demos")
	f.StringVar(&writeConfig, "write-config", "", "write a capstat.yaml matching the sandbox's instances and budgets to this path")
	f.StringVar(&writeVoteExports, "write-vote-exports", "", "write the administrators' vote export (CSV) of every budget vote step to this directory")
	return cmd
}

// serveUntilDone serves on ln until ctx is cancelled, then shuts down.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// writeSandboxConfig writes the configuration a collectivity would write for
// these instances: endpoints, and the budget metadata the API does not carry.
func writeSandboxConfig(path, baseURL string, w *sandbox.World) error {
	c := config.Config{Database: "./var/capstat.duckdb", Out: "./public"}
	for _, in := range w.Instances {
		s := config.Source{Name: in.Name, Endpoint: baseURL + "/" + in.Name + "/graphql", CostQuestion: sandbox.CostQuestion}
		for _, p := range in.Projects {
			if p.Budget == nil {
				continue
			}
			s.Projects = append(s.Projects, config.ProjectMeta{
				ID: p.ID, Edition: strconv.Itoa(p.Budget.Edition), EnvelopeEUR: p.Budget.EnvelopeEUR,
				Model: p.Budget.Model, WinnerStatuses: p.Budget.WinnerStatuses,
			})
		}
		c.Sources = append(c.Sources, s)
	}
	c.Publish.Schedule = "0 */30 * * * *"
	// The DCAT catalogue names the daemon's default address.
	c.Publish.DCAT, c.Publish.BaseURL = true, "http://"+config.Default().Serve.Addr
	c.Publish.Publisher = config.Publisher{Name: "Démonstration capstat (bac à sable)", ContactEmail: "opendata@example.org"}
	data, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("sandbox config: %w", err)
	}
	header := "# Generated by 'capstat sandbox --write-config' for the sandbox at " + baseURL + ".\n"
	if _, err := config.Parse(path, data); err != nil {
		return fmt.Errorf("sandbox config does not validate: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(header+strings.TrimSpace(string(data))+"\n"), 0o644)
}

// writeSandboxVoteExports writes, per instance, the admin vote export of
// each budget project's vote step, as a collectivity's administrators
// download it: DIR/<instance>/votes_<project>_<step>_simplified.csv.
func writeSandboxVoteExports(dir string, w *sandbox.World) error {
	for _, in := range w.Instances {
		for _, p := range in.Projects {
			s := p.VoteStep()
			if p.Budget == nil || s == nil {
				continue
			}
			path := filepath.Join(dir, in.Name, sandbox.VoteExportName(s))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			f, err := os.Create(path)
			if err != nil {
				return err
			}
			if err := w.WriteVoteExport(f, s); err != nil {
				f.Close()
				return fmt.Errorf("vote export %s: %w", path, err)
			}
			if err := f.Close(); err != nil {
				return err
			}
		}
	}
	return nil
}
