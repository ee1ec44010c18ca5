package peerscore_test

// A randomised check of the whole scorer against the small, deliberately
// naive model of the score function in property_model_test.go. After every
// event the scorer's Score, Snapshot and Snapshots must agree with each
// other, add up, stay within their bounds and equal the model's values.

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// propertyParams are the parameters of the randomised check: two scored
// topics with every component on, a small topic cap, P5, P6 and P7.
func propertyParams(app map[peer.ID]float64) *peerscore.Params {
	return &peerscore.Params{
		Topics: map[string]*peerscore.TopicParams{
			"t1": {
				TopicWeight:      0.7,
				TimeInMeshWeight: 0.03, TimeInMeshQuantum: 700 * time.Millisecond, TimeInMeshCap: 20,
				FirstMessageDeliveriesWeight: 1.1, FirstMessageDeliveriesDecay: 0.8, FirstMessageDeliveriesCap: 6,
				MeshMessageDeliveriesWeight: -0.6, MeshMessageDeliveriesDecay: 0.7, MeshMessageDeliveriesCap: 8,
				MeshMessageDeliveriesThreshold: 2.5, MeshMessageDeliveriesWindow: 30 * time.Millisecond,
				MeshMessageDeliveriesActivation: 2 * time.Second,
				MeshFailurePenaltyWeight:        -0.4, MeshFailurePenaltyDecay: 0.75,
				InvalidMessageDeliveriesWeight: -1.3, InvalidMessageDeliveriesDecay: 0.9,
			},
			"t2": {
				TopicWeight:      1.2,
				TimeInMeshWeight: 0.1, TimeInMeshQuantum: time.Second, TimeInMeshCap: 5,
				FirstMessageDeliveriesWeight: 0.5, FirstMessageDeliveriesDecay: 0.6, FirstMessageDeliveriesCap: 3,
				MeshMessageDeliveriesWeight: -1, MeshMessageDeliveriesDecay: 0.5, MeshMessageDeliveriesCap: 4,
				MeshMessageDeliveriesThreshold: 1.5, MeshMessageDeliveriesWindow: 0,
				MeshMessageDeliveriesActivation: time.Second,
				MeshFailurePenaltyWeight:        -1, MeshFailurePenaltyDecay: 0.5,
				InvalidMessageDeliveriesWeight: -2, InvalidMessageDeliveriesDecay: 0.6,
			},
		},
		TopicScoreCap:               2.5,
		AppSpecificScore:            func(p peer.ID) float64 { return app[p] },
		AppSpecificWeight:           0.5,
		IPColocationFactorWeight:    -0.8,
		IPColocationFactorThreshold: 1,
		BehaviourPenaltyWeight:      -0.3,
		BehaviourPenaltyThreshold:   1.5,
		BehaviourPenaltyDecay:       0.8,
		DecayInterval:               time.Second,
		DecayToZero:                 0.01,
		RetainScore:                 3 * time.Second,
		SeenMsgTTL:                  4 * time.Second,
	}
}

// topicVariant returns topic parameters like base with other caps and
// weights, for SetTopicParams events.
func topicVariant(base *peerscore.TopicParams, r *rand.Rand) *peerscore.TopicParams {
	tp := *base
	tp.FirstMessageDeliveriesCap = float64(1 + r.IntN(6))
	tp.MeshMessageDeliveriesCap = float64(1 + r.IntN(8))
	tp.FirstMessageDeliveriesWeight = 0.25 * float64(1+r.IntN(6))
	tp.TimeInMeshQuantum = time.Duration(1+r.IntN(3)) * 500 * time.Millisecond
	return &tp
}

type propertyMessage struct {
	id, topic string
	from      peer.ID
}

