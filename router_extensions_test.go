package peerscore_test

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// The rules of the rebuilt repeated-extensions penalty, on a stand-in host
// whose streams each case opens and closes. The router handles an RPC from
// a peer below the graylist threshold not at all; it remembers a peer from
// its first handled RPC, charges 10 for every later extensions control
// message, and forgets the peer when its inbound gossipsub v1.3 stream
// closes. P7's counter is read raw; no Refresh runs, so nothing decays.

const extPeer = peer.ID("A")

type extEnv struct {
	s         *peerscore.Scorer
	h         *scoretest.StreamHost
	graylist  atomic.Bool // the peer's application score sinks it below the graylist threshold
	streamSeq int
}

// stream opens the peer's next inbound stream with proto and returns its ID.
func (e *extEnv) stream(proto protocol.ID) string {
	e.streamSeq++
	id := "s" + string(rune('0'+e.streamSeq))
	e.h.Open(extPeer, id, proto)
	return id
}

func (e *extEnv) plain() { e.s.Tracer().RecvRPC(scoretest.ExtensionsRPC(extPeer, false)) }
func (e *extEnv) ext()   { e.s.Tracer().RecvRPC(scoretest.ExtensionsRPC(extPeer, true)) }

// newExtEnv wires a scorer as GossipSubOptions does, with a P7 weight small
// enough that the charges never graylist the peer by themselves.
func newExtEnv(t *testing.T, opts ...peerscore.Option) *extEnv {
	e := &extEnv{h: scoretest.NewStreamHost()}
	p := scoretest.BehaviourParams(func(peer.ID) float64 {
		if e.graylist.Load() {
			return -100
		}
		return 0
	})
	p.BehaviourPenaltyWeight = -1e-3
	e.s = scoretest.New(t, p, append([]peerscore.Option{peerscore.WithHost(e.h), peerscore.WithThresholds(scoretest.Thresholds())}, opts...)...)
	scoretest.Connect(e.s, extPeer)
	return e
}

// extScript runs one case of TestRepeatedExtensions, word by word:
//
//	v13, v12, floodsub  the peer opens an inbound stream of that protocol
//	ext, plain          an RPC from the peer with / without extensions
//	1s                  a second passes
//	close               the first stream the case opened closes
//	gray, ungray        the peer's application score sinks it below the
//	                    graylist threshold / lifts it back
//	unknown-time        a v1.3 stream whose opening time is unknown opens
//	others              an inbound stream of another protocol and an
//	                    outbound v1.3 stream open
func (e *extEnv) extScript(t *testing.T, script string) {
	var first string
	open := func(proto protocol.ID) {
		id := e.stream(proto)
		if first == "" {
			first = id
		}
	}
	for _, word := range strings.Fields(script) {
		switch word {
		case "v13":
			open(pubsub.GossipSubID_v13)
		case "v12":
			open(pubsub.GossipSubID_v12)
		case "floodsub":
			open("/floodsub/1.0.0")
		case "ext":
			e.ext()
		case "plain":
			e.plain()
		case "1s":
			time.Sleep(time.Second)
		case "close":
			e.h.CloseStream(extPeer, first)
		case "gray":
			e.graylist.Store(true)
		case "ungray":
			e.graylist.Store(false)
		case "unknown-time":
			e.h.OpenUnknownTime(extPeer, "later", pubsub.GossipSubID_v13)
		case "others":
			e.h.Open(extPeer, "id", "/ipfs/id/1.0.0")
			e.h.Open(extPeer, "out", pubsub.GossipSubID_v13, network.DirOutbound)
		default:
			t.Fatalf("extScript: unknown word %q", word)
		}
	}
}

func TestRepeatedExtensions(t *testing.T) {
	cases := []struct {
		name   string
		script string  // see extScript
		want   float64 // P7 counter
	}{
		{"first RPC with extensions", "v13 ext", 0},
		{"every repeat costs 10", "v13 ext ext plain ext ext", 30},
		{"RPCs without extensions never cost anything", "v13 plain plain plain plain plain", 0},
		{"extensions after a first RPC without them", "v13 plain ext", 10},
		// The first RPC the router handles is the last one.
		{"a graylisted peer's RPCs are not handled, so set nothing", "v13 gray plain ext ext ungray ext", 0},
		{"and are not charged", "v13 ext gray ext ungray ext", 10},
		{"a new v1.3 stream's first RPC", "v13 ext plain 1s close 1s v13 ext", 0},
		{"a new v1.3 stream's second RPC", "v13 ext 1s close v13 ext ext", 10},
		{"extensions after a first RPC without them on the new stream", "v13 ext close v13 1s plain ext", 10},
		{"an RPC at the instant the new stream opened is not known to be on it", "v13 ext 1s close v13 plain ext", 0},
		{"several new streams: the newest is judged", "v13 ext 1s v13 plain 1s v13 ext", 0},
		{"the old stream was v1.2: the router never forgot", "v12 plain 1s close 1s v12 ext", 10},
		{"the old stream was v1.2, the new one v1.3", "v12 plain 1s close 1s v13 ext", 10},
		{"the stream closed before its RPC was seen (v1.3): maybe a new stream's first", "v13 ext close ext", 0},
		{"the stream closed before its RPC was seen (v1.2)", "v12 ext close ext", 10},
		{"the first RPC's stream was already gone: treated as v1.3", "ext 1s v12 ext", 0},
		{"a stream whose opening time is unknown is not charged as new", "v13 ext close 1s plain unknown-time ext", 0},
		{"other protocols' and outbound streams are not new pubsub streams", "v13 ext 1s plain others ext", 10},
		{"floodsub streams count", "floodsub ext ext", 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newExtEnv(t)
				e.extScript(t, c.script)
				snap := scoretest.Snap(t, e.s, extPeer)
				scoretest.Near(t, c.want, snap.BehaviourPenalty, "P7 counter")
				assert.Equal(t, uint64(c.want), e.s.Stats().Penalties[peerscore.PenaltyRepeatedExtensions])
			})
		})
	}
}

