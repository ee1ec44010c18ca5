// Package scoretest holds the helpers that peerscore's tests share, in the
// root package and in the sub-packages: a scorer and its parameters
// (params.go), messages and RPCs as the router traces them (rpc.go), checks
// of snapshots, mock networks whose connections come from chosen addresses,
// a stand-in host with streams (streamhost.go), GossipSub routers with and
// without a scorer (router.go), recorders of logs and
// threshold events (logs.go) and of metrics (scrape.go).
//
// A helper belongs here once more than one test file uses it, unless it
// needs peerscore's internals: the export_*_test.go hooks are seen only by
// the root package's own tests, so helpers built on them stay there.
package scoretest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
)

// Rel is the largest relative error any scenario test tolerates.
const Rel = 1e-9

// Near fails unless got equals want to Rel relative. A zero want must be
// matched exactly: every zero in these tests is a counter snapped to zero or
// a component that is switched off, never the result of a cancellation.
// The comparison comes first and t.Helper (which walks the stack) only on
// failure, as the randomised tests call this hundreds of thousands of times.
func Near(t testing.TB, want, got float64, what string, args ...any) {
	if !math.IsNaN(got) && (got == want || want != 0 && math.Abs(got-want) <= Rel*math.Abs(want)) {
		return
	}
	t.Helper()
	t.Fatalf("%s: want %v, got %v", fmt.Sprintf(what, args...), want, got)
}

// NearScale fails unless got equals want to Rel relative to scale, the
// magnitude of the terms that were summed to obtain want (a sum of large
// terms of opposite sign can legitimately differ in its last bits when the
// terms are added in another order).
func NearScale(t testing.TB, want, got, scale float64, what string, args ...any) {
	if !math.IsNaN(got) && (got == want || math.Abs(got-want) <= Rel*math.Max(math.Abs(want), scale)) {
		return
	}
	t.Helper()
	t.Fatalf("%s: want %v, got %v (scale %v)", fmt.Sprintf(what, args...), want, got, scale)
}

// Expect fails with the message unless ok; cheap when ok.
func Expect(t testing.TB, ok bool, what string, args ...any) {
	if ok {
		return
	}
	t.Helper()
	t.Fatalf(what, args...)
}

// Params returns global parameters that turn on nothing but what the test
// sets: SkipAtomicValidation leaves every all-zero group off. Decay runs
// once per second and snaps counters below 0.01 to zero.
func Params(topics map[string]*peerscore.TopicParams) *peerscore.Params {
	if topics == nil {
		topics = map[string]*peerscore.TopicParams{}
	}
	return &peerscore.Params{
		SkipAtomicValidation: true,
		Topics:               topics,
		DecayInterval:        time.Second,
		DecayToZero:          0.01,
	}
}

// New creates a scorer or fails the test. Call it inside the synctest
// bubble: the scorer's clock starts here.
func New(t testing.TB, p *peerscore.Params, opts ...peerscore.Option) *peerscore.Scorer {
	t.Helper()
	s, err := peerscore.New(p, opts...)
	require.NoError(t, err)
	return s
}

// Connect opens an outbound stream to each peer, which is how the router
// tells the scorer a peer is there.
func Connect(s *peerscore.Scorer, peers ...peer.ID) {
	for _, p := range peers {
		s.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
	}
}

// Msg builds a message on topic with an explicit ID, as received from
// "from".
func Msg(topic, id string, from peer.ID) *pubsub.Message {
	tp := topic
	return &pubsub.Message{
		Message:      &pb.Message{Topic: &tp, From: []byte("author"), Seqno: []byte(id), Data: []byte("payload " + id)},
		ID:           id,
		ReceivedFrom: from,
	}
}

// As is the same message (same protobuf, same ID) as received from
// another peer.
func As(msg *pubsub.Message, from peer.ID) *pubsub.Message {
	return &pubsub.Message{Message: msg.Message, ID: msg.ID, ReceivedFrom: from}
}

