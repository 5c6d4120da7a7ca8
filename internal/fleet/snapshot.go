package fleet

import "time"

// Snapshot is one recorded backup of a tenant database: a consistent copy,
// checked with PRAGMA quick_check, compressed with zstd and kept in the
// snapshot store under Key. A snapshot is recorded only once its file is
// whole and durable, so a recorded snapshot always has its bytes.
type Snapshot struct {
	ID      int64     `json:"id"`
	Tenant  string    `json:"tenant"`
	TakenAt time.Time `json:"taken_at"` // when the copy was consistent
	Key     string    `json:"key"`      // the store's name for the file
	// Size is the compressed file's bytes; RawSize the database's.
	Size    int64 `json:"size"`
	RawSize int64 `json:"raw_size"`
	// SHA256 is the hex checksum of the compressed file, checked before
	// any restore.
	SHA256 string `json:"sha256"`
	// Fingerprint is the platform's fingerprint of the database (size and
	// last write) when it was copied: an unchanged fingerprint means no new
	// snapshot is needed.
	Fingerprint string `json:"-"`
	RunID       int64  `json:"run_id,omitempty"` // the run that took it
	// VerifiedAt is when a restore drill last restored it and found it
	// whole; zero if never.
	VerifiedAt time.Time `json:"verified_at,omitzero"`
}

// SnapshotRun is one pass of the snapshot job over the fleet (or one
// tenant): how many tenants it saw, copied, found unchanged or failed on,
// and how many old snapshots the retention policy pruned.
type SnapshotRun struct {
	ID          int64     `json:"run_id"`
	JobID       int64     `json:"job_id,omitempty"`
	Tenant      string    `json:"tenant,omitempty"` // one tenant's run; "" for the fleet
	State       string    `json:"state"`            // RunQueued … RunStopped
	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`
	Tenants     int       `json:"tenants"`
	Snapshotted int       `json:"snapshotted"`
	Unchanged   int       `json:"unchanged"`
	Failed      int       `json:"failed"`
	Pruned      int       `json:"pruned"`
	Error       string    `json:"error,omitempty"`
	// Errors are the failed tenants, first ones first.
	Errors []TenantError `json:"errors"`
}

// TenantError is one tenant's failure in a run over the fleet.
type TenantError struct {
	Tenant string `json:"tenant"`
	Error  string `json:"error"`
}
