package tursotest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/tenantdb"
)

// database is one database of the organization.
type database struct {
	name, id, ns string
	instance     string // the one instance's uuid, for usage
	group        string
	parent       *parentRef
	isSchema     bool
	archived     bool
	cfg          config
	// ready: the namespace exists. Until then the data plane answers 404.
	ready bool
	timer *time.Timer // makes the namespace after ReadyDelay
	// staging holds a seed's copy, taken at create time, until the
	// namespace is made from it.
	staging   string
	snapshots []snapshot
}

type parentRef struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	BranchedAt time.Time `json:"branched_at"`
}

type snapshot struct {
	at time.Time
	ns string
}

// config is a database's configuration, as GET /configuration answers.
type config struct {
	SizeLimit        string   `json:"size_limit"`
	AllowAttach      bool     `json:"allow_attach"`
	BlockReads       bool     `json:"block_reads"`
	BlockWrites      bool     `json:"block_writes"`
	DeleteProtection bool     `json:"delete_protection"`
	AllowedIPs       []string `json:"allowed_ips"`
	AllowedVPCs      []string `json:"allowed_aws_vpc_ids"`
}

// databaseJSON is the spec's Database object, keys spelled as the API
// spells them, plus the extras older servers send.
type databaseJSON struct {
	Name             string     `json:"Name"`
	DbID             string     `json:"DbId"`
	Hostname         string     `json:"Hostname"`
	BlockReads       bool       `json:"block_reads"`
	BlockWrites      bool       `json:"block_writes"`
	Regions          []string   `json:"regions"`
	PrimaryRegion    string     `json:"primaryRegion"`
	Group            string     `json:"group"`
	DeleteProtection bool       `json:"delete_protection"`
	Parent           *parentRef `json:"parent"`
	IsSchema         bool       `json:"is_schema"`
	Schema           string     `json:"schema"`
	Archived         bool       `json:"archived"`
	Sleeping         bool       `json:"sleeping"`
	AllowAttach      bool       `json:"allow_attach"`
	Type             string     `json:"type"`
	Version          string     `json:"version"`
}

const region = "aws-us-east-1"

func (s *Server) describe(d *database) databaseJSON {
	typ := "logical"
	if d.isSchema {
		typ = "schema"
	}
	return databaseJSON{
		Name: d.name, DbID: d.id, Hostname: s.Hostname(d.name),
		BlockReads: d.cfg.BlockReads, BlockWrites: d.cfg.BlockWrites,
		Regions: []string{region}, PrimaryRegion: region, Group: d.group,
		DeleteProtection: d.cfg.DeleteProtection, Parent: d.parent,
		IsSchema: d.isSchema, Archived: d.archived, AllowAttach: d.cfg.AllowAttach,
		Type: typ, Version: "0.24.32",
	}
}

// newDatabase makes the record of a database (not its namespace).
func (s *Server) newDatabase(name string) *database {
	s.seq++
	return &database{
		name: name, ns: s.Namespace(name), group: s.Group,
		id:       uuid(s.seq, 1),
		instance: uuid(s.seq, 2),
	}
}

// uuid makes a UUID-shaped id, unique within the test binary's run.
func uuid(seq, kind int) string {
	return fmt.Sprintf("%08x-%04x-11ee-8553-%s", seq, kind, randomHex(6))
}

