package sandbox

// User fields.

func (x *executor) user(u *User, cf *cfield) (any, error) {
	switch cf.name {
	case "id":
		return u.ID, nil
	case "url":
		return u.URL, nil
	case "username":
		return optStr(u.Username), nil
	case "createdAt":
		return u.CreatedAt, nil
	case "updatedAt":
		return optTime(u.UpdatedAt), nil
	case "deletedAccountAt":
		return optTime(u.DeletedAccountAt), nil
	case "enabled":
		return u.Enabled, nil
	case "biography":
		return optStr(u.Biography), nil
	case "websiteUrl":
		return optStr(u.WebsiteURL), nil
	case "userType":
		if u.Type == nil {
			return nil, nil
		}
		return u.Type, nil
	}
	return nil, nil
}
