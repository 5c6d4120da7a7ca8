package turso

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// tokenKey names a cached data-plane token: one database's, or the
// group's when db is "".
type tokenKey struct {
	db       string
	readOnly bool
}

// tokenEntry is a cached token, or one being minted: ready closes when
// the mint is over, and jwt or err are set.
type tokenEntry struct {
	ready   chan struct{}
	jwt     string
	renewAt time.Time
	err     error
}

// groupToken is a full-access token for every database of the group:
// what Open uses, so that a fleet of thousands costs one token.
func (p *Platform) groupToken(ctx context.Context) (string, error) {
	return p.token(ctx, tokenKey{})
}

// token returns a cached token, minting one through the API when there
// is none or the cached one is near its end. Concurrent callers wanting
// the same token share one mint.
func (p *Platform) token(ctx context.Context, k tokenKey) (string, error) {
	for {
		p.tmu.Lock()
		e := p.tokens[k]
		if e != nil {
			select {
			case <-e.ready:
				if e.err == nil && p.now().Before(e.renewAt) {
					p.tmu.Unlock()
					return e.jwt, nil
				}
				// Near its end: mint a new one below.
			default:
				p.tmu.Unlock()
				select {
				case <-e.ready: // minted (or failed): look again
					continue
				case <-ctx.Done():
					return "", ctx.Err()
				}
			}
		}
		e = &tokenEntry{ready: make(chan struct{})}
		p.tokens[k] = e
		p.tmu.Unlock()

		jwt, renewAt, err := p.mint(ctx, k)
		p.tmu.Lock()
		e.jwt, e.renewAt, e.err = jwt, renewAt, err
		if err != nil && p.tokens[k] == e {
			delete(p.tokens, k) // the next caller tries again
		}
		close(e.ready)
		p.tmu.Unlock()
		return jwt, err
	}
}

// forgetTokens drops a database's cached tokens: it was deleted, or made
// anew under a name whose old tokens belonged to a deleted database.
func (p *Platform) forgetTokens(name string) {
	p.tmu.Lock()
	defer p.tmu.Unlock()
	delete(p.tokens, tokenKey{db: name})
	delete(p.tokens, tokenKey{db: name, readOnly: true})
}

// mint asks the API for a token that lives TokenTTL. It is renewed once
// three quarters of its life have passed, so a connection opened with it
// keeps working for at least a quarter of TokenTTL.
func (p *Platform) mint(ctx context.Context, k tokenKey) (jwt string, renewAt time.Time, err error) {
	authz := "full-access"
	if k.readOnly {
		authz = "read-only"
	}
	c := call{
		method: "POST",
		query:  url.Values{"expiration": {expiration(p.o.TokenTTL)}, "authorization": {authz}},
	}
	if k.db == "" {
		c.path = "/groups/" + url.PathEscape(p.o.Group) + "/auth/tokens"
		c.what = fmt.Sprintf("issue a token for the group %q", p.o.Group)
	} else {
		c.path = "/databases/" + url.PathEscape(k.db) + "/auth/tokens"
		c.what = fmt.Sprintf("issue a token for %q", k.db)
	}
	var resp struct {
		JWT string `json:"jwt"`
	}
	minted := p.now()
	if _, err := p.api(ctx, c, &resp); err != nil {
		return "", time.Time{}, p.refused(err, k.db, c.what)
	}
	if resp.JWT == "" {
		return "", time.Time{}, fleet.Errorf(fleet.EUNAVAILABLE, "Turso did not %s: its answer held no token.", c.what)
	}
	life := p.o.TokenTTL
	if exp, err := tenantdb.TokenExpiry(resp.JWT); err == nil && exp.IsZero() {
		life = 100 * 365 * 24 * time.Hour // a token that never expires
	} else if err == nil && exp.After(minted) {
		life = exp.Sub(minted)
	}
	return resp.JWT, minted.Add(life * 3 / 4), nil
}

// expiration writes a lifetime as the API's expiration parameter, in
// days and minutes (the spec's example is "2w1d30m"), rounded up to a
// whole minute.
func expiration(d time.Duration) string {
	mins := int64((d + time.Minute - 1) / time.Minute)
	if mins < 1 {
		mins = 1
	}
	days, mins := mins/(24*60), mins%(24*60)
	switch {
	case days > 0 && mins > 0:
		return fmt.Sprintf("%dd%dm", days, mins)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	default:
		return fmt.Sprintf("%dm", mins)
	}
}
