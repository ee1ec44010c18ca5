package attacklab

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// RunSuite runs the sweep's jobs (its shard's), one synctest bubble per
// run, in order, and returns their results. It must be called with a
// *testing.T (from a test, or from InBubbles). bar, if not nil, shows the
// progress.
func RunSuite(t *testing.T, cfg Config, sw Sweep, bar *Bar) ([]*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	jobs := sw.Jobs(cfg.Seed)
	if bar != nil {
		var total time.Duration
		for _, j := range jobs {
			total += cfg.Plan(j.Scenario).Total()
		}
		bar.total = total
	}
	out := make([]*Result, 0, len(jobs))
	for _, j := range jobs {
		var progress Progress
		if bar != nil {
			progress = bar.step(fmt.Sprintf("%s/%s seed %d", j.Scenario.Name, j.Arm, j.Seed))
		}
		run := cfg
		run.Seed = j.Seed
		wall := time.Now()
		var res *Result
		var err error
		Bubble(t, func() { res, err = Run(run, j.Scenario, j.Arm, progress) })
		if err != nil {
			return nil, fmt.Errorf("%s/%s seed %d: %w", j.Scenario.Name, j.Arm, j.Seed, err)
		}
		res.Wall = time.Since(wall)
		if bar != nil {
			bar.finish(cfg.Plan(j.Scenario).Total())
		}
		out = append(out, res)
	}
	if bar != nil {
		bar.done()
	}
	return out, nil
}

// Bar is a progress bar on a terminal (or any writer): how much of the
// suite's simulated time has run, the run at work, and the wall time.
type Bar struct {
	w     io.Writer
	start time.Time // wall clock, read outside bubbles

	mu       sync.Mutex
	total    time.Duration
	finished time.Duration // simulated time of the runs done
	label    string
	last     time.Duration
}

// NewBar returns a bar writing to w (typically os.Stderr).
func NewBar(w io.Writer) *Bar { return &Bar{w: w, start: time.Now()} }

// step starts a run named label and returns its Progress.
func (b *Bar) step(label string) Progress {
	b.mu.Lock()
	b.label, b.last = label, -1
	b.mu.Unlock()
	return func(done, _ time.Duration) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if done-b.last < 5*time.Second {
			return
		}
		b.last = done
		b.draw(b.finished + done)
	}
}

func (b *Bar) finish(run time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.finished += run
	b.draw(b.finished)
}

// draw writes the bar; the wall time shown is from the bar's creation to
// the last run finished (inside a bubble the clock is fake).
func (b *Bar) draw(at time.Duration) {
	const width = 30
	frac := 0.0
	if b.total > 0 {
		frac = min(1, float64(at)/float64(b.total))
	}
	full := int(frac * width)
	fmt.Fprintf(b.w, "\r[%s%s] %3.0f%%  %-32s", strings.Repeat("#", full), strings.Repeat(".", width-full), 100*frac, b.label)
}

func (b *Bar) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.label = fmt.Sprintf("done in %v", time.Since(b.start).Round(time.Second))
	b.draw(b.total)
	fmt.Fprintln(b.w)
}
