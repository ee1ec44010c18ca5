package peerscore

// Score reads a per-peer cache that every event republishes. These tests
// replay random event traces and, after every event, compare Score (the
// cached fast path) for every known peer with a recomputation written from
// scratch here, from the raw state: the peers' counters, the parameters as
// the test set them (not the compiled rules), the peers' IP sets and the
// live application score. Any input whose change does not republish a
// cache (an IP change of a co-located peer, SetTopicParams, Refresh,
// AddPenalty, a forgotten neighbour...) shows up as a stale score.

import (
	"math"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestCacheExactRandomTraces replays random traces and checks every score
// after every event.
func TestCacheExactRandomTraces(t *testing.T) {
	seeds, steps := 48, 1500
	if testing.Short() {
		seeds, steps = 8, 800
	}
	var exact, inexact int
	var cov cacheCoverage
	var mu sync.Mutex
	for seed := range seeds {
		t.Run(strconv.Itoa(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := cacheTrace(t, uint64(seed), steps)
				mu.Lock()
				exact += c.exact
				inexact += c.inexct
				cv := c.coverage
				cov.checks += cv.checks
				cov.retained += cv.retained
				cov.colocated += cv.colocated
				cov.p3Active += cv.p3Active
				cov.capped += cv.capped
				cov.behaviour += cv.behaviour
				cov.slow += cv.slow
				cov.manyTopics += cv.manyTopics
				mu.Unlock()
			})
		})
	}
	t.Logf("%d score comparisons: %d equal to the bit, %d within 1e-12", exact+inexact, exact, inexact)
	t.Logf("peers checked: %+v", cov)
	if cov.retained == 0 || cov.colocated == 0 || cov.p3Active == 0 || cov.capped == 0 || cov.behaviour == 0 || cov.slow == 0 {
		t.Errorf("the traces missed a situation they are meant to cover: %+v", cov)
	}
}

