package attacklab

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
)

// Dialling as the evaluation did (hardening: test/discovery.go): each dial
// waits U[0, 1 s) first (discovery.go:352), times out after 10 s
// (discovery.go:23) and is tried up to 5 times (discovery.go:24).
const (
	dialSpread   = time.Second
	dialTimeout  = 10 * time.Second
	dialAttempts = 5
)

// Progress receives how far a run has got, in simulated time. It is
// called from inside the run (on its fake clock), about once per
// simulated second.
type Progress func(done, total time.Duration)

// Run runs one scenario in one arm and returns what the honest nodes saw.
// Call it inside a testing/synctest bubble: the latencies it reports are
// then exact simulated times, however long the simulation takes to
// compute. (Outside a bubble it runs in real time, and its latencies
// include the machine's own delays.)
func Run(cfg Config, sc Scenario, arm Arm, progress Progress) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	plan := cfg.Plan(sc)
	r := &run{cfg: cfg, plan: plan, arm: arm, progress: progress,
		rng:    rand.New(rand.NewPCG(cfg.Seed, uint64(len(sc.Name)))), // #nosec: a simulation's dice
		sybIdx: make(map[peer.ID]int),
		stats:  new(sybilStats),
	}
	r.params, r.thr = cfg.scoringFor(sc)
	r.ledger = newLedger(plan.Publishers * plan.Messages)
	if err := r.build(); err != nil {
		_ = r.close()
		return nil, err
	}
	res := r.execute()
	if err := r.close(); err != nil {
		return nil, err
	}
	return res, nil
}

type run struct {
	cfg      Config
	plan     Plan
	arm      Arm
	progress Progress
	params   *peerscore.Params
	thr      *peerscore.Thresholds
	rng      *rand.Rand

	ctx    context.Context
	cancel context.CancelFunc
	net    labNet
	honest []*honestNode
	sybils []*sybil
	sybIdx map[peer.ID]int // read-only once built
	stats  *sybilStats
	ledger *ledger
	start  time.Time

	obs     *observer
	parity  *parityTally // the native arm's live parity; nil if not compared
	workers sync.WaitGroup
	dialErr atomic.Int64
}

// build creates the hosts and routers; nothing is connected yet.
func (r *run) build() error {
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.net = newLabNet(r.cfg.Transport)
	for i := range r.plan.Honest {
		lat := honestLatencyMin + time.Duration(r.rng.Int64N(int64(honestLatencyMax-honestLatencyMin)))
		h, err := r.net.addHost(ipOf(i), 4001, lat)
		if err != nil {
			return fmt.Errorf("honest host %d: %w", i, err)
		}
		r.honest = append(r.honest, &honestNode{idx: i, h: h})
	}
	for j := range r.plan.Sybils {
		container := j / r.plan.PerIP
		lat := sybilLatencyMax - time.Duration(r.rng.Int64N(int64(sybilLatencyMax-sybilLatencyMin)))
		h, err := r.net.addHost(ipOf(r.plan.Honest+container), uint16(5000+j%r.plan.PerIP), lat)
		if err != nil {
			return fmt.Errorf("sybil host %d: %w", j, err)
		}
		r.sybIdx[h.ID()] = j
		var censored peer.ID
		if r.plan.Scenario.Censor {
			censored = r.honest[0].h.ID()
		}
		r.sybils = append(r.sybils, newSybil(h, r.plan.Scenario.Drop, censored, r.cfg.Seed+uint64(j), r.stats))
	}
	r.net.start()
	if r.arm == ArmNative && r.cfg.ParityEvery > 0 {
		r.parity = newParityTally(r.cfg.ParityEvery, r.params)
	}
	if dir := r.recordDir(); dir != "" && r.arm.scores() {
		if err := writeRunParams(dir, r.params, r.thr); err != nil {
			return fmt.Errorf("recording: %w", err)
		}
	}
	for _, n := range r.honest {
		n.rec = newRecorder(r.ledger, r.sybIdx)
		if err := n.startRouter(r.ctx, r.arm, r.plan.Scenario, &r.cfg, r.params, r.thr, r.parity, r.recordDir()); err != nil {
			return fmt.Errorf("honest router %d: %w", n.idx, err)
		}
	}
	r.obs = newObserver(r)
	return nil
}

// execute runs the timeline: t = 0 is the evaluation's start barrier;
// honest nodes subscribe at once and dial after their connect delay, the
// Sybils dial after theirs, publishing starts after the warm-up and lasts
// the run; the cool-down lets the last messages land (hardening.md §2.5).
func (r *run) execute() *Result {
	r.start = time.Now()
	sc := r.plan.Scenario
	for _, n := range r.honest {
		r.dialHonest(n, connectDelay(r.rng, sc.HonestConnect))
	}
	for _, s := range r.sybils {
		r.dialSybil(s, connectDelay(r.rng, sc.SybilConnect))
	}
	for p := range r.plan.Publishers {
		r.publish(p, r.rng.Int64N(int64(r.plan.Interval)))
	}
	total := r.plan.Total()
	tick := r.cfg.ScoreEvery
	for at := tick; ; at += tick {
		if at > total {
			at = total
		}
		time.Sleep(time.Until(r.start.Add(at)))
		r.obs.sample(at)
		if r.progress != nil {
			r.progress(at, total)
		}
		if at == total {
			break
		}
	}
	if r.parity != nil {
		r.parity.closed.Store(true) // the routers' last inspections come as they stop
	}
	r.cancel()
	r.workers.Wait()
	return r.result()
}

