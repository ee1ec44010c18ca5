package peerscore_test

// Bad input: every entry point fed what a broken router, a malicious peer
// or a careless application could feed it. Each test says what must
// happen; "nothing changes" is checked on the whole observable state
// (every Snapshot, Stats, and the internal books of InternalSizesForTest).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// badInputParams: topic "T" scored with scoretest.FullTopic, P7 (weight -1, no
// threshold), slow-peer penalty, application score app, retention for a
// minute.
func badInputParams(app func(peer.ID) float64) *peerscore.Params {
	if app == nil {
		app = func(peer.ID) float64 { return 0 }
	}
	return &peerscore.Params{
		Topics:                 map[string]*peerscore.TopicParams{"T": scoretest.FullTopic()},
		AppSpecificScore:       app,
		AppSpecificWeight:      1,
		BehaviourPenaltyWeight: -1, BehaviourPenaltyDecay: 0.5,
		SlowPeerWeight: -1, SlowPeerDecay: 0.5,
		DecayInterval: time.Second, DecayToZero: 0.01,
		RetainScore: time.Minute, SeenMsgTTL: time.Minute,
	}
}

// newBadInputScorer returns a scorer with peers A and B connected; A is in T's mesh
// and has delivered one message, so that there is state to disturb.
func newBadInputScorer(t *testing.T, p *peerscore.Params, opts ...peerscore.Option) *peerscore.Scorer {
	t.Helper()
	s, err := peerscore.New(p, opts...)
	require.NoError(t, err)
	s.Tracer().OnNewOutboundStream("A", "/meshsub/1.1.0")
	s.Tracer().OnNewOutboundStream("B", "/meshsub/1.1.0")
	s.Tracer().Graft("A", "T")
	m := scoretest.Msg("T", "first", "A")
	s.Tracer().ValidateMessage(m)
	s.Tracer().DeliverMessage(m)
	return s
}

// observableState is the whole observable state of s, for "nothing changed".
func observableState(s *peerscore.Scorer) string {
	return fmt.Sprintf("%v\n%+v\n%+v", s.Snapshots(), s.Stats(), peerscore.InternalSizesForTest(s))
}

// signatureReasons are the rejections that charge the sender without
// looking at the message ID (which cannot be trusted then), as in pubsub.
var signatureReasons = map[string]bool{
	pubsub.RejectMissingSignature: true, pubsub.RejectInvalidSignature: true, pubsub.RejectUnexpectedSignature: true,
	pubsub.RejectUnexpectedAuthInfo: true, pubsub.RejectSelfOrigin: true,
}

// everyMessageEvent sends m through every message event of the tracer,
// with every rejection reason but, if withSignature is false, those of
// signatureReasons.
func everyMessageEvent(s *peerscore.Scorer, m *pubsub.Message, withSignature ...bool) {
	s.Tracer().ValidateMessage(m)
	s.Tracer().DuplicateMessage(m)
	s.Tracer().DeliverMessage(m)
	for _, reason := range scoretest.RejectReasons {
		if signatureReasons[reason] && len(withSignature) > 0 && !withSignature[0] {
			continue
		}
		s.Tracer().RejectMessage(m, reason)
	}
	s.Tracer().DuplicateMessage(m)
	s.Tracer().UndeliverableMessage(m)
}

// TestBadInputNilMessage: a nil *pubsub.Message, through every message
// event and every rejection reason, panics nowhere and changes nothing.
func TestBadInputNilMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newBadInputScorer(t, badInputParams(nil))
		before := observableState(s)
		everyMessageEvent(s, nil)
		require.Equal(t, before, observableState(s))
	})
}

// TestBadInputNilInnerMessage: a pubsub.Message with no protobuf inside
// (even with an ID and a sender set) changes nothing, whatever the event
// and the reason: without the protobuf there is no topic to score.
func TestBadInputNilInnerMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newBadInputScorer(t, badInputParams(nil))
		before := observableState(s)
		everyMessageEvent(s, &pubsub.Message{ReceivedFrom: "A"})
		everyMessageEvent(s, &pubsub.Message{ID: "first", ReceivedFrom: "A"})
		everyMessageEvent(s, &pubsub.Message{ID: "fresh", ReceivedFrom: "B", ValidatorData: "x"})
		require.Equal(t, before, observableState(s))
	})
}

