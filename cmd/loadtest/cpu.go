package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// ticks is a process's CPU time (user + system) in clock ticks, from /proc: the CPU a
// request costs is the service's own, whatever else the machine is doing, which a
// wall-clock figure on a shared machine cannot say.
type ticks int64

// cpuTicks reads utime + stime of process pid ("self" for the tool) from
// /proc/<pid>/stat (proc(5): fields 14 and 15).
func cpuTicks(pid string) (ticks, error) {
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, fmt.Errorf("CPU time (Linux /proc only): %w", err)
	}
	return parseStat(string(data))
}

// parseStat reads utime + stime from a /proc/<pid>/stat line. The command name (field 2)
// is in parentheses and may itself hold spaces and parentheses, so fields are counted
// from the last ')'.
func parseStat(s string) (ticks, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc stat: no command name in %.40q", s)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields after the command name, want at least 13", len(f))
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc stat: utime %q or stime %q is not a number", f[11], f[12])
	}
	return ticks(u + st), nil
}

// clock is the kernel's clock ticks per second (sysconf CLK_TCK).
type clock struct {
	perSecond int64
	assumed   bool // getconf failed: the usual Linux value is assumed
}

func clockTicks() clock {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && n > 0 {
			return clock{perSecond: n}
		}
	}
	return clock{perSecond: 100, assumed: true}
}

// seconds converts t ticks to seconds of CPU.
func (c clock) seconds(t ticks) float64 { return float64(t) / float64(c.perSecond) }

// loadAverage is the 1-minute load average (/proc/loadavg), or "?": the machine is
// shared, and a figure means little without it.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// cpus says how many cores the machine has, for reading the load average.
func cpus() string { return fmt.Sprintf("%d cores", runtime.NumCPU()) }
