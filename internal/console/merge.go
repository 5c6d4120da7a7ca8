package console

import (
	"sync"
	"time"
)

// Merge is a Sink that keeps a fan-out's merged rows (each led by its
// tenant) up to a row and a byte cap in all, with the tenants that failed
// or were cut and the progress so far. It is safe to read while the
// fan-out writes to it: a background run's page polls it, a JSON answer
// reads it once at the end.
type Merge struct {
	max, maxBytes int

	mu           sync.Mutex
	bytes        int
	cutAtBytes   bool
	total, done  int
	failed       int
	cols         []Column
	rows         [][]any
	truncated    bool
	truncTenants []string
	errors       []TenantError
}

// NewMerge returns a Merge capped at l's MaxRows and MaxBytes (filled
// with the defaults).
func NewMerge(l Limits) *Merge {
	l = l.WithDefaults()
	return &Merge{max: l.MaxRows, maxBytes: l.MaxBytes}
}

// Bounds on what a Merge lists of the tenants that failed or were cut:
// a fan-out over many thousands of broken tenants stays a bounded answer.
const (
	maxMergedErrors    = 10_000
	maxMergedTruncated = 1000
)

// Columns implements Sink.
func (m *Merge) Columns(cols []Column) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cols = cols
	return nil
}

// Row implements Sink.
func (m *Merge) Row(tenant string, vals []any) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.rows) >= m.max || m.cutAtBytes {
		m.truncated = true
		return nil
	}
	if m.maxBytes > 0 {
		if m.bytes += len(tenant) + RowSize(vals); m.bytes > m.maxBytes {
			m.truncated, m.cutAtBytes = true, true
			return nil
		}
	}
	m.rows = append(m.rows, append([]any{tenant}, vals...))
	return nil
}

// Fail implements Sink.
func (m *Merge) Fail(e TenantError) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.errors) < maxMergedErrors {
		m.errors = append(m.errors, e)
	}
	return nil
}

// TenantTruncated implements Sink.
func (m *Merge) TenantTruncated(tenant string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.truncTenants) < maxMergedTruncated {
		m.truncTenants = append(m.truncTenants, tenant)
	}
	return nil
}

// Progress implements Sink.
func (m *Merge) Progress(done, failed, total int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done, m.failed, m.total = done, failed, total
}

// setTotal is the tenant count before the first one is done.
func (m *Merge) setTotal(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.total = n
}

// MergeProgress is a Merge's progress: tenants done (succeeded or failed)
// out of total, the failures and the tenants cut at the row cap.
type MergeProgress struct {
	Total, Done, Failed int
	Errors              []TenantError
	TruncatedTenants    []string
}

// Counts returns a copy of the progress so far.
func (m *Merge) Counts() MergeProgress {
	m.mu.Lock()
	defer m.mu.Unlock()
	return MergeProgress{Total: m.total, Done: m.done, Failed: m.failed,
		Errors: append([]TenantError{}, m.errors...), TruncatedTenants: append([]string(nil), m.truncTenants...)}
}

// Result returns the merged rows so far as one result, with "tenant" as
// its first column; took is its Elapsed.
func (m *Merge) Result(took time.Duration) *Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	return &Result{Columns: m.cols, Rows: m.rows, Truncated: m.truncated, CutAtBytes: m.cutAtBytes, Elapsed: took}
}

// FanOutResult is a fan-out answered at once, as JSON clients (the page's
// and the API's) get it: the merged rows, capped in all, and the tenants
// that failed or were cut. Truncated is true if any rows were left out.
type FanOutResult struct {
	Columns          []string      `json:"columns"`
	Rows             [][]any       `json:"rows"`
	Truncated        bool          `json:"truncated"`
	Tenants          int           `json:"tenants"`
	Failed           int           `json:"failed"`
	Errors           []TenantError `json:"errors"`
	TruncatedTenants []string      `json:"truncated_tenants"`
}

// FanOutResult returns the merge's answer so far.
func (m *Merge) FanOutResult() *FanOutResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	cols := make([]string, len(m.cols))
	for i, c := range m.cols {
		cols[i] = c.Name
	}
	return &FanOutResult{Columns: cols, Rows: m.rows, Truncated: m.truncated || len(m.truncTenants) > 0, Tenants: m.total,
		Failed: m.failed, Errors: m.errors, TruncatedTenants: m.truncTenants}
}