// TestBadInputMessageWithoutTopic: a message whose protobuf has no topic is
// on topic "", which is not scored: a full life of it (validation, copies,
// delivery, rejection of another) charges and credits nobody. Its delivery
// record is kept like any other, so a repeat is still recognised.
func TestBadInputMessageWithoutTopic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newBadInputScorer(t, badInputParams(nil))
		scoreA, scoreB := s.Score("A"), s.Score("B")
		records := s.Stats().DeliveryRecords

		noTopic := &pubsub.Message{Message: &pb.Message{Data: []byte("x")}, ID: "no-topic", ReceivedFrom: "A"}
		s.Tracer().ValidateMessage(noTopic)
		s.Tracer().DuplicateMessage(&pubsub.Message{Message: noTopic.Message, ID: "no-topic", ReceivedFrom: "B"})
		s.Tracer().DeliverMessage(noTopic)
		bad := &pubsub.Message{Message: &pb.Message{Data: []byte("y")}, ID: "no-topic-bad", ReceivedFrom: "B"}
		s.Tracer().ValidateMessage(bad)
		s.Tracer().RejectMessage(bad, pubsub.RejectValidationFailed)
		s.Tracer().RejectMessage(bad, pubsub.RejectInvalidSignature)

		require.Equal(t, scoreA, s.Score("A"))
		require.Equal(t, scoreB, s.Score("B"))
		for _, p := range []peer.ID{"A", "B"} {
			snap := scoretest.Snap(t, s, p)
			_, inEmpty := snap.Topics[""]
			require.False(t, inEmpty, "peer %s has counters in the empty topic", p)
		}
		require.Equal(t, records+2, s.Stats().DeliveryRecords, "both messages have a delivery record")
		require.Zero(t, s.Stats().Penalties[peerscore.PenaltyInvalidMessage], "no invalid message charged")
	})
}

// TestBadInputEmptyID: with no ID set by the router, the scorer computes
// one with its message ID function, without writing it into the message
// (the router shares messages between goroutines). When the function
// gives "" too, the message is ignored (no record, no credit), except by
// the rejections for a bad signature or origin, which charge the sender
// without an ID, as in pubsub.
func TestBadInputEmptyID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newBadInputScorer(t, badInputParams(nil))
		before := observableState(s)
		tp := "T"
		anonymous := &pubsub.Message{Message: &pb.Message{Topic: &tp}, ReceivedFrom: "B"} // no From, no Seqno
		everyMessageEvent(s, anonymous, false)
		require.Equal(t, "", anonymous.ID, "the message must not be written")
		require.Equal(t, before, observableState(s), "a message without an ID changes nothing")
		for reason := range signatureReasons {
			s.Tracer().RejectMessage(anonymous, reason)
		}
		require.Equal(t, float64(len(signatureReasons)), scoretest.Topic(t, s, "B", "T").InvalidMessageDeliveries,
			"bad signatures are charged to the sender without an ID")

		// With From and Seqno, DefaultMsgIdFn gives an ID: the message counts.
		m := &pubsub.Message{Message: &pb.Message{Topic: &tp, From: []byte("author"), Seqno: []byte{1}}, ReceivedFrom: "B"}
		s.Tracer().ValidateMessage(m)
		s.Tracer().DeliverMessage(m)
		require.Equal(t, "", m.ID, "the message must not be written")
		require.Equal(t, 1.0, scoretest.Topic(t, s, "B", "T").FirstMessageDeliveries)
		// A copy with the ID the router would have set is the same message.
		s.Tracer().DuplicateMessage(&pubsub.Message{Message: m.Message, ID: pubsub.DefaultMsgIdFn(m.Message), ReceivedFrom: "A"})
		require.Equal(t, 1.0+1, scoretest.Topic(t, s, "A", "T").MeshMessageDeliveries, "A's copy counts as a mesh delivery")

		// A message ID function that gives "" makes every message without
		// an ID invisible.
		s2 := newBadInputScorer(t, badInputParams(nil), peerscore.WithMsgIDFn(func(*pb.Message) string { return "" }))
		before = observableState(s2)
		everyMessageEvent(s2, &pubsub.Message{Message: m.Message, ReceivedFrom: "B"}, false)
		require.Equal(t, before, observableState(s2))
	})
}

