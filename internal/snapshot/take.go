package snapshot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/pipeline"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// Options tune taking snapshots.
type Options struct {
	// Workers is how many tenants TakeAll copies at once (default 2: a
	// snapshot is disk and CPU work, on local files and on sqld alike,
	// whose dumps are loaded here).
	Workers int
	// Timeout bounds one tenant's snapshot (default 10 minutes). A large
	// local tenant is copied by the online backup API in one step, which
	// is not interrupted: its timeout is noticed when the step ends.
	Timeout time.Duration
	// TempDir is where work files go (a large local tenant's copy, a
	// sqld dump loaded into a file, an export), on a volume with room for
	// the largest tenant; default the store's (Dir.TempDir), never the
	// system's: /tmp may be small, or memory.
	TempDir string
	// Batch and Every are passed on to TakeAll's pipeline: the most
	// results its sink receives at once, and how often it gets the batch
	// so far even when tenants are slow (see pipeline.Options).
	Batch int
	Every time.Duration
	// Now is the clock of TakenAt; default time.Now.
	Now func() time.Time
}

func (o Options) withDefaults(s Store) (Options, error) {
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.TempDir == "" {
		td, ok := s.(interface{ TempDir() string })
		if !ok {
			return o, errors.New("snapshot: this store has no work directory: set Options.TempDir")
		}
		o.TempDir = td.TempDir()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// Fingerprints returns, for each named tenant, a text that changes
// whenever the tenant is written to, as the collector compares them
// (size and last write time, read from the file system) on platforms
// that can tell at once (the local one). It is "" where the platform
// cannot tell (sqld, Turso) or the tenant was written to a moment ago:
// such a tenant counts as changed. Compare it with the Fingerprint of
// the tenant's newest snapshot to skip unchanged tenants.
func Fingerprints(ctx context.Context, p platform.Platform, names []string) []string {
	if f, ok := p.(fingerprinter); ok {
		return f.Fingerprints(ctx, names)
	}
	return make([]string, len(names))
}

type fingerprinter interface {
	Fingerprints(ctx context.Context, names []string) []string
}

// Take snapshots one tenant into the store and returns the snapshot, to
// be recorded by the caller: its file is whole and durable by then.
func Take(ctx context.Context, p platform.Platform, s Store, tenant string, o Options) (fleet.Snapshot, error) {
	if err := fleet.ValidateName(tenant); err != nil {
		return fleet.Snapshot{}, err
	}
	o, err := o.withDefaults(s)
	if err != nil {
		return fleet.Snapshot{}, err
	}
	t := newTaker(p, s, o)
	defer t.close()
	return t.take(ctx, tenant, Fingerprints(ctx, p, []string{tenant})[0])
}

// Target is a tenant for TakeAll: its name and the Fingerprint of its
// newest snapshot ("" if it has none, or to take one whatever happened).
type Target struct {
	Tenant string
	Last   string
}

// Result is what became of one Target.
type Result struct {
	Tenant string
	// Snapshot is the snapshot taken, to be recorded; zero if none was.
	Snapshot fleet.Snapshot
	// Unchanged: the tenant's fingerprint is its newest snapshot's, so
	// none was taken.
	Unchanged bool
	Err       error // why no snapshot was taken
	Took      time.Duration

	newDir bool // its store's nameSyncer made the tenant's directory
}

// Taken reports whether a snapshot was taken.
func (r Result) Taken() bool { return r.Err == nil && !r.Unchanged }

// TakeAll snapshots every target the source gives that changed since its
// newest snapshot, o.Workers at a time, each within o.Timeout, and hands
// every result to sink (a failure is a result: the others go on). Memory
// stays bounded whatever the fleet's size: the source is read a few
// targets ahead of the workers, and each worker streams its copy through
// one reused encoder. It returns as pipeline.Run does: the sink's error,
// or ctx's, or the source's.
func TakeAll(ctx context.Context, p platform.Platform, s Store, o Options, source pipeline.Source[Target], sink pipeline.Sink[Result]) error {
	o, err := o.withDefaults(s)
	if err != nil {
		return err
	}
	ns, _ := s.(nameSyncer)
	takers := make([]*taker, o.Workers)
	defer func() {
		for _, t := range takers {
			if t != nil {
				t.close()
			}
		}
	}()
	work := func(ctx context.Context, w int, tg Target) Result {
		start := time.Now()
		r := Result{Tenant: tg.Tenant}
		fp := Fingerprints(ctx, p, []string{tg.Tenant})[0]
		if fp != "" && fp == tg.Last {
			r.Unchanged = true
		} else {
			if takers[w] == nil {
				takers[w] = newTaker(p, s, o)
				takers[w].ns = ns
			}
			r.Snapshot, r.Err = takers[w].take(ctx, tg.Tenant, fp)
			r.newDir = takers[w].newDir
		}
		r.Took = time.Since(start)
		return r
	}
	if ns != nil {
		next := sink
		sink = func(batch []Result) error {
			syncNames(ns, batch)
			return next(batch)
		}
	}
	po := pipeline.Options{Workers: o.Workers, Batch: o.Batch, Every: o.Every}
	// Room for a whole batch ahead besides the workers' own: the workers
	// go on while the sink syncs a batch's names (some 60 ms for 100 on
	// the benchmark's disk), instead of waiting once 8 results are due.
	po.Ahead = max(1, o.Batch) + 4*o.Workers
	return pipeline.Run(ctx, po, source, work, sink)
}

// nameSyncer is a store that can put a file and leave the syncs that make
// its name durable for later (Dir). TakeAll's workers put files so, and
// the batch's names are made durable at once before its sink sees them:
// no worker waits for a directory sync, and on most file systems one sync
// commits the batch's names (a tenth of a fleet snapshot's wall time,
// with a sync per tenant).
type nameSyncer interface {
	putUnsynced(ctx context.Context, key string, r io.Reader) (n int64, newDir bool, err error)
	syncNames(keys []string, newDir bool) []error
}

// syncNames makes the names of a batch's snapshots durable; a snapshot
// whose name could not be is no longer taken, and says why.
func syncNames(ns nameSyncer, batch []Result) {
	var keys []string
	var taken []int
	newDir := false
	for i, r := range batch {
		if r.Taken() {
			keys = append(keys, r.Snapshot.Key)
			taken = append(taken, i)
			newDir = newDir || r.newDir
		}
	}
	if len(keys) == 0 {
		return
	}
	for j, err := range ns.syncNames(keys, newDir) {
		if err != nil {
			r := &batch[taken[j]]
			r.Snapshot, r.Err = fleet.Snapshot{}, err
		}
	}
}

// Targets is a source of the given targets, for a run over a few.
func Targets(ts ...Target) pipeline.Source[Target] {
	return func(ctx context.Context, emit func(Target) bool) error {
		for _, t := range ts {
			if !emit(t) {
				return ctx.Err()
			}
		}
		return nil
	}
}

// taker takes snapshots one after another, with one zstd encoder.
type taker struct {
	p   platform.Platform
	s   Store
	o   Options
	enc *zstd.Encoder
	// ns, if set, puts the files instead of s, leaving their names to be
	// synced; newDir says whether the last put made its tenant's directory.
	ns     nameSyncer
	newDir bool
}

func newTaker(p platform.Platform, s Store, o Options) *taker {
	enc, err := zstd.NewWriter(nil,
		// The fastest level (zstd -1's ratio, or near it): a snapshot run
		// is bounded by compression, and disk is cheaper than the hour.
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		// One goroutine per worker: the workers are the concurrency.
		zstd.WithEncoderConcurrency(1),
		// zstd -1's window: a few MB of memory per worker at most.
		zstd.WithWindowSize(1<<19),
		zstd.WithLowerEncoderMem(true),
		// The SHA-256 of the file covers every byte; a frame checksum
		// would only cost.
		zstd.WithEncoderCRC(false),
	)
	if err != nil {
		panic(err) // only for invalid options, fixed above
	}
	return &taker{p: p, s: s, o: o, enc: enc}
}

func (t *taker) close() { t.enc.Close() }

// take streams a checked copy of the tenant through the encoder and the
// checksum into the store, within the timeout. fp is the tenant's
// fingerprint from before the copy: a write during the copy changes it
// again, and the next run takes another.
func (t *taker) take(ctx context.Context, tenant, fp string) (fleet.Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, t.o.Timeout)
	defer cancel()
	snap, err := t.takeIn(ctx, tenant, fp)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fleet.Snapshot{}, fleet.Wrap(fleet.EUNAVAILABLE, err, "Snapshot timed out after %s.", t.o.Timeout)
	}
	return snap, err
}