// TestCacheExactColocation changes the IP addresses of co-located peers
// step by step and checks that every peer sharing an address sees its P6
// move, not only the peer whose addresses changed: joining, leaving,
// duplicating an address, a whitelisted address, reconnecting (which
// forgets the addresses until the host reports them), retention and
// forgetting.
func TestCacheExactColocation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		app := &cacheApp{scores: map[peer.ID]float64{}}
		_, wl, _ := net.ParseCIDR("10.9.9.0/24")
		params := &Params{
			Topics:                      map[string]*TopicParams{cacheTopics[0]: cacheTopicParams(rand.New(rand.NewPCG(1, 2)))},
			AppSpecificScore:            app.score,
			AppSpecificWeight:           1,
			IPColocationFactorWeight:    -3,
			IPColocationFactorThreshold: 1,
			IPColocationFactorWhitelist: []*net.IPNet{wl},
			DecayInterval:               time.Second,
			DecayToZero:                 0.01,
			RetainScore:                 10 * time.Second,
		}
		s, err := New(params)
		if err != nil {
			t.Fatal(err)
		}
		c := &cacheChecker{t: t, s: s, params: params, topics: params.Topics}
		a, b, d := peer.ID("ce-a"), peer.ID("ce-b"), peer.ID("ce-d")
		c.ids = []peer.ID{a, b, d}
		step := 0
		setIPs := func(p peer.ID, ips ...string) {
			s.mu.Lock()
			s.setIPs(s.peers.Get(p), ips)
			s.mu.Unlock()
			c.event("setIPs %s %v", p, ips)
		}
		// expect checks the scores and that P6 of each peer is as given
		expect := func(what string, p6 map[peer.ID]float64) {
			t.Helper()
			c.event("%s", what)
			c.check(step)
			step++
			for p, want := range p6 {
				snap, ok := s.Snapshot(p)
				if !ok {
					c.fail(step, "%s: %s is not known", what, p)
				}
				if snap.P6 != want {
					c.fail(step, "%s: P6 of %s = %v, want %v", what, p, snap.P6, want)
				}
			}
		}
		for _, p := range c.ids {
			s.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
		}
		setIPs(a, "10.0.0.1")
		setIPs(b, "10.0.0.1")
		expect("a and b share an address", map[peer.ID]float64{a: -3, b: -3, d: 0})
		setIPs(d, "10.0.0.2", "10.0.0.1")
		expect("d joins them", map[peer.ID]float64{a: -12, b: -12, d: -12})
		setIPs(d, "10.0.0.2", "10.0.0.1", "10.0.0.1")
		expect("d connects twice from it", map[peer.ID]float64{a: -12, b: -12, d: -24})
		setIPs(b, "10.0.0.2")
		expect("b moves to d's other address", map[peer.ID]float64{a: -3, b: -3, d: -9})
		setIPs(a, "10.9.9.1")
		setIPs(b, "10.9.9.1")
		setIPs(d, "10.9.9.1")
		expect("everyone on a whitelisted address", map[peer.ID]float64{a: 0, b: 0, d: 0})
		setIPs(a, "2001:db8::1", "2001:db8::")
		setIPs(b, "2001:db8::2", "2001:db8::")
		expect("a and b share a /64", map[peer.ID]float64{a: -3, b: -3, d: 0})
		app.set(a, -1) // a's score is negative: it will be retained
		app.set(b, 5)  // b's is positive: it will be forgotten
		expect("application scores change", nil)
		s.Tracer().OnClosedOutboundStream(b)
		expect("b disconnects and is forgotten", map[peer.ID]float64{a: 0})
		setIPs(d, "2001:db8::3", "2001:db8::")
		expect("d joins a's /64", map[peer.ID]float64{a: -3, d: -3})
		s.Tracer().OnClosedOutboundStream(a)
		expect("a disconnects and is retained with its addresses", map[peer.ID]float64{a: -3, d: -3})
		s.Tracer().OnNewOutboundStream(a, "/meshsub/1.1.0")
		expect("a reconnects: addresses unknown until the host reports them", map[peer.ID]float64{a: 0, d: 0})
		setIPs(a, "2001:db8::1", "2001:db8::")
		expect("the host reports them", map[peer.ID]float64{a: -3, d: -3})
		s.Tracer().OnClosedOutboundStream(a)
		time.Sleep(5 * time.Second)
		s.Refresh()
		expect("a retained, not yet forgotten", map[peer.ID]float64{a: -3, d: -3})
		time.Sleep(6 * time.Second)
		s.Refresh()
		expect("a forgotten: d alone again", map[peer.ID]float64{d: 0})
		if _, ok := s.Snapshot(a); ok {
			t.Fatal("a is still known after RetainScore")
		}
	})
}

// TestCacheExactConcurrentReaders reads scores from other goroutines while
// a trace runs, for the race detector and the seqlock: a torn read could
// return a mix of two publications, or NaN. The trace's own checks still
// run after every event.
func TestCacheExactConcurrentReaders(t *testing.T) {
	app := &cacheApp{scores: map[peer.ID]float64{}}
	params := cacheParams(rand.New(rand.NewPCG(7, 7)), app)
	params.IPColocationFactorWeight, params.IPColocationFactorThreshold = -1, 1
	s, err := New(params)
	if err != nil {
		t.Fatal(err)
	}
	peers := []peer.ID{"r0", "r1", "r2", "r3"}
	for _, p := range peers {
		s.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
		for _, topic := range cacheTopics[:3] {
			s.Tracer().Graft(p, topic)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := 0; r < 2; r++ {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, p := range peers {
					if v := s.Score(p); math.IsNaN(v) || math.IsInf(v, 0) {
						t.Errorf("Score(%s) = %v", p, v)
						return
					}
				}
			}
		})
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 3000; i++ {
		p := peers[rng.IntN(len(peers))]
		switch rng.IntN(4) {
		case 0:
			s.AddPenalty(p, 1)
		case 1:
			topic := cacheTopics[rng.IntN(3)]
			m := cacheMsg{topic: topic, from: p, id: "r-" + strconv.Itoa(i), seqno: []byte(strconv.Itoa(i))}
			s.Tracer().DeliverMessage(m.copyFrom(p))
		case 2:
			s.mu.Lock()
			s.setIPs(s.peers.Get(p), []string{cachePick(rng, cacheIPs...)})
			s.mu.Unlock()
		default:
			s.Refresh()
		}
	}
	close(stop)
	wg.Wait()
	c := &cacheChecker{t: t, s: s, params: params, topics: params.Topics, ids: peers}
	c.check(0)
}

