// Package audit records who did what, when and why: every operator action
// and every change of money or account terms. An entry is written in the
// transaction of the change it describes, so the two commit together; the
// actor and role come from the viewer in the context and the request id
// from requestid, never from the caller's arguments.
package audit
