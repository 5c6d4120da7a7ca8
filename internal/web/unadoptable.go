package web

import (
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/views/components"
)

// unadoptableView is the Tenants page's notice of files the last rescan
// could not adopt.
func unadoptableView(sk []platform.Skipped) []components.UnadoptableFile {
	out := make([]components.UnadoptableFile, len(sk))
	for i, f := range sk {
		out[i] = components.UnadoptableFile{File: f.File, Reason: f.Reason}
	}
	return out
}
