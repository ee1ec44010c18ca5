package attacklab

import (
	"errors"
	"flag"
	"io"
	"os"
	"reflect"
	"regexp"
	"testing"
	"testing/synctest"
	"time"
)

// InBubbles runs f outside `go test` with what it needs to start
// testing/synctest bubbles: synctest.Test wants a *testing.T, which only
// package testing makes, so InBubbles starts package testing's runner
// with one test, f. f calls Bubble for each run. The runner's own output
// ("PASS") is discarded; f reports failures through t.
//
// testing.MainStart is documented as meant for `go test`'s generated
// code and may change between Go releases; the lab is pinned by go.mod's
// toolchain and its tests exercise this path (TestInBubbles).
func InBubbles(f func(t *testing.T)) error {
	m := testing.MainStart(bubbleDeps{}, []testing.InternalTest{{Name: "attacklab", F: f}}, nil, nil, nil)
	// The runner parses the command line when nobody has; the lab's
	// command parses its own flags, so mark package flag's set as parsed.
	if !flag.Parsed() {
		_ = flag.CommandLine.Parse(nil)
	}
	stdout := os.Stdout
	null, err := os.Open(os.DevNull)
	if err == nil {
		os.Stdout = null
		defer func() { os.Stdout = stdout; _ = null.Close() }()
	}
	if m.Run() != 0 {
		return errors.New("the run failed (see above)")
	}
	return nil
}

// Bubble runs f in a synctest bubble of t: a fake clock that moves only
// when every goroutine of the run waits, so simulated time costs no wall
// time and latencies are exact.
func Bubble(t *testing.T, f func()) {
	synctest.Test(t, func(*testing.T) { f() })
}

// bubbleDeps is the little of package testing's runner the lab uses: no
// profiles, no fuzzing, no coverage.
type bubbleDeps struct{}

type corpusEntry = struct {
	Parent     string
	Path       string
	Data       []byte
	Values     []any
	Generation int
	IsSeed     bool
}

func (bubbleDeps) ImportPath() string { return "github.com/peerscore/peerscore/cmd/attacklab" }
func (bubbleDeps) ModulePath() string { return "github.com/peerscore/peerscore" }
func (bubbleDeps) MatchString(pat, str string) (bool, error) {
	return regexp.MatchString(pat, str)
}
func (bubbleDeps) SetPanicOnExit0(bool)                        {}
func (bubbleDeps) StartCPUProfile(io.Writer) error             { return nil }
func (bubbleDeps) StopCPUProfile()                             {}
func (bubbleDeps) StartTestLog(io.Writer)                      {}
func (bubbleDeps) StopTestLog() error                          { return nil }
func (bubbleDeps) WriteProfileTo(string, io.Writer, int) error { return nil }
func (bubbleDeps) CoordinateFuzzing(time.Duration, int64, time.Duration, int64, int, []corpusEntry, []reflect.Type, string, string) error {
	return errors.New("no fuzzing")
}
func (bubbleDeps) RunFuzzWorker(func(corpusEntry) error) error { return errors.New("no fuzzing") }
func (bubbleDeps) ReadCorpus(string, []reflect.Type) ([]corpusEntry, error) {
	return nil, nil
}
func (bubbleDeps) CheckCorpus([]any, []reflect.Type) error { return nil }
func (bubbleDeps) ResetCoverage()                          {}
func (bubbleDeps) SnapshotCoverage()                       {}
func (bubbleDeps) InitRuntimeCoverage() (string, func(string, string) (string, error), func() float64) {
	return "", nil, nil
}
