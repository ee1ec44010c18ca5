package peerscore

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSetAsideKeepsAReplacedFile: if a SaveFile replaced the state file
// between LoadFile reading it and finding it invalid, the new file is not
// the damaged one and must stay where it is.
func TestSetAsideKeepsAReplacedFile(t *testing.T) {
	s, err := New(&Params{SkipAtomicValidation: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "scores")
	if err := os.WriteFile(path, []byte("damaged"), 0o600); err != nil {
		t.Fatal(err)
	}
	read, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".new", []byte("fresh"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}

	err = s.setAside(path, read, invalidState("test"))
	if err == nil {
		t.Fatal("no error")
	}
	if data, _ := os.ReadFile(path); string(data) != "fresh" {
		t.Fatalf("the replacing file was moved: %q left at %s (%v)", data, path, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("%d files in %s, want the state file alone", len(entries), dir)
	}

	// The file that was read is moved.
	read, _ = os.Stat(path)
	if err := s.setAside(path, read, invalidState("test")); err == nil {
		t.Fatal("no error")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("not moved aside: %v", err)
	}
}
