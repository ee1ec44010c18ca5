package replay_test

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/peerscore/peerscore/internal/addrhost"
	"github.com/peerscore/peerscore/internal/pubsubrpc"
	"github.com/peerscore/peerscore/replay"
)

// stubHost reports connections to peers as a test sets them: all the
// Recorder asks a host.
type stubHost struct{ *addrhost.Host }

func newStubHost() *stubHost { return &stubHost{addrhost.New()} }

// connect gives p connections from addrs ("!" before one: a limited,
// relayed connection); none disconnects it.
func (h *stubHost) connect(p peer.ID, addrs ...string) {
	var conns []addrhost.Conn
	for _, a := range addrs {
		conns = append(conns, addrhost.Conn{Addr: ma.StringCast(strings.TrimPrefix(a, "!")), Limited: strings.HasPrefix(a, "!")})
	}
	h.Set(p, conns...)
}

// testPeer is a valid peer ID (its String is base58, as in a recording).
func testPeer(i int) peer.ID {
	return peer.ID(fmt.Sprintf("\x00\x24\x08\x01\x12\x20%032d", i))
}

// recorded runs body on synctest's clock with a Recorder in dir, closes
// it, and returns what Open reads back.
func recorded(t *testing.T, dir string, self peer.ID, opts []replay.RecorderOption, body func(r *replay.Recorder)) ([]replay.Event, replay.RecorderStats) {
	t.Helper()
	var stats replay.RecorderStats
	synctest.Test(t, func(t *testing.T) {
		r, err := replay.NewRecorder(dir, self, opts...)
		require.NoError(t, err)
		defer r.Close() // a failure in body must not leave the writer running
		body(r)
		require.NoError(t, r.Close())
		stats = r.Stats()
	})
	events, f, err := readAll(t, dir)
	require.NoError(t, err)
	require.Equal(t, replay.FormatRecording, f)
	return events, stats
}

// TestRecorderRoundTrip calls every method of the Recorder and reads the
// recording back: pubsub's trace events as pubsub's tracer builds them
// (written out here by hand), every kind of extra, all in order and at
// the instants they happened.
func TestRecorderRoundTrip(t *testing.T) {
	for _, gz := range []bool{true, false} {
		t.Run(fmt.Sprintf("gzip=%v", gz), func(t *testing.T) { roundTrip(t, gz) })
	}
}

