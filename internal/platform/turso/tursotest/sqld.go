package tursotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// The double's calls to sqld's admin API, which plays Turso's storage.

func (s *Server) adminCall(method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.sq.AdminURL+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s.sq.AdminKey != "" {
		req.Header.Set("Authorization", "Basic "+s.sq.AdminKey)
	}
	resp, err := s.admin.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("sqld %s %s: HTTP %d: %s", method, path, resp.StatusCode, b)
	}
	// Unknown admin routes answer 200 with a gRPC status and no body.
	if resp.Header.Get("grpc-status") != "" {
		return fmt.Errorf("sqld %s %s: not an admin route", method, path)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func nsPath(ns string) string { return "/v1/namespaces/" + url.PathEscape(ns) }

func (s *Server) createNamespace(ns string) error {
	return s.adminCall(http.MethodPost, nsPath(ns)+"/create", struct{}{}, nil)
}

// fork copies namespace from into a new namespace to, consistently even
// under concurrent writes.
func (s *Server) fork(from, to string) error {
	return s.adminCall(http.MethodPost, nsPath(from)+"/fork/"+url.PathEscape(to), struct{}{}, nil)
}

func (s *Server) removeNamespace(ns string) error {
	return s.adminCall(http.MethodDelete, nsPath(ns), nil, nil)
}

// sqldStats is the part of sqld's namespace stats the double reports.
type sqldStats struct {
	RowsRead     int64 `json:"rows_read_count"`
	RowsWritten  int64 `json:"rows_written_count"`
	StorageBytes int64 `json:"storage_bytes_used"`
	TopQueries   []struct {
		Query       string `json:"query"`
		RowsRead    int64  `json:"rows_read"`
		RowsWritten int64  `json:"rows_written"`
	} `json:"top_queries"`
}

func (s *Server) stats(ns string) (sqldStats, error) {
	var st sqldStats
	err := s.adminCall(http.MethodGet, nsPath(ns)+"/stats", nil, &st)
	return st, err
}

// blockConfig sets what sqld blocks on a namespace. sqld's config POST
// replaces allow_attach and jwt_key too; the double sets no jwt_key.
func (s *Server) blockConfig(ns string, c config) error {
	return s.adminCall(http.MethodPost, nsPath(ns)+"/config", map[string]any{
		"block_reads": c.BlockReads, "block_writes": c.BlockWrites, "allow_attach": c.AllowAttach,
	}, nil)
}
