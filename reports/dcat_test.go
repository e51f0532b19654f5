package reports

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

type jsonLDNode map[string]any

// readCatalogue returns the nodes of DIR/catalog.jsonld by @id.
func readCatalogue(t *testing.T, dir string) map[string]jsonLDNode {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, CatalogJSONLD))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Graph []jsonLDNode `json:"@graph"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]jsonLDNode{}
	for _, n := range doc.Graph {
		out[n["@id"].(string)] = n
	}
	return out
}

// values returns the @id or @value of a node's property.
func (n jsonLDNode) values(p string) []string {
	var out []string
	list, _ := n[p].([]any)
	for _, v := range list {
		m := v.(map[string]any)
		if id, ok := m["@id"].(string); ok {
			out = append(out, id)
		} else {
			out = append(out, m["@value"].(string))
		}
	}
	return out
}

func (n jsonLDNode) is(typ string) bool {
	list, _ := n["@type"].([]any)
	for _, v := range list {
		if v == typ {
			return true
		}
	}
	return false
}

// TestDCATCatalogue: each publish writes a DCAT-AP catalogue of the current
// release: one dataset per published dataset with a stable identifier,
// the Licence Ouverte URI, and a distribution per file whose absolute
// download URL, size and SHA-256 are the manifest's. The next release
// replaces it: the superseded release is no longer named. A real RDF
// library (rdflib) reads the JSON-LD and the RDF/XML into the same triples.
func TestDCATCatalogue(t *testing.T) {
	cat := loadCatalog(t)
	db := newWorkingDB(t, cat)
	out := t.TempDir()
	opts := testOptions(t, out)
	opts.DCAT = &DCAT{BaseURL: "https://data.example.fr/", PublisherName: "Département des Landes", ContactEmail: "opendata@example.fr"}
	first := publish(t, db, opts)
	second := publish(t, db, opts)

	nodes := readCatalogue(t, out)
	var catalogue jsonLDNode
	for _, n := range nodes {
		if n.is(nsDCAT + "Catalog") {
			catalogue = n
		}
	}
	if catalogue == nil {
		t.Fatal("no dcat:Catalog")
	}
	files := map[string]struct {
		bytes int64
		sum   string
	}{}
	for _, f := range second.Manifest.Files {
		files["https://data.example.fr/data/releases/"+second.ID+"/"+f.Path] = struct {
			bytes int64
			sum   string
		}{f.Bytes, f.SHA256}
	}
	datasetIDs := catalogue.values(nsDCAT + "dataset")
	if len(datasetIDs) != len(second.Manifest.Datasets) {
		t.Errorf("%d datasets in the catalogue, %d in the release", len(datasetIDs), len(second.Manifest.Datasets))
	}
	for _, id := range datasetIDs {
		ds := nodes[id]
		name := strings.TrimPrefix(id, "https://data.example.fr/datasets/")
		if got := ds.values(nsDCT + "identifier"); len(got) != 1 || got[0] != "capstat:"+name {
			t.Errorf("%s: identifier %v", id, got)
		}
		if got := ds.values(nsDCT + "license"); len(got) != 1 || got[0] != "https://www.etalab.gouv.fr/licence-ouverte-open-licence/" {
			t.Errorf("%s: licence %v", id, got)
		}
		if len(ds.values(nsDCT+"title")) != 2 || len(ds.values(nsDCT+"description")) != 2 || len(ds.values(nsDCAT+"keyword")) == 0 {
			t.Errorf("%s: titles, descriptions (fr, en) or keywords missing", id)
		}
		dists := ds.values(nsDCAT + "distribution")
		if len(dists) < 2 {
			t.Errorf("%s: %d distributions, want Parquet, CSV or the snapshot", id, len(dists))
		}
		for _, d := range dists {
			dist := nodes[d]
			url := dist.values(nsDCAT + "downloadURL")
			if len(url) != 1 || strings.Contains(url[0], first.ID) {
				t.Fatalf("%s: download URL %v (the superseded release %s must not appear)", d, url, first.ID)
			}
			f, ok := files[url[0]]
			if !ok {
				t.Errorf("%s: %s is no file of the current release", d, url[0])
				continue
			}
			sum := nodes[dist.values(nsSPDX + "checksum")[0]]
			if got := sum.values(nsSPDX + "checksumValue"); len(got) != 1 || got[0] != f.sum {
				t.Errorf("%s: checksum %v, manifest %s", d, got, f.sum)
			}
			if got := dist.values(nsDCAT + "byteSize"); len(got) != 1 || got[0] != itoa64(f.bytes) {
				t.Errorf("%s: byteSize %v, manifest %d", d, got, f.bytes)
			}
		}
	}

	python := "/usr/bin/python3"
	if exec.Command(python, "-c", "import rdflib").Run() != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-rdflib is not installed (apt-get install python3-rdflib)")
		}
		t.Skip("python3-rdflib not installed: the RDF library check did not run")
	}
	script := `import sys, rdflib
from rdflib.namespace import RDF, DCAT, DCTERMS
a = rdflib.Graph().parse(sys.argv[1], format="json-ld")
b = rdflib.Graph().parse(sys.argv[2], format="xml")
assert len(a) == len(b) and len(a) > 100, (len(a), len(b))
assert set(a) == set(b), "JSON-LD and RDF/XML differ"
cats = list(a.subjects(RDF.type, DCAT.Catalog))
ds = list(a.objects(cats[0], DCAT.dataset))
dists = list(a.subjects(RDF.type, DCAT.Distribution))
print(len(cats), len(ds), len(dists), all((d, DCTERMS.license, None) in a for d in ds))
`
	got, err := exec.Command(python, "-c", script, filepath.Join(out, CatalogJSONLD), filepath.Join(out, CatalogRDF)).CombinedOutput()
	if err != nil {
		t.Fatalf("rdflib: %v\n%s", err, got)
	}
	if f := strings.Fields(string(got)); len(f) != 4 || f[0] != "1" || f[1] != itoa64(int64(len(datasetIDs))) || f[3] != "True" {
		t.Errorf("rdflib read %q: want 1 catalogue, %d datasets, every one licensed", got, len(datasetIDs))
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
