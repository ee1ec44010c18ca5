package replay_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/proto"

	"github.com/peerscore/peerscore/internal/rawpeer"
	"github.com/peerscore/peerscore/internal/testnet"
	"github.com/peerscore/peerscore/replay"
)

const netTopic = "replay-test"

var updateTestdata = flag.Bool("update-testdata", false, "rewrite the real traces in testdata/ from a new run of tracedNetwork")

// netRun is what tracedNetwork leaves: one node's traffic traced by
// pubsub's own tracers and recorded by a Recorder, and who was who.
type netRun struct {
	self, a, b, r peer.ID
	ips           map[peer.ID]string
	jsonPath      string // pubsub.NewJSONTracer's file
	pbPath        string // pubsub.NewPBTracer's file
	recDir        string // the Recorder's directory
	recStats      replay.RecorderStats
}

// teeTracer gives every event to several of pubsub's tracers (a router
// takes one).
type teeTracer []pubsub.EventTracer

func (t teeTracer) Trace(evt *pb.TraceEvent) {
	for _, tr := range t {
		tr.Trace(evt)
	}
}

// tracedNetwork runs a small network of real GossipSub routers on
// synctest's clock in which the node "self" sees every kind of event
// pubsub traces: two honest routers (a, b) in its mesh, which publish,
// forward duplicates and greet it with gossipsub v1.3's extensions, and a
// raw peer (r) that subscribes, GRAFTs, advertises a message it never
// sends (the node asks for it: IWANT), publishes an unsigned message
// (rejected), PRUNEs with a backoff and peer exchange, then stalls while
// the node floods it (its queue overflows: dropped RPCs). a also
// publishes messages the node's validator rejects, and large ones (the
// node sends IDONTWANT). At the end the node leaves the topic (PRUNEs with
// backoffs) and disconnects from b. The node is traced by pubsub's JSON
// and protobuf tracers and by a Recorder (opts) at once.
func tracedNetwork(t *testing.T, dir string, opts ...replay.RecorderOption) netRun {
	t.Helper()
	var run netRun
	testnet.Bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		net := testnet.New(time.Millisecond)
		hosts := make([]host.Host, 4)
		run.ips = map[peer.ID]string{}
		for i := range hosts {
			ip := testnet.PublicIP(i + 10)
			h, err := net.AddHost(ip, 4001)
			require.NoError(t, err)
			hosts[i] = h
			run.ips[h.ID()] = ip
		}
		net.Start()
		nodeH, aH, bH, rH := hosts[0], hosts[1], hosts[2], hosts[3]
		run.self, run.a, run.b, run.r = nodeH.ID(), aH.ID(), bH.ID(), rH.ID()
		run.jsonPath = filepath.Join(dir, "pubsub.json")
		run.pbPath = filepath.Join(dir, "pubsub.pb")
		run.recDir = filepath.Join(dir, "recording")

		jt, err := pubsub.NewJSONTracer(run.jsonPath)
		require.NoError(t, err)
		pt, err := pubsub.NewPBTracer(run.pbPath)
		require.NoError(t, err)
		rec, err := replay.NewRecorder(run.recDir, run.self, append([]replay.RecorderOption{replay.WithHost(nodeH)}, opts...)...)
		require.NoError(t, err)

		reject := func(_ context.Context, _ peer.ID, m *pubsub.Message) pubsub.ValidationResult {
			if strings.HasPrefix(string(m.Data), "bad-") {
				return pubsub.ValidationReject
			}
			return pubsub.ValidationAccept
		}
		ps, err := pubsub.NewGossipSub(ctx, nodeH,
			pubsub.WithRawTracer(rec),
			pubsub.WithEventTracer(teeTracer{jt, pt}),
			pubsub.WithPeerExchange(true),
			pubsub.WithPeerOutboundQueueSize(8))
		require.NoError(t, err)
		require.NoError(t, ps.RegisterTopicValidator(netTopic, reject))
		topic, err := ps.Join(netTopic)
		require.NoError(t, err)
		sub, err := topic.Subscribe()
		require.NoError(t, err)
		go drain(ctx, sub)

		var aTopic *pubsub.Topic
		for _, h := range []host.Host{aH, bH} {
			other, err := pubsub.NewGossipSub(ctx, h, pubsub.WithTestExtension(pubsub.TestExtensionConfig{}))
			require.NoError(t, err)
			tp, err := other.Join(netTopic)
			require.NoError(t, err)
			s, err := tp.Subscribe()
			require.NoError(t, err)
			go drain(ctx, s)
			if h == aH {
				aTopic = tp
			}
		}
		raw := rawpeer.New(rH, nil)
		for _, pair := range [][2]host.Host{{nodeH, aH}, {nodeH, bH}, {aH, bH}, {rH, nodeH}} {
			require.NoError(t, testnet.Connect(ctx, pair[0], pair[1]))
		}
		time.Sleep(3 * time.Second) // meshes form
		send := func(rpc *pb.RPC) { require.NoError(t, raw.Send(run.self, rpc)) }
		send(rawpeer.Subscribe(netTopic))
		time.Sleep(200 * time.Millisecond)
		send(rawpeer.Graft(netTopic))
		send(rawpeer.IHave(netTopic, "never-sent"))
		time.Sleep(500 * time.Millisecond)

		for i := range 5 {
			require.NoError(t, aTopic.Publish(ctx, fmt.Appendf(nil, "hello-%d", i)))
			time.Sleep(100 * time.Millisecond)
		}
		for i := range 3 {
			require.NoError(t, aTopic.Publish(ctx, fmt.Appendf(nil, "bad-%d", i)))
		}
		for i := range 3 {
			big := make([]byte, 4096)
			copy(big, fmt.Sprintf("big-%d", i))
			require.NoError(t, aTopic.Publish(ctx, big))
		}
		topicName := netTopic
		send(&pb.RPC{Publish: []*pb.Message{{Data: []byte("unsigned"), Topic: &topicName, From: []byte(run.r), Seqno: []byte{1}}}})
		time.Sleep(time.Second)

		backoff := uint64(42)
		send(&pb.RPC{Control: &pb.ControlMessage{Prune: []*pb.ControlPrune{{
			TopicID: &topicName, Backoff: &backoff, Peers: []*pb.PeerInfo{{PeerID: []byte(run.a)}},
		}}}})
		time.Sleep(500 * time.Millisecond)

		raw.Stall()
		for i := range 64 {
			big := make([]byte, 32<<10)
			copy(big, fmt.Sprintf("flood-%d", i))
			require.NoError(t, topic.Publish(ctx, big))
		}
		time.Sleep(2 * time.Second)
		raw.Resume()
		time.Sleep(2 * time.Second)

		sub.Cancel()
		require.NoError(t, topic.Close())
		time.Sleep(time.Second)
		require.NoError(t, nodeH.Network().ClosePeer(run.b))
		time.Sleep(time.Second)

		cancel()
		raw.Close()
		net.Close()
		time.Sleep(time.Second)
		synctest.Wait()
		jt.Close()
		pt.Close()
		require.NoError(t, rec.Close())
		synctest.Wait() // pubsub's tracers have written their files
		run.recStats = rec.Stats()
	})
	return run
}

