package reports

import (
	"cmp"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/internal/duckdbx"
	"github.com/capstat/capstat/reports/release"
)

// DCAT configures the DCAT-AP catalogue written with each release, the
// file data.gouv.fr harvests (DIR/catalog.jsonld and DIR/catalog.rdf).
type DCAT struct {
	// BaseURL is the public address the daemon serves DIR at
	// (https://data.example.fr): download URLs are absolute.
	BaseURL       string
	PublisherName string
	PublisherURL  string // optional
	ContactName   string // optional, the publisher's name by default
	ContactEmail  string // optional
}

// Catalogue file names, at the top of the publication directory.
const (
	CatalogJSONLD = "catalog.jsonld"
	CatalogRDF    = "catalog.rdf"
)

// Vocabularies of the catalogue.
const (
	nsDCAT  = "http://www.w3.org/ns/dcat#"
	nsDCT   = "http://purl.org/dc/terms/"
	nsFOAF  = "http://xmlns.com/foaf/0.1/"
	nsVCard = "http://www.w3.org/2006/vcard/ns#"
	nsSPDX  = "http://spdx.org/rdf/terms#"
	nsRDF   = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsXSD   = "http://www.w3.org/2001/XMLSchema#"
)

// licenceURIs are the official URIs of the licences (data.gouv.fr
// recognises Licence Ouverte 2.0 by it).
var licenceURIs = map[string]string{
	"etalab-2.0": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
	"odbl-1.0":   "https://opendatacommons.org/licenses/odbl/1-0/",
}

var mediaTypes = map[string]string{
	"parquet": "https://www.iana.org/assignments/media-types/application/vnd.apache.parquet",
	"csv":     "https://www.iana.org/assignments/media-types/text/csv",
	"duckdb":  "https://www.iana.org/assignments/media-types/application/octet-stream",
}

// term is an RDF object: an IRI, or a literal with a language or datatype.
type term struct {
	IRI, Value, Lang, Type string
}

func iri(s string) term                  { return term{IRI: s} }
func lit(s, lang string) term            { return term{Value: s, Lang: lang} }
func typed(s, datatype string) term      { return term{Value: s, Type: datatype} }
func (t term) isIRI() bool               { return t.IRI != "" }
func dateTime(t time.Time) term          { return typed(t.UTC().Format(time.RFC3339), nsXSD+"dateTime") }
func dateOnly(t time.Time) term          { return typed(t.Format(time.DateOnly), nsXSD+"date") }
func nonNegative(n int64) term           { return typed(fmt.Sprint(n), nsXSD+"nonNegativeInteger") }
func (g *graph) add(s, p string, o term) { g.triples = append(g.triples, [3]any{s, p, o}) }

// graph is a list of triples, written as JSON-LD and as RDF/XML.
type graph struct{ triples [][3]any }

