package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/capstat/capstat/pabulib"
	"github.com/capstat/capstat/pipeline"
	"github.com/capstat/capstat/reports/release"
)

func newExportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export a release in another format (pabulib)",
	}
	cmd.AddCommand(newExportPabulibCmd(g))
	return cmd
}

func newExportPabulibCmd(g *globals) *cobra.Command {
	var rel, outDir, step string
	var exports []string
	cmd := &cobra.Command{
		Use:   "pabulib --out DIR --votes-export FILE [--votes-export FILE…] [--release DIR] [--step ID]",
		Short: "Write Pabulib (.pb) files of the release's vote steps, ballots from the platform's admin vote exports",
		Long: `Writes one Pabulib file per vote step for which an admin vote export is
given (the CSV the platform's back office exports: the public API has no
voter identity). Projects, costs and winners come from the release (the
current one by default); voter ids are replaced by keyed hashes. Every file
is checked against the format's rules before it is written; a step without
an export gets no file, and the command says so.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.config()
			if err != nil {
				return err
			}
			if rel == "" {
				rel = release.LatestDir(c.Out)
			} else if _, err := os.Stat(rel); err != nil && release.ValidID(rel) {
				rel = filepath.Join(c.Out, release.ReleasesDir, rel)
			}
			if outDir == "" {
				return fmt.Errorf("--out DIR is required")
			}
			secret, err := pipeline.AuthorKeySecret(c.Privacy.AuthorKeySecretFile)
			if err != nil {
				return err
			}
			steps, err := pabulib.VoteSteps(cmd.Context(), rel)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return err
			}
			done := map[string]bool{}
			out := cmd.OutOrStdout()
			for _, path := range exports {
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				votes, err := pabulib.ReadVoteExport(f)
				f.Close()
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				b, err := pabulib.Build(cmd.Context(), rel, votes, secret, step)
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				target := filepath.Join(outDir, b.Step.FileName())
				tmp, err := os.CreateTemp(outDir, ".tmp-*.pb")
				if err != nil {
					return err
				}
				if err := b.File.Write(tmp); err != nil {
					tmp.Close()
					os.Remove(tmp.Name())
					return err
				}
				tmp.Close()
				if err := os.Rename(tmp.Name(), target); err != nil {
					return err
				}
				done[b.Step.Source+"/"+b.Step.StepID] = true
				fmt.Fprintf(out, "%s: %d projects, %d ballots (%s)\n", target, len(b.File.Projects), len(b.File.Votes), b.Step.StepTitle)
				for _, n := range b.Notes {
					fmt.Fprintf(out, "  note: %s\n", n)
				}
			}
			for _, s := range steps {
				if !done[s.Source+"/"+s.StepID] {
					fmt.Fprintf(out, "no file for %s, %s (%s): no admin vote export given for this step (--votes-export)\n", s.Collectivity, s.ProjectTitle, s.StepTitle)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&rel, "release", "", "release directory or id (default: the current one, OUT/latest)")
	f.StringVar(&outDir, "out", "", "directory of the .pb files")
	f.StringArrayVar(&exports, "votes-export", nil, "an admin vote export (CSV) of one vote step, repeatable")
	f.StringVar(&step, "step", "", "the step id the export must belong to (with one --votes-export)")
	return cmd
}