func drain(ctx context.Context, sub *pubsub.Subscription) {
	for {
		if _, err := sub.Next(ctx); err != nil {
			return
		}
	}
}

// TestRealNetworkTraces reads back what pubsub's own tracers wrote for a
// node of a real network (JSON, protobuf, gzip'd or not), and what a
// Recorder on the same node recorded, and checks them against each other.
func TestRealNetworkTraces(t *testing.T) {
	dir := t.TempDir()
	run := tracedNetwork(t, dir)

	pbEvents, f, err := readAll(t, run.pbPath)
	require.NoError(t, err)
	require.Equal(t, replay.FormatProto, f)

	t.Run("every event type, with its fields", func(t *testing.T) {
		checkPubsubTrace(t, run, pbEvents)
	})

	t.Run("JSON and gzip give the same events", func(t *testing.T) {
		jsonEvents, f, err := readAll(t, run.jsonPath)
		require.NoError(t, err)
		require.Equal(t, replay.FormatJSON, f)
		requireSameEvents(t, pbEvents, jsonEvents)
		for _, path := range []string{run.pbPath, run.jsonPath} {
			gz := gzipCopy(t, path, filepath.Join(dir, filepath.Base(path)+".trace"))
			got, gf, err := readAll(t, gz)
			require.NoError(t, err)
			want, wf, _ := readAll(t, path)
			require.Equal(t, wf, gf, "the format is read through gzip")
			requireSameEvents(t, want, got)
		}
	})

	t.Run("the recording holds pubsub's events", func(t *testing.T) {
		recEvents, f, err := readAll(t, run.recDir)
		require.NoError(t, err)
		require.Equal(t, replay.FormatRecording, f)
		require.Zero(t, run.recStats.Dropped)
		// What the Recorder cannot see: our own publications, and the
		// router's events about our own messages (pubsub shows raw
		// tracers only messages from others).
		var want []replay.Event
		for _, ev := range pbEvents {
			if ev.Trace != nil && !ownEvent(ev.Trace, run.self) {
				want = append(want, ev)
			}
		}
		var got []replay.Event
		for _, ev := range recEvents {
			if ev.Trace != nil {
				got = append(got, ev)
			}
		}
		requireSameEvents(t, want, got)
		checkRecordingExtras(t, run, recEvents)
		// pubsub v0.19.0 on: its trace's SEND_RPC_COMPLETED events (as
		// Open gives them) are the recording's writes, from the same
		// calls (in any order: the writing goroutines call them).
		require.ElementsMatch(t, writes(pbEvents), writes(recEvents))
	})

	t.Run("the recording's trace file is pubsub's format", func(t *testing.T) {
		checkDelimited(t, run.recDir)
	})

	if *updateTestdata {
		gzipCopy(t, run.pbPath, testdataPB)
		gzipCopy(t, run.jsonPath, testdataJSON)
		require.NoError(t, os.RemoveAll(testdataRecording))
		require.NoError(t, os.CopyFS(testdataRecording, os.DirFS(run.recDir)))
	}
}