// TestPropertyMatchesModel replays long random event sequences (three
// seeds, 1500 events each: connections, mesh changes, messages in every
// state, penalties, refreshes, time passing, application scores and topic
// parameter changes over seven peers and three topics, one unscored) and
// checks the scorer against the model after every single event.
func TestPropertyMatchesModel(t *testing.T) {
	// Six peers behind a mock host: three share 1.1.1.1, two IPv6
	// addresses share a /64, one is alone; plus a peer the host has no
	// connection to.
	observer, ids := scoretest.Mocknet(t,
		"/ip4/1.1.1.1/tcp/1", "/ip4/1.1.1.1/tcp/2", "/ip4/1.1.1.1/tcp/3",
		"/ip6/2001:db8:5:6::a/tcp/1", "/ip6/2001:db8:5:6::b/tcp/1",
		"/ip4/2.2.2.2/tcp/1")
	hostIPs := map[peer.ID][]string{
		ids[0]: {"1.1.1.1"}, ids[1]: {"1.1.1.1"}, ids[2]: {"1.1.1.1"},
		ids[3]: {"2001:db8:5:6::a", "2001:db8:5:6::"}, ids[4]: {"2001:db8:5:6::b", "2001:db8:5:6::"},
		ids[5]: {"2.2.2.2"},
	}
	peers := append(slices.Clone(ids), peer.ID("no-host"))
	names := map[peer.ID]string{}
	for i, p := range peers {
		names[p] = fmt.Sprintf("peer%d", i)
	}

	for _, spec := range []bool{false, true} {
		for _, seed := range []uint64{1, 2, 3} {
			name := fmt.Sprintf("%s/seed%d", map[bool]string{false: "pubsub", true: "spec"}[spec], seed)
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					runProperty(t, seed, 1500, spec, observer, peers, names, hostIPs)
				})
			})
		}
	}
}

// coverage counts the states a run went through, summed over every check,
// so that a run too tame to test them fails.
type coverage struct {
	retained, inMesh, active, activeOutside, negative int
}

func (c *coverage) add(m *scoreModel) {
	for p, mp := range m.peers {
		if !mp.connected {
			c.retained++
		}
		if score, _ := m.score(p); score < 0 {
			c.negative++
		}
		for _, mt := range mp.topics {
			if mt.inMesh {
				c.inMesh++
			}
			if mt.active {
				c.active++
				if !mt.inMesh {
					c.activeOutside++
				}
			}
		}
	}
}

// require fails the run unless it went through every state it is meant
// to cover; P3 active out of the mesh only exists under pubsub's reading.
func (c *coverage) require(t *testing.T, spec bool) {
	t.Helper()
	t.Logf("checks over: %d retained peers, %d topics in a mesh, %d active (%d out of the mesh), %d negative scores",
		c.retained, c.inMesh, c.active, c.activeOutside, c.negative)
	for what, n := range map[string]int{"retained peers": c.retained, "topics in a mesh": c.inMesh,
		"active topics": c.active, "negative scores": c.negative} {
		require.Positive(t, n, "the run never had %s", what)
	}
	if spec {
		require.Zero(t, c.activeOutside, "with WithSpecP3, P3 was active out of the mesh")
	} else {
		require.Positive(t, c.activeOutside, "the run never had P3 active out of the mesh")
	}
}