// TestBadInputUnknownPeers: events about peers the scorer does not track
// (never connected, or forgotten) neither create them nor change anyone
// else's score; Score is 0 and Snapshot reports them unknown.
func TestBadInputUnknownPeers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newBadInputScorer(t, badInputParams(nil))
		s.Tracer().Join("T")
		for _, u := range []peer.ID{"stranger", ""} {
			s.Tracer().Graft(u, "T")
			s.Tracer().Prune(u, "T")
			s.AddPenalty(u, 5)
			s.Tracer().ThrottlePeer(u)
			s.Tracer().OnClosedOutboundStream(u)
			m := scoretest.Msg("T", "from-"+string(u), u)
			s.Tracer().ValidateMessage(m)
			s.Tracer().DeliverMessage(m)
			bad := scoretest.Msg("T", "bad-from-"+string(u), u)
			s.Tracer().ValidateMessage(bad)
			s.Tracer().RejectMessage(bad, pubsub.RejectValidationFailed)
			s.Tracer().RejectMessage(bad, pubsub.RejectInvalidSignature)
			s.Tracer().DuplicateMessage(scoretest.Msg("T", "first", u))
			s.Tracer().DropRPC(&pubsub.RPC{RPC: pb.RPC{Publish: []*pb.Message{{}, {}}}}, u)
			topic, backoff := "T", uint64(60)
			rpc := &pubsub.RPC{RPC: pb.RPC{Control: &pb.ControlMessage{
				Prune: []*pb.ControlPrune{{TopicID: &topic, Backoff: &backoff}},
				Graft: []*pb.ControlGraft{{TopicID: &topic}},
			}}}
			scoretest.SetFrom(rpc, u)
			s.Tracer().RecvRPC(rpc)
			s.Tracer().RecvRPC(rpc) // a GRAFT during the backoff: charged to nobody
		}
		s.Refresh()
		for _, u := range []peer.ID{"stranger", ""} {
			scoretest.RequireUnknown(t, s, u)
		}
		after := s.Stats()
		require.Equal(t, 2, after.Peers)
		require.Len(t, after.Penalties, 8, "Stats lists every reason")
		for r, n := range after.Penalties {
			require.Zerof(t, n, "penalty %v charged for an unknown peer", r)
		}
		// A and B: the only change is the decay of one Refresh.
		require.Equal(t, 0.5, scoretest.Topic(t, s, "A", "T").FirstMessageDeliveries)
		require.Empty(t, scoretest.Snap(t, s, "B").Topics)
	})
}

