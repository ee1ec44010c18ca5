package attacklab

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/peerscore/peerscore"
)

// A sweep is every scenario × seed × arm a command line asks for. Each
// combination is one job, one run in its own bubble; a shard i/n runs the
// jobs whose index is i modulo n, so that n machines share a sweep and a
// merge puts their results.json files back together into one report.

// Job is one run of a sweep.
type Job struct {
	Scenario Scenario
	Seed     uint64
	Arm      Arm
}

// Shard is the part of a sweep one machine runs: jobs Index, Index+Of,
// Index+2·Of, ... (0 ≤ Index < Of). The zero Shard is the whole sweep.
type Shard struct{ Index, Of int }

// ParseShard reads "i/n".
func ParseShard(s string) (Shard, error) {
	i, n, ok := strings.Cut(s, "/")
	a, err1 := strconv.Atoi(i)
	b, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || b < 1 || a < 0 || a >= b {
		return Shard{}, fmt.Errorf("-shard %q: want i/n with 0 <= i < n, such as 0/4", s)
	}
	return Shard{Index: a, Of: b}, nil
}

func (s Shard) String() string {
	if s.Of <= 1 {
		return "the whole sweep"
	}
	return fmt.Sprintf("shard %d/%d", s.Index, s.Of)
}

// Sweep is what to run.
type Sweep struct {
	Scenarios []Scenario
	Arms      []Arm
	// Seeds is how many seeds each scenario and arm runs: the config's
	// Seed and the ones after it.
	Seeds int
	Shard Shard
}

// Jobs lists the sweep's jobs in their fixed order (scenario, then seed,
// then arm), the shard's only.
func (sw Sweep) Jobs(base uint64) []Job {
	var all []Job
	for _, sc := range sw.Scenarios {
		for k := range max(1, sw.Seeds) {
			for _, arm := range sw.Arms {
				all = append(all, Job{Scenario: sc, Seed: base + uint64(k), Arm: arm})
			}
		}
	}
	if sw.Shard.Of <= 1 {
		return all
	}
	var mine []Job
	for i, j := range all {
		if i%sw.Shard.Of == sw.Shard.Index {
			mine = append(mine, j)
		}
	}
	return mine
}

// Suite is what a sweep ran, as results.json holds it: the config, every
// run, and what they say.
type Suite struct {
	Config   SuiteConfig `json:"config"`
	Runs     []*Result   `json:"runs"`
	Verdicts []Verdict   `json:"verdicts"`
	// Parity is the native arm's live parity over every run.
	Parity *Parity `json:"parity,omitempty"`
}

// SuiteConfig is what the report says of the runs' config.
type SuiteConfig struct {
	Params      string                 `json:"params"`
	Topic       *peerscore.TopicParams `json:"topic_params"`
	Thresholds  *peerscore.Thresholds  `json:"thresholds"`
	Honest      int                    `json:"honest"`
	Publishers  int                    `json:"publishers"`
	Degree      int                    `json:"degree"`
	SybilScale  float64                `json:"sybil_scale"`
	Rate        float64                `json:"rate"`
	MsgSize     int                    `json:"msg_size"`
	Mesh        MeshParams             `json:"mesh"`
	Warmup      time.Duration          `json:"warmup"`
	Cooldown    time.Duration          `json:"cooldown"`
	Transport   Transport              `json:"transport"`
	ParityEvery time.Duration          `json:"parity_every"`
	// Wall is the real time the runs took, summed over shards.
	Wall time.Duration `json:"wall"`
	// Shards lists the shards merged (empty for one whole sweep).
	Shards []string `json:"shards,omitempty"`
}

func summarise(cfg Config) SuiteConfig {
	sc := SuiteConfig{
		Params: cfg.Params.Name, Thresholds: cfg.Params.Thresholds,
		Honest: cfg.Honest, Publishers: cfg.publishers(), Degree: min(cfg.degree(), cfg.Honest-1),
		SybilScale: cfg.SybilScale, Rate: cfg.Rate, MsgSize: cfg.MsgSize, Mesh: cfg.GossipSub,
		Warmup: cfg.Warmup, Cooldown: cfg.Cooldown, Transport: cfg.Transport, ParityEvery: cfg.ParityEvery,
	}
	if tp := cfg.Params.Params.Topics[Topic]; tp != nil {
		cp := *tp
		sc.Topic = &cp
	}
	return sc
}

// NewSuite puts runs together with what they say.
func NewSuite(cfg SuiteConfig, runs []*Result) *Suite {
	s := &Suite{Config: cfg, Runs: runs}
	s.Verdicts = newGrid(runs).verdicts(cfg)
	s.Parity = parityTotal(runs)
	return s
}

// Failed reports whether a judged peerscore verdict does not hold: the
// parameters do not hold under some attack.
func (s *Suite) Failed() bool {
	for _, v := range s.Verdicts {
		if v.Arm == ArmPeerscore && v.Judged && !v.Holds {
			return true
		}
	}
	return false
}

// WriteJSON writes the suite to path.
func (s *Suite) WriteJSON(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// Merge reads the results.json files of a sweep's shards (or of separate
// sweeps with the same config) and puts their runs into one suite. A run
// that two files both hold (same scenario, arm and seed) is an error, and
// so are configs that differ.
func Merge(paths []string) (*Suite, error) {
	if len(paths) == 0 {
		return nil, errors.New("-merge: no results.json files given")
	}
	var cfg, first SuiteConfig
	var runs []*Result
	seen := map[string]string{}
	for i, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var s Suite
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		wall, shards := s.Config.Wall, s.Config.Shards
		s.Config.Wall, s.Config.Shards = 0, nil
		if i == 0 {
			cfg, first = s.Config, s.Config
		} else if !sameConfig(first, s.Config) {
			return nil, fmt.Errorf("%s was run with another config than %s", path, paths[0])
		}
		cfg.Wall += wall
		cfg.Shards = append(cfg.Shards, shards...)
		for _, r := range s.Runs {
			key := fmt.Sprintf("%s/%s/%d", r.Scenario, r.Arm, r.Seed)
			if prev, dup := seen[key]; dup {
				return nil, fmt.Errorf("run %s is in both %s and %s", key, prev, path)
			}
			seen[key] = path
			runs = append(runs, r)
		}
	}
	return NewSuite(cfg, runs), nil
}

func sameConfig(a, b SuiteConfig) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// seedsOf lists the seeds a suite's runs used.
func seedsOf(runs []*Result) []uint64 {
	var out []uint64
	for _, r := range runs {
		if !slices.Contains(out, r.Seed) {
			out = append(out, r.Seed)
		}
	}
	slices.Sort(out)
	return out
}
