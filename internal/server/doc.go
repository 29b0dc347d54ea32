// Package server is the HTTP face of the service: /graphql (POST and GET,
// and graphql-transport-ws subscriptions), the admin playground,
// /healthz, /readyz and /metrics, wrapped in request ids, structured
// access logs, panic recovery and bearer-token authentication.
package server
