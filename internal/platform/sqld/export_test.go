package sqld

// LoadOverHrana makes imports load over Hrana instead of a dump_url.
func (p *Platform) LoadOverHrana() { p.seedByURL = false }

// HranaURL is where the platform sends its own data-plane requests.
func (p *Platform) HranaURL() string { return p.o.URL }
