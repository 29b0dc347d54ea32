package graph

import (
	"context"
	"reflect"

	"github.com/99designs/gqlgen/graphql"
)

// EmptyAsNull is the field middleware that answers null, not "", for a
// nullable field of a scalar or enum type whose value is an empty string.
//
// ent keeps an optional column that is not Nillable as a plain Go string
// (or pulid.ID, or enum) and reads SQL NULL as "", so without it an order
// without a coupon says couponId: "" and couponCode: "", an invoice that
// was not superseded says supersededByID: "", and a dashboard has to know
// which empty strings mean "none". The schema already declares those
// fields nullable; this makes the answers say so. Fields declared
// non-null, lists and objects are left alone, and "" is never a value any
// of these fields means: an id, a code, a reason, a URL.
func EmptyAsNull(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	if err != nil || res == nil {
		return res, err
	}
	switch v := res.(type) {
	case string:
		if v != "" {
			return res, nil
		}
	default:
		if rv := reflect.ValueOf(res); rv.Kind() != reflect.String || rv.Len() != 0 {
			return res, nil
		}
	}
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Field == nil || fc.Field.Definition == nil {
		return res, nil
	}
	if t := fc.Field.Definition.Type; t.NonNull || t.Elem != nil {
		return res, nil
	}
	return nil, nil
}
