package peerscore_test

import (
	"io"
	"log/slog"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/replay"
)

// TestReplayIsLive runs random traces into a live Scorer (Start's loop,
// under a fake clock) while writing down, as a recording would, every
// event it saw and its scores after every time step; then replays what was
// written down into a replay.Replayer with the same parameters. The
// replayed scores must be the live ones at every checkpoint, to 1e-9. The
// application's own calls (AddPenalty, PeerFeedback, SetTopicParams) are
// left out of the traces: no trace holds them.
func TestReplayIsLive(t *testing.T) {
	var checked int64
	for seed := uint64(1); seed <= 20; seed++ {
		tr := newTrace(seed, 2000)
		var events []replay.Event
		params := tr.params()
		synctest.Test(t, func(t *testing.T) {
			events = recordLive(t, tr, params)
		})
		rp, err := replay.NewReplayer(replay.Config{Params: params}, replay.FormatRecording)
		require.NoError(t, err)
		for _, ev := range events {
			require.NoError(t, rp.Feed(ev))
		}
		out := rp.Finish()
		require.NotNil(t, out.Check, "seed %d: no checkpoint replayed", seed)
		require.Zero(t, out.Check.Differ, "seed %d: %d of %d scores differ, at most by %v; first %s",
			seed, out.Check.Differ, out.Check.Scores, out.Check.MaxDiff, out.Check.Example)
		checked += out.Check.Scores
	}
	require.Greater(t, checked, int64(100_000), "too few scores checked to show anything")
}

// recordLive runs tr into a live Scorer and returns what it saw, as a
// recording holds it. It runs inside a synctest bubble.
func recordLive(t *testing.T, tr *trace, params *peerscore.Params) []replay.Event {
	h := scoretest.NewAddrHost()
	live, err := peerscore.New(params, peerscore.WithHost(h), peerscore.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	run := startLive(t, params.DecayInterval, live, live.Start)
	self := peer.ID("self")
	events := []replay.Event{extra(replay.Extra{Kind: replay.KindStart, Self: self.String()})}
	for _, p := range tr.peers { // the application's scores, constant in these traces
		events = append(events, extra(replay.Extra{Kind: replay.KindApp, Peer: p.String(), Score: params.AppSpecificScore(p)}))
	}
	addrs := map[peer.ID][]string{}
	for _, e := range tr.events {
		p := tr.peers[e.peer]
		switch e.op {
		case opAdvance, opRefresh:
			run.wait(e)
		case opSetIPs:
			h.SetIPs(p, e.ips)
			addrs[p] = hostAddrs(e.ips)
			events = append(events, extra(replay.Extra{Kind: replay.KindAddrs, Peer: p.String(), IPs: addrs[p]}))
		case opPenalty, opFeedback, opSetTopic:
			continue // the application's calls: no trace holds them
		default:
			tr.applyEvent(wrapOurs(live), e)
			events = append(events, traced(tr, e, p)...)
		}
		scores := map[string]float64{}
		for _, q := range tr.peers {
			scores[q.String()] = live.Score(q)
		}
		events = append(events, extra(replay.Extra{Kind: replay.KindScores, Scores: scores}))
	}
	return events
}

// hostAddrs are the addresses a scorer counts for connections from ips.
func hostAddrs(ips []string) []string {
	h := scoretest.NewAddrHost()
	h.SetIPs("p", ips)
	s, _ := peerscore.New(scoretest.Params(nil), peerscore.WithHost(h))
	s.Tracer().OnNewOutboundStream("p", "/meshsub/1.1.0")
	snap, _ := s.Snapshot("p")
	return snap.IPs
}

func extra(x replay.Extra) replay.Event {
	x.At = time.Now().UnixNano()
	return replay.Event{At: time.Unix(0, x.At), Extra: &x}
}

// traced is event e as a recording holds it.
func traced(tr *trace, e traceEvent, p peer.ID) []replay.Event {
	now := time.Now().UnixNano()
	ev := func(te *pb.TraceEvent) []replay.Event {
		te.Timestamp = &now
		return []replay.Event{{At: time.Unix(0, now), Trace: te}}
	}
	topic := tr.topics[e.topic]
	switch e.op {
	case opConnect:
		proto := "/meshsub/1.1.0"
		return ev(&pb.TraceEvent{Type: pb.TraceEvent_ON_NEW_OUTBOUND_STREAM.Enum(),
			OnNewOutboundStream: &pb.TraceEvent_OnNewOutboundStream{PeerID: []byte(p), Proto: &proto}})
	case opDisconnect:
		return ev(&pb.TraceEvent{Type: pb.TraceEvent_ON_CLOSED_OUTBOUND_STREAM.Enum(),
			OnClosedOutboundStream: &pb.TraceEvent_OnClosedOutboundStream{PeerID: []byte(p)}})
	case opGraft:
		return ev(&pb.TraceEvent{Type: pb.TraceEvent_GRAFT.Enum(), Graft: &pb.TraceEvent_Graft{PeerID: []byte(p), Topic: &topic}})
	case opPrune:
		return ev(&pb.TraceEvent{Type: pb.TraceEvent_PRUNE.Enum(), Prune: &pb.TraceEvent_Prune{PeerID: []byte(p), Topic: &topic}})
	}
	msg := tr.message(e)
	id := []byte(messageID(msg))
	if len(id) == 0 {
		return nil // the scorers ignore a message without an ID
	}
	from, mt := []byte(msg.ReceivedFrom), msg.GetTopic()
	switch e.op {
	case opValidate:
		return []replay.Event{extra(replay.Extra{Kind: replay.KindValidate, Peer: msg.ReceivedFrom.String(), ID: id, Topic: mt})}
	case opDeliver:
		return ev(&pb.TraceEvent{Type: pb.TraceEvent_DELIVER_MESSAGE.Enum(),
			DeliverMessage: &pb.TraceEvent_DeliverMessage{MessageID: id, Topic: &mt, ReceivedFrom: from}})
	case opReject:
		reason := e.reason
		return ev(&pb.TraceEvent{Type: pb.TraceEvent_REJECT_MESSAGE.Enum(),
			RejectMessage: &pb.TraceEvent_RejectMessage{MessageID: id, Topic: &mt, ReceivedFrom: from, Reason: &reason}})
	case opDuplicate:
		return ev(&pb.TraceEvent{Type: pb.TraceEvent_DUPLICATE_MESSAGE.Enum(),
			DuplicateMessage: &pb.TraceEvent_DuplicateMessage{MessageID: id, Topic: &mt, ReceivedFrom: from}})
	}
	panic("no trace for " + strconv.Itoa(int(e.op)))
}

// messageID is the ID the router gives msg: its own, or pubsub's default.
func messageID(msg *pubsub.Message) string {
	if msg.ID != "" {
		return msg.ID
	}
	return pubsub.DefaultMsgIdFn(msg.Message)
}