// Without the host's streams, or with router penalties off, nothing is
// charged; a peer the scorer does not know is not charged either, as the
// router's own scorer ignores penalties for peers it does not track.
func TestRepeatedExtensionsOff(t *testing.T) {
	repeat := func(s *peerscore.Scorer, p peer.ID) {
		for range 3 {
			s.Tracer().RecvRPC(scoretest.ExtensionsRPC(p, true))
		}
	}
	synctest.Test(t, func(t *testing.T) {
		noHost := scoretest.New(t, scoretest.BehaviourParams(nil))
		scoretest.Connect(noHost, extPeer)
		repeat(noHost, extPeer)
		assert.Zero(t, scoretest.Snap(t, noHost, extPeer).BehaviourPenalty, "no host")
		assert.Equal(t, -1, peerscore.ExtensionsEntriesForTest(noHost))

		off := newExtEnv(t, peerscore.WithoutRouterPenalties())
		off.stream(pubsub.GossipSubID_v13)
		repeat(off.s, extPeer)
		assert.Zero(t, scoretest.Snap(t, off.s, extPeer).BehaviourPenalty, "router penalties off")

		e := newExtEnv(t)
		e.h.Open("B", "b1", pubsub.GossipSubID_v13)
		repeat(e.s, "B")
		scoretest.RequireUnknown(t, e.s, "B")
		assert.Zero(t, e.s.Stats().Penalties[peerscore.PenaltyRepeatedExtensions], "unknown peer")
	})
}

// The scorer's loop drops, with its minutely re-read of IP addresses, the
// records of peers no longer connected; a peer that comes back starts over.
func TestRepeatedExtensionsSweep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newExtEnv(t)
		e.s.Start(t.Context())
		defer e.s.Close()
		e.stream(pubsub.GossipSubID_v13)
		e.ext()
		scoretest.Connect(e.s, "B")
		e.h.Open("B", "b1", pubsub.GossipSubID_v13)
		e.s.Tracer().RecvRPC(scoretest.ExtensionsRPC("B", false))
		require.Equal(t, 2, peerscore.ExtensionsEntriesForTest(e.s))

		e.h.SetConnected("B", false)
		// Half a second past the sweep, so that no decay tick falls at the
		// instant of the charges below (synctest would run them in either order).
		time.Sleep(60*time.Second + time.Second/2)
		assert.Equal(t, 1, peerscore.ExtensionsEntriesForTest(e.s), "B's record dropped, A's kept")

		e.h.SetConnected("B", true)
		e.s.Tracer().RecvRPC(scoretest.ExtensionsRPC("B", true)) // a first RPC again
		assert.Zero(t, scoretest.Snap(t, e.s, "B").BehaviourPenalty)
		e.s.Tracer().RecvRPC(scoretest.ExtensionsRPC("B", true))
		assert.Equal(t, 10.0, scoretest.Snap(t, e.s, "B").BehaviourPenalty)

		// B leaves, and is back with an RPC while the sweep asks the host
		// about it: its record stays, so its next extensions are a repeat.
		e.h.SetConnected("B", false)
		e.h.OnConnectedness(func(p peer.ID) {
			if p == "B" {
				e.h.OnConnectedness(nil)
				e.h.SetConnected("B", true)
				e.s.Tracer().RecvRPC(scoretest.ExtensionsRPC("B", false))
				e.h.SetConnected("B", false)
			}
		})
		peerscore.SweepExtensionsForTest(e.s)
		require.Equal(t, 2, peerscore.ExtensionsEntriesForTest(e.s))
		e.h.SetConnected("B", true)
		e.s.Tracer().RecvRPC(scoretest.ExtensionsRPC("B", true))
		assert.Equal(t, 20.0, scoretest.Snap(t, e.s, "B").BehaviourPenalty)

		e.h.SetConnected(extPeer, false)
		e.h.SetConnected("B", false)
		time.Sleep(61 * time.Second)
		assert.Zero(t, peerscore.ExtensionsEntriesForTest(e.s))
	})
}

// RPCs, repeated extensions and sweeps from many goroutines at once: the
// book and the scorer stay consistent (run with -race), and a peer that
// always sends extensions on one stream is charged for all but its first.
func TestRepeatedExtensionsConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newExtEnv(t)
		peers := []peer.ID{"P0", "P1", "P2", "P3"}
		for _, p := range peers {
			scoretest.Connect(e.s, p)
			e.h.Open(p, string(p)+"-s", pubsub.GossipSubID_v13)
		}
		const perPeer = 10 // P7 stays above the graylist threshold
		var wg sync.WaitGroup
		for _, p := range peers {
			wg.Go(func() {
				for range perPeer {
					e.s.Tracer().RecvRPC(scoretest.ExtensionsRPC(p, true))
				}
			})
		}
		wg.Go(func() {
			for range 20 {
				peerscore.SweepExtensionsForTest(e.s)
			}
		})
		wg.Wait()
		for _, p := range peers {
			scoretest.Near(t, 10*(perPeer-1), scoretest.Snap(t, e.s, p).BehaviourPenalty, "peer %s", p)
		}
	})
}
