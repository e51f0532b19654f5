package pabulib

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// ExportVote is one row of a Cap Collectif admin vote export (the
// simplified format of a collect or selection step, 9 columns,
// ../shared/capco/vote-export.md).
type ExportVote struct {
	Line        int    // line in the file, for error messages
	ProposalID  string // raw UUID (the API's Proposal, base64 "Proposal:<uuid>")
	Reference   string // "7-1", literal quotes stripped
	Title       string
	VoteID      int64
	Ranking     int // 1 on every row of a non-ranking step
	PublishedAt string
	Anonymous   bool
	AuthorID    string // raw voter id: personal data, hashed before anything is written
}

// exportColumns are the translation keys of the 9 columns, in order; the
// platform's header may also be their French labels, read by position.
var exportColumns = []string{"export_proposal_id", "export_proposal_reference", "export_proposal_title",
	"export_proposal_link", "export_proposal_votes_id", "export_proposal_votes_ranking",
	"export_proposal_votes_published_at", "export_proposal_votes_anonymous", "export_proposal_votes_author_id"}

// ReadVoteExport reads an admin vote export: UTF-8 with or without a BOM,
// ';' or ',' separated (sniffed), 9 columns. Any other layout, a row that
// does not parse, a vote id twice or a voter voting twice for one proposal
// is an error naming the columns or lines at fault.
func ReadVoteExport(r io.Reader) ([]ExportVote, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("vote export: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	first, _, _ := bytes.Cut(data, []byte("\n"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = ';'
	if bytes.Count(first, []byte(",")) > bytes.Count(first, []byte(";")) {
		cr.Comma = ','
	}
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("vote export: header: %w", err)
	}
	var keyed, missing []string
	for _, h := range header {
		if strings.HasPrefix(strings.TrimSpace(h), "export_") {
			keyed = append(keyed, strings.TrimSpace(h))
		}
	}
	for _, k := range exportColumns {
		if len(keyed) > 0 && !slices.Contains(keyed, k) {
			missing = append(missing, k)
		}
	}
	if len(header) != len(exportColumns) || len(missing) > 0 || (len(keyed) > 0 && !slices.Equal(keyed, exportColumns)) {
		if len(keyed) == 0 {
			missing = exportColumns
		}
		return nil, fmt.Errorf("vote export: %d columns (%s), not the 9 of the platform's simplified vote export (%s); missing or out of place: %s",
			len(header), strings.Join(header, ", "), strings.Join(exportColumns, ", "), strings.Join(missing, ", "))
	}
	var out []ExportVote
	var errs []error
	seenVote := map[int64]int{}
	seenPair := map[[2]string]int{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("vote export: line %d: %w", line, err)
		}
		if len(rec) != len(exportColumns) {
			errs = append(errs, fmt.Errorf("line %d: %d fields, want 9", line, len(rec)))
			continue
		}
		v := ExportVote{Line: line, ProposalID: strings.TrimSpace(rec[0]), Reference: strings.Trim(rec[1], `"`), Title: rec[2],
			PublishedAt: rec[6], AuthorID: strings.TrimSpace(rec[8])}
		if v.VoteID, err = strconv.ParseInt(strings.TrimSpace(rec[4]), 10, 64); err != nil {
			errs = append(errs, fmt.Errorf("line %d: vote id %q is not an integer", line, rec[4]))
		}
		if v.Ranking, err = strconv.Atoi(strings.TrimSpace(rec[5])); err != nil {
			errs = append(errs, fmt.Errorf("line %d: ranking %q is not an integer", line, rec[5]))
		}
		switch strings.TrimSpace(rec[7]) {
		case "Oui", "oui", "1", "true":
			v.Anonymous = true
		case "Non", "non", "0", "false", "":
		default:
			errs = append(errs, fmt.Errorf("line %d: anonymous %q is not Oui or Non", line, rec[7]))
		}
		if v.ProposalID == "" || v.AuthorID == "" {
			errs = append(errs, fmt.Errorf("line %d: empty proposal or voter id", line))
		}
		if prev, dup := seenVote[v.VoteID]; dup {
			errs = append(errs, fmt.Errorf("line %d: vote id %d already on line %d", line, v.VoteID, prev))
		}
		seenVote[v.VoteID] = line
		pair := [2]string{v.AuthorID, v.ProposalID}
		if prev, dup := seenPair[pair]; dup {
			errs = append(errs, fmt.Errorf("line %d: the same voter voted twice for proposal %s (line %d): duplicate ballot entry", line, v.Reference, prev))
		}
		seenPair[pair] = line
		out = append(out, v)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("vote export: %w", errors.Join(errs...))
	}
	if len(out) == 0 {
		return nil, errors.New("vote export: no vote")
	}
	return out, nil
}