// checkPubsubTrace checks that pubsub's trace of the node, as Open reads
// it, holds every event type with the fields the scenario gives them.
func checkPubsubTrace(t *testing.T, run netRun, events []replay.Event) {
	others := map[peer.ID]bool{run.a: true, run.b: true, run.r: true}
	seen := map[pb.TraceEvent_Type]int{}
	reasons := map[string]bool{}
	rpcIDs := map[string]bool{} // message IDs in received RPCs
	var delivered []string
	var iwant, ihave, idontwant, pxPrune, subscribe, graftCtl, pruneSent bool
	for i, ev := range events {
		if x := ev.Extra; x != nil {
			// pubsub v0.19.0 on: a SEND_RPC_COMPLETED event
			require.Equal(t, replay.KindWrite, x.Kind, "event %d: pubsub's trace has no other extras", i)
			p, err := peer.Decode(x.Peer)
			require.NoError(t, err)
			require.True(t, others[p])
			continue
		}
		e := ev.Trace
		seen[e.GetType()]++
		require.Equal(t, run.self, peer.ID(e.GetPeerID()), "event %d: PeerID", i)
		require.Equal(t, e.GetTimestamp(), ev.At.UnixNano(), "event %d: At is the timestamp", i)
		require.True(t, ev.At.Year() >= 2000, "event %d: at %v", i, ev.At)
		switch e.GetType() {
		case pb.TraceEvent_PUBLISH_MESSAGE:
			require.Equal(t, netTopic, e.GetPublishMessage().GetTopic())
			require.NotEmpty(t, e.GetPublishMessage().GetMessageID())
		case pb.TraceEvent_REJECT_MESSAGE:
			m := e.GetRejectMessage()
			require.Equal(t, netTopic, m.GetTopic())
			require.NotEmpty(t, m.GetMessageID())
			require.True(t, others[peer.ID(m.GetReceivedFrom())], "rejected from %s", peer.ID(m.GetReceivedFrom()))
			reasons[m.GetReason()] = true
		case pb.TraceEvent_DUPLICATE_MESSAGE:
			m := e.GetDuplicateMessage()
			require.Equal(t, netTopic, m.GetTopic())
			require.NotEmpty(t, m.GetMessageID())
			require.True(t, others[peer.ID(m.GetReceivedFrom())] || peer.ID(m.GetReceivedFrom()) == run.self)
		case pb.TraceEvent_DELIVER_MESSAGE:
			m := e.GetDeliverMessage()
			require.Equal(t, netTopic, m.GetTopic())
			if from := peer.ID(m.GetReceivedFrom()); from != run.self {
				require.True(t, others[from])
				delivered = append(delivered, string(m.GetMessageID()))
			}
		case pb.TraceEvent_ON_NEW_OUTBOUND_STREAM:
			m := e.GetOnNewOutboundStream()
			require.True(t, others[peer.ID(m.GetPeerID())])
			require.True(t, strings.HasPrefix(m.GetProto(), "/meshsub/"), m.GetProto())
		case pb.TraceEvent_ON_CLOSED_OUTBOUND_STREAM:
			require.Equal(t, run.b, peer.ID(e.GetOnClosedOutboundStream().GetPeerID()))
		case pb.TraceEvent_RECV_RPC:
			m := e.GetRecvRPC()
			from := peer.ID(m.GetReceivedFrom())
			require.True(t, others[from])
			for _, msg := range m.GetMeta().GetMessages() {
				require.Equal(t, netTopic, msg.GetTopic())
				rpcIDs[string(msg.GetMessageID())] = true
			}
			for _, s := range m.GetMeta().GetSubscription() {
				subscribe = subscribe || (s.GetSubscribe() && s.GetTopic() == netTopic)
			}
			c := m.GetMeta().GetControl()
			for _, ih := range c.GetIhave() {
				ihave = ihave || (from == run.r && ih.GetTopic() == netTopic && len(ih.GetMessageIDs()) == 1 && string(ih.GetMessageIDs()[0]) == "never-sent")
			}
			for _, g := range c.GetGraft() {
				graftCtl = graftCtl || (from == run.r && g.GetTopic() == netTopic)
			}
			for _, p := range c.GetPrune() {
				pxPrune = pxPrune || (from == run.r && p.GetTopic() == netTopic && len(p.GetPeers()) == 1 && peer.ID(p.GetPeers()[0]) == run.a)
			}
		case pb.TraceEvent_SEND_RPC:
			m := e.GetSendRPC()
			require.True(t, others[peer.ID(m.GetSendTo())])
			c := m.GetMeta().GetControl()
			for _, iw := range c.GetIwant() {
				iwant = iwant || (peer.ID(m.GetSendTo()) == run.r && len(iw.GetMessageIDs()) == 1 && string(iw.GetMessageIDs()[0]) == "never-sent")
			}
			idontwant = idontwant || len(c.GetIdontwant()) > 0
			for _, p := range c.GetPrune() {
				pruneSent = pruneSent || p.GetTopic() == netTopic
			}
		case pb.TraceEvent_DROP_RPC:
			require.True(t, others[peer.ID(e.GetDropRPC().GetSendTo())])
			require.NotNil(t, e.GetDropRPC().GetMeta())
		case pb.TraceEvent_JOIN:
			require.Equal(t, netTopic, e.GetJoin().GetTopic())
		case pb.TraceEvent_LEAVE:
			require.Equal(t, netTopic, e.GetLeave().GetTopic())
		case pb.TraceEvent_GRAFT:
			require.True(t, others[peer.ID(e.GetGraft().GetPeerID())])
			require.Equal(t, netTopic, e.GetGraft().GetTopic())
		case pb.TraceEvent_PRUNE:
			require.True(t, others[peer.ID(e.GetPrune().GetPeerID())])
			require.Equal(t, netTopic, e.GetPrune().GetTopic())
		default:
			t.Fatalf("event %d: type %v", i, e.GetType())
		}
	}
	for typ := pb.TraceEvent_PUBLISH_MESSAGE; typ <= pb.TraceEvent_PRUNE; typ++ {
		require.Positive(t, seen[typ], "no %v event", typ)
	}
	require.True(t, reasons[pubsub.RejectValidationFailed], "reasons %v", reasons)
	require.True(t, reasons[pubsub.RejectMissingSignature], "reasons %v", reasons)
	require.Len(t, delivered, 5+3, "hello and big messages delivered")
	for _, id := range delivered {
		require.True(t, rpcIDs[id], "delivered %q never arrived in an RPC", id)
	}
	for what, ok := range map[string]bool{"IHAVE from r": ihave, "IWANT to r": iwant, "IDONTWANT": idontwant,
		"PRUNE with PX from r": pxPrune, "subscription": subscribe, "GRAFT from r": graftCtl, "PRUNE sent": pruneSent} {
		require.True(t, ok, "no %s", what)
	}
}

