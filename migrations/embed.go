// Package migrations embeds the goose migrations: admin/ for the central
// database, tenant/ for every store's database.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed admin/*.sql tenant/*.sql
var files embed.FS

// Admin returns the central database's migrations.
func Admin() fs.FS { return sub("admin") }

// Tenant returns the store schema's migrations.
func Tenant() fs.FS { return sub("tenant") }

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return f
}
