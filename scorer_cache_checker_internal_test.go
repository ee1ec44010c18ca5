package peerscore

// The checker of scorer_cache_internal_test.go: random event traces, and the
// recomputation from scratch that every cached score is compared with.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
)

// cacheTopics are the trace's topics: the first three scored from the start,
// the fourth only once SetTopicParams adds it.
var cacheTopics = []string{"/ce/a", "/ce/b", "/ce/c", "/ce/late"}

// cacheIPs are the addresses peers connect from. 10.9.9.0/24 is whitelisted in
// some traces; the IPv6 entries come as pubsub reports them, address and /64.
var cacheIPs = []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.9.9.1", "10.9.9.2", "2001:db8::1", "2001:db8::"}

var cacheRejectReasons = []string{
	pubsub.RejectMissingSignature, pubsub.RejectInvalidSignature, pubsub.RejectUnexpectedSignature,
	pubsub.RejectUnexpectedAuthInfo, pubsub.RejectSelfOrigin, pubsub.RejectBlacklstedPeer,
	pubsub.RejectBlacklistedSource, pubsub.RejectValidationQueueFull, pubsub.RejectValidationThrottled,
	pubsub.RejectValidationIgnored, pubsub.RejectValidationFailed, "something else",
}

func cachePick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

func cacheDecay(rng *rand.Rand) float64 { return 0.5 + 0.49*rng.Float64() }

// cacheTopicParams returns valid random topic parameters, with components
// switched off (zero weight) now and then.
func cacheTopicParams(rng *rand.Rand) *TopicParams {
	return &TopicParams{
		TopicWeight:                     cachePick(rng, 0, 0.5, 1, 2.5),
		TimeInMeshWeight:                cachePick(rng, 0, 0.01, 0.5),
		TimeInMeshQuantum:               cachePick(rng, 700*time.Millisecond, time.Second, 3*time.Second),
		TimeInMeshCap:                   cachePick(rng, 2.0, 5, 100),
		FirstMessageDeliveriesWeight:    cachePick(rng, 0, 1, 3.7),
		FirstMessageDeliveriesDecay:     cacheDecay(rng),
		FirstMessageDeliveriesCap:       cachePick(rng, 3.0, 50),
		MeshMessageDeliveriesWeight:     cachePick(rng, 0, -0.5, -2),
		MeshMessageDeliveriesDecay:      cacheDecay(rng),
		MeshMessageDeliveriesCap:        cachePick(rng, 5.0, 30),
		MeshMessageDeliveriesThreshold:  cachePick(rng, 1.0, 4, 10),
		MeshMessageDeliveriesWindow:     cachePick(rng, 0, 10*time.Millisecond, 500*time.Millisecond),
		MeshMessageDeliveriesActivation: cachePick(rng, time.Second, 3*time.Second),
		MeshFailurePenaltyWeight:        cachePick[float64](rng, 0, -1, -3),
		MeshFailurePenaltyDecay:         cacheDecay(rng),
		InvalidMessageDeliveriesWeight:  cachePick[float64](rng, 0, -10, -100),
		InvalidMessageDeliveriesDecay:   cacheDecay(rng),
	}
}

// cacheApp is a live application score the trace changes between events.
type cacheApp struct {
	mu     sync.Mutex
	scores map[peer.ID]float64
}

func (a *cacheApp) score(p peer.ID) float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.scores[p]
}

func (a *cacheApp) set(p peer.ID, v float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.scores[p] = v
}

