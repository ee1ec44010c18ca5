package peerscore_test

// The background loop (Start, Close, WithInspect) and concurrent use.
//
// Every test here runs inside a synctest bubble, and synctest.Test fails
// the test if any goroutine started in the bubble is still running (or
// blocked) when the test function returns. That is what checks that Close,
// or the cancellation of Start's context, really stops every goroutine the
// scorer started: no test below needs to count goroutines itself.

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// loopScorer returns a scorer whose peer A has 8 first deliveries in "T"
// (weight 1, halved at each Refresh, every second).
func loopScorer(t *testing.T, opts ...peerscore.Option) *peerscore.Scorer {
	s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.FirstTopic(1, 1, 100)}), opts...)
	scoretest.Connect(s, "A")
	scoretest.DeliverN(s, "T", "m", "A", 8)
	return s
}

// firstOfA is A's first-delivery counter in "T", which each Refresh halves.
func firstOfA(t *testing.T, s *peerscore.Scorer) float64 {
	return scoretest.Topic(t, s, "A", "T").FirstMessageDeliveries
}

// TestStartAndClose checks that Start refreshes once per
// DecayInterval, that a second Start adds no second loop, and that after
// Close (twice) and a Start after Close nothing refreshes any more.
func TestStartAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := loopScorer(t)
		s.Start(context.Background())
		s.Start(context.Background()) // idempotent

		time.Sleep(time.Second)
		synctest.Wait() // let the loop finish the refresh due now
		require.Equal(t, 4.0, firstOfA(t, s), "one refresh after one interval")
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, 2.0, firstOfA(t, s), "one refresh per interval, not two")

		require.NoError(t, s.Close())
		time.Sleep(5 * time.Second)
		synctest.Wait()
		require.Equal(t, 2.0, firstOfA(t, s), "no refresh after Close")
		require.NoError(t, s.Close(), "Close twice")

		s.Start(context.Background())
		time.Sleep(3 * time.Second)
		synctest.Wait()
		require.Equal(t, 2.0, firstOfA(t, s), "Start after Close does nothing")

		// The scorer still takes events and answers after Close.
		scoretest.DeliverN(s, "T", "late", "A", 1)
		scoretest.Near(t, 3, s.Score("A"), "events after Close")
	})
}

// TestCloseBeforeStart checks that Close on a scorer never started is
// fine, and that it cannot be started afterwards.
func TestCloseBeforeStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := loopScorer(t)
		require.NoError(t, s.Close())
		s.Start(context.Background())
		time.Sleep(3 * time.Second)
		synctest.Wait()
		require.Equal(t, 8.0, firstOfA(t, s))
		require.NoError(t, s.Close())
	})
}

// TestStartContextCancel checks that cancelling Start's context stops
// the loop, and that Close afterwards still returns.
func TestStartContextCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := loopScorer(t)
		ctx, cancel := context.WithCancel(context.Background())
		s.Start(ctx)
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, 4.0, firstOfA(t, s))
		cancel()
		synctest.Wait()
		time.Sleep(3 * time.Second)
		synctest.Wait()
		require.Equal(t, 4.0, firstOfA(t, s), "no refresh after the context is done")
		require.NoError(t, s.Close())
	})
}