func roundTrip(t *testing.T, gz bool) {
	self, a, b := testPeer(0), testPeer(1), testPeer(2)
	h := newStubHost()
	h.connect(a, "/ip4/1.2.3.4/tcp/1", "/ip6/2001:db8::7/udp/1/quic-v1", "/ip4/127.0.0.1/tcp/2", "!/ip4/9.9.9.9/tcp/3")
	dir := t.TempDir()
	topic := "blocks"
	reason := pubsub.RejectValidationFailed
	msgFromA := &pb.Message{From: []byte(a), Seqno: []byte{0, 0, 0, 1}, Data: []byte("hi"), Topic: &topic}
	withID := &pubsub.Message{Message: msgFromA, ID: "the-router's-id", ReceivedFrom: a}
	withoutID := &pubsub.Message{Message: msgFromA, ReceivedFrom: b}
	defaultID := string(a) + string([]byte{0, 0, 0, 1}) // pubsub.DefaultMsgIdFn
	yes, backoff := true, uint64(60)
	recv := pubsubrpc.New(&pb.RPC{
		Subscriptions: []*pb.RPC_SubOpts{{Subscribe: &yes, Topicid: &topic}},
		Publish:       []*pb.Message{msgFromA},
		Control: &pb.ControlMessage{
			Ihave:      []*pb.ControlIHave{{TopicID: &topic, MessageIDs: []string{"i1", "i2"}}},
			Iwant:      []*pb.ControlIWant{{MessageIDs: []string{"w1"}}},
			Graft:      []*pb.ControlGraft{{TopicID: &topic}},
			Prune:      []*pb.ControlPrune{{TopicID: &topic, Backoff: &backoff, Peers: []*pb.PeerInfo{{PeerID: []byte(b)}}}, {TopicID: &topic}},
			Idontwant:  []*pb.ControlIDontWant{{MessageIDs: []string{"d1"}}},
			Extensions: &pb.ControlExtensions{},
		},
	}, a)
	send := pubsubrpc.New(&pb.RPC{Control: &pb.ControlMessage{Prune: []*pb.ControlPrune{{TopicID: &topic}}}}, "")
	drop := pubsubrpc.New(&pb.RPC{Publish: []*pb.Message{msgFromA}}, "")

	var t0 time.Time
	events, stats := recorded(t, dir, self, []replay.RecorderOption{replay.WithHost(h), gzipOpt(gz)}, func(r *replay.Recorder) {
		t0 = time.Now()
		step := func() { time.Sleep(time.Millisecond) }
		step()
		r.OnNewOutboundStream(a, "/meshsub/1.2.0")
		step()
		r.Join(topic)
		step()
		r.Graft(a, topic)
		step()
		r.RecvRPC(recv)
		step()
		r.ValidateMessage(withID)
		step()
		r.DeliverMessage(withID)
		step()
		r.DuplicateMessage(withoutID)
		step()
		r.RejectMessage(withoutID, reason)
		step()
		r.ThrottlePeer(b)
		step()
		r.SendRPC(send, a)
		step()
		r.DropRPC(drop, b)
		step()
		r.SendRPCCompleted(send, a, 3*time.Millisecond)
		step()
		r.UndeliverableMessage(withID) // not recorded
		r.AppScore(a, -7.5)
		r.AppScore(b, math.NaN())
		r.AppScore(self, math.Inf(-1))
		step()
		r.Scores(map[peer.ID]float64{a: 1.5, b: -2})
		step()
		r.Prune(a, topic)
		step()
		r.Leave(topic)
		step()
		r.OnClosedOutboundStream(a)
	})
	at := func(ms int) int64 { return t0.Add(time.Duration(ms) * time.Millisecond).UnixNano() }
	ev := func(ms int, typ pb.TraceEvent_Type, fill func(e *pb.TraceEvent)) replay.Event {
		ts := at(ms)
		e := &pb.TraceEvent{Type: typ.Enum(), PeerID: []byte(self), Timestamp: &ts}
		fill(e)
		return replay.Event{At: time.Unix(0, ts), Trace: e}
	}
	x := func(ms int, seq uint64, x replay.Extra) replay.Event {
		x.At, x.Seq = at(ms), seq
		return replay.Event{At: time.Unix(0, x.At), Extra: &x}
	}
	protoID := "/meshsub/1.2.0"
	want := []replay.Event{
		x(0, 0, replay.Extra{Kind: replay.KindStart, Self: self.String()}),
		ev(1, pb.TraceEvent_ON_NEW_OUTBOUND_STREAM, func(e *pb.TraceEvent) {
			e.OnNewOutboundStream = &pb.TraceEvent_OnNewOutboundStream{PeerID: []byte(a), Proto: &protoID}
		}),
		// The address as the Scorer counts it: the IPv6 one and its /64,
		// loopback and the relayed connection left out.
		x(1, 1, replay.Extra{Kind: replay.KindAddrs, Peer: a.String(), IPs: []string{"1.2.3.4", "2001:db8::7", "2001:db8::"}}),
		ev(2, pb.TraceEvent_JOIN, func(e *pb.TraceEvent) { e.Join = &pb.TraceEvent_Join{Topic: &topic} }),
		ev(3, pb.TraceEvent_GRAFT, func(e *pb.TraceEvent) { e.Graft = &pb.TraceEvent_Graft{PeerID: []byte(a), Topic: &topic} }),
		ev(4, pb.TraceEvent_RECV_RPC, func(e *pb.TraceEvent) {
			e.RecvRPC = &pb.TraceEvent_RecvRPC{ReceivedFrom: []byte(a), Meta: &pb.TraceEvent_RPCMeta{
				Messages:     []*pb.TraceEvent_MessageMeta{{MessageID: []byte(defaultID), Topic: &topic}},
				Subscription: []*pb.TraceEvent_SubMeta{{Subscribe: &yes, Topic: &topic}},
				Control: &pb.TraceEvent_ControlMeta{
					Ihave:     []*pb.TraceEvent_ControlIHaveMeta{{Topic: &topic, MessageIDs: [][]byte{[]byte("i1"), []byte("i2")}}},
					Iwant:     []*pb.TraceEvent_ControlIWantMeta{{MessageIDs: [][]byte{[]byte("w1")}}},
					Graft:     []*pb.TraceEvent_ControlGraftMeta{{Topic: &topic}},
					Prune:     []*pb.TraceEvent_ControlPruneMeta{{Topic: &topic, Peers: [][]byte{[]byte(b)}}, {Topic: &topic}},
					Idontwant: []*pb.TraceEvent_ControlIDontWantMeta{{MessageIDs: [][]byte{[]byte("d1")}}},
				},
			}}
		}),
		x(4, 4, replay.Extra{Kind: replay.KindBackoffs, Peer: a.String(), Backoffs: []uint64{60, 0}}),
		x(4, 4, replay.Extra{Kind: replay.KindExtensions, Peer: a.String()}),
		x(5, 4, replay.Extra{Kind: replay.KindValidate, Peer: a.String(), ID: []byte("the-router's-id"), Topic: topic}),
		ev(6, pb.TraceEvent_DELIVER_MESSAGE, func(e *pb.TraceEvent) {
			e.DeliverMessage = &pb.TraceEvent_DeliverMessage{MessageID: []byte("the-router's-id"), Topic: &topic, ReceivedFrom: []byte(a)}
		}),
		ev(7, pb.TraceEvent_DUPLICATE_MESSAGE, func(e *pb.TraceEvent) {
			e.DuplicateMessage = &pb.TraceEvent_DuplicateMessage{MessageID: []byte(defaultID), Topic: &topic, ReceivedFrom: []byte(b)}
		}),
		ev(8, pb.TraceEvent_REJECT_MESSAGE, func(e *pb.TraceEvent) {
			e.RejectMessage = &pb.TraceEvent_RejectMessage{MessageID: []byte(defaultID), Topic: &topic, ReceivedFrom: []byte(b), Reason: &reason}
		}),
		x(9, 7, replay.Extra{Kind: replay.KindThrottle, Peer: b.String()}),
		ev(10, pb.TraceEvent_SEND_RPC, func(e *pb.TraceEvent) {
			e.SendRPC = &pb.TraceEvent_SendRPC{SendTo: []byte(a), Meta: &pb.TraceEvent_RPCMeta{Control: &pb.TraceEvent_ControlMeta{
				Prune: []*pb.TraceEvent_ControlPruneMeta{{Topic: &topic}},
			}}}
		}),
		x(10, 8, replay.Extra{Kind: replay.KindBackoffs, Peer: a.String(), Backoffs: []uint64{0}}),
		ev(11, pb.TraceEvent_DROP_RPC, func(e *pb.TraceEvent) {
			e.DropRPC = &pb.TraceEvent_DropRPC{SendTo: []byte(b), Meta: &pb.TraceEvent_RPCMeta{
				Messages: []*pb.TraceEvent_MessageMeta{{MessageID: []byte(defaultID), Topic: &topic}},
			}}
		}),
		x(12, 9, replay.Extra{Kind: replay.KindWrite, Peer: a.String(), Took: 3 * time.Millisecond}),
		x(13, 9, replay.Extra{Kind: replay.KindApp, Peer: a.String(), Score: -7.5}),
		x(13, 9, replay.Extra{Kind: replay.KindApp, Peer: b.String(), Score: 0}),
		x(13, 9, replay.Extra{Kind: replay.KindApp, Peer: self.String(), Score: -math.MaxFloat64}),
		x(14, 9, replay.Extra{Kind: replay.KindScores, Scores: map[string]float64{a.String(): 1.5, b.String(): -2}}),
		ev(15, pb.TraceEvent_PRUNE, func(e *pb.TraceEvent) { e.Prune = &pb.TraceEvent_Prune{PeerID: []byte(a), Topic: &topic} }),
		ev(16, pb.TraceEvent_LEAVE, func(e *pb.TraceEvent) { e.Leave = &pb.TraceEvent_Leave{Topic: &topic} }),
		ev(17, pb.TraceEvent_ON_CLOSED_OUTBOUND_STREAM, func(e *pb.TraceEvent) {
			e.OnClosedOutboundStream = &pb.TraceEvent_OnClosedOutboundStream{PeerID: []byte(a)}
		}),
	}
	requireSameEvents(t, want, events)
	require.Equal(t, uint64(12), stats.Events)
	require.Equal(t, uint64(len(want)-12), stats.Extras)
	require.Zero(t, stats.Dropped)
	require.NoError(t, stats.Err)
	require.Equal(t, 1, stats.Files)
	var onDisk int64
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2)
	for _, e := range entries {
		fi, err := e.Info()
		require.NoError(t, err)
		onDisk += fi.Size()
		name := e.Name()
		if gz {
			require.True(t, strings.HasSuffix(name, ".gz"), name)
		} else {
			require.False(t, strings.HasSuffix(name, ".gz"), name)
		}
	}
	require.Equal(t, onDisk, stats.DiskBytes)
	require.Equal(t, uint64(onDisk), stats.Bytes)
}