// Deliver runs a message through a successful validation: the router
// traces ValidateMessage and then DeliverMessage.
func Deliver(s *peerscore.Scorer, msg *pubsub.Message) {
	s.Tracer().ValidateMessage(msg)
	s.Tracer().DeliverMessage(msg)
}

// DeliverN has peer "from" be first to deliver n fresh messages on topic.
// prefix keeps the IDs of different calls apart.
func DeliverN(s *peerscore.Scorer, topic, prefix string, from peer.ID, n int) {
	for i := range n {
		Deliver(s, Msg(topic, fmt.Sprintf("%s-%d", prefix, i), from))
	}
}

// Snap returns p's snapshot, failing if the scorer does not know p.
func Snap(t testing.TB, s *peerscore.Scorer, p peer.ID) peerscore.Snapshot {
	t.Helper()
	snap, ok := s.Snapshot(p)
	require.Truef(t, ok, "peer %s should be known", p)
	return snap
}

// Topic returns p's snapshot in topic, failing if there is none.
func Topic(t testing.TB, s *peerscore.Scorer, p peer.ID, topic string) peerscore.TopicSnapshot {
	t.Helper()
	ts, ok := Snap(t, s, p).Topics[topic]
	require.Truef(t, ok, "peer %s should have stats in topic %q", p, topic)
	return ts
}

// RequireUnknown fails unless the scorer has forgotten p entirely.
func RequireUnknown(t testing.TB, s *peerscore.Scorer, p peer.ID) {
	t.Helper()
	_, ok := s.Snapshot(p)
	require.Falsef(t, ok, "peer %s should be unknown", p)
	require.Equalf(t, 0.0, s.Score(p), "score of unknown peer %s", p)
	_, listed := s.Snapshots()[p]
	require.Falsef(t, listed, "peer %s should not be in Snapshots", p)
}

// CheckParts verifies that a snapshot's weighted parts add up as Snapshot
// documents, that nothing is NaN and that no counter is negative.
func CheckParts(t testing.TB, p peer.ID, snap peerscore.Snapshot) {
	all := [...]float64{snap.Score, snap.TopicScore, snap.TopicScoreUncapped, snap.AppSpecificScore, snap.P5,
		snap.IPColocationFactor, snap.P6, snap.BehaviourPenalty, snap.P7, snap.SlowPeer, snap.SlowPeerCounter}
	for i, v := range all {
		Expect(t, !math.IsNaN(v), "peer %s: field %d of the snapshot is NaN", p, i)
	}
	Expect(t, snap.IPColocationFactor >= 0, "peer %s: IPColocationFactor %v", p, snap.IPColocationFactor)
	Expect(t, snap.BehaviourPenalty >= 0, "peer %s: BehaviourPenalty %v", p, snap.BehaviourPenalty)

	var uncapped, scale float64
	for name, ts := range snap.Topics {
		var sum, mag float64
		for _, v := range [...]float64{ts.P1, ts.P2, ts.P3, ts.P3b, ts.P4} {
			Expect(t, !math.IsNaN(v), "peer %s topic %s: NaN part", p, name)
			sum += v
			mag += math.Abs(v)
		}
		NearScale(t, sum*ts.TopicWeight, ts.Score, mag*ts.TopicWeight, "peer %s topic %s: parts times weight", p, name)
		for _, c := range [...]float64{ts.FirstMessageDeliveries, ts.MeshMessageDeliveries, ts.MeshFailurePenalty, ts.InvalidMessageDeliveries} {
			Expect(t, c >= 0, "peer %s topic %s: negative counter %v", p, name, c)
		}
		Expect(t, ts.TimeInMesh >= 0, "peer %s topic %s: TimeInMesh %v", p, name, ts.TimeInMesh)
		if !ts.InMesh {
			Expect(t, ts.P1 == 0, "peer %s topic %s: P1 %v outside the mesh", p, name, ts.P1)
		}
		// Out of the mesh P3 may still be active: pubsub's reading of it,
		// the default, keeps the activation until the next GRAFT.
		if !ts.MeshDeliveriesActive {
			Expect(t, ts.P3 == 0, "peer %s topic %s: P3 %v while not active", p, name, ts.P3)
		}
		uncapped += ts.Score
		scale += math.Abs(ts.Score)
	}
	NearScale(t, uncapped, snap.TopicScoreUncapped, scale, "peer %s: TopicScoreUncapped", p)
	wantTopic := snap.TopicScoreUncapped
	if snap.TopicScoreCap > 0 && wantTopic > snap.TopicScoreCap {
		wantTopic = snap.TopicScoreCap
	}
	NearScale(t, wantTopic, snap.TopicScore, scale, "peer %s: TopicScore after the cap", p)
	total := snap.TopicScore + snap.P5 + snap.P6 + snap.P7 + snap.SlowPeer
	NearScale(t, total, snap.Score, math.Abs(snap.TopicScore)+math.Abs(snap.P5)+math.Abs(snap.P6)+math.Abs(snap.P7)+math.Abs(snap.SlowPeer),
		"peer %s: Score is the sum of its parts", p)
}

