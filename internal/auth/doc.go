// Package auth issues and verifies bearer tokens and carries the authenticated
// viewer through a request's context.
//
// Tokens are HS256 JSON Web Tokens signed with one shared secret. The package
// accepts no other algorithm, so a token whose header says "none" or "RS256" is
// rejected before its claims are read. The role decides what a viewer may do:
//
//	admin     everything, every account
//	service   product services acting on resources they host
//	customer  one account (acc claim), reads and writes
//	viewer    one account (acc claim), reads only
//	system    in-process jobs, scheduler, migrations, seed; never a token
//
// Authorization itself is decided by the services and resolvers; this package
// only establishes who is asking. A request without an Authorization header
// passes through with no viewer, so public queries keep working, while a
// request with a bad token is refused with 401 at once.
package auth
