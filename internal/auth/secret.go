package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// SecretFileName is the file in the data directory holding the embedded mode's signing secret.
const SecretFileName = "jwt-secret"

// LoadOrCreateSecret returns the signing secret stored hex-encoded in
// <dataDir>/jwt-secret, creating dataDir (mode 0700) and the file (mode 0600)
// with 32 fresh random bytes when it does not exist yet. Two processes racing
// to create it end up with the same secret: the file appears atomically and
// only the first one is kept. A file that does not decode to at least
// MinSecretLen bytes is an error rather than silently replaced, since replacing
// it would invalidate every token already handed out.
func LoadOrCreateSecret(dataDir string) ([]byte, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("load jwt secret: create data dir: %w", err)
	}
	path := filepath.Join(dataDir, SecretFileName)
	secret, err := readSecret(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return secret, err
	}
	if err := createSecret(dataDir, path); err != nil {
		return nil, err
	}
	// Read back rather than return what we generated: a concurrent creator may have won.
	return readSecret(path)
}

// readSecret reads and decodes the secret file at path.
func readSecret(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load jwt secret: %w", err)
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		// The decode error would quote secret bytes, so it is not wrapped.
		return nil, fmt.Errorf("load jwt secret %s: file is not hex-encoded", path)
	}
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("load jwt secret %s: %d bytes, need at least %d", path, len(secret), MinSecretLen)
	}
	return secret, nil
}

// createSecret writes a new random secret to path unless the file already exists.
func createSecret(dir, path string) error {
	secret := make([]byte, MinSecretLen)
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("create jwt secret: %w", err)
	}
	// CreateTemp opens with mode 0600, so the secret is never readable by others.
	tmp, err := os.CreateTemp(dir, "."+SecretFileName+"-*")
	if err != nil {
		return fmt.Errorf("create jwt secret: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // After a link or rename this removes nothing, or just the extra name.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("create jwt secret: %w", err)
	}
	if _, err := tmp.WriteString(hex.EncodeToString(secret) + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("create jwt secret: write: %w", err)
	}
	// Synced before it gets its final name, so a crash cannot leave an empty secret file.
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("create jwt secret: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("create jwt secret: close: %w", err)
	}
	// A hard link fails if the name exists, so a concurrent creator's secret is never overwritten.
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		// Filesystems without hard links still get an atomic (if last-wins) rename.
		if err := os.Rename(tmpName, path); err != nil {
			return fmt.Errorf("create jwt secret: %w", err)
		}
	}
	syncDir(dir)
	return nil
}

// syncDir makes the new directory entry durable; best effort, since some
// platforms cannot fsync a directory and the file itself is already synced.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