// checkRecordingExtras checks what the recording adds to pubsub's events,
// and where.
func checkRecordingExtras(t *testing.T, run netRun, events []replay.Event) {
	first := events[0].Extra
	require.NotNil(t, first, "the recording starts with its start")
	require.Equal(t, replay.KindStart, first.Kind)
	require.Equal(t, run.self.String(), first.Self)
	validated := map[string]string{} // message ID -> peer
	kinds := map[replay.ExtraKind]int{}
	for i, ev := range events {
		if i > 0 {
			require.False(t, ev.At.Before(events[i-1].At), "event %d goes back in time", i)
		}
		if x := ev.Extra; x != nil {
			kinds[x.Kind]++
			require.Equal(t, ev.At.UnixNano(), x.At)
			if x.Kind == replay.KindValidate {
				require.Equal(t, netTopic, x.Topic)
				validated[string(x.ID)] = x.Peer
			}
			continue
		}
		e := ev.Trace
		var next *replay.Extra
		if i+1 < len(events) {
			next = events[i+1].Extra
		}
		switch e.GetType() {
		case pb.TraceEvent_ON_NEW_OUTBOUND_STREAM:
			p := peer.ID(e.GetOnNewOutboundStream().GetPeerID())
			require.NotNil(t, next, "addresses after the stream to %s", p)
			require.Equal(t, replay.KindAddrs, next.Kind)
			require.Equal(t, p.String(), next.Peer)
			require.Equal(t, []string{run.ips[p]}, next.IPs)
		case pb.TraceEvent_DELIVER_MESSAGE:
			m := e.GetDeliverMessage()
			require.Equal(t, peer.ID(m.GetReceivedFrom()).String(), validated[string(m.GetMessageID())],
				"message %q delivered without a validate extra before it", m.GetMessageID())
		case pb.TraceEvent_RECV_RPC, pb.TraceEvent_SEND_RPC, pb.TraceEvent_DROP_RPC:
			prunes := rpcMeta(e).GetControl().GetPrune()
			if len(prunes) == 0 {
				if next != nil {
					require.NotEqual(t, replay.KindBackoffs, next.Kind, "event %d: backoffs after an RPC without PRUNEs", i)
				}
				continue
			}
			require.NotNil(t, next, "event %d: backoffs after PRUNEs", i)
			require.Equal(t, replay.KindBackoffs, next.Kind, "event %d", i)
			require.Len(t, next.Backoffs, len(prunes))
			if e.GetType() == pb.TraceEvent_RECV_RPC && peer.ID(e.GetRecvRPC().GetReceivedFrom()) == run.r {
				require.Equal(t, []uint64{42}, next.Backoffs)
			} else {
				for _, b := range next.Backoffs {
					require.Positive(t, b, "the router's PRUNEs carry a backoff")
				}
			}
		}
	}
	// The honest routers greet the node with an extensions message in
	// their first RPC (gossipsub v1.3), right after it in the recording.
	greeted := map[string]bool{}
	for i, ev := range events {
		if x := ev.Extra; x != nil && x.Kind == replay.KindExtensions {
			prev := events[i-1].Trace
			if prev == nil { // after the RPC's backoffs
				prev = events[i-2].Trace
			}
			require.Equal(t, pb.TraceEvent_RECV_RPC, prev.GetType())
			require.Equal(t, peer.ID(prev.GetRecvRPC().GetReceivedFrom()).String(), x.Peer)
			greeted[x.Peer] = true
		}
	}
	require.True(t, greeted[run.a.String()] && greeted[run.b.String()], "extensions from %v", greeted)
	for _, k := range []replay.ExtraKind{replay.KindStart, replay.KindAddrs, replay.KindValidate, replay.KindBackoffs, replay.KindExtensions} {
		require.Positive(t, kinds[k], "no %s extra", k)
	}
}

