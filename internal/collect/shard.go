package collect

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/tenantry/tenantry/internal/fleet"
)

// Shard is one of N parts of the fleet, for splitting collection across
// machines: `--shard 1/4` on four of them collects every tenant once. A
// tenant's part is the FNV-1a hash of its name, so it never moves while
// N stays the same. The zero Shard is the whole fleet.
type Shard struct {
	I, N int // 1 ≤ I ≤ N; N = 0 for the whole fleet
}

// MaxShards bounds N: more parts than that is a typo, not a deployment.
const MaxShards = 1024

// ParseShard reads "i/n" (1-based, as in `--shard 2/4`); "" is the whole
// fleet.
func ParseShard(s string) (Shard, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Shard{}, nil
	}
	bad := fleet.Errorf(fleet.EINVALID, "Shard %q is not i/n with 1 ≤ i ≤ n ≤ %d (for example 1/4).", s, MaxShards)
	is, ns, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, bad
	}
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if err1 != nil || err2 != nil || n < 1 || n > MaxShards || i < 1 || i > n {
		return Shard{}, bad
	}
	if n == 1 {
		return Shard{}, nil // one part of one is the whole fleet
	}
	return Shard{I: i, N: n}, nil
}

// String is "i/n", or "" for the whole fleet.
func (s Shard) String() string {
	if s.N == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.I, s.N)
}

// Has reports whether tenant name belongs to the shard.
func (s Shard) Has(name string) bool {
	if s.N <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return int(h.Sum32()%uint32(s.N)) == s.I-1
}
