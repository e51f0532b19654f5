package sandbox

// District fields.

func (x *executor) district(d *District, cf *cfield) (any, error) {
	switch cf.name {
	case "id":
		return d.ID, nil
	case "name":
		return d.Name, nil
	case "slug":
		return d.Slug, nil
	case "titleOnMap":
		return optStr(d.TitleOnMap), nil
	case "description":
		return optStr(d.Description), nil
	case "geojson":
		return d.GeoJSON, nil
	case "displayedOnMap":
		return d.DisplayedOnMap, nil
	case "translations":
		return sliceList[any]{distTrans{d}}, nil
	case "projects":
		var ps []*Project
		for _, p := range d.Projects {
			if x.visible(p) {
				ps = append(ps, p)
			}
		}
		return offsetConn("Project", len(ps), func(i int) any { return ps[i] }, cf.args, false)
	case "projectDistrictPositioners":
		var l sliceList[any]
		for i, p := range d.Projects {
			if x.visible(p) {
				l = append(l, position{d, p, i})
			}
		}
		return l, nil
	}
	return nil, nil
}
