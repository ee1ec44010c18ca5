package main

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// childEnv marks the test binary started as the node.
const childEnv = "PEERSCORE_EXAMPLE_NODE_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main() // the node, with the flags the check gave it; exits
	}
	os.Exit(m.Run())
}

// spawnTestBinary starts this test binary as the node.
func spawnTestBinary(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{"-node"}, args...)...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	return cmd
}

// The command's check, end to end, in real processes over TCP: the
// spammer is graylisted, banned, and still banned, its score and its
// reputation restored, after the node's process restarts.
func TestNodeKeepsSpammerOutAcrossRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and real hosts")
	}
	var out bytes.Buffer
	code := runCheck(&out, spawnTestBinary, defaultWait)
	require.Zero(t, code, out.String())
	require.Contains(t, out.String(), "ok   spammer still banned")
}

// The check can fail, and says so: a node restarted on an empty directory
// (its saved state lost) lets the spammer back in.
func TestNodeCheckFailsWithoutSavedState(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and real hosts")
	}
	starts := 0
	empty := t.TempDir()
	spawn := func(args ...string) *exec.Cmd {
		starts++
		if i := slices.Index(args, "-dir"); starts == 2 && i >= 0 {
			args = slices.Clone(args)
			args[i+1] = empty
		}
		return spawnTestBinary(args...)
	}
	var out bytes.Buffer
	require.Equal(t, 1, runCheck(&out, spawn, 3*time.Second), out.String())
	require.Contains(t, out.String(), "FAIL spammer still banned")
	require.Contains(t, out.String(), "FAIL spammer's dial refused")
}