func cacheParams(rng *rand.Rand, app *cacheApp) *Params {
	p := &Params{
		Topics:                      map[string]*TopicParams{},
		TopicScoreCap:               cachePick[float64](rng, 0, 5, 50),
		AppSpecificScore:            app.score,
		AppSpecificWeight:           cachePick(rng, 0, 1, 0.5),
		IPColocationFactorWeight:    cachePick[float64](rng, 0, -1, -5),
		IPColocationFactorThreshold: cachePick(rng, 1, 2, 3),
		BehaviourPenaltyWeight:      cachePick[float64](rng, 0, -1, -10),
		BehaviourPenaltyThreshold:   cachePick[float64](rng, 0, 2, 6),
		BehaviourPenaltyDecay:       cacheDecay(rng),
		DecayInterval:               time.Second,
		DecayToZero:                 cachePick(rng, 0.01, 0.1),
		RetainScore:                 cachePick(rng, 0, 5*time.Second, 30*time.Second, time.Hour),
		SeenMsgTTL:                  cachePick(rng, 0, 3*time.Second, 10*time.Second),
	}
	if rng.IntN(2) == 0 {
		p.SlowPeerWeight, p.SlowPeerThreshold, p.SlowPeerDecay = cachePick(rng, -0.5, -2), cachePick[float64](rng, 0, 3), cacheDecay(rng)
	}
	if rng.IntN(2) == 0 {
		_, wl, _ := net.ParseCIDR("10.9.9.0/24")
		p.IPColocationFactorWhitelist = []*net.IPNet{wl}
	}
	for _, t := range cacheTopics[:3] {
		p.Topics[t] = cacheTopicParams(rng)
	}
	return p
}

// cacheChecker recomputes scores from the raw state and compares.
type cacheChecker struct {
	t      *testing.T
	s      *Scorer
	params *Params                 // global parameters as given to New
	topics map[string]*TopicParams // topic parameters as last set
	ids    []peer.ID               // every ID the trace uses
	log    []string                // recent events, for failure reports
	exact  int                     // comparisons equal to the bit
	inexct int                     // comparisons equal only within the tolerance

	coverage cacheCoverage
}

func (c *cacheChecker) event(format string, args ...any) {
	for i, a := range args {
		if id, ok := a.(peer.ID); ok {
			args[i] = string(id) // readable, not base58
		}
	}
	c.log = append(c.log, fmt.Sprintf(format, args...))
	if len(c.log) > 30 {
		c.log = c.log[1:]
	}
}

// recompute is a peer's score from its raw state, written from the score
// function's definition, adding the parts in pubsub's order.
func (c *cacheChecker) recompute(ps *peerState) float64 {
	s, g := c.s, c.params
	var topics float64
	for i := range ps.topics {
		ts := &ps.topics[i]
		tp := c.topics[s.byIdx[ts.topic].name]
		var sum float64
		if ts.inMesh && tp.TimeInMeshWeight != 0 {
			p1 := float64(ts.meshTime / tp.TimeInMeshQuantum)
			if p1 > tp.TimeInMeshCap {
				p1 = tp.TimeInMeshCap
			}
			sum += p1 * tp.TimeInMeshWeight
		}
		if tp.FirstMessageDeliveriesWeight != 0 {
			sum += ts.first * tp.FirstMessageDeliveriesWeight
		}
		if ts.meshActive && tp.MeshMessageDeliveriesWeight != 0 && ts.mesh < tp.MeshMessageDeliveriesThreshold {
			deficit := tp.MeshMessageDeliveriesThreshold - ts.mesh
			sum += deficit * deficit * tp.MeshMessageDeliveriesWeight
		}
		if tp.MeshFailurePenaltyWeight != 0 {
			sum += ts.failure * tp.MeshFailurePenaltyWeight
		}
		if tp.InvalidMessageDeliveriesWeight != 0 {
			sum += ts.invalid * ts.invalid * tp.InvalidMessageDeliveriesWeight
		}
		topics += sum * tp.TopicWeight
	}
	if g.TopicScoreCap > 0 && topics > g.TopicScoreCap {
		topics = g.TopicScoreCap
	}

	app := g.AppSpecificScore(ps.ID)
	if math.IsNaN(app) {
		app = 0
	}
	app *= g.AppSpecificWeight

	var colocation float64
	if g.IPColocationFactorWeight != 0 {
		var factor float64
		for _, ip := range ps.addrs() {
			if c.whitelisted(ip.addr) {
				continue
			}
			// every known peer, retained ones included, that has the address
			n := 0
			for _, other := range s.peers.All() {
				for _, oip := range other.addrs() {
					if oip.addr == ip.addr {
						n++
						break
					}
				}
			}
			if n > g.IPColocationFactorThreshold {
				surplus := float64(n - g.IPColocationFactorThreshold)
				factor += surplus * surplus
			}
		}
		colocation = factor * g.IPColocationFactorWeight
	}

	var p7, slow float64
	if g.BehaviourPenaltyWeight != 0 && ps.behaviour > g.BehaviourPenaltyThreshold {
		excess := ps.behaviour - g.BehaviourPenaltyThreshold
		p7 = excess * excess * g.BehaviourPenaltyWeight
	}
	if g.SlowPeerWeight != 0 && ps.slow > g.SlowPeerThreshold {
		slow = (ps.slow - g.SlowPeerThreshold) * g.SlowPeerWeight
	}
	return topics + app + colocation + (p7 + slow)
}

