package server

import (
	"context"
	"fmt"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"billing/graph"
	"billing/graph/generated"
	"billing/internal/auth"
	"billing/internal/fault"
	"billing/internal/metrics"
	"billing/internal/requestid"
)

// graphQL builds the gqlgen handler with its transports and limits.
func (s *Server) graphQL() *handler.Server {
	srv := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: s.opts.Resolver}))
	srv.AddTransport(transport.Websocket{
		InitFunc:    s.websocketInit,
		InitTimeout: 10 * time.Second,
		// graphql-transport-ws ping/pong: a peer that stops answering within
		// two intervals is dropped.
		PingPongInterval: s.opts.Limits.PingInterval,
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})

	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetParserTokenLimit(s.opts.Limits.ParserToken)
	srv.SetDisableSuggestion(!s.opts.Dev)
	srv.Use(introspection{dev: s.opts.Dev})
	srv.Use(depthLimit{max: s.opts.Limits.Depth})
	srv.Use(extension.FixedComplexityLimit(s.opts.Limits.Complexity))
	srv.Use(readOnlyViewer{})
	srv.AroundFields(graph.PageArgs)
	srv.AroundFields(graph.EmptyAsNull)
	srv.SetErrorPresenter(graph.ErrorPresenter(s.opts.Logger))
	srv.SetRecoverFunc(func(ctx context.Context, v any) error {
		s.opts.Logger.ErrorContext(ctx, "panic in resolver", "request_id", requestid.From(ctx), "panic", v)
		return fmt.Errorf("panic: %v", v) // presented as "internal error"
	})
	srv.AroundResponses(func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		resp := next(ctx)
		if !graphql.HasOperationContext(ctx) {
			return resp
		}
		oc := graphql.GetOperationContext(ctx)
		kind, name := metrics.KindQuery, "anonymous"
		if oc.Operation != nil {
			kind = string(oc.Operation.Operation)
			if oc.Operation.Name != "" {
				name = oc.Operation.Name
			}
		}
		failed := resp != nil && len(resp.Errors) > 0
		s.opts.Metrics.ObserveRequest(name, kind, time.Since(oc.Stats.OperationStart), failed)
		return resp
	})
	return srv
}

// websocketInit authenticates a websocket from its connection_init
// payload: {"Authorization": "Bearer <token>"}.
func (s *Server) websocketInit(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	header := p.Authorization()
	if header == "" {
		if _, ok := auth.FromContext(ctx); ok {
			return ctx, nil, nil // authenticated by the upgrade request's header
		}
		return ctx, nil, fmt.Errorf("connection_init must carry an Authorization bearer token")
	}
	tok, err := auth.BearerToken(header)
	if err != nil {
		return ctx, nil, fmt.Errorf("invalid or expired token")
	}
	v, err := s.opts.Issuer.Verify(tok)
	if err != nil {
		return ctx, nil, fmt.Errorf("invalid or expired token")
	}
	return auth.WithViewer(ctx, v), nil, nil
}

// introspection allows schema introspection to operators, and to everyone
// in dev mode.
type introspection struct{ dev bool }

func (introspection) ExtensionName() string                   { return "Introspection" }
func (introspection) Validate(graphql.ExecutableSchema) error { return nil }
func (i introspection) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	v, ok := auth.FromContext(ctx)
	oc.DisableIntrospection = !(i.dev || (ok && v.IsAdmin()))
	return nil
}

// readOnlyViewer rejects every mutation from a read-only member.
type readOnlyViewer struct{}

func (readOnlyViewer) ExtensionName() string                   { return "ReadOnlyViewer" }
func (readOnlyViewer) Validate(graphql.ExecutableSchema) error { return nil }
func (readOnlyViewer) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil || oc.Operation.Operation != ast.Mutation {
		return nil
	}
	if v, ok := auth.FromContext(ctx); ok && !v.CanMutate() {
		return &gqlerror.Error{
			Message:    "read-only members cannot run mutations",
			Extensions: map[string]any{"code": string(fault.Forbidden)},
		}
	}
	return nil
}

// depthLimit rejects operations nested deeper than max levels of
// selections (introspection fields are not counted: GraphiQL's own
// introspection query is deep by nature).
type depthLimit struct{ max int }

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }
func (d depthLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if depth := selectionDepth(oc.Operation.SelectionSet, map[string]bool{}); depth > d.max {
		return &gqlerror.Error{
			Message:    fmt.Sprintf("operation is nested %d levels deep; the limit is %d", depth, d.max),
			Extensions: map[string]any{"code": "QUERY_TOO_DEEP"},
		}
	}
	return nil
}

func selectionDepth(set ast.SelectionSet, visiting map[string]bool) int {
	deepest := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if len(s.Name) > 1 && s.Name[:2] == "__" {
				continue
			}
			d = 1 + selectionDepth(s.SelectionSet, visiting)
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, visiting)
		case *ast.FragmentSpread:
			if s.Definition == nil || visiting[s.Name] {
				continue
			}
			visiting[s.Name] = true
			d = selectionDepth(s.Definition.SelectionSet, visiting)
			delete(visiting, s.Name)
		}
		if d > deepest {
			deepest = d
		}
	}
	return deepest
}
