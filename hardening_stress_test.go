package peerscore_test

// Concurrency stress: pubsub calls the tracer from its event loop and from
// its validation workers at once, reads Score on its hot path from yet
// other goroutines, and the application reads snapshots, metrics and
// stats, changes topic parameters, adds penalties, saves state and starts
// and stops the scorer whenever it likes. This test does all of that at
// once, in real time (real parallelism, no synctest), with the background
// loop, a fast router heartbeat and an inspection callback that calls back
// into the scorer all running. Under -race it checks for data races; at the
// end every snapshot must still be consistent (fuzzEnv.checkSnap) and agree
// with Score.

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/metrics"
)

func TestStressAllEntryPoints(t *testing.T) {
	const (
		iterations = 3000 // per worker
		numPeers   = 150  // > 64: churn rebuilds the lock-free peer index under readers
	)
	topics := []string{"t0", "t1", "unscored"}
	params := fuzzParamsFull(-1)
	params.SlowPeerWriteThreshold = time.Millisecond
	gs := pubsub.DefaultGossipSubParams()
	gs.HeartbeatInterval = 5 * time.Millisecond
	gs.IWantFollowupTime = 20 * time.Millisecond
	gs.PruneBackoff = 50 * time.Millisecond
	gs.GraftFloodThreshold = 10 * time.Millisecond
	var inspected atomic.Int64
	var s *peerscore.Scorer
	streams := scoretest.NewStreamHost() // the streams the repeated-extensions rebuild asks for
	thresholds := &peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -50, GraylistThreshold: -80,
		AcceptPXThreshold: 10, OpportunisticGraftThreshold: 1}
	s, err := peerscore.New(params,
		peerscore.WithHost(streams),
		peerscore.WithThresholds(thresholds),
		peerscore.WithGossipSubParams(gs),
		peerscore.WithMaxDeliveryRecords(500),
		peerscore.WithInspect(func(snaps map[peer.ID]peerscore.Snapshot) {
			inspected.Add(1)
			for p := range snaps {
				_ = s.Score(p) // calling back into the scorer is allowed
				break
			}
		}, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	collector, err := metrics.New(s)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector)

	peers := make([]peer.ID, numPeers)
	for i := range peers {
		peers[i] = peer.ID(fmt.Sprintf("stress-%d", i))
		streams.Open(peers[i], fmt.Sprintf("stream-%d", i), pubsub.GossipSubID_v13)
	}
	s.Start(context.Background())

	var wg sync.WaitGroup
	var stop atomic.Bool
	worker := func(name string, seed uint64, body func(r *rand.Rand)) {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, 99))
			for i := 0; i < iterations && !stop.Load(); i++ {
				body(r)
			}
		})
	}
	pick := func(r *rand.Rand) peer.ID { return peers[r.IntN(len(peers))] }
	msg := func(r *rand.Rand) *pubsub.Message {
		topic := topics[r.IntN(len(topics))]
		id := fmt.Sprintf("m%d", r.IntN(400)) // a shared pool: workers trace the same messages
		return &pubsub.Message{Message: &pb.Message{Topic: &topic, Data: []byte(id)}, ID: id, ReceivedFrom: pick(r)}
	}

	// pubsub's event loop: connections, meshes, control messages.
	worker("event loop", 1, func(r *rand.Rand) {
		p := pick(r)
		topic := topics[r.IntN(len(topics))]
		switch r.IntN(12) {
		case 0, 1:
			s.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
		case 2:
			s.Tracer().OnClosedOutboundStream(p)
		case 3:
			s.Tracer().Graft(p, topic)
		case 4:
			s.Tracer().Prune(p, topic)
		case 5:
			s.Tracer().Join(topic)
		case 6:
			s.Tracer().Leave(topic)
		case 7:
			s.Tracer().ThrottlePeer(p)
		case 8:
			backoff := uint64(r.IntN(3))
			rpc := &pubsub.RPC{RPC: pb.RPC{Control: &pb.ControlMessage{
				Prune: []*pb.ControlPrune{{TopicID: &topic, Backoff: &backoff}},
				Graft: []*pb.ControlGraft{{TopicID: &topic}}}}}
			if r.IntN(2) == 0 {
				rpc.Control.Extensions = &pb.ControlExtensions{}
			}
			scoretest.SetFrom(rpc, p)
			s.Tracer().RecvRPC(rpc)
		case 9:
			s.Tracer().SendRPC(&pubsub.RPC{RPC: pb.RPC{Control: &pb.ControlMessage{
				Iwant: []*pb.ControlIWant{{MessageIDs: []string{fmt.Sprintf("m%d", r.IntN(400)), fmt.Sprintf("never-%d", r.IntN(400))}}},
				Prune: []*pb.ControlPrune{{TopicID: &topic}}}}}, p)
		case 10:
			s.Tracer().DropRPC(&pubsub.RPC{RPC: pb.RPC{Publish: []*pb.Message{{}}}}, p)
		case 11:
			peerscore.SetIPsForTest(s, p, []string{fuzzIPs[r.IntN(3)]})
		}
	})
	// Validation workers.
	for w := range 3 {
		worker("validation", uint64(10+w), func(r *rand.Rand) {
			m := msg(r)
			switch r.IntN(5) {
			case 0:
				s.Tracer().ValidateMessage(m)
			case 1:
				s.Tracer().DeliverMessage(m)
			case 2:
				s.Tracer().RejectMessage(m, scoretest.RejectReasons[r.IntN(len(scoretest.RejectReasons))])
			case 3, 4:
				s.Tracer().DuplicateMessage(m)
			}
		})
	}
	// The router's hot path, directly and through what GossipSubOptions
	// gives the router.
	routerScore := peerscore.RouterScoreForTest(s)
	for w := range 2 {
		worker("score", uint64(20+w), func(r *rand.Rand) {
			for range 20 {
				if v := s.Score(pick(r)); math.IsNaN(v) {
					t.Errorf("NaN score")
				}
			}
			if v := routerScore(pick(r)); math.IsNaN(v) {
				t.Errorf("NaN score")
			}
		})
	}
	// The router's stream writers (one goroutine per peer in pubsub),
	// reporting write times; some slow.
	for w := range 2 {
		worker("writer", uint64(25+w), func(r *rand.Rand) {
			scoretest.SendRPCCompleted(s, nil, pick(r), time.Duration(r.IntN(3))*time.Millisecond)
		})
	}
	// The application.
	worker("application", 30, func(r *rand.Rand) {
		p := pick(r)
		switch r.IntN(14) {
		case 0:
			s.AddPenalty(p, r.IntN(3)-1)
		case 1:
			tp := fuzzTopicVariants[r.IntN(len(fuzzTopicVariants))]()
			err := s.SetTopicParams(topics[r.IntN(len(topics))], tp)
			if (err == nil) != (tp.Validate() == nil) {
				t.Errorf("SetTopicParams: %v, Validate: %v", err, tp.Validate())
			}
		case 2:
			_, _ = s.Snapshot(p)
		case 3:
			_ = s.Snapshots()
		case 4:
			_ = s.Stats()
		case 5:
			s.Refresh()
		case 6:
			if _, err := reg.Gather(); err != nil {
				t.Errorf("Gather: %v", err)
			}
		case 7:
			var buf bytes.Buffer
			if err := s.Save(&buf); err != nil {
				t.Errorf("Save: %v", err)
			}
			if err := s.Load(&buf); err != nil {
				t.Errorf("Load: %v", err)
			}
		case 8:
			if _, err := s.GossipSubOptions(); err != nil {
				t.Errorf("GossipSubOptions: %v", err)
			}
		case 9:
			s.Start(context.Background()) // already started: a no-op
		case 10:
			_ = peerscore.InternalSizesForTest(s)
		case 11:
			s.PeerFeedback(topics[r.IntN(len(topics))], p, pubsub.PeerFeedbackKind(r.IntN(3)))
		default:
			time.Sleep(50 * time.Microsecond) // let the loop's tickers in
		}
	})
	wg.Wait()
	// Close from several goroutines at once, while events keep coming.
	var closers sync.WaitGroup
	for range 3 {
		closers.Go(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	closers.Go(func() {
		r := rand.New(rand.NewPCG(40, 1))
		for range 200 {
			s.Tracer().DuplicateMessage(msg(r))
			_ = s.Score(pick(r))
		}
	})
	closers.Wait()
	t.Logf("inspected %d times; stats %+v", inspected.Load(), s.Stats())

	// Settle the topics' parameters, then check every snapshot.
	e := &fuzzEnv{t: t, s: s, params: params, topics: map[string]peerscore.TopicParams{}}
	for _, topic := range topics {
		tp := fuzzTopicFull()
		if err := s.SetTopicParams(topic, tp); err != nil {
			t.Fatal(err)
		}
		e.topics[topic] = *tp
	}
	snaps := s.Snapshots()
	if len(snaps) == 0 {
		t.Fatal("no peers at the end")
	}
	for p, snap := range snaps {
		e.checkSnap("stress", p, snap, snaps)
	}
	if st := s.Stats(); st.Peers != len(snaps) || st.DeliveryRecords > 500 {
		t.Fatalf("stats %+v, %d snapshots", st, len(snaps))
	}
}