func gzipOpt(gz bool) replay.RecorderOption {
	if gz {
		return nil // the default
	}
	return replay.WithoutGzip()
}

// TestRecorderMsgIDFn: the IDs of the messages inside RPCs come from
// WithMsgIDFn (the router's WithMessageIdFn), as do those of message
// events without the router's ID.
func TestRecorderMsgIDFn(t *testing.T) {
	topic := "t"
	m := &pb.Message{Data: []byte("payload"), Topic: &topic}
	fn := func(m *pb.Message) string { return "id:" + string(m.Data) }
	events, _ := recorded(t, t.TempDir(), testPeer(0), []replay.RecorderOption{replay.WithMsgIDFn(fn)}, func(r *replay.Recorder) {
		r.RecvRPC(pubsubrpc.New(&pb.RPC{Publish: []*pb.Message{m}}, testPeer(1)))
		msg := &pubsub.Message{Message: m, ReceivedFrom: testPeer(1)}
		r.DeliverMessage(msg)
		require.Empty(t, msg.ID, "the router's message is not written to")
	})
	require.Len(t, events, 3)
	require.Equal(t, "id:payload", string(events[1].Trace.GetRecvRPC().GetMeta().GetMessages()[0].GetMessageID()))
	require.Equal(t, "id:payload", string(events[2].Trace.GetDeliverMessage().GetMessageID()))
}