// TestBadInputUnscoredTopics: events in topics without parameters create
// no counters and change no score, GRAFTs in topics the router has not
// joined are not judged, and a topic only counts from the moment
// SetTopicParams scores it.
func TestBadInputUnscoredTopics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newBadInputScorer(t, badInputParams(nil))
		scoreA, scoreB := s.Score("A"), s.Score("B")
		for _, topic := range []string{"unscored", "", "T/", "t"} {
			s.Tracer().Graft("B", topic)
			m := scoretest.Msg(topic, "u-"+topic, "B")
			s.Tracer().ValidateMessage(m)
			s.Tracer().DuplicateMessage(scoretest.Msg(topic, "u-"+topic, "A"))
			s.Tracer().DeliverMessage(m)
			bad := scoretest.Msg(topic, "bad-"+topic, "B")
			s.Tracer().ValidateMessage(bad)
			s.Tracer().RejectMessage(bad, pubsub.RejectValidationFailed)
			s.Tracer().Prune("B", topic)
			// PRUNE then GRAFT from B in a topic we have not joined.
			backoff := uint64(60)
			tp := topic
			rpc := &pubsub.RPC{RPC: pb.RPC{Control: &pb.ControlMessage{
				Prune: []*pb.ControlPrune{{TopicID: &tp, Backoff: &backoff}}, Graft: []*pb.ControlGraft{{TopicID: &tp}}}}}
			scoretest.SetFrom(rpc, "B")
			s.Tracer().RecvRPC(rpc)
			s.Tracer().RecvRPC(rpc)
		}
		require.Equal(t, scoreA, s.Score("A"))
		require.Equal(t, scoreB, s.Score("B"))
		require.Empty(t, scoretest.Snap(t, s, "B").Topics)
		require.Equal(t, []string{"T"}, keysOf(scoretest.Snap(t, s, "A").Topics))
		require.Zero(t, s.Stats().Penalties[peerscore.PenaltyGraftBackoff])
		require.Zero(t, s.Stats().Penalties[peerscore.PenaltyInvalidMessage])

		// Scoring "unscored" now: only later events count.
		require.NoError(t, s.SetTopicParams("unscored", scoretest.FullTopic()))
		s.Tracer().Graft("B", "unscored")
		m := scoretest.Msg("unscored", "later", "B")
		s.Tracer().ValidateMessage(m)
		s.Tracer().DeliverMessage(m)
		require.Equal(t, 1.0, scoretest.Topic(t, s, "B", "unscored").FirstMessageDeliveries)
	})
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestBadInputAddPenaltyCounts: AddPenalty ignores counts below 1 (a
// penalty cannot pay off an earlier one) and unknown peers; a huge count
// is added as it is and leaves the score finite (the weighted P7 is kept
// finite even when the counter squared overflows).
func TestBadInputAddPenaltyCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newBadInputScorer(t, badInputParams(nil))
		before := observableState(s)
		for _, n := range []int{0, -1, -5, math.MinInt, math.MinInt32} {
			s.AddPenalty("A", n)
		}
		require.Equal(t, before, observableState(s), "counts below 1 change nothing")
		s.AddPenalty("nobody", 3)
		require.Equal(t, before, observableState(s), "unknown peers are ignored")

		s.AddPenalty("B", 1)
		require.Equal(t, 1.0, scoretest.Snap(t, s, "B").BehaviourPenalty)
		require.Equal(t, -1.0, s.Score("B"))
		s.AddPenalty("B", 2)
		require.Equal(t, 3.0, scoretest.Snap(t, s, "B").BehaviourPenalty)
		require.Equal(t, -9.0, s.Score("B"))
		require.Equal(t, uint64(3), s.Stats().Penalties[peerscore.PenaltyAddPenalty])

		s.AddPenalty("A", math.MaxInt)
		snap := scoretest.Snap(t, s, "A")
		require.Equal(t, float64(math.MaxInt), snap.BehaviourPenalty)
		require.False(t, math.IsNaN(s.Score("A")) || math.IsInf(s.Score("A"), 0), "score %v", s.Score("A"))
		require.Equal(t, snap.Score, s.Score("A"))
		require.Equal(t, -float64(math.MaxInt)*float64(math.MaxInt), snap.P7)

		// With a weight that makes the square overflow, P7 saturates at
		// -MaxFloat64 instead of turning infinite.
		p := badInputParams(nil)
		p.BehaviourPenaltyWeight = -1e300
		s2 := newBadInputScorer(t, p)
		s2.AddPenalty("B", math.MaxInt)
		require.Equal(t, -math.MaxFloat64, s2.Score("B"))
		s2.Refresh()
		require.Equal(t, -math.MaxFloat64, s2.Score("B"), "still saturated after a decay")
	})
}

