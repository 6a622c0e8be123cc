package artifacts

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
)

// environmentKey is the object at EnvironmentKeyKey.
type environmentKey struct {
	Key string `json:"key"` // 32 random bytes, hex
}

// EnvironmentKey returns the engine's secret for EnvironmentHMAC, creating it
// when the engine has none yet. The key lives in the artifact store, next to
// the outputs it protects; restrict <root>/keys/ in the bucket policy to keep
// it from readers of outputs.
func (s *Store) EnvironmentKey(ctx context.Context) ([]byte, error) {
	key := EnvironmentKeyKey(s.prefix)
	var k environmentKey
	found, err := s.GetJSON(ctx, key, &k)
	if err != nil {
		return nil, err
	}
	if !found {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		if err := s.PutJSON(ctx, key, environmentKey{Key: hex.EncodeToString(b[:])}); err != nil {
			return nil, err
		}
		// Read back: with two writers racing, both go on with the one that stayed.
		if found, err = s.GetJSON(ctx, key, &k); err != nil {
			return nil, err
		}
	}
	b, err := hex.DecodeString(k.Key)
	if !found || err != nil || len(b) < 16 {
		return nil, fmt.Errorf("the engine's environment key at %s is not usable; delete it and apply again", s.URI(key))
	}
	return b, nil
}

// EnvironmentHMAC is the keyed hash of an environment: "hmac-sha256:<hex>"
// of its canonical JSON (sorted keys), or "" for none. Values never leave the
// function's configuration in plain text; the hash still changes whenever
// one does.
func EnvironmentHMAC(key []byte, env map[string]string) string {
	if len(env) == 0 {
		return ""
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([][2]string, len(keys))
	for i, k := range keys {
		pairs[i] = [2]string{k, env[k]}
	}
	b, _ := json.Marshal(pairs)
	mac := hmac.New(sha256.New, key)
	mac.Write(b)
	return "hmac-sha256:" + hex.EncodeToString(mac.Sum(nil))
}