// dcatCatalog builds the catalogue of the current release rel: one
// dcat:Dataset per dataset (a stable identifier across releases), one
// dcat:Distribution per file (Parquet files, CSV, the DuckDB snapshot)
// with its absolute download URL, size and SHA-256 from the manifest.
func dcatCatalog(ctx context.Context, rel *release.Release, cat *datasets.Contract, d DCAT, lic string) (*graph, error) {
	base := strings.TrimRight(d.BaseURL, "/")
	g := &graph{}
	catalog := base + "/" + CatalogJSONLD + "#catalogue"
	publisher := base + "/#publisher"
	contact := base + "/#contact"
	licence := iri(licenceURIs[lic])
	g.add(catalog, nsRDF+"type", iri(nsDCAT+"Catalog"))
	g.add(catalog, nsDCT+"title", lit("Budgets participatifs et participation citoyenne (capstat)", "fr"))
	g.add(catalog, nsDCT+"title", lit("Participatory budgets and civic participation (capstat)", "en"))
	g.add(catalog, nsDCT+"description", lit("Données ouvertes des plateformes de participation Cap Collectif : projets, propositions, votes, contributions et indicateurs comparés entre collectivités.", "fr"))
	g.add(catalog, nsDCT+"description", lit("Open data from Cap Collectif participation platforms: projects, proposals, votes, contributions and metrics compared across collectivities.", "en"))
	g.add(catalog, nsDCT+"publisher", iri(publisher))
	g.add(catalog, nsDCT+"license", licence)
	g.add(catalog, nsDCT+"modified", dateTime(rel.CreatedAt))
	g.add(catalog, nsFOAF+"homepage", iri(base+"/"))
	g.add(publisher, nsRDF+"type", iri(nsFOAF+"Agent"))
	g.add(publisher, nsFOAF+"name", lit(d.PublisherName, ""))
	if d.PublisherURL != "" {
		g.add(publisher, nsFOAF+"homepage", iri(d.PublisherURL))
	}
	g.add(contact, nsRDF+"type", iri(nsVCard+"Kind"))
	g.add(contact, nsVCard+"fn", lit(cmp.Or(d.ContactName, d.PublisherName), ""))
	if d.ContactEmail != "" {
		g.add(contact, nsVCard+"hasEmail", iri("mailto:"+d.ContactEmail))
	}

	facts, err := releaseFacts(ctx, rel, cat)
	if err != nil {
		return nil, err
	}
	relURL := base + "/data/releases/" + rel.ID + "/"
	byDataset := map[string][]release.FileEntry{}
	var snapshot *release.FileEntry
	for i, f := range rel.Manifest.Files {
		switch {
		case f.Dataset != "":
			byDataset[f.Dataset] = append(byDataset[f.Dataset], f)
		case f.Path == release.SnapshotFile:
			snapshot = &rel.Manifest.Files[i]
		}
	}
	for _, ds := range cat.Datasets {
		files := byDataset[ds.Name]
		if len(files) == 0 {
			continue
		}
		id := base + "/datasets/" + ds.Name
		g.add(catalog, nsDCAT+"dataset", iri(id))
		g.add(id, nsRDF+"type", iri(nsDCAT+"Dataset"))
		g.add(id, nsDCT+"identifier", lit("capstat:"+ds.Name, ""))
		g.add(id, nsDCT+"title", lit(ds.Title, "fr"))
		g.add(id, nsDCT+"title", lit(ds.Name, "en"))
		g.add(id, nsDCT+"description", lit(ds.DescriptionFR, "fr"))
		g.add(id, nsDCT+"description", lit(ds.Description, "en"))
		for _, k := range []string{"budget participatif", "participation citoyenne", "démocratie participative", "Cap Collectif", ds.Name} {
			g.add(id, nsDCAT+"keyword", lit(k, "fr"))
		}
		g.add(id, nsDCT+"publisher", iri(publisher))
		g.add(id, nsDCAT+"contactPoint", iri(contact))
		g.add(id, nsDCT+"license", licence)
		g.add(id, nsDCT+"modified", dateTime(rel.CreatedAt))
		g.add(id, nsDCT+"isVersionOf", lit(rel.ID, ""))
		if r, ok := facts.temporal[ds.Name]; ok {
			period := id + "#period"
			g.add(id, nsDCT+"temporal", iri(period))
			g.add(period, nsRDF+"type", iri(nsDCT+"PeriodOfTime"))
			g.add(period, nsDCAT+"startDate", dateOnly(r[0]))
			g.add(period, nsDCAT+"endDate", dateOnly(r[1]))
		}
		for _, s := range facts.spatial {
			g.add(id, nsDCT+"spatial", iri(s))
		}
		if snapshot != nil {
			files = append(files, *snapshot)
		}
		for _, f := range files {
			dist := relURL + f.Path + "#distribution-" + ds.Name
			g.add(id, nsDCAT+"distribution", iri(dist))
			g.add(dist, nsRDF+"type", iri(nsDCAT+"Distribution"))
			g.add(dist, nsDCT+"title", lit(ds.Title+" ("+f.Format+", "+f.Path+")", "fr"))
			g.add(dist, nsDCAT+"downloadURL", iri(relURL+f.Path))
			g.add(dist, nsDCAT+"accessURL", iri(relURL+f.Path))
			if mt, ok := mediaTypes[f.Format]; ok {
				g.add(dist, nsDCAT+"mediaType", iri(mt))
			}
			g.add(dist, nsDCT+"format", lit(strings.ToUpper(f.Format), ""))
			g.add(dist, nsDCAT+"byteSize", nonNegative(f.Bytes))
			g.add(dist, nsDCT+"license", licence)
			g.add(dist, nsDCT+"conformsTo", iri(relURL+release.DatapackageFile))
			sum := dist + "-sha256"
			g.add(dist, nsSPDX+"checksum", iri(sum))
			g.add(sum, nsRDF+"type", iri(nsSPDX+"Checksum"))
			g.add(sum, nsSPDX+"algorithm", iri(nsSPDX+"checksumAlgorithm_sha256"))
			g.add(sum, nsSPDX+"checksumValue", typed(f.SHA256, nsXSD+"hexBinary"))
		}
	}
	return g, nil
}