// TestBadInputAppSpecificNaNInf: a NaN from AppSpecificScore counts as 0
// (in Score, Snapshot and retention); +Inf and -Inf pass through as the
// score (never NaN, and Score agrees with Snapshot); a zero weight times an
// infinite score is 0, not NaN. A peer at +Inf is forgotten on disconnect,
// one at -Inf or NaN (0) is retained.
func TestBadInputAppSpecificNaNInf(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		app := map[peer.ID]float64{"nan": math.NaN(), "pinf": math.Inf(1), "ninf": math.Inf(-1)}
		p := badInputParams(func(id peer.ID) float64 { return app[id] })
		p.Topics = map[string]*peerscore.TopicParams{}
		s, err := peerscore.New(p)
		require.NoError(t, err)
		for id := range app {
			s.Tracer().OnNewOutboundStream(id, "x")
		}
		s.AddPenalty("pinf", 2) // a penalty under +Inf is still +Inf
		s.AddPenalty("ninf", 2)

		want := map[peer.ID]float64{"nan": 0, "pinf": math.Inf(1), "ninf": math.Inf(-1)}
		for id, w := range want {
			require.Equal(t, w, s.Score(id), "Score(%s)", id)
			snap := scoretest.Snap(t, s, id)
			require.Equal(t, w, snap.Score, "Snapshot(%s).Score", id)
			require.False(t, math.IsNaN(snap.AppSpecificScore) || math.IsNaN(snap.P5), "peer %s: %+v", id, snap)
		}
		require.Equal(t, 0.0, scoretest.Snap(t, s, "nan").AppSpecificScore, "NaN is reported as 0")
		require.Equal(t, math.Inf(1), scoretest.Snap(t, s, "pinf").P5)

		// Retention follows the cleaned score.
		for id := range app {
			s.Tracer().OnClosedOutboundStream(id)
		}
		scoretest.RequireUnknown(t, s, "pinf")
		require.False(t, scoretest.Snap(t, s, "ninf").Connected)
		require.False(t, scoretest.Snap(t, s, "nan").Connected, "a NaN counts as 0, and 0 is retained")

		// A zero weight times an infinite score is 0.
		p0 := badInputParams(func(peer.ID) float64 { return math.Inf(1) })
		p0.AppSpecificWeight = 0
		s0, err := peerscore.New(p0)
		require.NoError(t, err)
		s0.Tracer().OnNewOutboundStream("A", "x")
		require.Equal(t, 0.0, s0.Score("A"))
		require.Equal(t, 0.0, scoretest.Snap(t, s0, "A").P5)
	})
}

// invalidTopics are invalid TopicParams, one broken field each (and nil).
func invalidTopics() map[string]*peerscore.TopicParams {
	with := func(f func(tp *peerscore.TopicParams)) *peerscore.TopicParams {
		tp := scoretest.FullTopic()
		f(tp)
		return tp
	}
	return map[string]*peerscore.TopicParams{
		"TopicParams":                     nil,
		"TopicWeight":                     with(func(tp *peerscore.TopicParams) { tp.TopicWeight = -1 }),
		"TopicWeight NaN":                 with(func(tp *peerscore.TopicParams) { tp.TopicWeight = math.NaN() }),
		"TopicWeight Inf":                 with(func(tp *peerscore.TopicParams) { tp.TopicWeight = math.Inf(1) }),
		"TimeInMeshQuantum":               with(func(tp *peerscore.TopicParams) { tp.TimeInMeshQuantum = 0 }),
		"TimeInMeshWeight":                with(func(tp *peerscore.TopicParams) { tp.TimeInMeshWeight = -1 }),
		"TimeInMeshCap":                   with(func(tp *peerscore.TopicParams) { tp.TimeInMeshCap = math.Inf(1) }),
		"FirstMessageDeliveriesWeight":    with(func(tp *peerscore.TopicParams) { tp.FirstMessageDeliveriesWeight = math.NaN() }),
		"FirstMessageDeliveriesDecay":     with(func(tp *peerscore.TopicParams) { tp.FirstMessageDeliveriesDecay = 1 }),
		"FirstMessageDeliveriesCap":       with(func(tp *peerscore.TopicParams) { tp.FirstMessageDeliveriesCap = 0 }),
		"MeshMessageDeliveriesWeight":     with(func(tp *peerscore.TopicParams) { tp.MeshMessageDeliveriesWeight = 1 }),
		"MeshMessageDeliveriesDecay":      with(func(tp *peerscore.TopicParams) { tp.MeshMessageDeliveriesDecay = 0 }),
		"MeshMessageDeliveriesCap":        with(func(tp *peerscore.TopicParams) { tp.MeshMessageDeliveriesCap = math.NaN() }),
		"MeshMessageDeliveriesThreshold":  with(func(tp *peerscore.TopicParams) { tp.MeshMessageDeliveriesThreshold = -2 }),
		"MeshMessageDeliveriesWindow":     with(func(tp *peerscore.TopicParams) { tp.MeshMessageDeliveriesWindow = -1 }),
		"MeshMessageDeliveriesActivation": with(func(tp *peerscore.TopicParams) { tp.MeshMessageDeliveriesActivation = time.Second - 1 }),
		"MeshFailurePenaltyWeight":        with(func(tp *peerscore.TopicParams) { tp.MeshFailurePenaltyWeight = math.Inf(-1) }),
		"MeshFailurePenaltyDecay":         with(func(tp *peerscore.TopicParams) { tp.MeshFailurePenaltyDecay = 1.5 }),
		"InvalidMessageDeliveriesWeight":  with(func(tp *peerscore.TopicParams) { tp.InvalidMessageDeliveriesWeight = 0.1 }),
		"InvalidMessageDeliveriesDecay":   with(func(tp *peerscore.TopicParams) { tp.InvalidMessageDeliveriesDecay = 0 }),
	}
}

