// Package jobs runs the scheduled work inside `billing serve` with gocron
// v2. A job only calls a service method — the same one an operator or a
// mutation would — so a job is never a second implementation of a rule.
//
// On PostgreSQL, several instances run the scheduler but only the leader
// runs jobs: the Elector holds a session advisory lock on one dedicated
// connection (gocron's per-job Locker would run short jobs twice across
// instances). Every step is also safe to run twice: the services guard each
// state change with a conditional update.
package jobs
