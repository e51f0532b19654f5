package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/capstat/capstat/queries"
	"github.com/capstat/capstat/reports/release"
)

func newQueryCmd(g *globals) *cobra.Command {
	var (
		params  []string
		format  string
		sqlText string
		list    bool
	)
	cmd := &cobra.Command{
		Use:   "query [NAME] [--param k=v…] [--format table|csv|json|parquet] | query --sql \"…\" | query --list",
		Short: "Run a canned query, or guarded ad-hoc SQL, on the current release",
		Long: `Runs on the read-only snapshot of the current release (OUT/latest/capstat.duckdb),
where each dataset is a view named after it (proposals, budget_comparison…).
Ad-hoc SQL is limited to one read-only statement, without file or network access.`,
		Example: `  capstat query --list
  capstat query collectivity_ranking --param metric=votes_per_1k
  capstat query --sql "SELECT source, sum(votes) FROM budget_comparison GROUP BY ALL" --format csv`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.config()
			if err != nil {
				return err
			}
			out := bufio.NewWriter(cmd.OutOrStdout())
			defer out.Flush()
			if list {
				cat, err := queries.LoadCatalog()
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
				for _, q := range cat.Queries() {
					var ps []string
					for _, p := range q.Params {
						ps = append(ps, p.Name+":"+p.Type)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\n", q.Name, q.Title, strings.Join(ps, " "))
				}
				return tw.Flush()
			}
			f, err := queries.ParseFormat(format)
			if err != nil {
				return err
			}
			if err := refuseBinaryToTerminal(f, cmd.OutOrStdout()); err != nil {
				return err
			}
			if (len(args) == 1) == (sqlText != "") {
				return fmt.Errorf("give either a query NAME or --sql (see capstat query --list)")
			}
			e, err := queries.Open(cmd.Context(), release.LatestSnapshot(c.Out), queryLimits(c))
			if err != nil {
				return fmt.Errorf("no current release to query in %s (run capstat run or publish first): %w", c.Out, err)
			}
			defer e.Close()
			if sqlText != "" {
				return e.SQL(cmd.Context(), sqlText, out, f)
			}
			kv, err := queries.ParseParamArgs(params)
			if err != nil {
				return err
			}
			return e.Run(cmd.Context(), args[0], kv, out, f)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&params, "param", nil, "query parameter k=v, repeatable")
	f.StringVar(&format, "format", "table", "table, csv, json or parquet")
	f.StringVar(&sqlText, "sql", "", "ad-hoc SQL (one read-only statement)")
	f.BoolVar(&list, "list", false, "list the canned queries")
	return cmd
}

// refuseBinaryToTerminal refuses to write a binary format (Parquet) to a
// terminal, where it would only scramble the screen.
func refuseBinaryToTerminal(f queries.Format, w io.Writer) error {
	file, ok := w.(*os.File)
	if f != queries.FormatParquet || !ok || !term.IsTerminal(int(file.Fd())) {
		return nil
	}
	return fmt.Errorf("--format parquet writes binary data: redirect it to a file (capstat query … --format parquet > result.parquet)")
}