// TestCacheExactDetectsStaleCaches makes sure the checker would catch the
// bugs it is there for: it changes score inputs behind the engine's back,
// without republishing, and expects a mismatch each time.
func TestCacheExactDetectsStaleCaches(t *testing.T) {
	type sabotage struct {
		name string
		do   func(s *Scorer, a, b *peerState) *TopicParams // returns new topic params, if it changed them
	}
	for _, sb := range []sabotage{
		{"own counter", func(s *Scorer, a, _ *peerState) *TopicParams {
			a.topics[0].first++
			return nil
		}},
		{"topic score recomputed but not published", func(s *Scorer, a, _ *peerState) *TopicParams {
			a.topics[0].invalid++
			a.topics[0].score = s.byIdx[a.topics[0].topic].breakdown(&a.topics[0]).total
			return nil
		}},
		{"address count out of step with the peers on it", func(s *Scorer, a, b *peerState) *TopicParams {
			a.addrs()[0].count.peers.Add(1) // a third peer counted that no peer list holds
			return nil
		}},
		{"behaviour counter", func(s *Scorer, a, _ *peerState) *TopicParams {
			a.behaviour += 10
			return nil
		}},
		{"topic params", func(s *Scorer, a, _ *peerState) *TopicParams {
			r := s.byIdx[a.topics[0].topic]
			tp := r.params
			tp.TopicWeight *= 3
			*r = *compileTopic(r.name, r.index, &tp)
			return &tp
		}},
	} {
		t.Run(sb.name, func(t *testing.T) {
			app := &cacheApp{scores: map[peer.ID]float64{}}
			params := &Params{
				Topics:                      map[string]*TopicParams{cacheTopics[0]: cacheTopicParams(rand.New(rand.NewPCG(5, 6)))},
				AppSpecificScore:            app.score,
				AppSpecificWeight:           1,
				IPColocationFactorWeight:    -1,
				IPColocationFactorThreshold: 1,
				BehaviourPenaltyWeight:      -1,
				BehaviourPenaltyDecay:       0.9,
				DecayInterval:               time.Second,
				DecayToZero:                 0.01,
			}
			params.Topics[cacheTopics[0]].TopicWeight = 1
			params.Topics[cacheTopics[0]].FirstMessageDeliveriesWeight = 1
			params.Topics[cacheTopics[0]].InvalidMessageDeliveriesWeight = -1
			s, err := New(params)
			if err != nil {
				t.Fatal(err)
			}
			c := &cacheChecker{t: t, s: s, params: params, topics: map[string]*TopicParams{cacheTopics[0]: params.Topics[cacheTopics[0]]}}
			for _, p := range []peer.ID{"a", "b"} {
				s.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
				s.Tracer().DeliverMessage(cacheMsg{topic: cacheTopics[0], from: p, id: "m-" + string(p)}.copyFrom(p))
				s.mu.Lock()
				s.setIPs(s.peers.Get(p), []string{"10.0.0.1"})
				s.mu.Unlock()
			}
			if err := c.mismatch(); err != nil {
				t.Fatalf("before the sabotage: %v", err)
			}
			s.mu.Lock()
			if tp := sb.do(s, s.peers.Get("a"), s.peers.Get("b")); tp != nil {
				c.topics[cacheTopics[0]] = tp
			}
			s.mu.Unlock()
			if err := c.mismatch(); err == nil {
				t.Fatal("the checker did not notice the stale score")
			} else {
				t.Logf("caught: %v", err)
			}
		})
	}
}