// TestBadInputSetTopicParamsInvalid: invalid parameters, for a scored
// topic or a new one, are refused with a *ParamError naming the topic and
// the field, and nothing changes: not the snapshots, not the stats, not
// how later events are scored, and a refused new topic stays unscored.
func TestBadInputSetTopicParamsInvalid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newBadInputScorer(t, badInputParams(nil))
		before := observableState(s)
		for name, tp := range invalidTopics() {
			for _, topic := range []string{"T", "new"} {
				err := s.SetTopicParams(topic, tp)
				require.Errorf(t, err, "%s on %s accepted", name, topic)
				require.ErrorIs(t, err, peerscore.ErrInvalidParams)
				var pe *peerscore.ParamError
				require.Truef(t, errors.As(err, &pe), "%s: %v is not a *ParamError", name, err)
				require.Equal(t, topic, pe.Topic, name)
				require.Equal(t, fieldOf(name), pe.Field, "%s: %v", name, err)
				require.Equal(t, before, observableState(s), "%s on %s changed something", name, topic)
			}
		}
		// Later events are scored with the old parameters.
		m := scoretest.Msg("T", "second", "A")
		s.Tracer().ValidateMessage(m)
		s.Tracer().DeliverMessage(m)
		require.Equal(t, 2.0, scoretest.Topic(t, s, "A", "T").P2, "the first delivery weight is still 1")
		s.Tracer().Graft("B", "new")
		n := scoretest.Msg("new", "in-new", "B")
		s.Tracer().ValidateMessage(n)
		s.Tracer().DeliverMessage(n)
		require.Empty(t, scoretest.Snap(t, s, "B").Topics, "a refused topic is not scored")
	})
}

// fieldOf is the field a invalidTopics case breaks: its name up to the
// first space.
func fieldOf(name string) string {
	for i, c := range name {
		if c == ' ' {
			return name[:i]
		}
	}
	return name
}