// TestRecorderManualStart: with WithManualStart the start extra is
// written by Start, once, where it is called.
func TestRecorderManualStart(t *testing.T) {
	events, _ := recorded(t, t.TempDir(), testPeer(0), []replay.RecorderOption{replay.WithManualStart()}, func(r *replay.Recorder) {
		r.Join("a")
		time.Sleep(time.Second)
		r.Start()
		r.Start()
		r.Join("b")
	})
	require.Equal(t, []replay.ExtraKind{"", replay.KindStart, ""}, extraKinds(events))
	require.Equal(t, events[0].At.Add(time.Second), events[1].At)
}

func extraKinds(events []replay.Event) []replay.ExtraKind {
	var out []replay.ExtraKind
	for _, ev := range events {
		if ev.Extra != nil {
			out = append(out, ev.Extra.Kind)
		} else {
			out = append(out, "")
		}
	}
	return out
}

// TestRecorderClose: Close writes everything buffered and leaves whole
// files (no truncation at the end); it may be called again, from several
// goroutines at once; afterwards the methods do nothing.
func TestRecorderClose(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		r, err := replay.NewRecorder(dir, testPeer(0))
		require.NoError(t, err)
		defer r.Close()
		for i := range 1000 {
			r.Join(fmt.Sprint(i))
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { require.NoError(t, r.Close()) })
		}
		wg.Wait()
		require.NoError(t, r.Close())
		st := r.Stats()
		require.Equal(t, uint64(1000), st.Events)
		r.Join("late")
		r.RecvRPC(pubsubrpc.New(&pb.RPC{}, testPeer(1)))
		r.AppScore(testPeer(1), 1)
		r.Scores(map[peer.ID]float64{testPeer(1): 1})
		r.Start()
		require.Equal(t, st, r.Stats(), "nothing after Close")
	})
	events, _, err := readAll(t, dir) // no ErrTruncated: gzip's trailers are there
	require.NoError(t, err)
	require.Len(t, events, 1001)
	for i, ev := range events[1:] {
		require.Equal(t, fmt.Sprint(i), ev.Trace.GetJoin().GetTopic())
	}
}

