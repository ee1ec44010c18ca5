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

// TestParityWithPubsub checks peerscore against the own scorer of the
// go-libp2p-pubsub it builds with (go.mod's v0.17.0; .ci/pubsub-compat
// runs it against other releases) on random event traces
// (parity_traces_test.go). pubsub's scorer is unexported, so the test
// copies pubsub from the module cache into a temporary folder, adds a
// small file that exports it as it is (testdata/pubsubref/export.go.txt)
// and one that adds a copy patched to the specification's P3, the
// reference for WithSpecP3 (spec.go.txt), and runs the traces in a copy of
// this package built against that copy. Nothing of pubsub's is kept in
// this repository.
func TestParityWithPubsub(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a patched copy of go-libp2p-pubsub; skipped with -short")
	}
	tmp := t.TempDir()
	pubsubDir := goOutput(t, ".", "list", "-m", "-f", "{{.Dir}}", "github.com/libp2p/go-libp2p-pubsub")
	refDir := filepath.Join(tmp, "pubsub")
	copyTree(t, pubsubDir, refDir, func(string) bool { return true })
	for _, f := range []string{"export", "spec"} {
		src, err := os.ReadFile(filepath.Join("testdata", "pubsubref", f+".go.txt"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(refDir, "zz_parity_"+f+".go"), src, 0o644))
	}

	proj := filepath.Join(tmp, "peerscore")
	copyTree(t, ".", proj, func(rel string) bool {
		return !strings.HasPrefix(rel, ".") // everything but .git and .ci
	})
	goOutput(t, proj, "mod", "edit", "-replace", "github.com/libp2p/go-libp2p-pubsub="+refDir)
	out := goOutput(t, proj, "test", "-tags", "peerscore_parity", "-run", "^TestParityTraces$", "-count=1", "-v", ".")
	t.Log(lastLines(out, 8))
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