// TestBadInputLifecycle: Close before Start, Close twice (and from several
// goroutines at once), Start twice, Start after Close, Start with a
// context already cancelled, and events after Close. Close only stops the
// background work: the scorer keeps answering and taking events, and
// Refresh still works by hand. The inspection callback counts how many
// loops run.
func TestBadInputLifecycle(t *testing.T) {
	newScorer := func(t *testing.T, calls *atomic.Int64) *peerscore.Scorer {
		s, err := peerscore.New(badInputParams(nil), peerscore.WithInspect(func(map[peer.ID]float64) { calls.Add(1) }, time.Second))
		require.NoError(t, err)
		s.Tracer().OnNewOutboundStream("A", "x")
		s.AddPenalty("A", 8)
		return s
	}
	t.Run("close before start", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var calls atomic.Int64
			s := newScorer(t, &calls)
			require.NoError(t, s.Close())
			s.Start(context.Background())
			time.Sleep(5 * time.Second)
			synctest.Wait()
			require.Zero(t, calls.Load(), "Start after Close must not start the loop")
			require.Equal(t, 8.0, scoretest.Snap(t, s, "A").BehaviourPenalty, "no Refresh ran")
			require.NoError(t, s.Close())
		})
	})
	t.Run("start twice, close twice", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var calls atomic.Int64
			s := newScorer(t, &calls)
			s.Start(context.Background())
			s.Start(context.Background())
			s.Start(t.Context())
			time.Sleep(3*time.Second + time.Millisecond)
			synctest.Wait()
			require.Equal(t, int64(3), calls.Load(), "one loop: one inspection per period")
			require.Equal(t, 1.0, scoretest.Snap(t, s, "A").BehaviourPenalty, "one loop: 8 halved three times")
			done := make(chan error, 3)
			for range 3 {
				go func() { done <- s.Close() }()
			}
			for range 3 {
				require.NoError(t, <-done)
			}
			require.NoError(t, s.Close())
			time.Sleep(5 * time.Second)
			synctest.Wait()
			require.Equal(t, int64(3), calls.Load(), "nothing runs after Close")
		})
	})
	t.Run("events after close", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var calls atomic.Int64
			s := newScorer(t, &calls)
			s.Start(context.Background())
			require.NoError(t, s.Close())
			s.Tracer().Graft("A", "T")
			m := scoretest.Msg("T", "after", "A")
			s.Tracer().ValidateMessage(m)
			s.Tracer().DeliverMessage(m)
			s.AddPenalty("A", 2)
			require.Equal(t, 1.0, scoretest.Topic(t, s, "A", "T").FirstMessageDeliveries)
			require.Equal(t, 10.0, scoretest.Snap(t, s, "A").BehaviourPenalty)
			require.Equal(t, 1-100.0, s.Score("A"))
			s.Refresh()
			require.Equal(t, 5.0, scoretest.Snap(t, s, "A").BehaviourPenalty, "Refresh by hand still works")
			s.Tracer().OnClosedOutboundStream("A")
			require.False(t, scoretest.Snap(t, s, "A").Connected)
			require.NoError(t, s.SetTopicParams("T", scoretest.FullTopic()))
			_ = s.Stats()
		})
	})
	t.Run("cancelled context", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var calls atomic.Int64
			s := newScorer(t, &calls)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			s.Start(ctx)
			time.Sleep(5 * time.Second)
			synctest.Wait()
			require.Zero(t, calls.Load())
			require.NoError(t, s.Close())
		})
	})
}

// TestBadInputOddRPCs: nil RPCs, RPCs without a control message or a
// sender, control messages with nil entries or nil topic IDs, and PRUNE
// backoffs of 0 and 2^64-1 seconds neither panic nor charge anyone: the
// GRAFTs below are in a topic nobody PRUNEd with a valid backoff, or in
// the topic "" that we have not joined.
func TestBadInputOddRPCs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newBadInputScorer(t, badInputParams(nil))
		s.Tracer().Join("T")
		public := func() string { return fmt.Sprintf("%v\n%+v", s.Snapshots(), s.Stats()) }
		before := public()
		zero, huge := uint64(0), uint64(math.MaxUint64)
		topic := "T"
		rpcs := []*pubsub.RPC{
			nil,
			{},
			{RPC: pb.RPC{Control: &pb.ControlMessage{}}},
			{RPC: pb.RPC{Control: &pb.ControlMessage{Graft: []*pb.ControlGraft{nil, {}}, Prune: []*pb.ControlPrune{nil, {}},
				Ihave: []*pb.ControlIHave{nil, {}}, Iwant: []*pb.ControlIWant{nil, {}}, Idontwant: []*pb.ControlIDontWant{nil}}}},
			{RPC: pb.RPC{Control: &pb.ControlMessage{Prune: []*pb.ControlPrune{{TopicID: &topic, Backoff: &huge}}}}},
			{RPC: pb.RPC{Control: &pb.ControlMessage{Graft: []*pb.ControlGraft{{TopicID: &topic}}}}},
		}
		for _, rpc := range rpcs {
			s.Tracer().RecvRPC(rpc)
			if rpc != nil {
				scoretest.SetFrom(rpc, "B")
			}
			s.Tracer().RecvRPC(rpc)
			s.Tracer().SendRPC(rpc, "B")
		}
		require.Equal(t, before, public(), "nothing charged")

		// A PRUNE asking for a zero backoff gets the router's default one.
		scoretest.PruneThenGraft(s, "A", topic, &zero)
		require.Equal(t, 2.0, scoretest.Snap(t, s, "A").BehaviourPenalty, "GRAFT right after PRUNE: backoff and flood")

		// DropRPC with nil messages in it still counts them.
		s.Tracer().DropRPC(&pubsub.RPC{RPC: pb.RPC{Publish: []*pb.Message{nil, nil, {}}}}, "B")
		require.Equal(t, 3.0, scoretest.Snap(t, s, "B").SlowPeerCounter)
	})
}

