package auth

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLoadOrCreateSecret(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nested", "data") // does not exist yet

	first, err := LoadOrCreateSecret(dir)
	require.NoError(t, err)
	require.Len(t, first, 32)

	dirInfo, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), dirInfo.Mode().Perm())

	path := filepath.Join(dir, "jwt-secret")
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, hex.EncodeToString(first)+"\n", string(raw))

	second, err := LoadOrCreateSecret(dir)
	require.NoError(t, err)
	require.Equal(t, first, second)

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file may be left behind")

	_, err = NewIssuer(first, nil)
	require.NoError(t, err)
}

func TestLoadOrCreateSecretExistingFile(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("ab", 40)
	tests := []struct {
		name    string
		content string
		want    []byte
		wantErr string
	}{
		{name: "hex with surrounding space", content: "  " + long + "\n\n", want: []byte(strings.Repeat("\xab", 40))},
		{name: "too short", content: strings.Repeat("ab", 31) + "\n", wantErr: "31 bytes, need at least 32"},
		{name: "empty", content: "", wantErr: "0 bytes, need at least 32"},
		{name: "not hex", content: strings.Repeat("zz", 32), wantErr: "file is not hex-encoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "jwt-secret")
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o600))

			got, err := LoadOrCreateSecret(dir)
			if tt.wantErr != "" {
				require.EqualError(t, err, "load jwt secret "+path+": "+tt.wantErr)
				require.Nil(t, got)
				after, readErr := os.ReadFile(path)
				require.NoError(t, readErr)
				require.Equal(t, tt.content, string(after), "a bad secret file is never replaced")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestLoadOrCreateSecretConcurrent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const n = 8
	got := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = LoadOrCreateSecret(dir) })
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, got[0], got[i], "every caller must see the one secret on disk")
	}
}