// TestRecorderFlushes: what is recorded reaches the files within the
// flush interval, readable while the Recorder runs (ErrTruncated at the
// end: gzip's stream is not closed yet).
func TestRecorderFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		r, err := replay.NewRecorder(dir, testPeer(0), replay.WithFlushInterval(time.Second))
		require.NoError(t, err)
		defer r.Close()
		r.Join("a")
		time.Sleep(1100 * time.Millisecond)
		synctest.Wait()
		src, err := replay.Open(dir)
		require.NoError(t, err)
		defer src.Close()
		var got []replay.Event
		for {
			ev, err := src.Next()
			if err != nil {
				require.ErrorIs(t, err, replay.ErrTruncated)
				break
			}
			got = append(got, ev)
		}
		require.Len(t, got, 2)
		require.Equal(t, "a", got[1].Trace.GetJoin().GetTopic())
	})
}

// TestRecorderRotation: pairs close at WithMaxFileSize; the oldest go
// when the files pass WithMaxDiskSize; Open reads what is left, a
// contiguous tail of what was recorded, from the recording's start (each
// pair begins with it).
func TestRecorderRotation(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", gz), func(t *testing.T) {
			const maxFile, maxDisk = 16 << 10, 64 << 10
			dir := t.TempDir()
			n := 4000
			if gz {
				n = 40000
			}
			events, st := recorded(t, dir, testPeer(0), []replay.RecorderOption{
				gzipOpt(gz), replay.WithMaxFileSize(maxFile), replay.WithMaxDiskSize(maxDisk),
			}, func(r *replay.Recorder) {
				for i := range n {
					r.Join(fmt.Sprintf("topic-%06d", i))
					if i%100 == 0 {
						time.Sleep(time.Millisecond) // the writer keeps up
					}
				}
			})
			require.Zero(t, st.Dropped)
			require.Equal(t, uint64(n), st.Events)
			require.Positive(t, st.Deleted, "old pairs deleted")
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Equal(t, 2*st.Files, len(entries))
			var total int64
			for _, e := range entries {
				fi, err := e.Info()
				require.NoError(t, err)
				total += fi.Size()
				if strings.HasPrefix(e.Name(), "trace-") {
					slack := int64(200) // the record that crossed the line
					if gz {
						slack = 8 << 10 // what gzip held back
					}
					require.LessOrEqual(t, fi.Size(), int64(maxFile)+slack, e.Name())
				}
			}
			require.Equal(t, total, st.DiskBytes)
			require.LessOrEqual(t, total, int64(maxDisk))
			require.Greater(t, total, int64(maxDisk-2*maxFile), "no more deleted than needed")

			require.Equal(t, replay.KindStart, events[0].Extra.Kind, "the start survives in every pair")
			kept := events[1:]
			for _, ev := range kept {
				require.NotNil(t, ev.Trace, "one start, however many pairs")
			}
			first := n - len(kept)
			require.Positive(t, first)
			for i, ev := range kept {
				require.Equal(t, fmt.Sprintf("topic-%06d", first+i), ev.Trace.GetJoin().GetTopic())
			}
		})
	}
}

// TestRecorderRestart: a Recorder on a directory with an earlier run's
// pairs numbers on after them, counts them against the disk bound, and
// deletes an extras file a crash left alone; Open reads both runs, each
// with its start.
func TestRecorderRestart(t *testing.T) {
	dir := t.TempDir()
	var st replay.RecorderStats
	synctest.Test(t, func(t *testing.T) {
		run := func(topic string, opts ...replay.RecorderOption) {
			r, err := replay.NewRecorder(dir, testPeer(0), opts...)
			require.NoError(t, err)
			r.Join(topic)
			require.NoError(t, r.Close())
			st = r.Stats()
		}
		run("first run")
		writeFile(t, dir, "extra-000007.jsonl", []byte("{}\n"))
		time.Sleep(time.Hour)
		run("second run")
	})
	_, err := os.Stat(filepath.Join(dir, "extra-000007.jsonl"))
	require.ErrorIs(t, err, os.ErrNotExist, "the orphan extras file is deleted")
	_, err = os.Stat(filepath.Join(dir, "trace-000008.pb.gz"))
	require.NoError(t, err, "numbering goes on after the highest")
	require.Equal(t, 2, st.Files)
	events, _, err := readAll(t, dir)
	require.NoError(t, err)
	require.Equal(t, []replay.ExtraKind{replay.KindStart, "", replay.KindStart, ""}, extraKinds(events))
	require.Equal(t, "first run", events[1].Trace.GetJoin().GetTopic())
	require.Equal(t, "second run", events[3].Trace.GetJoin().GetTopic())
	require.Equal(t, time.Hour, events[2].At.Sub(events[0].At))

	// The earlier runs' files count against the bound: too big, they go,
	// the oldest first, until the files are under it.
	writeFile(t, dir, "trace-000009.pb", make([]byte, 1<<20))
	writeFile(t, dir, "extra-000009.jsonl", nil)
	events, st = recorded(t, dir, testPeer(0), []replay.RecorderOption{replay.WithMaxFileSize(64 << 10), replay.WithMaxDiskSize(512 << 10)}, func(r *replay.Recorder) {
		r.Join("third run")
	})
	require.Equal(t, uint64(3), st.Deleted)
	require.Equal(t, 1, st.Files)
	require.Equal(t, []replay.ExtraKind{replay.KindStart, ""}, extraKinds(events))
}