// writes lists the write extras among events.
func writes(events []replay.Event) []replay.Extra {
	var out []replay.Extra
	for _, ev := range events {
		if x := ev.Extra; x != nil && x.Kind == replay.KindWrite {
			w := *x
			w.Seq = 0 // a place among other events, which differ
			out = append(out, w)
		}
	}
	return out
}

func rpcMeta(e *pb.TraceEvent) *pb.TraceEvent_RPCMeta {
	switch e.GetType() {
	case pb.TraceEvent_RECV_RPC:
		return e.GetRecvRPC().GetMeta()
	case pb.TraceEvent_SEND_RPC:
		return e.GetSendRPC().GetMeta()
	case pb.TraceEvent_DROP_RPC:
		return e.GetDropRPC().GetMeta()
	}
	return nil
}

// checkDelimited reads the recording's trace files with protobuf's own
// reader of length-delimited messages (what pbio.NewDelimitedWriter, and
// so pubsub's NewPBTracer, writes) and finds the events Open gives.
func checkDelimited(t *testing.T, dir string) {
	files, err := filepath.Glob(filepath.Join(dir, "trace-*.pb.gz"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var all []*pb.TraceEvent
	for _, path := range files {
		f, err := os.Open(path)
		require.NoError(t, err)
		zr, err := gzip.NewReader(f)
		require.NoError(t, err)
		r := bufio.NewReader(zr)
		for {
			ev := new(pb.TraceEvent)
			err := protodelim.UnmarshalFrom(r, ev)
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			all = append(all, ev)
		}
		require.NoError(t, f.Close())
	}
	events, _, err := readAll(t, dir)
	require.NoError(t, err)
	var traced []*pb.TraceEvent
	for _, ev := range events {
		if ev.Trace != nil {
			traced = append(traced, ev.Trace)
		}
	}
	require.Equal(t, len(all), len(traced))
	for i := range all {
		require.True(t, proto.Equal(all[i], traced[i]), "event %d", i)
	}
}
