package peerscore

import (
	"bytes"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Rules of the router check, driven directly; e2e_router_check_test.go runs
// it against real routers.

// logBuffer is a thread-safe log buffer.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func checkedScorer(t *testing.T, opts ...Option) (*Scorer, *logBuffer) {
	t.Helper()
	log := &logBuffer{}
	p := &Params{SkipAtomicValidation: true, DecayInterval: time.Second, DecayToZero: 0.01}
	s, err := New(p, append([]Option{WithLogger(slog.New(slog.NewTextHandler(log, nil))),
		WithThresholds(&Thresholds{SkipAtomicValidation: true})}, opts...)...)
	require.NoError(t, err)
	return s, log
}

func TestScoresAgree(t *testing.T) {
	cases := []struct {
		router, ours float64
		agree        bool
	}{
		{0, 0, true},
		{-5, -5, true},
		{1e6, 1e6 * (1 + 1e-12), true},
		{1e-13, 0, true},
		{1e-11, 0, false},
		{-100, -99, false},
		{1e6, 1e6 + 1, false},
		{math.Inf(1), math.Inf(1), true},
		{math.Inf(-1), math.Inf(-1), true},
		{math.Inf(1), 5, false},
		{-math.MaxFloat64, math.Inf(-1), false},
		{math.NaN(), 0, false},
	}
	for _, c := range cases {
		assert.Equal(t, c.agree, scoresAgree(c.router, c.ours), "router %v, ours %v", c.router, c.ours)
	}
}

// TestInspectRouterRules: topics are reported at once; a score difference
// without topics only when the same peer shows it twice in a row.
func TestInspectRouterRules(t *testing.T) {
	s, log := checkedScorer(t)
	fine := &pubsub.PeerScoreSnapshot{Score: -3, AppSpecificScore: -3}
	withTopic := &pubsub.PeerScoreSnapshot{Score: 7, AppSpecificScore: -3,
		Topics: map[string]*pubsub.TopicScoreSnapshot{"blocks": {FirstMessageDeliveries: 10}}}
	apart := &pubsub.PeerScoreSnapshot{Score: -1, AppSpecificScore: -3}

	s.router.inspectRouter(map[peer.ID]*pubsub.PeerScoreSnapshot{"a": fine, "b": fine, "nil": nil})
	assert.Zero(t, s.Stats().RouterMismatches, "our wiring")
	assert.Empty(t, log.String())

	s.router.inspectRouter(map[peer.ID]*pubsub.PeerScoreSnapshot{"a": fine, "b": apart})
	assert.Zero(t, s.Stats().RouterMismatches, "a difference once: our score may have moved between the calls")
	s.router.inspectRouter(map[peer.ID]*pubsub.PeerScoreSnapshot{"a": apart, "b": fine})
	assert.Zero(t, s.Stats().RouterMismatches, "once for a, once for b: not the same peer twice in a row")
	s.router.inspectRouter(map[peer.ID]*pubsub.PeerScoreSnapshot{"a": apart, "b": fine})
	assert.Equal(t, uint64(1), s.Stats().RouterMismatches, "a twice in a row")
	assert.Contains(t, log.String(), "level=ERROR")
	assert.Contains(t, log.String(), "example="+peer.ID("a").String())

	s.router.inspectRouter(map[peer.ID]*pubsub.PeerScoreSnapshot{"c": withTopic, "d": withTopic, "a": fine})
	assert.Equal(t, uint64(2), s.Stats().RouterMismatches, "topics: at once")
	last := lastLine(log.String())
	for _, want := range []string{"level=ERROR", "peers=2", "example=" + peer.ID("c").String(), "router_score=7", "peerscore_score=-3",
		"router_topics=[blocks]", "Topic.SetScoreParams", "Scorer.SetTopicParams", "pubsub.WithPeerScore",
		"pubsub.WithPeerScoreInspect"} {
		assert.Contains(t, last, want)
	}

	s.router.inspectRouter(map[peer.ID]*pubsub.PeerScoreSnapshot{"a": fine})
	assert.Equal(t, uint64(2), s.Stats().RouterMismatches, "one count per inspection that finds something")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestCheckRouterAskedRules: the loop's check reports a router that
// received two RPCs from connected peers or more, some since the last
// report, without ever calling routerScore; one call proves the wiring.
func TestCheckRouterAskedRules(t *testing.T) {
	rpcFrom := func(p peer.ID) *pubsub.RPC {
		rpc := &pubsub.RPC{RPC: pb.RPC{Publish: []*pb.Message{{Data: []byte("x")}}}}
		setRPCFrom(rpc, p)
		return rpc
	}
	t.Run("not armed", func(t *testing.T) {
		s, _ := checkedScorer(t)
		s.Tracer().OnNewOutboundStream("a", "")
		for range 5 {
			s.Tracer().RecvRPC(rpcFrom("a"))
		}
		s.router.checkRouterAsked()
		assert.Zero(t, s.Stats().RouterMismatches, "without GossipSubOptions nothing is watched")
	})
	t.Run("never asked", func(t *testing.T) {
		s, log := checkedScorer(t)
		_, err := s.GossipSubOptions()
		require.NoError(t, err)
		s.Tracer().OnNewOutboundStream("a", "")
		s.Tracer().RecvRPC(rpcFrom("stranger")) // not connected: the router may not know it
		s.Tracer().RecvRPC(rpcFrom("stranger"))
		s.Tracer().RecvRPC(nil)
		s.Tracer().RecvRPC(rpcFrom("a"))
		s.router.checkRouterAsked()
		assert.Zero(t, s.Stats().RouterMismatches, "one RPC from a connected peer: its call may be just after")
		s.Tracer().RecvRPC(rpcFrom("a"))
		s.router.checkRouterAsked()
		assert.Equal(t, uint64(1), s.Stats().RouterMismatches)
		assert.Contains(t, log.String(), "level=ERROR")
		assert.Contains(t, log.String(), "rpcs_unasked=2")
		assert.Contains(t, log.String(), "pubsub.WithPeerScore")
		s.router.checkRouterAsked()
		assert.Equal(t, uint64(1), s.Stats().RouterMismatches, "no RPC since the last report: no new report")
		s.Tracer().RecvRPC(rpcFrom("a"))
		s.router.checkRouterAsked()
		assert.Equal(t, uint64(2), s.Stats().RouterMismatches, "once per period while it lasts")
	})
	t.Run("asked once", func(t *testing.T) {
		s, log := checkedScorer(t)
		_, err := s.GossipSubOptions()
		require.NoError(t, err)
		s.Tracer().OnNewOutboundStream("a", "")
		s.Tracer().RecvRPC(rpcFrom("a"))
		s.router.routerScore("a")
		for range 5 {
			s.Tracer().RecvRPC(rpcFrom("a"))
		}
		s.router.checkRouterAsked()
		assert.Zero(t, s.Stats().RouterMismatches)
		assert.Empty(t, log.String())
	})
	t.Run("asks for peers not connected prove nothing", func(t *testing.T) {
		s, _ := checkedScorer(t)
		_, err := s.GossipSubOptions()
		require.NoError(t, err)
		s.Tracer().OnNewOutboundStream("a", "")
		s.Tracer().OnNewOutboundStream("gone", "")
		s.Tracer().OnClosedOutboundStream("gone") // score 0: retained, disconnected
		s.router.routerScore("gone")              // what a replaced scorer asks at a disconnect
		s.router.routerScore("stranger")
		s.Tracer().RecvRPC(rpcFrom("a"))
		s.Tracer().RecvRPC(rpcFrom("a"))
		s.router.checkRouterAsked()
		assert.Equal(t, uint64(1), s.Stats().RouterMismatches)
	})
	t.Run("off", func(t *testing.T) {
		s, _ := checkedScorer(t, WithRouterCheck(0))
		opts, err := s.GossipSubOptions()
		require.NoError(t, err)
		assert.Len(t, opts, 2, "no inspection option")
		s.Tracer().OnNewOutboundStream("a", "")
		for range 5 {
			s.Tracer().RecvRPC(rpcFrom("a"))
		}
		s.router.checkRouterAsked()
		assert.Zero(t, s.Stats().RouterMismatches)
	})
	_, err := New(&Params{SkipAtomicValidation: true}, WithRouterCheck(-time.Second))
	assert.ErrorContains(t, err, "WithRouterCheck")
}

// setRPCFrom sets an RPC's sender, which pubsub keeps in an unexported
// field that the router fills from the stream.
func setRPCFrom(rpc *pubsub.RPC, p peer.ID) {
	f := reflect.ValueOf(rpc).Elem().FieldByName("from")
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(reflect.ValueOf(p))
}

// withoutLock runs call while the test holds s's lock: a call that
// wanted the lock would never return.
func withoutLock(t *testing.T, s *Scorer, name string, call func()) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		call()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute): // a deadlock guard, not a measurement
		t.Fatalf("%s waited for the scorer's lock", name)
	}
}