// TestRecorderOptions: options are checked.
func TestRecorderOptions(t *testing.T) {
	dir := t.TempDir()
	for _, opt := range []replay.RecorderOption{
		replay.WithHost(nil), replay.WithMsgIDFn(nil), replay.WithRecorderLogger(nil),
		replay.WithMaxFileSize(0), replay.WithMaxDiskSize(-1), replay.WithBufferSize(0),
		replay.WithFlushInterval(0), replay.WithAddrInterval(-time.Second),
	} {
		_, err := replay.NewRecorder(dir, testPeer(0), opt)
		require.ErrorContains(t, err, "replay: With")
	}
	_, err := replay.NewRecorder(dir, testPeer(0), replay.WithMaxFileSize(2<<20), replay.WithMaxDiskSize(1<<20))
	require.ErrorContains(t, err, "not one pair would fit")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "nothing written by a Recorder that was not made")
}

// TestRecorderAddrPoll: the addresses of the peers with an open stream are
// read again every WithAddrInterval and recorded when they changed; a
// peer whose stream closed, or that is no longer connected, is not read
// again.
func TestRecorderAddrPoll(t *testing.T) {
	a, b := testPeer(1), testPeer(2)
	h := newStubHost()
	h.connect(a, "/ip4/1.1.1.1/tcp/1")
	h.connect(b, "/ip4/2.2.2.2/tcp/1")
	var t0 time.Time
	events, _ := recorded(t, t.TempDir(), testPeer(0), []replay.RecorderOption{replay.WithHost(h)}, func(r *replay.Recorder) {
		t0 = time.Now()
		r.OnNewOutboundStream(a, "/meshsub/1.1.0")
		r.OnNewOutboundStream(b, "/meshsub/1.1.0")
		time.Sleep(90 * time.Second) // one poll at 60 s: nothing changed
		h.connect(a, "/ip4/1.1.1.1/tcp/1", "/ip4/3.3.3.3/tcp/1")
		h.connect(b, "/ip4/4.4.4.4/tcp/1")
		r.OnClosedOutboundStream(b)  // not read again
		time.Sleep(60 * time.Second) // the poll at 120 s
		h.connect(a)                 // a disconnects
		time.Sleep(60 * time.Second) // at 180 s: a has no address left
		h.connect(a, "/ip4/5.5.5.5/tcp/1")
		time.Sleep(120 * time.Second) // a is no longer read
	})
	type addrs struct {
		at  time.Duration
		who peer.ID
		ips []string
	}
	var got []addrs
	for _, ev := range events {
		if x := ev.Extra; x != nil && x.Kind == replay.KindAddrs {
			p, err := peer.Decode(x.Peer)
			require.NoError(t, err)
			got = append(got, addrs{ev.At.Sub(t0), p, x.IPs})
		}
	}
	require.Equal(t, []addrs{
		{0, a, []string{"1.1.1.1"}},
		{0, b, []string{"2.2.2.2"}},
		{120 * time.Second, a, []string{"1.1.1.1", "3.3.3.3"}},
		{180 * time.Second, a, nil},
	}, got)
}

