package sqld

// LoadOverHrana makes imports load over Hrana instead of a dump_url.
func (p *Platform) LoadOverHrana() { p.seedByURL = false }