// TestBadInputOptionsAndThresholds: New with nil params, nil options and
// options given nonsense, WithThresholds with nil or invalid thresholds, and
// GossipSubOptions without thresholds: errors, and nothing half-built.
// (metrics.New's refusals are tested in package metrics.)
func TestBadInputOptionsAndThresholds(t *testing.T) {
	_, err := peerscore.New(nil)
	require.ErrorIs(t, err, peerscore.ErrInvalidParams)

	good := badInputParams(nil)
	s, err := peerscore.New(good, nil, nil)
	require.NoError(t, err, "nil options are skipped")
	require.NoError(t, s.Close())

	for name, opt := range map[string]peerscore.Option{
		"WithHost(nil)":                peerscore.WithHost(nil),
		"WithLogger(nil)":              peerscore.WithLogger((*slog.Logger)(nil)),
		"WithMsgIDFn(nil)":             peerscore.WithMsgIDFn(nil),
		"WithMaxDeliveryRecords(0)":    peerscore.WithMaxDeliveryRecords(0),
		"WithMaxDeliveryRecords(-1)":   peerscore.WithMaxDeliveryRecords(-1),
		"WithInspect(bad type)":        peerscore.WithInspect(func() {}, time.Second),
		"WithInspect(nil)":             peerscore.WithInspect(nil, time.Second),
		"WithInspect(zero period)":     peerscore.WithInspect(func(map[peer.ID]float64) {}, 0),
		"WithInspect(negative period)": peerscore.WithInspect(func(map[peer.ID]float64) {}, -time.Second),
		"WithGossipSubParams(zero)":    peerscore.WithGossipSubParams(pubsub.GossipSubParams{}),
	} {
		s, err := peerscore.New(good, opt)
		require.Errorf(t, err, "%s accepted", name)
		option, _, _ := strings.Cut(name, "(")
		require.ErrorContainsf(t, err, option, "%s refused for another reason", name)
		require.Nilf(t, s, "%s: a Scorer came back with the error", name)
	}

	s, err = peerscore.New(good)
	require.NoError(t, err)
	opts, err := s.GossipSubOptions()
	require.Error(t, err, "GossipSubOptions without thresholds accepted")
	require.Nil(t, opts)
	for name, th := range map[string]*peerscore.Thresholds{
		"nil":            nil,
		"positive":       {GossipThreshold: 1},
		"NaN":            {GossipThreshold: math.NaN()},
		"misordered":     {GossipThreshold: -10, PublishThreshold: -5, GraylistThreshold: -20},
		"negative PX":    {GossipThreshold: -1, PublishThreshold: -2, GraylistThreshold: -3, AcceptPXThreshold: -1},
		"infinite graft": {GossipThreshold: -1, PublishThreshold: -2, GraylistThreshold: -3, OpportunisticGraftThreshold: math.Inf(1)},
	} {
		bad, err := peerscore.New(good, peerscore.WithThresholds(th))
		require.Errorf(t, err, "WithThresholds(%s) accepted", name)
		require.Nil(t, bad)
	}
}