// handler routes the API below /v1/organizations/{org} after the checks
// every request goes through: the token, injected faults, the org.
func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	p := "/v1/organizations/{org}"
	mux.HandleFunc("GET "+p+"/databases", s.handleList)
	mux.HandleFunc("POST "+p+"/databases", s.handleCreate)
	mux.HandleFunc("GET "+p+"/databases/{db}", s.handleGet)
	mux.HandleFunc("DELETE "+p+"/databases/{db}", s.handleDelete)
	mux.HandleFunc("GET "+p+"/databases/{db}/configuration", s.handleConfig)
	mux.HandleFunc("PATCH "+p+"/databases/{db}/configuration", s.handleConfig)
	mux.HandleFunc("GET "+p+"/databases/{db}/usage", s.handleUsage)
	mux.HandleFunc("GET "+p+"/databases/{db}/stats", s.handleStats)
	mux.HandleFunc("POST "+p+"/databases/{db}/auth/tokens", s.handleDatabaseToken)
	mux.HandleFunc("POST "+p+"/groups/{group}/auth/tokens", s.handleGroupToken)
	mux.HandleFunc("GET "+p+"/groups", s.handleGroups)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		auth := r.Header.Get("Authorization") == "Bearer "+s.Token
		s.serve(rec, r, mux, auth)
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: rec.status, Authorized: auth})
		s.mu.Unlock()
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, mux *http.ServeMux, auth bool) {
	if strings.Contains(r.RequestURI, s.Token) {
		s.t.Errorf("tursotest: the API token was sent in a URL: %s %s", r.Method, r.URL.Path)
	}
	if !auth {
		writeError(w, http.StatusUnauthorized, "token is invalid or expired")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/organizations/")
	org, _, _ := strings.Cut(rest, "/")
	orgOK := ok && org == s.Org
	if f := s.fault(r); f != nil {
		if f.After && orgOK {
			mux.ServeHTTP(httptest.NewRecorder(), r)
		}
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		msg := f.Message
		if msg == "" {
			msg = strings.ToLower(http.StatusText(f.Status))
		}
		writeError(w, f.Status, msg)
		return
	}
	if !orgOK {
		writeError(w, http.StatusNotFound, "organization not found")
		return
	}
	if _, pattern := mux.Handler(r); pattern == "" {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	mux.ServeHTTP(w, r)
}

// fault takes one use of the first fault matching r, if any.
func (s *Server) fault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := strings.TrimPrefix(r.URL.Path, s.prefix)
	for i, f := range s.faults {
		if f.Method != "" && f.Method != r.Method {
			continue
		}
		if f.Exact && rel != f.Path || !f.Exact && !strings.HasPrefix(rel, f.Path) {
			continue
		}
		f.Times--
		if f.Times == 0 {
			s.faults = slices.Delete(s.faults, i, i+1)
		}
		c := *f
		return &c
	}
	return nil
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers the API's error shape, {"error": "..."}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func notFound(w http.ResponseWriter, name string) {
	writeError(w, http.StatusNotFound, fmt.Sprintf("could not find database with name %s: record not found", name))
}

// lookup returns the database the path names, answering 404 itself when
// there is none. Called with s.mu held.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) *database {
	name := r.PathValue("db")
	d := s.dbs[name]
	if d == nil {
		notFound(w, name)
	}
	return d
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := s.o.PageSize
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "invalid limit: "+v)
			return
		}
		limit = min(n, s.o.MaxPageSize)
	}
	after := ""
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || len(b) == 0 {
			writeError(w, http.StatusBadRequest, "invalid cursor")
			return
		}
		after = string(b)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for name, d := range s.dbs {
		if name <= after && after != "" ||
			q.Get("group") != "" && d.group != q.Get("group") ||
			q.Get("parent") != "" && (d.parent == nil || d.parent.ID != q.Get("parent")) {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names) // a stable order, which the cursor continues
	var next *string
	if len(names) > limit {
		names = names[:limit]
		c := base64.RawURLEncoding.EncodeToString([]byte(names[limit-1]))
		next = &c
	}
	out := make([]databaseJSON, 0, len(names))
	for _, n := range names {
		out = append(out, s.describe(s.dbs[n]))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"databases":  out,
		"pagination": map[string]any{"next": next},
	})
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.lookup(w, r); d != nil {
		writeJSON(w, http.StatusOK, map[string]any{"database": s.describe(d)})
	}
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

