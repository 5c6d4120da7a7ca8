package tenantdb

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// SignJWT signs claims as a libSQL token: EdDSA (Ed25519), which sqld
// checks against the public key it was started with.
func SignJWT(key ed25519.PrivateKey, claims map[string]any) (string, error) {
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(`{"alg":"EdDSA","typ":"JWT"}`)) + "." + enc.EncodeToString(body)
	return signing + "." + enc.EncodeToString(ed25519.Sign(key, []byte(signing))), nil
}

// TokenExpiry reads a JWT's exp claim without checking its signature (the
// server checks it): when to renew a token. Zero means it never expires.
func TokenExpiry(token string) (time.Time, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, errors.New("not a JWT")
	}
	body, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, fmt.Errorf("JWT payload: %w", err)
	}
	var c struct {
		Exp *float64 `json:"exp"`
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return time.Time{}, fmt.Errorf("JWT payload: %w", err)
	}
	if c.Exp == nil {
		return time.Time{}, nil
	}
	return time.Unix(int64(*c.Exp), 0), nil
}

// LoadSigningKey reads an Ed25519 private key (PKCS #8 PEM, as `openssl
// genpkey -algorithm ed25519` writes it).
func LoadSigningKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the signing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s holds no PEM block: want an Ed25519 private key (openssl genpkey -algorithm ed25519)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s is not an Ed25519 key", path)
	}
	return ek, nil
}
