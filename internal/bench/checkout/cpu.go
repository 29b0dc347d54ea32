package main

import (
	"context"
	"database/sql"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuTimes is the CPU time used so far by this process (the service and
// the benchmark's HTTP clients, which share it) and by each PostgreSQL
// backend serving the service database. On a busy machine they say more
// than a rate: they do not depend on what else runs there.
type cpuTimes struct {
	self     time.Duration
	backends map[int]time.Duration // by pid; nil when /proc cannot tell (remote server)
}

// clockTick is the unit of /proc/<pid>/stat's utime and stime: USER_HZ,
// 100 on every Linux build that matters here.
const clockTick = 10 * time.Millisecond

func readCPU(ctx context.Context, admin *sql.DB, dbname string) cpuTimes {
	var c cpuTimes
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	rows, err := admin.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = $1`, dbname)
	if err != nil {
		return c
	}
	defer rows.Close()
	backends := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) != nil {
			return c
		}
		d, ok := procCPU(pid)
		if !ok {
			return c // not a local server, or not ours to read
		}
		backends[pid] = d
	}
	if rows.Err() == nil {
		c.backends = backends
	}
	return c
}

// procCPU reads utime + stime of a process from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	st, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * clockTick, true
}

// cpuUsed is what was used between two readings: the process's growth
// and, per backend, its growth (a backend that appeared meanwhile counts
// whole). ok is false when backends could not be read.
func cpuUsed(before, after cpuTimes) (self, backends time.Duration, ok bool) {
	self = after.self - before.self
	if before.backends == nil || after.backends == nil {
		return self, 0, false
	}
	for pid, d := range after.backends {
		backends += d - before.backends[pid]
	}
	return self, backends, true
}