type createInput struct {
	Name  string `json:"name"`
	Group string `json:"group"`
	Seed  *struct {
		Type string `json:"type"`
		Name string `json:"name"`
		// Value is where Turso's CLI sends the source's name.
		Value     string `json:"value"`
		Timestamp string `json:"timestamp"`
	} `json:"seed"`
	SizeLimit string `json:"size_limit"`
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	var in createInput
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid request body: "+err.Error())
		return
	}
	if in.Name == "" {
		writeError(w, http.StatusBadRequest, "database name is required")
		return
	}
	if longest := 63 - len(s.Org) - 1; len(in.Name) > longest {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid database name: it must be at most %d characters long", longest))
		return
	}
	if !nameRE.MatchString(in.Name) {
		writeError(w, http.StatusBadRequest, "invalid database name: it must contain only lowercase letters, numbers and dashes, and start and end with a letter or number")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.Group != s.Group {
		writeError(w, http.StatusBadRequest, "group not found")
		return
	}
	if s.dbs[in.Name] != nil {
		if s.o.DuplicateAs400 {
			writeError(w, http.StatusBadRequest, "database with same name already exists")
		} else {
			writeError(w, http.StatusConflict, fmt.Sprintf("database with name %s already exists", in.Name))
		}
		return
	}
	d := s.newDatabase(in.Name)
	d.cfg.SizeLimit = in.SizeLimit
	from := "" // the namespace a seed copies
	if sd := in.Seed; sd != nil {
		if sd.Type != "database" {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("seed type %q is not supported by the test double", sd.Type))
			return
		}
		srcName := cmpOr(sd.Name, sd.Value)
		src := s.dbs[srcName]
		if src == nil || src.isSchema {
			notFound(w, srcName)
			return
		}
		if !src.ready {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("database %s is not ready yet", srcName))
			return
		}
		from = src.ns
		branched := time.Now().UTC()
		if sd.Timestamp != "" {
			at, err := time.Parse(time.RFC3339, sd.Timestamp)
			if err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid seed timestamp %q: %v", sd.Timestamp, err))
				return
			}
			snap, ok := newestAtOrBefore(src.snapshots, at)
			if !ok {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("the timestamp %s is outside the retention period of database %s: no restore point is available", sd.Timestamp, srcName))
				return
			}
			from, branched = snap.ns, at.UTC()
		}
		d.parent = &parentRef{ID: src.id, Name: src.name, BranchedAt: branched}
	}
	if err := s.provision(d, from); err != nil {
		writeError(w, http.StatusInternalServerError, "internal error: "+err.Error())
		return
	}
	s.dbs[d.name] = d
	writeJSON(w, http.StatusOK, map[string]any{"database": map[string]string{
		"DbId": d.id, "Hostname": s.Hostname(d.name), "Name": d.name,
	}})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func newestAtOrBefore(snaps []snapshot, at time.Time) (snapshot, bool) {
	var best snapshot
	found := false
	for _, sn := range snaps {
		if !sn.at.After(at) && (!found || sn.at.After(best.at)) {
			best, found = sn, true
		}
	}
	return best, found
}

