package config

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"
)

// unknownKeys walks the YAML tree against the Go type it decodes into and
// returns one error per key the type does not have, naming the file, the
// line, the field path and the accepted keys (yaml's own message names a
// Go type, which an operator cannot act on).
func unknownKeys(path string, n *yaml.Node, t reflect.Type, field string) []error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.DocumentNode {
		var errs []error
		for _, c := range n.Content {
			errs = append(errs, unknownKeys(path, c, t, field)...)
		}
		return errs
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()) {
		return nil // decodes itself (Duration)
	}
	var errs []error
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if field != "" {
				p = field + "." + k.Value
			}
			ft, ok := fields[k.Value]
			if !ok {
				where := "the top level"
				if field != "" {
					where = field
				}
				errs = append(errs, fmt.Errorf("%s:%d: %s: unknown key %q in %s; accepted keys: %s",
					path, k.Line, p, k.Value, where, strings.Join(acceptedKeys(t), ", ")))
				continue
			}
			errs = append(errs, unknownKeys(path, v, ft, p)...)
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Map:
		for i := 0; i+1 < len(n.Content); i += 2 {
			errs = append(errs, unknownKeys(path, n.Content[i+1], t.Elem(), field+"."+n.Content[i].Value)...)
		}
	case n.Kind == yaml.SequenceNode && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		for i, c := range n.Content {
			errs = append(errs, unknownKeys(path, c, t.Elem(), fmt.Sprintf("%s[%d]", field, i))...)
		}
	}
	return errs
}

// yamlFields maps the yaml keys of struct t to their field types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// acceptedKeys lists the yaml keys of struct t in declaration order.
func acceptedKeys(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if f.IsExported() && name != "-" && name != "" {
			out = append(out, name)
		}
	}
	return out
}

// ManualOnly is the schedule of a job that runs only when triggered.
const ManualOnly = "@manual"

// CronParser parses the schedules of the configuration: cron specs with
// optional seconds (sec min hour dom mon dow), descriptors such as @daily
// and @every 15m, with an optional CRON_TZ= prefix.
func CronParser() cron.Parser {
	return cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
}

// CheckSchedule returns an error an operator can act on when spec is not a
// valid schedule ("" and ManualOnly are valid: no schedule).
func CheckSchedule(spec string) error {
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == ManualOnly {
		return nil
	}
	if _, err := CronParser().Parse(spec); err != nil {
		return fmt.Errorf("%q is not a cron schedule (%v); expected \"[sec] min hour dom month dow\" such as \"0 30 3 * * *\", a descriptor such as @daily or \"@every 15m\", or %s", spec, err, ManualOnly)
	}
	return nil
}