func (t *taker) takeIn(ctx context.Context, tenant, fp string) (fleet.Snapshot, error) {
	snap := fleet.Snapshot{Tenant: tenant, Key: NewKey(tenant, t.o.Now()), Fingerprint: fp}
	// The copy goes through the encoder into a pipe the store reads from,
	// through the checksum: neither the copy nor the compressed bytes are
	// held whole, or written twice.
	pr, pw := io.Pipe()
	type copied struct {
		n   int64
		at  time.Time
		err error
	}
	done := make(chan copied, 1)
	go func() {
		t.enc.Reset(pw)
		n, err := t.write(ctx, tenant, t.enc)
		// Now, not before the copy: no write after TakenAt is in it, so
		// a restore "as of" a time never brings back a later write.
		at := t.o.Now().UTC()
		if cerr := t.enc.Close(); err == nil {
			err = cerr
		}
		pw.CloseWithError(err)
		done <- copied{n, at, err}
	}()
	h := sha256.New()
	var n int64
	var err error
	t.newDir = false
	if t.ns != nil {
		n, t.newDir, err = t.ns.putUnsynced(ctx, snap.Key, io.TeeReader(pr, h))
	} else {
		n, err = t.s.Put(ctx, snap.Key, io.TeeReader(pr, h))
	}
	pr.CloseWithError(errStopped) // the copy stops if Put did
	c := <-done
	if c.err != nil && !errors.Is(c.err, errStopped) {
		switch {
		case errors.Is(c.err, tenantdb.ErrDamaged):
			return fleet.Snapshot{}, fleet.Wrap(fleet.EINVALID, c.err, "The copy of %q failed SQLite's quick_check, so no snapshot was kept: %s.", tenant, fleet.ErrorMessage(c.err))
		case diskFull(c.err):
			return fleet.Snapshot{}, fleet.Wrap(fleet.EUNAVAILABLE, c.err, "Disk full: no room in %s for the copy of %q; nothing was kept.", t.o.TempDir, tenant)
		}
		return fleet.Snapshot{}, c.err
	}
	if err != nil {
		return fleet.Snapshot{}, err
	}
	snap.TakenAt, snap.RawSize = c.at, c.n
	snap.Size, snap.SHA256 = n, hex.EncodeToString(h.Sum(nil))
	return snap, nil
}

var errStopped = errors.New("the store stopped reading")

// write writes a consistent, checked copy of the tenant's database to w:
// the platform's own way, or else its export, checked in a work file.
func (t *taker) write(ctx context.Context, tenant string, w io.Writer) (int64, error) {
	if sn, ok := t.p.(platform.Snapshotter); ok {
		return sn.WriteSnapshot(ctx, tenant, t.o.TempDir, w)
	}
	f, err := os.CreateTemp(t.o.TempDir, "export-*.db")
	if err != nil {
		return 0, err
	}
	defer removeDB(f.Name())
	err = t.p.Export(ctx, tenant, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	if err := tenantdb.CheckScratch(ctx, f.Name(), "quick_check"); err != nil {
		return 0, err
	}
	f, err = os.Open(f.Name())
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return io.Copy(w, ctxReader{ctx, f})
}

// removeDB removes a scratch database and whatever SQLite made beside it.
func removeDB(path string) {
	for _, s := range []string{"", "-journal", "-wal", "-shm"} {
		_ = os.Remove(path + s)
	}
}