// FirstTopic scores only P2, halving at each Refresh.
func FirstTopic(topicWeight, weight, cap float64) *peerscore.TopicParams {
	return &peerscore.TopicParams{
		SkipAtomicValidation:         true,
		TopicWeight:                  topicWeight,
		FirstMessageDeliveriesWeight: weight,
		FirstMessageDeliveriesDecay:  0.5,
		FirstMessageDeliveriesCap:    cap,
	}
}

// InvalidTopic scores only P4, with the given weights, the counter halved
// at each Refresh.
func InvalidTopic(topicWeight, weight float64) *peerscore.TopicParams {
	return &peerscore.TopicParams{
		SkipAtomicValidation:           true,
		TopicWeight:                    topicWeight,
		InvalidMessageDeliveriesWeight: weight,
		InvalidMessageDeliveriesDecay:  0.5,
	}
}

// RejectN has peer "from" send n fresh messages on topic that fail
// validation.
func RejectN(s *peerscore.Scorer, topic, prefix string, from peer.ID, n int) {
	for i := range n {
		m := Msg(topic, fmt.Sprintf("%s-%d", prefix, i), from)
		s.Tracer().ValidateMessage(m)
		s.Tracer().RejectMessage(m, pubsub.RejectValidationFailed)
	}
}

// Mocknet builds a mock network: an observer host (the node doing the
// scoring) connected once to one host per address in addrs. It returns the
// observer and the peers' IDs, in the order of addrs. The network is
// built outside any synctest bubble and closed when the test ends.
func Mocknet(t *testing.T, addrs ...string) (host.Host, []peer.ID) {
	t.Helper()
	_, observer, ids := MocknetNet(t, addrs...)
	return observer, ids
}

// MocknetNet is Mocknet that also returns the network.
func MocknetNet(t *testing.T, addrs ...string) (mocknet.Mocknet, host.Host, []peer.ID) {
	t.Helper()
	mn := mocknet.New()
	t.Cleanup(func() { _ = mn.Close() })
	keys := rand.NewChaCha8([32]byte{'p', '6'}) // deterministic keys
	add := func(addr string) host.Host {
		sk, _, err := crypto.GenerateEd25519Key(keys)
		require.NoError(t, err)
		h, err := mn.AddPeer(sk, ma.StringCast(addr))
		require.NoError(t, err)
		return h
	}
	observer := add("/ip4/10.0.0.1/tcp/4001")
	ids := make([]peer.ID, len(addrs))
	for i, a := range addrs {
		ids[i] = add(a).ID()
	}
	require.NoError(t, mn.LinkAll())
	for _, id := range ids {
		_, err := mn.ConnectPeers(observer.ID(), id)
		require.NoError(t, err)
	}
	return mn, observer, ids
}