// connectDelay draws a node's connect delay from [1.05, 1.15]×base
// (hardening: run.go:437-448, which adds its "jitter" one way only).
func connectDelay(rng *rand.Rand, base time.Duration) time.Duration {
	if base == 0 {
		return 0
	}
	return time.Duration(float64(base) * (1.05 + 0.1*rng.Float64()))
}

// dialHonest has n dial Degree random honest peers after delay
// (RandomHonestTopology, discovery.go:97-112; run.go:368-371).
func (r *run) dialHonest(n *honestNode, delay time.Duration) {
	others := make([]int, 0, len(r.honest)-1)
	for i := range r.honest {
		if i != n.idx {
			others = append(others, i)
		}
	}
	r.rng.Shuffle(len(others), func(a, b int) { others[a], others[b] = others[b], others[a] })
	for _, i := range others[:r.plan.Degree] {
		wait := delay + time.Duration(r.rng.Int64N(int64(dialSpread)))
		target := r.honest[i].h
		r.workers.Go(func() { r.dial(n.h, target, wait) })
	}
}

// dialSybil has s dial its AttackDegree targets after delay, and start
// attacking AttackDelay after its dials are done (run.go:342-346,
// badboy.go:76-90).
func (r *run) dialSybil(s *sybil, delay time.Duration) {
	var pool []*honestNode
	switch r.plan.Scenario.Targets {
	case TargetOne:
		pool = r.honest[:1]
	case TargetPublishers:
		pool = r.honest[:r.plan.Publishers]
	default:
		pool = r.honest
	}
	targets := slices.Clone(pool)
	r.rng.Shuffle(len(targets), func(a, b int) { targets[a], targets[b] = targets[b], targets[a] })
	targets = targets[:r.plan.AttackDegree]
	waits := make([]time.Duration, len(targets))
	for i := range waits {
		waits[i] = delay + time.Duration(r.rng.Int64N(int64(dialSpread)))
	}
	attackDelay := r.plan.Scenario.AttackDelay
	r.workers.Go(func() {
		var wg sync.WaitGroup
		for i, t := range targets {
			wg.Go(func() { r.dial(s.h, t.h, waits[i]) })
		}
		wg.Wait()
		if r.ctx.Err() == nil {
			s.attackFrom(attackDelay)
		}
	})
}

// dial connects a to b after wait, retrying as the evaluation did.
func (r *run) dial(a, b host.Host, wait time.Duration) {
	select {
	case <-time.After(wait):
	case <-r.ctx.Done():
		return
	}
	for range dialAttempts {
		ctx, cancel := context.WithTimeout(r.ctx, dialTimeout)
		err := r.net.connect(ctx, a, b)
		cancel()
		if err == nil || r.ctx.Err() != nil {
			return
		}
	}
	r.dialErr.Add(1)
}

// publish has publisher p publish its messages, one every Interval from
// the end of the warm-up plus phase (the evaluation's publishers each ran
// a ticker from the end of their warm-up; honest.go:295-302).
func (r *run) publish(p int, phase int64) {
	n := r.honest[p]
	first := r.start.Add(r.plan.Warmup + time.Duration(phase))
	size := r.cfg.MsgSize
	r.workers.Go(func() {
		for k := range r.plan.Messages {
			select {
			case <-time.After(time.Until(first.Add(time.Duration(k) * r.plan.Interval))):
			case <-r.ctx.Done():
				return
			}
			seq := p*r.plan.Messages + k
			payload := make([]byte, size)
			tag(payload, seq, p)
			r.ledger.published[seq].Store(time.Now().UnixNano())
			if err := n.topic.Publish(r.ctx, payload); err != nil {
				r.ledger.published[seq].Store(0)
				if r.ctx.Err() != nil {
					return
				}
				continue
			}
			n.rec.ownDelivery(seq)
		}
	})
}

// close stops everything the run started, so the bubble can end, and
// ends the recordings (the error is a recording's).
func (r *run) close() error {
	if r.cancel != nil {
		r.cancel()
	}
	r.workers.Wait()
	for _, s := range r.sybils {
		s.stop()
	}
	for _, n := range r.honest {
		if n.scorer != nil {
			_ = n.scorer.Close()
		}
		if n.parity != nil {
			_ = n.parity.scorer.Close()
		}
	}
	if r.net != nil {
		r.net.close()
	}
	for _, n := range r.honest {
		n.recording.stopTrace()
	}
	// Routers' and streams' goroutines wind down after their hosts
	// close (the last writes land after their link latency). A bubble's
	// clock stops when its root goroutine returns, so give them time to
	// finish here; in simulated time it costs nothing.
	time.Sleep(drainTime)
	var errs []error
	for _, n := range r.honest {
		if err := n.recording.close(); err != nil {
			errs = append(errs, fmt.Errorf("honest node %d's recording: %w", n.idx, err))
		}
	}
	return errors.Join(errs...)
}

// drainTime is how long a run waits for its goroutines to end: well past
// the longest link latency and pubsub's shutdown.
const drainTime = 5 * time.Second

// recordDir is where this run's honest nodes record ("": nowhere).
func (r *run) recordDir() string {
	if r.cfg.Record == "" {
		return ""
	}
	return RecordingDir(r.cfg.Record, r.plan.Scenario, r.arm, r.cfg.Seed)
}

var errNoPublished = errors.New("no message was published")
