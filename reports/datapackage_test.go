package reports

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"time"
)

// validateDataPackage checks a datapackage.json against the Frictionless
// Data Package and Table Schema (v1) rules the release relies on.
func validateDataPackage(raw []byte, dir string) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	var dp struct {
		Profile   string `json:"profile"`
		Name      string `json:"name"`
		Created   string `json:"created"`
		Licenses  []map[string]string
		Sources   []map[string]string
		Resources []struct {
			Name    string          `json:"name"`
			Profile string          `json:"profile"`
			Path    json.RawMessage `json:"path"`
			Format  string          `json:"format"`
			Schema  *struct {
				Fields []struct {
					Name        string `json:"name"`
					Type        string `json:"type"`
					Format      string `json:"format"`
					Description string `json:"description"`
				} `json:"fields"`
				PrimaryKey  []string `json:"primaryKey"`
				ForeignKeys []struct {
					Fields    []string `json:"fields"`
					Reference struct {
						Resource string   `json:"resource"`
						Fields   []string `json:"fields"`
					} `json:"reference"`
				} `json:"foreignKeys"`
			} `json:"schema"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(raw, &dp); err != nil {
		return []error{err}
	}
	nameRE := regexp.MustCompile(`^[a-z0-9._-]+$`)
	if dp.Profile != "tabular-data-package" && dp.Profile != "data-package" {
		bad("package profile %q", dp.Profile)
	}
	if !nameRE.MatchString(dp.Name) {
		bad("package name %q", dp.Name)
	}
	if _, err := time.Parse(time.RFC3339, dp.Created); err != nil {
		bad("created %q: %v", dp.Created, err)
	}
	if len(dp.Licenses) == 0 {
		bad("no licence")
	}
	for _, l := range dp.Licenses {
		if l["name"] == "" && l["path"] == "" {
			bad("licence without name or path")
		}
	}
	for _, s := range dp.Sources {
		if s["title"] == "" {
			bad("source without title")
		}
	}
	if len(dp.Resources) == 0 {
		bad("no resources")
	}
	types := map[string]bool{"string": true, "number": true, "integer": true, "boolean": true, "object": true, "array": true,
		"date": true, "time": true, "datetime": true, "year": true, "yearmonth": true, "duration": true,
		"geopoint": true, "geojson": true, "any": true}
	fieldsOf := map[string]map[string]bool{}
	for _, r := range dp.Resources {
		if !nameRE.MatchString(r.Name) {
			bad("resource name %q", r.Name)
		}
		if fieldsOf[r.Name] != nil {
			bad("resource %s declared twice", r.Name)
		}
		fieldsOf[r.Name] = map[string]bool{}
		if r.Schema == nil {
			continue
		}
		for _, f := range r.Schema.Fields {
			if fieldsOf[r.Name][f.Name] {
				bad("resource %s: field %s twice", r.Name, f.Name)
			}
			fieldsOf[r.Name][f.Name] = true
		}
	}
	for _, r := range dp.Resources {
		var paths []string
		var one string
		if json.Unmarshal(r.Path, &one) == nil {
			paths = []string{one}
		} else if err := json.Unmarshal(r.Path, &paths); err != nil || len(paths) == 0 {
			bad("resource %s: path must be a string or a non-empty array", r.Name)
		}
		for _, p := range paths {
			if path.IsAbs(p) || path.Clean(p) != p || p == ".." || len(p) > 2 && p[:3] == "../" {
				bad("resource %s: unsafe path %q", r.Name, p)
			} else if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
				bad("resource %s: %v", r.Name, err)
			}
		}
		if r.Profile == "tabular-data-resource" && r.Schema == nil {
			bad("tabular resource %s without schema", r.Name)
		}
		if r.Schema == nil {
			continue
		}
		if len(r.Schema.Fields) == 0 {
			bad("resource %s: no fields", r.Name)
		}
		for _, f := range r.Schema.Fields {
			if f.Name == "" || !types[f.Type] {
				bad("resource %s field %q: type %q not allowed", r.Name, f.Name, f.Type)
			}
			if f.Description == "" {
				bad("resource %s field %s: no description", r.Name, f.Name)
			}
		}
		for _, k := range r.Schema.PrimaryKey {
			if !fieldsOf[r.Name][k] {
				bad("resource %s: primary key field %q is not a field", r.Name, k)
			}
		}
		for _, fk := range r.Schema.ForeignKeys {
			target := fk.Reference.Resource
			if target == "" {
				target = r.Name
			}
			ref, ok := fieldsOf[target]
			if !ok {
				bad("resource %s: foreign key to unknown resource %q", r.Name, target)
				continue
			}
			if len(fk.Fields) == 0 || len(fk.Fields) != len(fk.Reference.Fields) {
				bad("resource %s: foreign key field counts differ", r.Name)
			}
			for _, f := range fk.Fields {
				if !fieldsOf[r.Name][f] {
					bad("resource %s: foreign key field %q is not a field", r.Name, f)
				}
			}
			for _, f := range fk.Reference.Fields {
				if !ref[f] {
					bad("resource %s: foreign key references %s.%s, not a field", r.Name, target, f)
				}
			}
		}
	}
	return errs
}