// provision makes a new database's namespace, empty or as a fork of from,
// now or after ReadyDelay. A delayed seed is forked into a hidden staging
// namespace at once, so that the branch holds the source as it was when
// create was called. Called with s.mu held.
func (s *Server) provision(d *database, from string) error {
	if s.o.ReadyDelay <= 0 {
		var err error
		if from != "" {
			err = s.fork(from, d.ns)
		} else {
			err = s.createNamespace(d.ns)
		}
		d.ready = err == nil
		return err
	}
	if from != "" {
		d.staging = fmt.Sprintf("stage_%d_%s", s.seq, d.ns)
		if err := s.fork(from, d.staging); err != nil {
			return err
		}
	}
	s.pending.Add(1)
	d.timer = time.AfterFunc(s.o.ReadyDelay, func() {
		defer s.pending.Done()
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed || s.dbs[d.name] != d {
			return // deleted meanwhile: Delete removed the staging copy
		}
		d.timer = nil
		var err error
		if d.staging != "" {
			if err = s.fork(d.staging, d.ns); err == nil {
				err = s.removeNamespace(d.staging)
				d.staging = ""
			}
		} else {
			err = s.createNamespace(d.ns)
		}
		if err == nil && (d.cfg.BlockReads || d.cfg.BlockWrites) {
			err = s.blockConfig(d.ns, d.cfg)
		}
		if err != nil {
			s.t.Errorf("tursotest: making the data plane of %s: %v", d.name, err)
			return
		}
		d.ready = true
	})
	return nil
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.lookup(w, r)
	if d == nil {
		return
	}
	// Delete protection is not in the spec; the real message (shown by
	// Turso's CLI) is this one, under a status nobody documented: the
	// double answers 403.
	if d.cfg.DeleteProtection {
		writeError(w, http.StatusForbidden, fmt.Sprintf("database %s is delete-protected and cannot be deleted", d.name))
		return
	}
	if d.timer != nil && d.timer.Stop() {
		s.pending.Done()
	}
	var doomed []string
	if d.ready && !d.isSchema {
		doomed = append(doomed, d.ns)
	}
	if d.staging != "" {
		doomed = append(doomed, d.staging)
	}
	for _, sn := range d.snapshots {
		doomed = append(doomed, sn.ns)
	}
	for _, ns := range doomed {
		if err := s.removeNamespace(ns); err != nil {
			writeError(w, http.StatusInternalServerError, "internal error: "+err.Error())
			return
		}
	}
	delete(s.dbs, d.name)
	writeJSON(w, http.StatusOK, map[string]string{"database": d.name})
}