// facts are what the catalogue says of the data beyond the manifest.
type facts struct {
	temporal map[string][2]time.Time // dataset → first and last day of its dates
	spatial  []string                // INSEE URIs of the collectivities covered
}

// releaseFacts reads the release's own snapshot: each dataset's date range
// (its first date or timestamp column) and the collectivities covered.
func releaseFacts(ctx context.Context, rel *release.Release, cat *datasets.Contract) (facts, error) {
	out := facts{temporal: map[string][2]time.Time{}}
	db, err := duckdbx.OpenReadOnly(ctx, filepath.Join(rel.Dir, release.SnapshotFile))
	if err != nil {
		return out, fmt.Errorf("catalogue: %w", err)
	}
	defer db.Close()
	for _, ds := range cat.Datasets {
		for _, col := range ds.Columns {
			if col.Type != "DATE" && col.Type != "TIMESTAMPTZ" {
				continue
			}
			var lo, hi *time.Time
			q := fmt.Sprintf("SELECT min(%s)::DATE, max(%s)::DATE FROM %s", duckdbx.Ident(col.Name), duckdbx.Ident(col.Name), duckdbx.Ident(ds.Name))
			if err := db.QueryRowContext(ctx, q).Scan(&lo, &hi); err != nil {
				return out, fmt.Errorf("catalogue: dates of %s: %w", ds.Name, err)
			}
			if lo != nil && hi != nil {
				out.temporal[ds.Name] = [2]time.Time{*lo, *hi}
			}
			break
		}
	}
	rows, err := db.QueryContext(ctx, "SELECT collectivity_code, collectivity_kind FROM collectivities ORDER BY collectivity_code")
	if err != nil {
		return out, fmt.Errorf("catalogue: collectivities: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var code, kind string
		if err := rows.Scan(&code, &kind); err != nil {
			return out, fmt.Errorf("catalogue: collectivities: %w", err)
		}
		switch kind {
		case "departement":
			out.spatial = append(out.spatial, "http://id.insee.fr/geo/departement/"+code)
		case "region":
			out.spatial = append(out.spatial, "http://id.insee.fr/geo/region/"+strings.TrimPrefix(code, "R"))
		case "commune":
			out.spatial = append(out.spatial, "http://id.insee.fr/geo/commune/"+code)
		}
	}
	return out, rows.Err()
}

// jsonLD renders the graph as expanded JSON-LD: one node per subject.
func (g *graph) jsonLD() ([]byte, error) {
	nodes := map[string]map[string][]any{}
	var order []string
	for _, t := range g.triples {
		s, p, o := t[0].(string), t[1].(string), t[2].(term)
		n := nodes[s]
		if n == nil {
			n = map[string][]any{}
			nodes[s] = n
			order = append(order, s)
		}
		if p == nsRDF+"type" {
			n["@type"] = append(n["@type"], o.IRI)
			continue
		}
		var v map[string]string
		switch {
		case o.isIRI():
			v = map[string]string{"@id": o.IRI}
		case o.Lang != "":
			v = map[string]string{"@value": o.Value, "@language": o.Lang}
		case o.Type != "":
			v = map[string]string{"@value": o.Value, "@type": o.Type}
		default:
			v = map[string]string{"@value": o.Value}
		}
		n[p] = append(n[p], v)
	}
	out := make([]map[string]any, 0, len(order))
	for _, s := range order {
		node := map[string]any{"@id": s}
		for k, v := range nodes[s] {
			node[k] = v
		}
		out = append(out, node)
	}
	return json.MarshalIndent(map[string]any{"@graph": out}, "", "  ")
}

// rdfXML renders the graph as RDF/XML, one rdf:Description per subject.
func (g *graph) rdfXML() ([]byte, error) {
	prefixes := map[string]string{nsDCAT: "dcat", nsDCT: "dct", nsFOAF: "foaf", nsVCard: "vcard", nsSPDX: "spdx", nsRDF: "rdf"}
	var nsList []string
	for ns := range prefixes {
		nsList = append(nsList, ns)
	}
	sort.Strings(nsList)
	qname := func(p string) (string, error) {
		for _, ns := range nsList {
			if strings.HasPrefix(p, ns) && !strings.ContainsAny(p[len(ns):], "/#") {
				return prefixes[ns] + ":" + p[len(ns):], nil
			}
		}
		return "", fmt.Errorf("catalogue: no prefix for %s", p)
	}
	esc := func(s string) string {
		var b strings.Builder
		_ = xml.EscapeText(&b, []byte(s))
		return strings.ReplaceAll(b.String(), `"`, "&quot;")
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n<rdf:RDF")
	for _, ns := range nsList {
		fmt.Fprintf(&b, "\n    xmlns:%s=%q", prefixes[ns], ns)
	}
	b.WriteString(">\n")
	bySubject := map[string][][3]any{}
	var order []string
	for _, t := range g.triples {
		s := t[0].(string)
		if _, ok := bySubject[s]; !ok {
			order = append(order, s)
		}
		bySubject[s] = append(bySubject[s], t)
	}
	for _, s := range order {
		fmt.Fprintf(&b, "  <rdf:Description rdf:about=\"%s\">\n", esc(s))
		for _, t := range bySubject[s] {
			q, err := qname(t[1].(string))
			if err != nil {
				return nil, err
			}
			o := t[2].(term)
			switch {
			case o.isIRI():
				fmt.Fprintf(&b, "    <%s rdf:resource=\"%s\"/>\n", q, esc(o.IRI))
			case o.Lang != "":
				fmt.Fprintf(&b, "    <%s xml:lang=\"%s\">%s</%s>\n", q, o.Lang, esc(o.Value), q)
			case o.Type != "":
				fmt.Fprintf(&b, "    <%s rdf:datatype=\"%s\">%s</%s>\n", q, esc(o.Type), esc(o.Value), q)
			default:
				fmt.Fprintf(&b, "    <%s>%s</%s>\n", q, esc(o.Value), q)
			}
		}
		b.WriteString("  </rdf:Description>\n")
	}
	b.WriteString("</rdf:RDF>\n")
	return []byte(b.String()), nil
}

// writeCatalogue writes the catalogue of rel into outDir under temporary
// names and returns the function that moves them into place (after the
// latest switch, so that the catalogue never names a release that is not
// current).
func writeCatalogue(ctx context.Context, outDir string, rel *release.Release, o Options) (commit func() error, err error) {
	g, err := dcatCatalog(ctx, rel, o.Catalog, *o.DCAT, o.Licence)
	if err != nil {
		return nil, err
	}
	jsonld, err := g.jsonLD()
	if err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	rdf, err := g.rdfXML()
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{CatalogJSONLD: append(jsonld, '\n'), CatalogRDF: rdf}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(outDir, ".tmp-"+name), data, 0o644); err != nil {
			return nil, fmt.Errorf("catalogue: %w", err)
		}
	}
	return func() error {
		for name := range files {
			if err := os.Rename(filepath.Join(outDir, ".tmp-"+name), filepath.Join(outDir, name)); err != nil {
				return fmt.Errorf("catalogue: %w", err)
			}
		}
		return release.SyncDir(outDir)
	}, nil
}
