package peerscore_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestParityWithPubsub checks peerscore against go-libp2p-pubsub v0.17.0's
// own scorer on random event traces (parity_traces_test.go). pubsub's scorer
// is unexported, so the test copies pubsub from the module cache into a
// temporary folder, adds a small file that exports it
// (testdata/pubsubref/export.go.txt), and runs the traces in a copy of this
// package built against that copy. Nothing of pubsub's is kept in this
// repository.
func TestParityWithPubsub(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a patched copy of go-libp2p-pubsub; skipped with -short")
	}
	tmp := t.TempDir()
	pubsubDir := goOutput(t, ".", "list", "-m", "-f", "{{.Dir}}", "github.com/libp2p/go-libp2p-pubsub")
	refDir := filepath.Join(tmp, "pubsub")
	copyTree(t, pubsubDir, refDir, func(string) bool { return true })
	export, err := os.ReadFile(filepath.Join("testdata", "pubsubref", "export.go.txt"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(refDir, "zz_parity_export.go"), export, 0o644))

	proj := filepath.Join(tmp, "peerscore")
	copyTree(t, ".", proj, func(rel string) bool {
		return !strings.HasPrefix(rel, ".") // everything but .git and .ci
	})
	goOutput(t, proj, "mod", "edit", "-replace", "github.com/libp2p/go-libp2p-pubsub="+refDir)
	out := goOutput(t, proj, "test", "-tags", "peerscore_parity", "-run", "^TestParityTraces$", "-count=1", "-v", ".")
	t.Log(lastLines(out, 6))
}

func goOutput(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

// copyTree copies the regular files under src for which keep(relative path)
// is true, writable, so that the copy can be edited.
func copyTree(t *testing.T, src, dst string, keep func(string) bool) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() || rel == "." || !keep(rel) || !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	require.NoError(t, err)
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
