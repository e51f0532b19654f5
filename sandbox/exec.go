package sandbox

import (
	"strconv"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// fieldErr is an error raised by a resolver, reported with its category.
type fieldErr struct{ msg, cat string }

func (e *fieldErr) Error() string { return e.msg }

var (
	errAccessDenied = &fieldErr{"Access denied to this field.", "user"}
	errInternal     = &fieldErr{"Internal server Error", "internal"}
	errNegFirst     = &fieldErr{`Argument "first" must be a non-negative integer`, "user"}
)

// gqlError is one entry of the response's errors array.
type gqlError struct {
	msg, cat  string
	line, col int
	path      []any
}

// pathElem is one response path step: a key, or a list index when key is "".
type pathElem struct {
	key string
	idx int
}

// list is a GraphQL list value.
type list interface {
	Len() int
	At(i int) any
}

type sliceList[T any] []T

func (s sliceList[T]) Len() int     { return len(s) }
func (s sliceList[T]) At(i int) any { return s[i] }

// unixTime is a DateTime stored as Unix seconds (votes).
type unixTime int64

// cfield is a field collected for one (selection, concrete type) pair;
// fields sharing a response key are merged.
type cfield struct {
	key   string
	name  string
	f     *ast.Field
	sel   ast.SelectionSet
	def   *ast.FieldDefinition
	named *ast.Definition // the field's named type
	args  map[string]any
}

type collectKey struct {
	owner *ast.Field
	typ   string
}

// executor runs one operation and streams JSON into buf.
type executor struct {
	schema    *ast.Schema
	in        *Instance
	authed    bool // a valid API key
	analyst   bool // … that may read the cost fields (API.md §6)
	vars      map[string]any
	buf       []byte
	errs      []gqlError
	path      []pathElem
	nodes     int
	collected map[collectKey][]*cfield
	doc       *ast.QueryDocument
}

func (x *executor) addErr(err error, f *ast.Field) {
	fe, ok := err.(*fieldErr)
	if !ok {
		fe = errInternal
	}
	e := gqlError{msg: fe.msg, cat: fe.cat, path: make([]any, len(x.path))}
	for i, p := range x.path {
		if p.key != "" {
			e.path[i] = p.key
		} else {
			e.path[i] = p.idx
		}
	}
	if f != nil && f.Position != nil {
		e.line, e.col = f.Position.Line, f.Position.Column
	}
	x.errs = append(x.errs, e)
}

func (x *executor) skipped(dirs ast.DirectiveList) bool {
	for _, d := range dirs {
		if d.Name != "skip" && d.Name != "include" {
			continue
		}
		v, _ := d.ArgumentMap(x.vars)["if"].(bool)
		if d.Name == "skip" && v || d.Name == "include" && !v {
			return true
		}
	}
	return false
}

func (x *executor) applies(cond, typ string) bool {
	if cond == "" || cond == typ {
		return true
	}
	for _, d := range x.schema.PossibleTypes[cond] {
		if d.Name == typ {
			return true
		}
	}
	return false
}

func (x *executor) fields(owner *ast.Field, typ string, sel ast.SelectionSet) []*cfield {
	k := collectKey{owner, typ}
	if fs, ok := x.collected[k]; ok {
		return fs
	}
	var out []*cfield
	idx := map[string]*cfield{}
	def := x.schema.Types[typ]
	var walk func(ast.SelectionSet)
	walk = func(ss ast.SelectionSet) {
		for _, s := range ss {
			switch s := s.(type) {
			case *ast.Field:
				if x.skipped(s.Directives) {
					continue
				}
				key := s.Alias
				if key == "" {
					key = s.Name
				}
				if cf, ok := idx[key]; ok {
					merged := make(ast.SelectionSet, 0, len(cf.sel)+len(s.SelectionSet))
					cf.sel = append(append(merged, cf.sel...), s.SelectionSet...)
					continue
				}
				cf := &cfield{key: key, name: s.Name, f: s, sel: s.SelectionSet}
				if def != nil {
					cf.def = def.Fields.ForName(s.Name)
				}
				if cf.def != nil {
					cf.args = arg2map(cf.def.Arguments, s.Arguments, x.vars)
					cf.named = x.schema.Types[cf.def.Type.Name()]
				}
				idx[key] = cf
				out = append(out, cf)
			case *ast.InlineFragment:
				if !x.skipped(s.Directives) && x.applies(s.TypeCondition, typ) {
					walk(s.SelectionSet)
				}
			case *ast.FragmentSpread:
				fd := s.Definition
				if fd == nil && x.doc != nil {
					fd = x.doc.Fragments.ForName(s.Name)
				}
				if fd != nil && !x.skipped(s.Directives) && x.applies(fd.TypeCondition, typ) {
					walk(fd.SelectionSet)
				}
			}
		}
	}
	walk(sel)
	x.collected[k] = out
	return out
}

// arg2map resolves arguments with defaults (gqlparser's own helper panics
// on bad values; validation already checked them).
func arg2map(defs ast.ArgumentDefinitionList, args ast.ArgumentList, vars map[string]any) map[string]any {
	res := make(map[string]any, len(defs))
	for _, d := range defs {
		if a := args.ForName(d.Name); a != nil {
			if a.Value.Kind == ast.Variable {
				if v, ok := vars[a.Value.Raw]; ok {
					res[d.Name] = v
					continue
				}
			} else if v, err := a.Value.Value(vars); err == nil {
				res[d.Name] = v
				continue
			}
		}
		if d.DefaultValue != nil {
			if v, err := d.DefaultValue.Value(vars); err == nil {
				res[d.Name] = v
			}
		}
	}
	return res
}

// object writes obj's selection; false means a non-null field failed and
// the object must become null (the error is already recorded).
func (x *executor) object(obj any, typ string, owner *ast.Field, sel ast.SelectionSet) bool {
	fs := x.fields(owner, typ, sel)
	x.nodes++
	x.buf = append(x.buf, '{')
	for i, cf := range fs {
		if i > 0 {
			x.buf = append(x.buf, ',')
		}
		x.buf = appendPHPString(x.buf, cf.key)
		x.buf = append(x.buf, ':')
		if cf.name == "__typename" {
			x.buf = appendPHPString(x.buf, typ)
			continue
		}
		if cf.def == nil {
			x.buf = append(x.buf, "null"...)
			continue
		}
		x.path = append(x.path, pathElem{key: cf.key})
		ok := x.field(obj, cf)
		x.path = x.path[:len(x.path)-1]
		if !ok {
			return false
		}
	}
	x.buf = append(x.buf, '}')
	return true
}

func (x *executor) field(obj any, cf *cfield) bool {
	mark := len(x.buf)
	v, err := x.resolve(obj, cf)
	if err != nil {
		x.addErr(err, cf.f)
		if cf.def.Type.NonNull {
			return false
		}
		x.buf = append(x.buf, "null"...)
		return true
	}
	if !x.value(v, cf.def.Type, cf) {
		if cf.def.Type.NonNull {
			return false
		}
		x.buf = append(x.buf[:mark], "null"...)
	}
	return true
}

func (x *executor) value(v any, t *ast.Type, cf *cfield) bool {
	if v == nil {
		if t.NonNull {
			x.addErr(errInternal, cf.f) // "Cannot return null for non-nullable field"
			return false
		}
		x.buf = append(x.buf, "null"...)
		return true
	}
	if t.Elem != nil {
		l, ok := v.(list)
		if !ok {
			x.addErr(errInternal, cf.f)
			return false
		}
		x.buf = append(x.buf, '[')
		n := l.Len()
		for i := 0; i < n; i++ {
			if i > 0 {
				x.buf = append(x.buf, ',')
			}
			mark := len(x.buf)
			x.path = append(x.path, pathElem{idx: i})
			ok := x.value(l.At(i), t.Elem, cf)
			x.path = x.path[:len(x.path)-1]
			if !ok {
				if t.Elem.NonNull {
					return false
				}
				x.buf = append(x.buf[:mark], "null"...)
			}
		}
		x.buf = append(x.buf, ']')
		return true
	}
	def := cf.named
	if t.NamedType != def.Name {
		def = x.schema.Types[t.NamedType]
	}
	if def == nil {
		x.addErr(errInternal, cf.f)
		return false
	}
	switch def.Kind {
	case ast.Scalar, ast.Enum:
		return x.scalar(v, cf)
	case ast.Object:
		return x.object(v, t.NamedType, cf.f, cf.sel)
	default: // interface, union
		tn := typeName(v)
		if tn == "" || !x.applies(t.NamedType, tn) {
			x.addErr(errInternal, cf.f) // runtime type is not a possible type
			return false
		}
		return x.object(v, tn, cf.f, cf.sel)
	}
}

const dateLayout = "2006-01-02 15:04:05"

func (x *executor) scalar(v any, cf *cfield) bool {
	switch s := v.(type) {
	case string:
		x.buf = appendPHPString(x.buf, s)
	case int:
		x.buf = strconv.AppendInt(x.buf, int64(s), 10)
	case int64:
		x.buf = strconv.AppendInt(x.buf, s, 10)
	case bool:
		x.buf = strconv.AppendBool(x.buf, s)
	case float64:
		x.buf = appendPHPFloat(x.buf, s)
	case time.Time:
		x.buf = append(x.buf, '"')
		x.buf = s.In(paris).AppendFormat(x.buf, dateLayout)
		x.buf = append(x.buf, '"')
	case unixTime:
		x.buf = append(x.buf, '"')
		x.buf = time.Unix(int64(s), 0).In(paris).AppendFormat(x.buf, dateLayout)
		x.buf = append(x.buf, '"')
	default:
		x.addErr(errInternal, cf.f)
		return false
	}
	return true
}

// run executes the operation; the returned bool is false when data is null.
func (x *executor) run(op *ast.OperationDefinition) bool {
	return x.object(rootQuery{}, "Query", nil, op.SelectionSet)
}

// appendErrors renders the errors array (webonyx key order).
func appendErrors(b []byte, errs []gqlError) []byte {
	b = append(b, '[')
	for i, e := range errs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"message":`...)
		b = appendPHPString(b, e.msg)
		b = append(b, `,"extensions":{"category":`...)
		b = appendPHPString(b, e.cat)
		b = append(b, '}')
		if e.line > 0 {
			b = append(b, `,"locations":[{"line":`...)
			b = strconv.AppendInt(b, int64(e.line), 10)
			b = append(b, `,"column":`...)
			b = strconv.AppendInt(b, int64(e.col), 10)
			b = append(b, "}]"...)
		}
		if len(e.path) > 0 {
			b = append(b, `,"path":[`...)
			for j, p := range e.path {
				if j > 0 {
					b = append(b, ',')
				}
				switch p := p.(type) {
				case int:
					b = strconv.AppendInt(b, int64(p), 10)
				case string:
					b = appendPHPString(b, p)
				}
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, ']')
}