// runProperty runs one seed. It must run inside a synctest bubble: time
// advances only through the sleeps it draws.
func runProperty(t *testing.T, seed uint64, events int, spec bool, observer host.Host, peers []peer.ID,
	names map[peer.ID]string, hostIPs map[peer.ID][]string) {
	r := rand.New(rand.NewPCG(seed, 0x5c0e))
	app := map[peer.ID]float64{} // read by the scorer and the model alike
	params := propertyParams(app)
	topicNames := []string{"t1", "t2", "t3"} // t3 is not scored
	reasons := []string{
		pubsub.RejectValidationFailed, pubsub.RejectValidationThrottled, pubsub.RejectValidationIgnored,
		pubsub.RejectMissingSignature, pubsub.RejectInvalidSignature, pubsub.RejectUnexpectedSignature,
		pubsub.RejectUnexpectedAuthInfo, pubsub.RejectSelfOrigin, pubsub.RejectBlacklstedPeer,
		pubsub.RejectBlacklistedSource, pubsub.RejectValidationQueueFull, "something else",
	}
	appValues := []float64{-3, -0.5, 0, 0.7, 2, 6, math.NaN()}

	start := time.Now() // the scorer's clock starts at New, this same instant
	opts := []peerscore.Option{peerscore.WithHost(observer)}
	if spec {
		opts = append(opts, peerscore.WithSpecP3())
	}
	s := scoretest.New(t, params, opts...)
	m := &scoreModel{
		params:  params,
		topics:  maps.Clone(params.Topics),
		app:     app,
		hostIPs: hostIPs,
		peers:   map[peer.ID]*modelPeer{},
		records: map[string]*modelRecord{},
		ttl:     params.SeenMsgTTL,
		spec:    spec,
	}
	var seen coverage
	now := func() time.Duration { return time.Since(start) }
	pick := func() peer.ID { return peers[r.IntN(len(peers))] }

	// Messages carry an explicit ID, or none (half of them), in which
	// case both sides use pubsub's default: From followed by Seqno.
	var msgs []propertyMessage
	var explicit []bool
	newMessage := func() int {
		n := len(msgs)
		msgs = append(msgs, propertyMessage{id: fmt.Sprintf("m%d", n), topic: topicNames[r.IntN(3)], from: pick()})
		explicit = append(explicit, r.IntN(2) == 0)
		return n
	}
	recentMessage := func() int {
		if len(msgs) == 0 {
			return newMessage()
		}
		return len(msgs) - 1 - r.IntN(min(len(msgs), 25))
	}
	wire := func(i int, from peer.ID) (*pubsub.Message, string) {
		msg := scoretest.Msg(msgs[i].topic, msgs[i].id, from)
		if explicit[i] {
			return msg, msgs[i].id
		}
		msg.ID = ""
		return msg, "author" + msgs[i].id // scoretest.Msg's From is "author", its Seqno the id
	}

	check := func(step int, desc string) {
		snaps := s.Snapshots()
		scoretest.Expect(t, len(snaps) == len(m.peers), "step %d (%s): %d peers known, the model knows %d", step, desc, len(snaps), len(m.peers))
		for p, mp := range m.peers {
			name := names[p]
			snap, ok := snaps[p]
			scoretest.Expect(t, ok, "step %d (%s): %s missing from Snapshots", step, desc, name)
			one, ok := s.Snapshot(p)
			scoretest.Expect(t, ok, "step %d (%s): %s unknown to Snapshot", step, desc, name)
			score := s.Score(p)
			want, scale := m.score(p)
			scoretest.NearScale(t, want, score, scale, "step %d (%s), %s: Score against the model", step, desc, name)
			scoretest.Near(t, score, snap.Score, "step %d (%s), %s: Snapshots against Score", step, desc, name)
			scoretest.Near(t, score, one.Score, "step %d (%s), %s: Snapshot against Score", step, desc, name)
			scoretest.CheckParts(t, p, snap)

			scoretest.Expect(t, mp.connected == snap.Connected, "step %d (%s), %s: Connected %v", step, desc, name, snap.Connected)
			scoretest.Expect(t, mp.connected || snap.RetainedUntil.Equal(start.Add(mp.expire)),
				"step %d (%s), %s: RetainedUntil %v", step, desc, name, snap.RetainedUntil)
			scoretest.Near(t, mp.behaviour, snap.BehaviourPenalty, "step %d (%s), %s: P7 counter", step, desc, name)
			scoretest.Near(t, m.colocation(p), snap.IPColocationFactor, "step %d (%s), %s: P6 factor", step, desc, name)
			scoretest.Expect(t, slices.Equal(mp.ips, snap.IPs), "step %d (%s), %s: IPs %v, want %v", step, desc, name, snap.IPs, mp.ips)
			scoretest.Expect(t, len(snap.Topics) == len(mp.topics), "step %d (%s), %s: %d topics with stats, want %d",
				step, desc, name, len(snap.Topics), len(mp.topics))
			for topic, mt := range mp.topics {
				ts, ok := snap.Topics[topic]
				scoretest.Expect(t, ok, "step %d (%s), %s: no stats in %s", step, desc, name, topic)
				tp := m.topics[topic]
				scoretest.Expect(t, mt.inMesh == ts.InMesh, "step %d (%s), %s %s: InMesh %v", step, desc, name, topic, ts.InMesh)
				scoretest.Expect(t, mt.active == ts.MeshDeliveriesActive, "step %d (%s), %s %s: MeshDeliveriesActive %v",
					step, desc, name, topic, ts.MeshDeliveriesActive)
				wantTime := time.Duration(0)
				if mt.inMesh {
					wantTime = mt.meshTime
				}
				scoretest.Expect(t, ts.TimeInMesh == wantTime, "step %d (%s), %s %s: TimeInMesh %v, want %v",
					step, desc, name, topic, ts.TimeInMesh, wantTime)
				scoretest.Near(t, mt.first, ts.FirstMessageDeliveries, "step %d (%s), %s %s: P2 counter", step, desc, name, topic)
				scoretest.Near(t, mt.mesh, ts.MeshMessageDeliveries, "step %d (%s), %s %s: P3 counter", step, desc, name, topic)
				scoretest.Near(t, mt.failure, ts.MeshFailurePenalty, "step %d (%s), %s %s: P3b counter", step, desc, name, topic)
				scoretest.Near(t, mt.invalid, ts.InvalidMessageDeliveries, "step %d (%s), %s %s: P4 counter", step, desc, name, topic)
				scoretest.Expect(t, ts.FirstMessageDeliveries <= tp.FirstMessageDeliveriesCap,
					"step %d (%s), %s %s: P2 counter above its cap", step, desc, name, topic)
				scoretest.Expect(t, ts.MeshMessageDeliveries <= tp.MeshMessageDeliveriesCap,
					"step %d (%s), %s %s: P3 counter above its cap", step, desc, name, topic)
				ws, wm := m.topicScore(mt, tp)
				scoretest.NearScale(t, ws, ts.Score, wm, "step %d (%s), %s %s: topic score", step, desc, name, topic)
			}
		}
	}

	for step := range events {
		var desc string
		switch k := r.IntN(100); {
		case k < 9:
			p := pick()
			desc = "connect " + names[p]
			s.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
			m.connect(p)
		case k < 15:
			p := pick()
			desc = "disconnect " + names[p]
			before, known := s.Score(p), m.peers[p] != nil
			s.Tracer().OnClosedOutboundStream(p)
			m.disconnect(p, now())
			if snap, ok := s.Snapshot(p); ok {
				require.False(t, snap.Connected, "step %d: %s retained", step, names[p])
				require.LessOrEqual(t, before, 0.0, "step %d: %s retained with a positive score", step, names[p])
			} else if known {
				require.Greater(t, before, 0.0, "step %d: %s forgotten with a score <= 0", step, names[p])
			}
		case k < 25:
			p, topic := pick(), topicNames[r.IntN(3)]
			desc = "graft " + names[p] + " " + topic
			s.Tracer().Graft(p, topic)
			m.graft(p, topic, now())
		case k < 31:
			p, topic := pick(), topicNames[r.IntN(3)]
			desc = "prune " + names[p] + " " + topic
			s.Tracer().Prune(p, topic)
			m.prune(p, topic)
		case k < 44:
			i := newMessage()
			msg, id := wire(i, msgs[i].from)
			desc = "validate " + id + " from " + names[msgs[i].from]
			s.Tracer().ValidateMessage(msg)
			m.validate(id, now())
		case k < 55:
			i := recentMessage()
			from := msgs[i].from
			if r.IntN(5) == 0 {
				from = pick()
			}
			msg, id := wire(i, from)
			desc = "deliver " + id + " from " + names[from]
			s.Tracer().DeliverMessage(msg)
			m.deliver(id, msgs[i].topic, from, now())
		case k < 62:
			i := recentMessage()
			reason := reasons[r.IntN(len(reasons))]
			msg, id := wire(i, msgs[i].from)
			desc = "reject " + id + " from " + names[msgs[i].from] + ": " + reason
			s.Tracer().RejectMessage(msg, reason)
			m.reject(id, msgs[i].topic, msgs[i].from, reason, now())
		case k < 79:
			i := recentMessage()
			from := pick()
			msg, id := wire(i, from)
			desc = "duplicate " + id + " from " + names[from]
			s.Tracer().DuplicateMessage(msg)
			m.duplicate(id, msgs[i].topic, from, now())
		case k < 83:
			p, n := pick(), r.IntN(5)-1
			desc = fmt.Sprintf("penalty %d to %s", n, names[p])
			s.AddPenalty(p, n)
			m.addPenalty(p, n)
		case k < 88:
			desc = "refresh"
			s.Refresh()
			m.refresh(now())
		case k < 95:
			d := time.Duration(r.IntN(60)) * time.Millisecond
			if r.IntN(2) == 0 {
				d = time.Duration(r.IntN(1500)) * time.Millisecond
			}
			desc = "sleep " + d.String()
			time.Sleep(d)
		case k < 98:
			p, v := pick(), appValues[r.IntN(len(appValues))]
			desc = fmt.Sprintf("app score of %s = %v", names[p], v)
			app[p] = v
		default:
			topic := topicNames[r.IntN(2)]
			tp := topicVariant(params.Topics[topic], r)
			desc = "set params of " + topic
			require.NoError(t, s.SetTopicParams(topic, tp))
			m.setTopic(topic, tp)
		}
		check(step, desc)
		seen.add(m)
	}
	seen.require(t, spec)
}
