package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
)

// binDirs is where Debian's postgresql-N packages put initdb, pg_ctl and postgres; the
// newest installed is used, as .ci/run does (a fresh machine's release may ship another
// major version than 15).
const binDirs = "/usr/lib/postgresql/*/bin"

// binDir is the newest PostgreSQL's bin directory, or "".
func binDir() string {
	dirs, _ := filepath.Glob(binDirs)
	best, bestVersion := "", -1
	for _, d := range dirs {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err == nil && v > bestVersion {
			if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
				best, bestVersion = d, v
			}
		}
	}
	return best
}

// clusterUser runs the cluster when the tests run as root: Debian's postgresql package
// creates it.
const clusterUser = "postgres"

// cluster is a throwaway PostgreSQL cluster in a temporary directory.
type cluster struct {
	bin    string // binDir
	dir    string
	url    string
	opts   string // the server's options, to start it again as it was (Cluster.Start)
	asRoot bool
}

func startCluster() (*cluster, error) {
	bin := binDir()
	if bin == "" {
		return nil, fmt.Errorf("no PostgreSQL at %s (install Debian's postgresql)", binDirs)
	}
	dir, err := os.MkdirTemp("", "trialscreen-pg-")
	if err != nil {
		return nil, err
	}
	c := &cluster{bin: bin, dir: dir, asRoot: os.Geteuid() == 0}
	if c.asRoot {
		u, err := user.Lookup(clusterUser)
		if err != nil {
			return nil, fmt.Errorf("running as root and there is no %q user to run PostgreSQL as: %v", clusterUser, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run("initdb", "-D", data, "-U", "trialscreen", "--auth=trust", "--no-sync", "-E", "UTF8"); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	c.opts = fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c max_connections=200", port, dir)
	if err := c.start(); err != nil {
		return nil, err
	}
	c.url = fmt.Sprintf("postgres://trialscreen@127.0.0.1:%d/postgres?sslmode=disable", port)
	return c, nil
}

// start starts the server on the cluster's data directory and port, waiting until it
// accepts connections.
func (c *cluster) start() error {
	if out, err := c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-o", c.opts, "-l", filepath.Join(c.dir, "log"), "-w", "start"); err != nil {
		return fmt.Errorf("pg_ctl start: %v: %s", err, out)
	}
	return nil
}

// run runs a PostgreSQL program, as clusterUser when we are root.
func (c *cluster) run(prog string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, prog)
	var cmd *exec.Cmd
	if c.asRoot {
		cmd = exec.Command("runuser", append([]string{"-u", clusterUser, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

func (c *cluster) stop() {
	_, _ = c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	_ = os.RemoveAll(c.dir)
}

// freePort asks the kernel for a free loopback port (a race with another process taking
// it before PostgreSQL does is possible, and then pg_ctl start fails loudly).
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