// TestRecorderConcurrent: a Recorder under many goroutines at once (the
// router's loop, its validation goroutines, the writes completing, the
// application) stays consistent: every event written or counted dropped,
// the events of each goroutine in their order, time never going back.
func TestRecorderConcurrent(t *testing.T) {
	dir := t.TempDir()
	const goroutines, each = 8, 2000
	var st replay.RecorderStats
	r, err := replay.NewRecorder(dir, testPeer(0), replay.WithBufferSize(64<<10))
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				switch i % 3 {
				case 0:
					r.Join(fmt.Sprintf("%d/%d", g, i))
				case 1:
					r.AppScore(testPeer(g), float64(i))
				default:
					r.SendRPC(pubsubrpc.New(&pb.RPC{Control: &pb.ControlMessage{Graft: []*pb.ControlGraft{{TopicID: proto.String(fmt.Sprintf("%d/%d", g, i))}}}}, ""), testPeer(g))
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, r.Close())
	st = r.Stats()
	events, _, err := readAll(t, dir)
	require.NoError(t, err)
	require.Equal(t, uint64(goroutines*each+1), st.Events+st.Extras+st.Dropped)
	require.Equal(t, st.Events+st.Extras, uint64(len(events)))
	last := map[int]int{}
	for i, ev := range events {
		if i > 0 {
			require.False(t, ev.At.Before(events[i-1].At), "event %d goes back in time", i)
		}
		var g, n int
		switch {
		case ev.Trace.GetJoin() != nil:
			_, err = fmt.Sscanf(ev.Trace.GetJoin().GetTopic(), "%d/%d", &g, &n)
		case ev.Trace.GetSendRPC() != nil:
			_, err = fmt.Sscanf(ev.Trace.GetSendRPC().GetMeta().GetControl().GetGraft()[0].GetTopic(), "%d/%d", &g, &n)
		default:
			continue
		}
		require.NoError(t, err)
		if prev, ok := last[g]; ok {
			require.Greater(t, n, prev, "goroutine %d's events out of order", g)
		}
		last[g] = n
	}
}

