package graph

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"billing/graph/model"
	"billing/internal/fault"
	"billing/internal/requestid"
)

// userErrorCodes are the faults a mutation reports in its payload's
// userErrors: expected business outcomes. Everything else (no token, wrong
// role, internal failures) is a top-level error.
var userErrorCodes = map[fault.Code]bool{
	fault.Invalid: true, fault.NotFound: true, fault.Conflict: true, fault.InsufficientCredit: true,
	fault.IdempotencyKeyReused: true, fault.InvalidState: true, fault.CouponInvalid: true,
	fault.CreditLimitExceeded: true, fault.PaymentFailed: true,
}

// userErrors turns a service error into payload userErrors when it is an
// expected business failure; otherwise it returns the error for the
// top level.
func userErrors(err error) ([]*model.UserError, error) {
	f, ok := fault.As(err)
	if !ok || !userErrorCodes[f.Code] {
		return nil, err
	}
	return []*model.UserError{{Code: f.Code, Field: f.Field, Message: f.Message}}, nil
}

// gqlErr renders err for the client with its code in extensions.
func gqlErr(ctx context.Context, err error) *gqlerror.Error {
	return ErrorPresenter(nil)(ctx, err)
}

// errIntrospectionDisabled matches gqlgen's own error text (it exports no
// sentinel): introspection asked for by a caller who may not introspect.
var errIntrospectionDisabled = errors.New("introspection disabled")

// ErrorPresenter shows faults with their code and message, GraphQL
// validation and parsing errors as they are, and every other error as
// "internal error" with the request id, logging the details.
func ErrorPresenter(logger *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		var gqlErr *gqlerror.Error
		if errors.As(err, &gqlErr) && gqlErr.Err == nil {
			// Parser, validator and input coercion errors: safe as they are.
			return gqlErr
		}
		path := graphql.GetPath(ctx)
		if gqlErr != nil && gqlErr.Path != nil {
			path = gqlErr.Path
		}
		if errors.Is(err, errIntrospectionDisabled) || (err != nil && strings.HasSuffix(err.Error(), "introspection disabled")) {
			return &gqlerror.Error{Message: "introspection is for operators", Path: path,
				Extensions: map[string]any{"code": string(fault.Forbidden)}}
		}
		if f, ok := fault.As(err); ok && f.Code != fault.Internal {
			ext := map[string]any{"code": string(f.Code)}
			if len(f.Field) > 0 {
				ext["field"] = f.Field
			}
			return &gqlerror.Error{Message: f.Message, Path: path, Extensions: ext}
		}
		rid := requestid.From(ctx)
		if logger != nil {
			logger.ErrorContext(ctx, "internal error", "request_id", rid, "path", path.String(), "err", err)
		}
		return &gqlerror.Error{
			Message:    "internal error",
			Path:       path,
			Extensions: map[string]any{"code": string(fault.Internal), "requestId": rid},
		}
	}
}
