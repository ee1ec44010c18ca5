package replay

import (
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/stretchr/testify/require"
)

// messageEvents are a delivery, a copy, a rejection, and the node's own
// message, from 100 ms on.
func messageEvents() []Event {
	return []Event{
		deliverEv(ms(100), peerA, "m1"),
		duplicateEv(ms(101), peerB, "m1"),
		rejectEv(ms(102), peerB, "m2", pubsub.RejectValidationFailed),
		deliverEv(ms(103), selfID, "m3"),
	}
}

// pubsubEvents is a pubsub trace: no extras, the node from PeerID.
func pubsubEvents() []Event {
	return append([]Event{joinEv(0), streamEv(0, peerA), streamEv(0, peerB)}, messageEvents()...)
}

// TestInferences: what a replay of pubsub's trace must infer, and a
// recording need not.
func TestInferences(t *testing.T) {
	for _, f := range []Format{FormatProto, FormatJSON} {
		t.Run(string(f), func(t *testing.T) {
			out := newReplayer(t, f, Config{}, pubsubEvents()...).Finish()
			require.Equal(t, map[string]int64{
				inferredStart:      1,
				inferredTimings:    1,
				inferredValidation: 3, // the node's own message is not replayed
			}, out.Info.Inferred)
			require.Equal(t, f, out.Info.Format)
			require.Equal(t, map[string]int64{"JOIN": 1, "ON_NEW_OUTBOUND_STREAM": 2, "DELIVER_MESSAGE": 2, "DUPLICATE_MESSAGE": 1, "REJECT_MESSAGE": 1},
				out.Info.Trace)
			require.Nil(t, out.Info.Extras)
			require.Equal(t, int64(len(pubsubEvents())), out.Info.Events)
		})
	}
	t.Run("recording", func(t *testing.T) {
		out := newReplayer(t, FormatRecording, Config{}, append(baseEvents(), messageEvents()...)...).Finish()
		require.Empty(t, out.Info.Inferred)
		require.Equal(t, map[ExtraKind]int64{KindStart: 1, KindAddrs: 2}, out.Info.Extras)
	})
	t.Run("a pubsub trace merged with a recording's extras", func(t *testing.T) {
		// The scorer's start is the recording's; validation is still
		// inferred (the merged format is pubsub's).
		out := newReplayer(t, FormatProto, Config{}, append(baseEvents(), messageEvents()...)...).Finish()
		require.Equal(t, map[string]int64{inferredValidation: 3}, out.Info.Inferred)
	})
}

// TestBackoffInference: a PRUNE sent or received without the recording's
// backoffs is given the router's default, and the report says so.
func TestBackoffInference(t *testing.T) {
	cases := []struct {
		name   string
		events []Event
		want   int64
	}{
		{"PRUNEs without backoffs", []Event{sendEv(ms(100), peerA, pruneMeta()), recvEv(ms(200), peerB, pruneMeta()), dropEv(ms(300), peerB, pruneMeta())}, 3},
		{"PRUNEs with backoffs", []Event{sendEv(ms(100), peerA, pruneMeta()), backoffsEv(ms(100), peerA, 60),
			recvEv(ms(200), peerB, pruneMeta()), backoffsEv(ms(200), peerB, 0)}, 0},
		{"the last RPC, flushed by Finish", []Event{recvEv(ms(200), peerB, pruneMeta())}, 1},
		{"RPCs without PRUNEs", []Event{sendEv(ms(100), peerA, graftMeta()), recvEv(ms(200), peerB, iwantMeta("m"))}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := newReplayer(t, FormatRecording, Config{}, append(baseEvents(), c.events...)...).Finish()
			require.Equal(t, c.want, out.Info.Inferred[inferredBackoff])
		})
	}
}

// TestComponents: what the report says each part of the score owes to the
// trace.
func TestComponents(t *testing.T) {
	replayed := func(i Info) map[string]string {
		m := map[string]string{}
		for _, c := range i.Components() {
			require.NotEmpty(t, c.Why, c.Name)
			m[c.Name] = c.Replayed
		}
		return m
	}
	pubsubTrace := newReplayer(t, FormatProto, Config{}, pubsubEvents()...).Finish().Info
	require.Equal(t, map[string]string{
		"P1 time in mesh": "yes", "P2, P3, P3b first and mesh deliveries": "yes", "P4 invalid messages": "yes",
		"P5 application score": "no", "P6 IP colocation": "no", "P7 behaviour penalty": "partly", "slow-peer penalty": "partly",
	}, replayed(pubsubTrace))

	// A recording with addresses but no application scores: P5 is not
	// replayed.
	rec := newReplayer(t, FormatRecording, Config{}, baseEvents()...).Finish().Info
	got := replayed(rec)
	require.Equal(t, "no", got["P5 application score"])
	require.Equal(t, "yes", got["P6 IP colocation"])
	require.Equal(t, "yes", got["P7 behaviour penalty"])
	require.Equal(t, "partly", got["slow-peer penalty"])

	full := newReplayer(t, FormatRecording, Config{}, append(baseEvents(), appEv(ms(100), peerA, 1),
		extraAt(ms(200), Extra{Kind: KindWrite, Peer: peerA.String(), Took: time.Millisecond}))...).Finish().Info
	got = replayed(full)
	require.Equal(t, "yes", got["P5 application score"])
	require.Equal(t, "yes", got["slow-peer penalty"])

	// Without addresses, P6 is not replayed, recording or not.
	noAddrs := Info{Format: FormatRecording, Extras: map[ExtraKind]int64{KindApp: 1}}
	require.Equal(t, "no", replayed(noAddrs)["P6 IP colocation"])
	require.Equal(t, "yes", replayed(noAddrs)["P5 application score"])
}

// TestInferredList: the report lists the inferences most frequent first.
func TestInferredList(t *testing.T) {
	var i Info
	require.Empty(t, i.inferredList())
	for range 3 {
		i.inferred(inferredStart)
	}
	for range 12 {
		i.inferred(inferredValidation)
	}
	for range 5 {
		i.inferred(inferredBackoff)
	}
	require.Equal(t, []string{
		inferredValidation + " (12 events)",
		inferredBackoff + " (5 events)",
		inferredStart + " (3 events)",
	}, i.inferredList())
}