// TestInspect checks the three callback shapes WithInspect accepts.
// The period, 2.5s, falls between refreshes (every 1s), so the first call
// sees exactly two refreshes: A's 8 first deliveries are down to 2. A's
// application score is 3 (weight 1), so its score is 5.
func TestInspect(t *testing.T) {
	const period = 2500 * time.Millisecond
	appScore := func(p peer.ID) float64 {
		if p == "A" {
			return 3
		}
		return 0
	}
	type call struct {
		score float64
		first float64 // A's first deliveries in T, where the shape has it
		app   float64 // A's raw P5, where the shape has it
	}
	rows := []struct {
		name    string
		fn      func(record func(call)) any
		hasRest bool
	}{
		{"scores", func(record func(call)) any {
			return func(m map[peer.ID]float64) { record(call{score: m["A"]}) }
		}, false},
		{"pubsub snapshots", func(record func(call)) any {
			return func(m map[peer.ID]*pubsub.PeerScoreSnapshot) {
				a := m["A"]
				record(call{score: a.Score, first: a.Topics["T"].FirstMessageDeliveries, app: a.AppSpecificScore})
			}
		}, true},
		{"peerscore snapshots", func(record func(call)) any {
			return func(m map[peer.ID]peerscore.Snapshot) {
				a := m["A"]
				record(call{score: a.Score, first: a.Topics["T"].FirstMessageDeliveries, app: a.AppSpecificScore})
			}
		}, true},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				var calls []call
				record := func(c call) {
					mu.Lock()
					calls = append(calls, c)
					mu.Unlock()
				}
				recorded := func() []call {
					mu.Lock()
					defer mu.Unlock()
					return append([]call(nil), calls...)
				}
				params := scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.FirstTopic(1, 1, 100)})
				params.AppSpecificScore = appScore
				params.AppSpecificWeight = 1
				s := scoretest.New(t, params, peerscore.WithInspect(row.fn(record), period))
				scoretest.Connect(s, "A")
				scoretest.DeliverN(s, "T", "m", "A", 8)

				// Not before Start.
				time.Sleep(2 * period)
				synctest.Wait()
				require.Empty(t, recorded())

				s.Start(context.Background())
				time.Sleep(period)
				synctest.Wait()
				got := recorded()
				require.Len(t, got, 1)
				want := call{score: 2 + 3}
				if row.hasRest {
					want.first, want.app = 2, 3
				}
				require.Equal(t, want, got[0])

				time.Sleep(period)
				synctest.Wait()
				require.Len(t, recorded(), 2, "called once per period")

				require.NoError(t, s.Close())
				time.Sleep(3 * period)
				synctest.Wait()
				require.Len(t, recorded(), 2, "not called after Close")
			})
		})
	}
}

// TestInspectInvalid checks that New refuses callbacks of other types
// and periods that are not positive.
func TestInspectInvalid(t *testing.T) {
	scores := func(map[peer.ID]float64) {}
	rows := []struct {
		name   string
		fn     any
		period time.Duration
	}{
		{"nil", nil, time.Second},
		{"a string", "inspect", time.Second},
		{"wrong argument", func(int) {}, time.Second},
		{"snapshots by value from pubsub", func(map[peer.ID]pubsub.PeerScoreSnapshot) {}, time.Second},
		{"extra result", func(map[peer.ID]float64) error { return nil }, time.Second},
		{"zero period", scores, 0},
		{"negative period", scores, -time.Second},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			s, err := peerscore.New(scoretest.Params(nil), peerscore.WithInspect(row.fn, row.period))
			require.ErrorContains(t, err, "WithInspect")
			require.Nil(t, s)
		})
	}
}