func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.lookup(w, r)
	if d == nil {
		return
	}
	if r.Method == http.MethodPatch {
		var in struct {
			SizeLimit        *string   `json:"size_limit"`
			AllowAttach      *bool     `json:"allow_attach"`
			BlockReads       *bool     `json:"block_reads"`
			BlockWrites      *bool     `json:"block_writes"`
			DeleteProtection *bool     `json:"delete_protection"`
			AllowedIPs       *[]string `json:"allowed_ips"`
			AllowedVPCs      *[]string `json:"allowed_aws_vpc_ids"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			writeError(w, http.StatusBadRequest, "invalid request body: "+err.Error())
			return
		}
		c := d.cfg
		set(&c.SizeLimit, in.SizeLimit)
		set(&c.AllowAttach, in.AllowAttach)
		set(&c.BlockReads, in.BlockReads)
		set(&c.BlockWrites, in.BlockWrites)
		set(&c.DeleteProtection, in.DeleteProtection)
		set(&c.AllowedIPs, in.AllowedIPs)
		set(&c.AllowedVPCs, in.AllowedVPCs)
		if d.ready && !d.isSchema && (c.BlockReads != d.cfg.BlockReads || c.BlockWrites != d.cfg.BlockWrites || c.AllowAttach != d.cfg.AllowAttach) {
			if err := s.blockConfig(d.ns, c); err != nil {
				writeError(w, http.StatusInternalServerError, "internal error: "+err.Error())
				return
			}
		}
		d.cfg = c
	}
	c := d.cfg
	if c.AllowedIPs == nil {
		c.AllowedIPs = []string{}
	}
	if c.AllowedVPCs == nil {
		c.AllowedVPCs = []string{}
	}
	writeJSON(w, http.StatusOK, c)
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

type usageJSON struct {
	RowsRead     int64 `json:"rows_read"`
	RowsWritten  int64 `json:"rows_written"`
	StorageBytes int64 `json:"storage_bytes"`
	BytesSynced  int64 `json:"bytes_synced"`
}

// handleUsage answers from sqld's counters, which count since the
// namespace was made: the double checks from and to but cannot cut the
// counts to them.
func (s *Server) handleUsage(w http.ResponseWriter, r *http.Request) {
	for _, p := range []string{"from", "to"} {
		if v := r.URL.Query().Get(p); v != "" {
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid %s parameter: %v", p, err))
				return
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.lookup(w, r)
	if d == nil {
		return
	}
	var u usageJSON
	if d.ready && !d.isSchema {
		st, err := s.stats(d.ns)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "internal error: "+err.Error())
			return
		}
		u = usageJSON{RowsRead: st.RowsRead, RowsWritten: st.RowsWritten, StorageBytes: st.StorageBytes}
	}
	writeJSON(w, http.StatusOK, map[string]any{"database": map[string]any{
		"uuid":      d.id,
		"instances": []any{map[string]any{"uuid": d.instance, "usage": u}},
		"total":     u,
	}})
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.lookup(w, r)
	if d == nil {
		return
	}
	type query struct {
		Query       string `json:"query"`
		RowsRead    int64  `json:"rows_read"`
		RowsWritten int64  `json:"rows_written"`
	}
	var top []query // null when there are none: the spec makes it nullable
	if d.ready && !d.isSchema {
		st, err := s.stats(d.ns)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "internal error: "+err.Error())
			return
		}
		for _, q := range st.TopQueries {
			top = append(top, query{Query: q.Query, RowsRead: q.RowsRead, RowsWritten: q.RowsWritten})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"top_queries": top})
}

var expirationRE = regexp.MustCompile(`^(\d+[wdhms])+$`)
var expirationPart = regexp.MustCompile(`(\d+)([wdhms])`)

// parseExpiration reads a token expiration like "7d" or "2w1d30m"; zero
// for "never" (the default).
func parseExpiration(v string) (time.Duration, bool) {
	if v == "" || v == "never" {
		return 0, true
	}
	if !expirationRE.MatchString(v) {
		return 0, false
	}
	unit := map[string]time.Duration{"w": 7 * 24 * time.Hour, "d": 24 * time.Hour, "h": time.Hour, "m": time.Minute, "s": time.Second}
	var d time.Duration
	for _, m := range expirationPart.FindAllStringSubmatch(v, -1) {
		n, err := strconv.Atoi(m[1])
		if err != nil {
			return 0, false
		}
		d += time.Duration(n) * unit[m[2]]
	}
	return d, d > 0
}

// mint answers a token request: a JWT sqld checks, read-only ("a":"ro")
// or full access ("a":"rw"), limited to namespace ns unless ns is "".
// Called with s.mu held.
func (s *Server) mint(w http.ResponseWriter, r *http.Request, scope, ns string) {
	exp, ok := parseExpiration(r.URL.Query().Get("expiration"))
	if !ok {
		writeError(w, http.StatusBadRequest, "Invalid expiration format")
		return
	}
	access := "rw"
	switch r.URL.Query().Get("authorization") {
	case "", "full-access":
	case "read-only":
		access = "ro"
	default:
		writeError(w, http.StatusBadRequest, "invalid authorization: want full-access or read-only")
		return
	}
	now := time.Now()
	claims := map[string]any{"a": access, "iat": now.Unix()}
	if ns != "" {
		claims["id"] = ns
	}
	if exp > 0 {
		claims["exp"] = now.Add(exp).Unix()
	}
	jwt, err := tenantdb.SignJWT(s.sq.Key, claims)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal error: "+err.Error())
		return
	}
	s.minted[scope]++
	writeJSON(w, http.StatusOK, map[string]string{"jwt": jwt})
}

func (s *Server) handleDatabaseToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.lookup(w, r); d != nil {
		s.mint(w, r, "database/"+d.name, d.ns)
	}
}

// handleGroupToken mints a token for every database of the group. All
// the doubles on one sqld share its key, so such a token would also
// reach other doubles' namespaces: a test double's shortcut.
func (s *Server) handleGroupToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := r.PathValue("group"); g != s.Group {
		writeError(w, http.StatusNotFound, "group not found")
		return
	}
	s.mint(w, r, "group/"+s.Group, "")
}

func (s *Server) handleGroups(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"groups": []any{map[string]any{
		"name": s.Group, "version": "v0.24.32", "uuid": "0a28102d-6906-11ee-8553-eaa7715aeaf2",
		"locations": []string{region}, "primary": region, "delete_protection": false, "archived": false,
	}}})
}
