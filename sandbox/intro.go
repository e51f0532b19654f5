package sandbox

import (
	"sort"

	"github.com/vektah/gqlparser/v2/ast"
)

// Introspection (__schema/__type), served only when Options.Introspection
// is set, like the graphql_introspection feature flag.

type (
	introSchema struct{ s *ast.Schema }
	introType   struct {
		s   *ast.Schema
		def *ast.Definition // named type
		t   *ast.Type       // wrapper (NON_NULL/LIST) when def is nil
	}
	introField struct {
		s *ast.Schema
		f *ast.FieldDefinition
	}
	introInput struct {
		s    *ast.Schema
		name string
		desc string
		typ  *ast.Type
		def  *ast.Value
	}
	introEnum struct{ v *ast.EnumValueDefinition }
	introDir  struct {
		s *ast.Schema
		d *ast.DirectiveDefinition
	}
)

func introTypeOf(s *ast.Schema, t *ast.Type) introType {
	if t.NonNull || t.Elem != nil {
		return introType{s: s, t: t}
	}
	return introType{s: s, def: s.Types[t.NamedType]}
}

func introTypeName(v any) string {
	switch v.(type) {
	case introSchema:
		return "__Schema"
	case introType:
		return "__Type"
	case introField:
		return "__Field"
	case introInput:
		return "__InputValue"
	case introEnum:
		return "__EnumValue"
	case introDir:
		return "__Directive"
	}
	return ""
}

func deprecation(dirs ast.DirectiveList) (bool, any) {
	d := dirs.ForName("deprecated")
	if d == nil {
		return false, nil
	}
	if a := d.Arguments.ForName("reason"); a != nil && a.Value != nil {
		return true, a.Value.Raw
	}
	return true, "No longer supported"
}

func (x *executor) introspect(obj any, cf *cfield) (any, error) {
	incDep, _ := cf.args["includeDeprecated"].(bool)
	switch o := obj.(type) {
	case introSchema:
		switch cf.name {
		case "types":
			names := make([]string, 0, len(o.s.Types))
			for n := range o.s.Types {
				names = append(names, n)
			}
			sort.Strings(names)
			l := make(sliceList[any], len(names))
			for i, n := range names {
				l[i] = introType{s: o.s, def: o.s.Types[n]}
			}
			return l, nil
		case "queryType":
			return introType{s: o.s, def: o.s.Query}, nil
		case "mutationType", "subscriptionType", "description":
			return nil, nil
		case "directives":
			names := make([]string, 0, len(o.s.Directives))
			for n := range o.s.Directives {
				names = append(names, n)
			}
			sort.Strings(names)
			l := make(sliceList[any], len(names))
			for i, n := range names {
				l[i] = introDir{o.s, o.s.Directives[n]}
			}
			return l, nil
		}
	case introType:
		if o.def == nil { // wrapper
			switch cf.name {
			case "kind":
				if o.t.NonNull {
					return "NON_NULL", nil
				}
				return "LIST", nil
			case "ofType":
				if o.t.NonNull {
					inner := *o.t
					inner.NonNull = false
					return introTypeOf(o.s, &inner), nil
				}
				return introTypeOf(o.s, o.t.Elem), nil
			}
			return nil, nil
		}
		d := o.def
		switch cf.name {
		case "kind":
			return string(d.Kind), nil
		case "name":
			return d.Name, nil
		case "description":
			return optStr(d.Description), nil
		case "fields":
			if d.Kind != ast.Object && d.Kind != ast.Interface {
				return nil, nil
			}
			var l sliceList[any]
			for _, f := range d.Fields {
				if len(f.Name) > 1 && f.Name[:2] == "__" {
					continue
				}
				if dep, _ := deprecation(f.Directives); dep && !incDep {
					continue
				}
				l = append(l, introField{o.s, f})
			}
			return l, nil
		case "interfaces":
			if d.Kind != ast.Object && d.Kind != ast.Interface {
				return nil, nil
			}
			l := sliceList[any]{}
			for _, n := range d.Interfaces {
				l = append(l, introType{s: o.s, def: o.s.Types[n]})
			}
			return l, nil
		case "possibleTypes":
			if d.Kind != ast.Interface && d.Kind != ast.Union {
				return nil, nil
			}
			l := sliceList[any]{}
			for _, p := range o.s.PossibleTypes[d.Name] {
				l = append(l, introType{s: o.s, def: p})
			}
			return l, nil
		case "enumValues":
			if d.Kind != ast.Enum {
				return nil, nil
			}
			l := sliceList[any]{}
			for _, v := range d.EnumValues {
				l = append(l, introEnum{v})
			}
			return l, nil
		case "inputFields":
			if d.Kind != ast.InputObject {
				return nil, nil
			}
			l := sliceList[any]{}
			for _, f := range d.Fields {
				l = append(l, introInput{o.s, f.Name, f.Description, f.Type, f.DefaultValue})
			}
			return l, nil
		case "isOneOf":
			return false, nil
		}
	case introField:
		switch cf.name {
		case "name":
			return o.f.Name, nil
		case "description":
			return optStr(o.f.Description), nil
		case "args":
			l := sliceList[any]{}
			for _, a := range o.f.Arguments {
				l = append(l, introInput{o.s, a.Name, a.Description, a.Type, a.DefaultValue})
			}
			return l, nil
		case "type":
			return introTypeOf(o.s, o.f.Type), nil
		case "isDeprecated":
			dep, _ := deprecation(o.f.Directives)
			return dep, nil
		case "deprecationReason":
			_, r := deprecation(o.f.Directives)
			return r, nil
		}
	case introInput:
		switch cf.name {
		case "name":
			return o.name, nil
		case "description":
			return optStr(o.desc), nil
		case "type":
			return introTypeOf(o.s, o.typ), nil
		case "defaultValue":
			if o.def == nil {
				return nil, nil
			}
			return o.def.String(), nil
		case "isDeprecated":
			return false, nil
		}
	case introEnum:
		switch cf.name {
		case "name":
			return o.v.Name, nil
		case "description":
			return optStr(o.v.Description), nil
		case "isDeprecated":
			dep, _ := deprecation(o.v.Directives)
			return dep, nil
		case "deprecationReason":
			_, r := deprecation(o.v.Directives)
			return r, nil
		}
	case introDir:
		switch cf.name {
		case "name":
			return o.d.Name, nil
		case "description":
			return optStr(o.d.Description), nil
		case "locations":
			l := make(sliceList[string], len(o.d.Locations))
			for i, loc := range o.d.Locations {
				l[i] = string(loc)
			}
			return l, nil
		case "args":
			l := sliceList[any]{}
			for _, a := range o.d.Arguments {
				l = append(l, introInput{o.s, a.Name, a.Description, a.Type, a.DefaultValue})
			}
			return l, nil
		case "isRepeatable":
			return o.d.IsRepeatable, nil
		}
	}
	return nil, nil
}
