package batch

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard selects the patients one process of a sharded run screens: those whose id
// hashes (FNV-1a, 64 bit) to Index modulo Count. The zero Shard selects everyone.
type Shard struct {
	Index, Count int
}

// Keeps reports whether the patient with this id belongs to the shard.
func (s Shard) Keeps(id string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return h.Sum64()%uint64(s.Count) == uint64(s.Index)
}

func (s Shard) String() string {
	if s.Count <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// EnvJobIndex is the variable a Kubernetes Indexed Job sets to the pod's index.
const EnvJobIndex = "JOB_COMPLETION_INDEX"

// ParseShard reads "i/n" (0 <= i < n), or "auto/n" taking i from JOB_COMPLETION_INDEX
// through getenv; "" is no sharding.
func ParseShard(s string, getenv func(string) string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	is, ns, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(ns)
	if !ok || err != nil || n < 1 {
		return Shard{}, fmt.Errorf("shard %q: want i/n with n >= 1 (e.g. 0/4), or auto/n", s)
	}
	if is == "auto" {
		is = getenv(EnvJobIndex)
		if is == "" {
			return Shard{}, fmt.Errorf("shard %q: %s is not set (it is set in the pods of a Kubernetes Indexed Job)", s, EnvJobIndex)
		}
	}
	i, err := strconv.Atoi(is)
	if err != nil || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: the index %q must be a number from 0 to %d", s, is, n-1)
	}
	return Shard{Index: i, Count: n}, nil
}