// TestConcurrentUse hammers one scorer from many goroutines at once,
// mixing every kind of call, with the background loop running. Run under
// -race it checks for data races; at the end every peer's snapshot must
// still add up and agree with Score.
func TestConcurrentUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tpA := &peerscore.TopicParams{
			TopicWeight:      0.5,
			TimeInMeshWeight: 0.01, TimeInMeshQuantum: 100 * time.Millisecond, TimeInMeshCap: 50,
			FirstMessageDeliveriesWeight: 1, FirstMessageDeliveriesDecay: 0.9, FirstMessageDeliveriesCap: 20,
			MeshMessageDeliveriesWeight: -0.5, MeshMessageDeliveriesDecay: 0.8, MeshMessageDeliveriesCap: 10,
			MeshMessageDeliveriesThreshold: 3, MeshMessageDeliveriesWindow: 5 * time.Millisecond,
			MeshMessageDeliveriesActivation: time.Second,
			MeshFailurePenaltyWeight:        -0.5, MeshFailurePenaltyDecay: 0.8,
			InvalidMessageDeliveriesWeight: -2, InvalidMessageDeliveriesDecay: 0.9,
		}
		tpB := *tpA
		tpB.FirstMessageDeliveriesCap = 5
		tpB.MeshMessageDeliveriesCap = 4
		params := &peerscore.Params{
			Topics:                    map[string]*peerscore.TopicParams{"T1": tpA, "T2": &tpB},
			TopicScoreCap:             15,
			AppSpecificScore:          func(p peer.ID) float64 { return float64(len(p)%3) - 1 },
			AppSpecificWeight:         0.5,
			BehaviourPenaltyWeight:    -1,
			BehaviourPenaltyThreshold: 2,
			BehaviourPenaltyDecay:     0.9,
			DecayInterval:             time.Second,
			DecayToZero:               0.01,
			RetainScore:               5 * time.Second,
			SeenMsgTTL:                10 * time.Second,
		}
		s := scoretest.New(t, params)
		s.Start(context.Background())

		peers := make([]peer.ID, 8)
		for i := range peers {
			peers[i] = peer.ID(fmt.Sprintf("peer-%d", i))
		}
		topics := []string{"T1", "T2", "unscored"}
		reasons := []string{pubsub.RejectValidationFailed, pubsub.RejectValidationIgnored,
			pubsub.RejectValidationThrottled, pubsub.RejectInvalidSignature, pubsub.RejectBlacklstedPeer}

		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 17))
				for range 1000 {
					p := peers[r.IntN(len(peers))]
					topic := topics[r.IntN(len(topics))]
					// Message IDs come from a small shared pool, so
					// workers trace the same messages.
					m := scoretest.Msg(topic, fmt.Sprintf("m%d", r.IntN(60)), p)
					switch r.IntN(16) {
					case 0:
						s.Tracer().OnNewOutboundStream(p, "proto")
					case 1:
						s.Tracer().OnClosedOutboundStream(p)
					case 2:
						s.Tracer().Graft(p, topic)
					case 3:
						s.Tracer().Prune(p, topic)
					case 4:
						s.Tracer().ValidateMessage(m)
					case 5:
						s.Tracer().DeliverMessage(m)
					case 6:
						s.Tracer().RejectMessage(m, reasons[r.IntN(len(reasons))])
					case 7:
						s.Tracer().DuplicateMessage(m)
					case 8:
						s.AddPenalty(p, r.IntN(3))
					case 9:
						s.Refresh()
					case 10:
						_ = s.Snapshots()
					case 11:
						_, _ = s.Snapshot(p)
					case 12:
						tp := tpA
						if r.IntN(2) == 0 {
							tp = &tpB
						}
						assert.NoError(t, s.SetTopicParams("T1", tp))
					case 13:
						time.Sleep(time.Duration(r.IntN(300)) * time.Millisecond)
					default:
						assert.False(t, math.IsNaN(s.Score(p)))
					}
				}
			})
		}
		wg.Wait()
		require.NoError(t, s.Close())

		snaps := s.Snapshots()
		require.NotEmpty(t, snaps)
		for p, snap := range snaps {
			scoretest.CheckParts(t, p, snap)
			scoretest.Near(t, snap.Score, s.Score(p), "peer %s: Score agrees with its snapshot", p)
			for name, ts := range snap.Topics {
				require.NotEqual(t, "unscored", name)
				require.LessOrEqual(t, ts.FirstMessageDeliveries, 20.0)
				require.LessOrEqual(t, ts.MeshMessageDeliveries, 10.0)
			}
		}
	})
}

// TestInspectSlowAndReentrant checks that the inspection callback may
// call back into the scorer, and that a slow callback holds up neither
// Refresh nor Score.
func TestInspectSlowAndReentrant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var s *peerscore.Scorer
		var mu sync.Mutex
		var seen []float64
		inspect := func(m map[peer.ID]float64) {
			snap, ok := s.Snapshot("A") // re-entrant call
			mu.Lock()
			seen = append(seen, m["A"])
			if ok {
				seen = append(seen, snap.Score)
			}
			mu.Unlock()
			time.Sleep(10 * time.Second) // a slow consumer
		}
		s = loopScorer(t, peerscore.WithInspect(inspect, 1500*time.Millisecond))
		s.Start(context.Background())

		// The callback starts at 1.5s (after one refresh: 8 -> 4) and
		// sleeps until 11.5s; the refreshes at 2s, 3s and 4s go on.
		time.Sleep(4 * time.Second)
		synctest.Wait()
		require.Equal(t, 0.5, firstOfA(t, s), "four refreshes despite the slow callback")
		scoretest.Near(t, 0.5, s.Score("A"), "Score answers while the callback runs")
		mu.Lock()
		require.Equal(t, []float64{4, 4}, seen)
		mu.Unlock()

		require.NoError(t, s.Close()) // does not wait for the callback (see "Start, Close and callbacks")
		time.Sleep(8 * time.Second)   // which returns at 11.5s, ending its goroutine before the bubble does
	})
}

// TestInspectNilFunction: a nil function of a supported shape is
// refused by New; the loop would otherwise call it and crash.
func TestInspectNilFunction(t *testing.T) {
	for _, fn := range []any{
		(func(map[peer.ID]float64))(nil),
		(func(map[peer.ID]*pubsub.PeerScoreSnapshot))(nil),
		(func(map[peer.ID]peerscore.Snapshot))(nil),
	} {
		_, err := peerscore.New(scoretest.Params(nil), peerscore.WithInspect(fn, time.Second))
		assert.ErrorContains(t, err, "WithInspect: nil callback", "%T", fn)
	}
}
