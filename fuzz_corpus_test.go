package peerscore_test

// The seed corpus under testdata/fuzz is written from the seeds defined in
// the fuzz tests (fuzzEventSeeds, fuzzParamParamsSeeds), so that both stay in step:
//
//	FZ_WRITE_CORPUS=1 go test -run '^TestFuzzWriteCorpus$' .
//
// Without FZ_WRITE_CORPUS the test only checks that every seed has its
// file, with the same content.

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func fuzzCorpusFile(data []byte) string {
	return fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", string(data))
}

func TestFuzzWriteCorpus(t *testing.T) {
	write := os.Getenv("FZ_WRITE_CORPUS") != ""
	for target, seeds := range map[string]map[string][]byte{
		"FuzzEvents": fuzzEventSeeds(),
		"FuzzParams": fuzzParamParamsSeeds(),
	} {
		dir := filepath.Join("testdata", "fuzz", target)
		for name, data := range seeds {
			path := filepath.Join(dir, name)
			want := fuzzCorpusFile(data)
			if write {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != want {
				t.Errorf("%s is missing or stale (err %v): run FZ_WRITE_CORPUS=1 go test -run '^TestFuzzWriteCorpus$' .", path, err)
			}
		}
	}
}
