//go:build race

package app

// raceEnabled: the race detector slows the pure-Go SQLite engine about
// tenfold, so the scheduler scenario runs fewer accounts under it.
const raceEnabled = true
