package main

import (
	"crypto/rand"
	"net/http"
	"os"
	"time"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/api/client"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// remote returns the API client when the command is to drive a console
// through its API (--server / TENANTRY_SERVER), nil when it runs here.
// Remote commands never open the data directory or central database: an
// operator's laptop has neither.
func (e *env) remote() (*client.Client, error) {
	if e.cfg.Server == "" {
		return nil, nil
	}
	return client.New(e.cfg.Server, e.cfg.Token, remoteHTTP)
}

// remoteHTTP is the HTTP client of remote mode; tests set one that checks
// every call against the API's document. nil: the default (no redirects).
var remoteHTTP = (*http.Client)(nil)

// remoteProvision creates (from "") or branches a tenant through the API
// and prints it as the local command does. The Idempotency-Key is new to
// this invocation: the console makes one tenant for it however often the
// request reaches it.
func (e *env) remoteProvision(cl *client.Client, name, from string, at time.Time, asJSON bool) error {
	o, err := cl.CreateTenant(e.ctx, name, from, at, rand.Text(), api.MaxWait)
	if err != nil {
		return err
	}
	t, err := cl.Settle(e.ctx, o)
	if err != nil {
		return err
	}
	return e.printTenant(t, asJSON)
}

// remoteDelete deletes a tenant through the API under the local rules:
// the tenant must exist before anyone is asked to confirm.
func (e *env) remoteDelete(cl *client.Client, name string, yes bool) error {
	if _, err := cl.GetTenant(e.ctx, name); err != nil {
		return err
	}
	if !yes {
		if err := e.confirm(name); err != nil {
			return err
		}
	}
	o, err := cl.DeleteTenant(e.ctx, name, api.MaxWait)
	if err != nil {
		return err
	}
	if o.Job != nil {
		if o.Job.State == fleet.JobFailed {
			return &client.JobError{Job: o.Job}
		}
		if _, err := cl.AwaitJob(e.ctx, o.Job.ID); err != nil {
			return err
		}
	}
	e.printDeleted(name)
	return nil
}

func (e *env) remoteRestore(cl *client.Client, name string, asJSON bool) error {
	o, err := cl.RestoreTenant(e.ctx, name, api.MaxWait)
	if err != nil {
		return err
	}
	t, err := cl.Settle(e.ctx, o)
	if err != nil {
		return err
	}
	return e.printTenant(t, asJSON)
}

// remoteImport uploads file, streamed, as a new tenant. The checks the
// console would make of a file that is missing or plainly not SQLite are
// made here first, with the local command's messages, before any upload.
func (e *env) remoteImport(cl *client.Client, name, file string, asJSON bool) error {
	f, err := os.Open(file)
	if err != nil {
		return fleet.Errorf(fleet.EINVALID, "Cannot read %s.", file)
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return fleet.Errorf(fleet.EINVALID, "Cannot read %s.", file)
	case !fi.Mode().IsRegular():
		return fleet.Errorf(fleet.EINVALID, "%s is not a regular file.", file)
	case fi.Size() == 0 || !tenantdb.LooksLikeSQLite(file):
		return fleet.Errorf(fleet.EINVALID, "The file is not a SQLite database.")
	}
	t, err := cl.Import(e.ctx, name, f, fi.Size())
	if err != nil {
		return err
	}
	return e.printTenant(t, asJSON)
}

// remoteSnapshotsTake runs a snapshot run on the console, waiting for its
// end, and reports it as the local command does.
func (e *env) remoteSnapshotsTake(cl *client.Client, tenant string, asJSON bool) error {
	r, err := cl.TakeSnapshots(e.ctx, tenant)
	if err != nil {
		return err
	}
	return e.printRun(r, asJSON)
}

// remoteSnapshotsList lists a tenant's snapshots (pos holds its name), or
// the newest of every tenant, from the console.
func (e *env) remoteSnapshotsList(cl *client.Client, pos []string, asJSON bool) error {
	var snaps []fleet.Snapshot
	var err error
	if len(pos) == 1 {
		if err := fleet.ValidateName(pos[0]); err != nil {
			return err
		}
		snaps, err = cl.TenantSnapshots(e.ctx, pos[0], time.Time{}, listLimit)
	} else {
		snaps, err = cl.NewestSnapshots(e.ctx, 0)
	}
	if err != nil {
		return err
	}
	return e.printSnapshots(snaps, asJSON)
}

// remoteSnapshotsVerify runs the restore drill on the console.
func (e *env) remoteSnapshotsVerify(cl *client.Client, tenant string, sample int, asJSON bool) error {
	rep, err := cl.VerifySnapshots(e.ctx, tenant, sample)
	if err != nil {
		return err
	}
	return e.printDrills(rep.Drills, asJSON)
}

// remoteRollback rolls a tenant back through the API under the local
// rules: the tenant, and the snapshot a rollback at that time starts from,
// are looked up before anyone is asked to confirm.
func (e *env) remoteRollback(cl *client.Client, name string, at time.Time, yes, asJSON bool) error {
	if _, err := cl.GetTenant(e.ctx, name); err != nil {
		return err
	}
	snaps, err := cl.TenantSnapshots(e.ctx, name, at, 1)
	if err != nil {
		return err
	}
	if len(snaps) == 0 { // the console answers 404 instead
		return fleet.Errorf(fleet.ENOTFOUND, "Tenant %s has no snapshot as old as %s.", name, at.UTC().Format(time.RFC3339))
	}
	if !yes {
		if err := e.confirmRollback(name, &snaps[0]); err != nil {
			return err
		}
	}
	o, err := cl.RollbackTenant(e.ctx, name, at, api.MaxWait)
	if err != nil {
		return err
	}
	t, err := cl.Settle(e.ctx, o)
	if err != nil {
		return err
	}
	return e.printRolledBack(t, &snaps[0], asJSON)
}
