package sandbox

import (
	"fmt"
	"strings"
)

// Root Query fields.

func (x *executor) query(cf *cfield) (any, error) {
	in := x.in
	switch cf.name {
	case "__schema":
		return introSchema{x.schema}, nil
	case "__type":
		name, _ := cf.args["name"].(string)
		if d := x.schema.Types[name]; d != nil {
			return introType{s: x.schema, def: d}, nil
		}
		return nil, nil
	case "viewer":
		if !x.authed {
			return nil, errAccessDenied
		}
		return in.Users[0], nil
	case "node":
		id, _ := cf.args["id"].(string)
		return x.lookup(id), nil
	case "nodes":
		ids, _ := cf.args["ids"].([]any)
		out := make(sliceList[any], len(ids))
		for i, v := range ids {
			if s, ok := v.(string); ok {
				out[i] = x.lookup(s)
			}
		}
		return out, nil
	case "projects":
		dir, field := orderArg(cf.args, "direction", "DESC"), orderArg(cf.args, "field", "PUBLISHED_AT")
		theme, _ := cf.args["theme"].(string)
		key := fmt.Sprintf("projects|%v|%s|%s|%s", x.authed, dir, field, theme)
		v := in.cache.get(key, func() *view {
			var items []any
			for _, p := range in.Projects {
				if !x.visible(p) {
					continue
				}
				if theme != "" && !hasTheme(p, theme) {
					continue
				}
				items = append(items, p)
			}
			return newView(items, func(it any) keyset {
				p := it.(*Project)
				if field == "POPULAR" {
					return keyset{vals: []int64{int64(len(p.Contributions) + p.VotesCount)}, id: p.UUID}
				}
				return keyset{vals: []int64{p.PublishedAt.UnixMilli()}, id: p.UUID}
			}, []bool{dir == "DESC"})
		})
		return offsetConn("Project", len(v.items), func(i int) any { return v.items[i] }, cf.args, true)
	case "events":
		dir, field := orderArg(cf.args, "direction", "DESC"), orderArg(cf.args, "field", "START_AT")
		var proj *Project
		if pid, ok := cf.args["project"].(string); ok {
			p, _ := x.lookup(pid).(*Project)
			if p == nil {
				return keysetPage("Event", 0, nil, []bool{true}, nil, cf.args, true)
			}
			proj = p
		}
		pkey := ""
		if proj != nil {
			pkey = proj.UUID
		}
		v := in.cache.get("events|"+dir+"|"+field+"|"+pkey, func() *view {
			var items []any
			for _, e := range in.Events {
				if !e.Enabled || proj != nil && !containsProject(e.Projects, proj) {
					continue
				}
				items = append(items, e)
			}
			return newView(items, func(it any) keyset {
				e := it.(*Event)
				t := e.Start
				if field == "END_AT" {
					if e.End == nil {
						return keyset{vals: []int64{0}, id: e.UUID}
					}
					t = *e.End
				}
				return keyset{vals: []int64{t.UnixMilli()}, id: e.UUID}
			}, []bool{dir == "DESC"})
		})
		return v.page("Event", cf.args, true)
	case "users":
		v := in.cache.get("users", func() *view {
			var items []any
			for _, u := range in.Users {
				if u.Listed() {
					items = append(items, u)
				}
			}
			return newView(items, userKey, []bool{true})
		})
		return v.page("User", cf.args, true)
	case "globalDistricts":
		name, _ := cf.args["name"].(string)
		v := in.cache.get("districts|"+name, func() *view {
			var items []any
			for _, d := range in.Districts {
				if name == "" || strings.Contains(strings.ToLower(d.Name), strings.ToLower(name)) {
					items = append(items, d)
				}
			}
			v := &view{items: items}
			sortByName(v.items)
			return v
		})
		return offsetConn("GlobalDistrict", len(v.items), func(i int) any { return v.items[i] }, cf.args, false)
	}
	return nil, nil
}

func userKey(it any) keyset {
	u := it.(*User)
	return keyset{vals: []int64{u.CreatedAt.UnixMilli()}, id: u.UUID}
}

func sortByName(items []any) {
	for i := 1; i < len(items); i++ {
		for j := i; j > 0 && items[j].(*District).Name < items[j-1].(*District).Name; j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
}

func hasTheme(p *Project, id string) bool {
	for _, t := range p.Themes {
		if t.ID == id {
			return true
		}
	}
	return false
}

func containsProject(ps []*Project, p *Project) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// orderArg reads orderBy.<name> (an input object) with a default.
func orderArg(args map[string]any, name, def string) string {
	if m, ok := args["orderBy"].(map[string]any); ok {
		if s, ok := m[name].(string); ok {
			return s
		}
	}
	return def
}