// TestRecorderDiskFailure: when the next pair cannot be created (the
// directory is gone), the events are dropped and counted, the error is
// kept (Stats, Close), and a new pair is tried after a delay; once the
// directory is back, recording carries on, starting with the start.
func TestRecorderDiskFailure(t *testing.T) {
	dir := t.TempDir()
	var st replay.RecorderStats
	var closeErr error
	synctest.Test(t, func(t *testing.T) {
		r, err := replay.NewRecorder(dir, testPeer(0), replay.WithoutGzip(),
			replay.WithMaxFileSize(4<<10), replay.WithFlushInterval(time.Second),
			replay.WithRecorderLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		require.NoError(t, err)
		defer r.Close()
		r.Join("before")
		time.Sleep(200 * time.Millisecond) // written
		require.NoError(t, os.RemoveAll(dir))
		for i := range 200 { // past 4 KiB: the pair closes, the next cannot open
			r.Join(fmt.Sprintf("lost-%03d", i))
		}
		time.Sleep(200 * time.Millisecond)
		st = r.Stats()
		require.ErrorIs(t, st.Err, os.ErrNotExist)
		require.Positive(t, st.Dropped)
		require.NoError(t, os.Mkdir(dir, 0o755))
		time.Sleep(1500 * time.Millisecond) // the retry
		r.Join("after")
		closeErr = r.Close()
		st = r.Stats()
	})
	require.ErrorIs(t, closeErr, os.ErrNotExist, "Close returns the first error")
	require.Equal(t, uint64(201+1), st.Events+st.Dropped, "every event written or counted")
	events, _, err := readAll(t, dir)
	require.NoError(t, err)
	require.Equal(t, []replay.ExtraKind{replay.KindStart, ""}, extraKinds(events))
	require.Equal(t, "after", events[1].Trace.GetJoin().GetTopic())
}

// TestRecorderAbsentFields: a field the router's structures leave out (a
// message or a control message without a topic, a subscription without
// its flag, a PX peer without an ID) is left out of the recorded event
// too, as pubsub's tracer leaves it out: proto2 tells absent from empty.
func TestRecorderAbsentFields(t *testing.T) {
	from := testPeer(1)
	noTopic := &pb.Message{Data: []byte("x")}
	rpc := pubsubrpc.New(&pb.RPC{
		Publish:       []*pb.Message{noTopic},
		Subscriptions: []*pb.RPC_SubOpts{{}},
		Control: &pb.ControlMessage{
			Ihave: []*pb.ControlIHave{{MessageIDs: []string{""}}},
			Iwant: []*pb.ControlIWant{{}},
			Graft: []*pb.ControlGraft{{}},
			Prune: []*pb.ControlPrune{{Peers: []*pb.PeerInfo{{}}}},
		},
	}, from)
	fn := func(*pb.Message) string { return "" }
	events, _ := recorded(t, t.TempDir(), testPeer(0), []replay.RecorderOption{replay.WithManualStart(), replay.WithMsgIDFn(fn)}, func(r *replay.Recorder) {
		r.RecvRPC(rpc)
		r.DeliverMessage(&pubsub.Message{Message: noTopic, ReceivedFrom: from})
		r.RejectMessage(&pubsub.Message{ReceivedFrom: from}, "")
	})
	require.Len(t, events, 4) // and the backoffs of the PRUNE
	ts := events[0].At.UnixNano()
	self := []byte(testPeer(0))
	empty := []byte{}
	want := &pb.TraceEvent{Type: pb.TraceEvent_RECV_RPC.Enum(), PeerID: self, Timestamp: &ts, RecvRPC: &pb.TraceEvent_RecvRPC{
		ReceivedFrom: []byte(from),
		Meta: &pb.TraceEvent_RPCMeta{
			Messages:     []*pb.TraceEvent_MessageMeta{{MessageID: empty}},
			Subscription: []*pb.TraceEvent_SubMeta{{}},
			Control: &pb.TraceEvent_ControlMeta{
				Ihave: []*pb.TraceEvent_ControlIHaveMeta{{MessageIDs: [][]byte{empty}}},
				Iwant: []*pb.TraceEvent_ControlIWantMeta{{}},
				Graft: []*pb.TraceEvent_ControlGraftMeta{{}},
				Prune: []*pb.TraceEvent_ControlPruneMeta{{Peers: [][]byte{empty}}},
			},
		},
	}}
	require.True(t, proto.Equal(want, events[0].Trace), "got %v", events[0].Trace)
	require.Equal(t, []uint64{0}, events[1].Extra.Backoffs)
	ts = events[2].At.UnixNano()
	want = &pb.TraceEvent{Type: pb.TraceEvent_DELIVER_MESSAGE.Enum(), PeerID: self, Timestamp: &ts,
		DeliverMessage: &pb.TraceEvent_DeliverMessage{MessageID: empty, ReceivedFrom: []byte(from)}}
	require.True(t, proto.Equal(want, events[2].Trace), "got %v", events[2].Trace)
	reason := ""
	ts = events[3].At.UnixNano()
	want = &pb.TraceEvent{Type: pb.TraceEvent_REJECT_MESSAGE.Enum(), PeerID: self, Timestamp: &ts,
		RejectMessage: &pb.TraceEvent_RejectMessage{MessageID: empty, ReceivedFrom: []byte(from), Reason: &reason}}
	require.True(t, proto.Equal(want, events[3].Trace), "got %v", events[3].Trace)
	require.Nil(t, events[2].Trace.GetDeliverMessage().Topic, "absent, not empty")
}

// TestRecorderRouterTimings: the router's timings (WithGossipSubParams)
// reach the recording's start extra, in every pair: a recording whose
// first pairs were deleted still has them.
func TestRecorderRouterTimings(t *testing.T) {
	gp := pubsub.DefaultGossipSubParams()
	gp.HeartbeatInterval, gp.HeartbeatInitialDelay = 700*time.Millisecond, 50*time.Millisecond
	want := &replay.RouterTimings{HeartbeatInterval: 700 * time.Millisecond, HeartbeatInitialDelay: 50 * time.Millisecond,
		IWantFollowupTime: gp.IWantFollowupTime, PruneBackoff: gp.PruneBackoff, GraftFloodThreshold: gp.GraftFloodThreshold}
	dir := t.TempDir()
	events, st := recorded(t, dir, testPeer(0), []replay.RecorderOption{
		replay.WithGossipSubParams(gp), replay.WithoutGzip(), replay.WithMaxFileSize(4 << 10), replay.WithMaxDiskSize(8 << 10),
	}, func(r *replay.Recorder) {
		for i := range 1000 {
			r.Join(fmt.Sprint(i))
		}
	})
	require.Positive(t, st.Deleted, "the first pair is gone")
	require.Equal(t, replay.KindStart, events[0].Extra.Kind)
	require.Equal(t, want, events[0].Extra.Router)
}
