package snapshot

// OnDirSync has f told of every directory a Dir syncs, until the returned
// func puts the old hook back.
func OnDirSync(f func(name string)) (restore func()) {
	old := dirSynced
	dirSynced = f
	return func() { dirSynced = old }
}