// TestRouterCheckFastPaths: once the wiring is proven, the router's score
// call and RecvRPC do not take the scorer's lock; nor does a fast, or
// switched-off, slow-write report.
func TestRouterCheckFastPaths(t *testing.T) {
	p := &Params{SkipAtomicValidation: true, DecayInterval: time.Second, DecayToZero: 0.01,
		SlowPeerWeight: -1, SlowPeerDecay: 0.5, SlowPeerWriteThreshold: time.Second}
	s, err := New(p, WithThresholds(&Thresholds{SkipAtomicValidation: true}))
	require.NoError(t, err)
	_, err = s.GossipSubOptions()
	require.NoError(t, err)
	s.Tracer().OnNewOutboundStream("a", "")
	s.router.routerScore("a") // the router asked: the wiring is proven
	rpc := &pubsub.RPC{}
	setRPCFrom(rpc, "a")

	withoutLock(t, s, "routerScore", func() { s.router.routerScore("a") })
	withoutLock(t, s, "RecvRPC without control", func() { s.Tracer().RecvRPC(rpc) })
	withoutLock(t, s, "SendRPCCompleted, at the threshold", func() { tracer{s}.SendRPCCompleted(rpc, "a", time.Second) })
	withoutLock(t, s, "SendRPCCompleted, negative", func() { tracer{s}.SendRPCCompleted(rpc, "a", -time.Hour) })

	p.SlowPeerWeight, p.SlowPeerDecay = 0, 0 // slow-peer penalty off: slow writes do not count
	off, err := New(p)
	require.NoError(t, err)
	off.Tracer().OnNewOutboundStream("a", "")
	withoutLock(t, off, "SendRPCCompleted, weight off", func() { tracer{off}.SendRPCCompleted(rpc, "a", time.Hour) })
	p.SlowPeerWeight, p.SlowPeerDecay, p.SlowPeerWriteThreshold = -1, 0.5, 0 // write threshold off
	off, err = New(p)
	require.NoError(t, err)
	off.Tracer().OnNewOutboundStream("a", "")
	withoutLock(t, off, "SendRPCCompleted, threshold off", func() { tracer{off}.SendRPCCompleted(rpc, "a", time.Hour) })
}
