package local

// SetStreamMax changes the size up to which a snapshot is streamed, until
// the returned func puts it back.
func SetStreamMax(n int64) (restore func()) {
	old := streamMax
	streamMax = n
	return func() { streamMax = old }
}
