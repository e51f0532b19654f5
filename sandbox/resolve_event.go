package sandbox

// Event fields.

func (x *executor) event(e *Event, cf *cfield) (any, error) {
	switch cf.name {
	case "id":
		return e.ID, nil
	case "url":
		return e.URL, nil
	case "title":
		return e.Title, nil
	case "body":
		return e.Body, nil
	case "link":
		return optStr(e.Link), nil
	case "createdAt":
		return e.CreatedAt, nil
	case "updatedAt":
		return optTime(e.UpdatedAt), nil
	case "timeRange":
		return timeRange{&e.Start, e.End}, nil
	case "startAt":
		return e.Start, nil
	case "endAt":
		return optTime(e.End), nil
	case "enabled":
		return e.Enabled, nil
	case "author":
		if e.Author == nil {
			return nil, nil
		}
		return e.Author, nil
	case "googleMapsAddress":
		if e.Address == nil {
			return nil, nil
		}
		return e.Address, nil
	case "lat", "lng":
		if e.Address == nil {
			return nil, nil
		}
		if cf.name == "lat" {
			return e.Address.Lat, nil
		}
		return e.Address.Lng, nil
	case "zipCode":
		return optStr(e.ZipCode), nil
	case "fullAddress":
		if e.Address == nil {
			return nil, nil
		}
		return e.Address.Formatted, nil
	case "translations":
		return sliceList[any]{evTrans{e}}, nil
	}
	return nil, nil
}