func (c *cacheChecker) whitelisted(addr string) bool {
	ip := net.ParseIP(addr)
	for _, n := range c.params.IPColocationFactorWhitelist {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// check fails the test unless every known peer's Score and Snapshot equal
// the recomputation, and every unknown ID's Score is 0.
func (c *cacheChecker) check(step int) {
	c.t.Helper()
	if err := c.mismatch(); err != nil {
		c.fail(step, "%v", err)
	}
}

// mismatch returns the first score that differs from the recomputation.
func (c *cacheChecker) mismatch() error {
	s := c.s
	s.mu.Lock()
	type want struct {
		id    peer.ID
		score float64
	}
	wants := make([]want, 0, len(s.peers.All()))
	known := map[peer.ID]bool{}
	for _, ps := range s.peers.All() {
		wants = append(wants, want{ps.ID, c.recompute(ps)})
		known[ps.ID] = true
		c.cover(ps)
	}
	s.mu.Unlock()

	for _, w := range wants {
		got := s.Score(w.id)
		if !closeEnough(got, w.score) {
			return fmt.Errorf("Score(%q) = %v, recomputed %v (diff %g)", string(w.id), got, w.score, got-w.score)
		}
		if got == w.score {
			c.exact++
		} else {
			c.inexct++
		}
		snap, ok := s.Snapshot(w.id)
		if !ok || !closeEnough(snap.Score, w.score) {
			return fmt.Errorf("Snapshot(%q).Score = %v (found %v), recomputed %v", string(w.id), snap.Score, ok, w.score)
		}
	}
	for _, id := range c.ids {
		if !known[id] {
			if got := s.Score(id); got != 0 {
				return fmt.Errorf("Score(%q) = %v for a peer the scorer does not know", string(id), got)
			}
		}
	}
	return nil
}

// cacheCoverage counts the situations the checks met, to show that the traces
// reach what they are meant to test.
type cacheCoverage struct {
	checks, retained, colocated, p3Active, capped, behaviour, slow, manyTopics int
}

func (c *cacheChecker) cover(ps *peerState) {
	s, cv := c.s, &c.coverage
	cv.checks++
	if !ps.connected {
		cv.retained++
	}
	if s.colocationTerm(ps) != 0 {
		cv.colocated++
	}
	var sum float64
	for i := range ps.topics {
		if ps.topics[i].meshActive {
			cv.p3Active++
		}
		sum += ps.topics[i].score
	}
	if len(ps.topics) > 1 {
		cv.manyTopics++
	}
	if s.rules.topicScoreCap > 0 && sum > s.rules.topicScoreCap {
		cv.capped++
	}
	if p7, slow := s.behaviourParts(ps); p7 != 0 || slow != 0 {
		if p7 != 0 {
			cv.behaviour++
		}
		if slow != 0 {
			cv.slow++
		}
	}
}

func closeEnough(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-12*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func (c *cacheChecker) fail(step int, format string, args ...any) {
	c.t.Helper()
	c.t.Fatalf("step %d: %s\nlast events:\n  %s", step, fmt.Sprintf(format, args...), strings.Join(c.log, "\n  "))
}

// cacheMsg is one message of a trace.
type cacheMsg struct {
	topic string
	from  peer.ID
	id    string // empty: the scorer computes it from From and Seqno
	seqno []byte
}

func (m cacheMsg) copyFrom(p peer.ID) *pubsub.Message {
	topic := m.topic
	return &pubsub.Message{
		Message:      &pb.Message{Data: []byte("x"), Topic: &topic, From: []byte(m.from), Seqno: m.seqno},
		ID:           m.id,
		ReceivedFrom: p,
	}
}

// cacheTrace drives a Scorer with steps random events and checks every score
// after each one. It runs inside a synctest bubble: time.Sleep moves the
// fake clock.
func cacheTrace(t *testing.T, seed uint64, steps int) *cacheChecker {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	app := &cacheApp{scores: map[peer.ID]float64{}}
	params := cacheParams(rng, app)
	if err := params.Validate(); err != nil {
		t.Fatalf("generated invalid params: %v", err)
	}
	var opts []Option
	if rng.IntN(3) == 0 {
		opts = append(opts, WithMaxDeliveryRecords(cachePick(rng, 1, 4, 16)))
	}
	s, err := New(params, opts...)
	if err != nil {
		t.Fatal(err)
	}
	c := &cacheChecker{t: t, s: s, params: params, topics: map[string]*TopicParams{}}
	for name, tp := range params.Topics {
		c.topics[name] = tp
	}
	for i := 0; i < 10; i++ {
		c.ids = append(c.ids, peer.ID(fmt.Sprintf("ce-peer-%02d", i)))
	}
	stranger := peer.ID("ce-stranger") // never connects, sends copies
	c.ids = append(c.ids, stranger)
	for _, topic := range cacheTopics {
		if rng.IntN(4) != 0 {
			s.Tracer().Join(topic)
		}
	}

	var msgs []cacheMsg
	randPeer := func() peer.ID { return c.ids[rng.IntN(len(c.ids)-1)] }
	anyPeer := func() peer.ID { return c.ids[rng.IntN(len(c.ids))] }
	randTopic := func() string { return cachePick(rng, cacheTopics...) }
	randIPs := func() []string {
		ips := make([]string, rng.IntN(4))
		for i := range ips {
			ips[i] = cachePick(rng, cacheIPs...)
		}
		return ips
	}
	setIPs := func(p peer.ID, ips []string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if ps := s.peers.Get(p); ps != nil {
			s.setIPs(ps, ips)
		}
	}
	oldMsg := func() (cacheMsg, bool) {
		if len(msgs) == 0 {
			return cacheMsg{}, false
		}
		// mostly recent messages, where the action is
		return msgs[max(0, len(msgs)-1-rng.IntN(min(len(msgs), 12)))], true
	}
	// copyOfOld traces, with trace, a copy of an old message from a peer
	// pick chooses, if there is an old message; what names it in the log.
	copyOfOld := func(what string, pick func() peer.ID, trace func(*pubsub.Message)) {
		if m, ok := oldMsg(); ok {
			p := pick()
			trace(m.copyFrom(p))
			c.event("%s %s/%s from %s", what, m.topic, m.seqno, p)
		}
	}

	for step := 0; step < steps; step++ {
		switch op := rng.IntN(100); {
		case op < 8:
			p := randPeer()
			s.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
			c.event("connect %s", p)
			if rng.IntN(4) != 0 {
				ips := randIPs()
				setIPs(p, ips)
				c.event("  with IPs %v", ips)
			}
		case op < 12:
			p := randPeer()
			s.Tracer().OnClosedOutboundStream(p)
			c.event("disconnect %s", p)
		case op < 18:
			// an IP change, often of a peer sharing an address with others
			p := randPeer()
			ips := randIPs()
			setIPs(p, ips)
			c.event("setIPs %s %v", p, ips)
		case op < 26:
			p, topic := randPeer(), randTopic()
			s.Tracer().Graft(p, topic)
			c.event("graft %s %s", p, topic)
		case op < 30:
			p, topic := randPeer(), randTopic()
			s.Tracer().Prune(p, topic)
			c.event("prune %s %s", p, topic)
		case op < 40:
			m := cacheMsg{topic: randTopic(), from: randPeer(), seqno: []byte(strconv.Itoa(len(msgs)))}
			if rng.IntN(5) != 0 {
				m.id = "ce-msg-" + strconv.Itoa(len(msgs))
			}
			msgs = append(msgs, m)
			p := randPeer()
			s.Tracer().ValidateMessage(m.copyFrom(p))
			c.event("validate %s/%s from %s", m.topic, m.seqno, p)
		case op < 48:
			copyOfOld("deliver", randPeer, s.Tracer().DeliverMessage)
		case op < 52:
			if m, ok := oldMsg(); ok {
				p, reason := randPeer(), cachePick(rng, cacheRejectReasons...)
				s.Tracer().RejectMessage(m.copyFrom(p), reason)
				c.event("reject %s/%s from %s: %s", m.topic, m.seqno, p, reason)
			}
		case op < 66:
			copyOfOld("duplicate", anyPeer, s.Tracer().DuplicateMessage)
		case op < 69:
			p, n := randPeer(), rng.IntN(5)-1
			s.AddPenalty(p, n)
			c.event("AddPenalty %s %d", p, n)
		case op < 71:
			p := randPeer()
			rpc := &pubsub.RPC{RPC: pb.RPC{Publish: make([]*pb.Message, 1+rng.IntN(3))}}
			s.Tracer().DropRPC(rpc, p)
			c.event("DropRPC %s, %d messages", p, len(rpc.Publish))
		case op < 73:
			// an IWANT, which the peer breaks unless the message comes
			p := randPeer()
			ids := []string{"ce-msg-" + strconv.Itoa(len(msgs)+rng.IntN(3))}
			s.Tracer().SendRPC(&pubsub.RPC{RPC: pb.RPC{Control: &pb.ControlMessage{Iwant: []*pb.ControlIWant{{MessageIDs: ids}}}}}, p)
			c.event("IWANT %v to %s", ids, p)
		case op < 75:
			// a PRUNE we send, then maybe a GRAFT back during the backoff
			p, topic := randPeer(), randTopic()
			backoff := uint64(rng.IntN(3))
			s.Tracer().SendRPC(&pubsub.RPC{RPC: pb.RPC{Control: &pb.ControlMessage{Prune: []*pb.ControlPrune{{TopicID: &topic, Backoff: &backoff}}}}}, p)
			c.event("PRUNE %s to %s, backoff %ds", topic, p, backoff)
		case op < 77:
			p, topic := randPeer(), randTopic()
			s.router.graft(p, topic, s.now())
			c.event("GRAFT %s from %s (judged against the backoff)", topic, p)
		case op < 80:
			p := randPeer()
			v := cachePick(rng, 0, 1, -3.5, 20, math.NaN())
			app.set(p, v)
			c.event("app score of %s = %v", p, v)
		case op < 82:
			topic := cachePick(rng, cacheTopics...)
			tp := cacheTopicParams(rng)
			if err := s.SetTopicParams(topic, tp); err != nil {
				t.Fatalf("SetTopicParams: %v", err)
			}
			c.topics[topic] = tp
			c.event("SetTopicParams %s %+v", topic, *tp)
		case op < 90:
			s.Refresh()
			c.event("Refresh")
		default:
			d := cachePick(rng, time.Millisecond, 5*time.Millisecond, 300*time.Millisecond, time.Second, 3*time.Second)
			time.Sleep(d)
			c.event("advance %v", d)
		}
		c.check(step)
	}
	return c
}
