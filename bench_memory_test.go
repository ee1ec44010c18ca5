package peerscore_test

// What the scorer's books cost in memory, measured: the heap one message
// delivery record takes, one retained peer, and one saved peer in the
// state Save writes. These are benchmarks for the numbers they report
// (B/record, B/peer), not for their time; the figures in docs/memory.md
// come from them:
//
//	go test -run '^$' -bench 'Memory|SavedPeerSize' -benchtime 3x .

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
)

// memHeap returns the live heap after a full collection.
func memHeap() uint64 {
	runtime.GC()
	runtime.GC() // the second one frees what the first one's finalisers released
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// memID returns a message ID of n bytes unique to i, in a string of its
// own, as the router hands each message's ID to the tracer.
func memID(i, n int) string {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte('a' + j%26)
	}
	binary.BigEndian.PutUint64(b[n-8:], uint64(i))
	return string(b)
}

// memPeerID is a peer ID of the usual size (an ed25519 identity multihash,
// 38 bytes).
func memPeerID(i int) peer.ID {
	return peer.ID(fmt.Sprintf("\x00\x24\x08\x01\x12\x20mem-peer-public-key-%013d", i))
}

// BenchmarkDeliveryRecordMemory creates records through the tracer as the
// router does (ValidateMessage, DeliverMessage from the first sender, then
// DuplicateMessage from each other sender) and reports the heap they hold
// per record, everything a record keeps alive counted: the record, its
// message ID, its map entry and ring slot, and its spilled senders. Message
// IDs are 20 bytes (Ethereum's) or 46 (pubsub's default, From + Seqno);
// "senders" is how many peers the scorer records per message: a copy from
// each of a D=8 mesh is the first delivery and 7 more; an 8th spills out
// of the record. "default-cap" fills DefaultMaxDeliveryRecords.
func BenchmarkDeliveryRecordMemory(b *testing.B) {
	for _, c := range []struct {
		name           string
		idLen, copies  int
		records        int
		maxDeliveryCap bool
	}{
		{"id20", 20, 1, 1 << 16, false},
		{"id46", 46, 1, 1 << 16, false},
		{"id20/mesh8", 20, 8, 1 << 16, false},
		{"id46/mesh8", 46, 8, 1 << 16, false},
		{"id46/senders8", 46, 9, 1 << 16, false},
		{"id20/default-cap", 20, 1, peerscore.DefaultMaxDeliveryRecordsForTest, true},
		{"id46/default-cap", 46, 1, peerscore.DefaultMaxDeliveryRecordsForTest, true},
		{"id46/mesh8/default-cap", 46, 8, peerscore.DefaultMaxDeliveryRecordsForTest, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			var total float64
			for b.Loop() {
				total += memRecords(b, c.idLen, c.copies, c.records)
			}
			b.ReportMetric(total/float64(b.N), "B/record")
			if c.maxDeliveryCap {
				b.ReportMetric(total/float64(b.N)*float64(c.records)/(1<<20), "MiB/cap")
			}
		})
	}
}

// memRecords builds a scorer holding n records and returns the heap bytes
// per record.
func memRecords(b *testing.B, idLen, copies, n int) float64 {
	topic := "T"
	params := &peerscore.Params{
		SkipAtomicValidation: true,
		Topics: map[string]*peerscore.TopicParams{topic: {
			SkipAtomicValidation: true, TopicWeight: 1,
			FirstMessageDeliveriesWeight: 1, FirstMessageDeliveriesDecay: 0.5, FirstMessageDeliveriesCap: 100,
		}},
		DecayInterval: time.Second,
		DecayToZero:   0.01,
		SeenMsgTTL:    time.Hour,
	}
	s, err := peerscore.New(params)
	if err != nil {
		b.Fatal(err)
	}
	senders := make([]peer.ID, copies)
	for i := range senders {
		senders[i] = memPeerID(i)
		s.Tracer().OnNewOutboundStream(senders[i], "/meshsub/1.1.0")
	}
	before := memHeap()
	for i := range n {
		msg := &pubsub.Message{
			Message:      &pb.Message{Topic: &topic},
			ID:           memID(i, idLen),
			ReceivedFrom: senders[0],
		}
		s.Tracer().ValidateMessage(msg)
		s.Tracer().DeliverMessage(msg)
		for _, from := range senders[1:] {
			dup := *msg
			dup.ReceivedFrom = from
			s.Tracer().DuplicateMessage(&dup)
		}
	}
	after := memHeap()
	if got := s.Stats().DeliveryRecords; got != n {
		b.Fatalf("%d records, want %d", got, n)
	}
	runtime.KeepAlive(s)
	return float64(after-before) / float64(n)
}

// BenchmarkRetainedPeerMemory retains peers with counters in 0, 1, 8 or 75
// topics (an invalid message in each) and reports the heap each holds:
// its state, its counters, its place in the peer table and the retained
// set, its ID.
func BenchmarkRetainedPeerMemory(b *testing.B) {
	for _, topics := range []int{0, 1, 8, 75} {
		b.Run(fmt.Sprintf("topics%d", topics), func(b *testing.B) {
			var total float64
			for b.Loop() {
				total += memRetained(b, topics, 1<<13)
			}
			b.ReportMetric(total/float64(b.N), "B/peer")
			b.ReportMetric(total/float64(b.N)*peerscore.DefaultMaxRetainedPeersForTest/(1<<20), "MiB/default-bound")
		})
	}
}

func memRetained(b *testing.B, topics, n int) float64 {
	s, names := retainedScorer(b, topics, n)
	before := memHeap()
	fillRetained(s, names, n)
	after := memHeap()
	if st := s.Stats(); st.Retained != n || st.DeliveryRecords != 0 {
		b.Fatalf("%d retained, %d records; want %d and none", st.Retained, st.DeliveryRecords, n)
	}
	runtime.KeepAlive(s)
	return float64(after-before) / float64(n)
}

// retainedScorer returns a scorer for n retained peers with counters in
// the given number of topics (named as Ethereum's attestation subnets),
// and the topics' names.
func retainedScorer(b *testing.B, topics, n int) (*peerscore.Scorer, []string) {
	params := &peerscore.Params{
		SkipAtomicValidation:   true,
		Topics:                 map[string]*peerscore.TopicParams{},
		BehaviourPenaltyWeight: -1,
		BehaviourPenaltyDecay:  0.5,
		DecayInterval:          time.Second,
		DecayToZero:            0.01,
		RetainScore:            time.Hour,
	}
	names := make([]string, topics)
	for i := range names {
		names[i] = fmt.Sprintf("/eth2/4a26c58b/beacon_attestation_%d/ssz_snappy", i)
		params.Topics[names[i]] = &peerscore.TopicParams{
			SkipAtomicValidation: true, TopicWeight: 1,
			InvalidMessageDeliveriesWeight: -1, InvalidMessageDeliveriesDecay: 0.5,
		}
	}
	s, err := peerscore.New(params, peerscore.WithMaxRetainedPeers(n))
	if err != nil {
		b.Fatal(err)
	}
	return s, names
}

// fillRetained connects n peers, charges each a behaviour penalty and an
// invalid message in every topic, and disconnects them: all retained.
func fillRetained(s *peerscore.Scorer, topics []string, n int) {
	for i := range n {
		p := memPeerID(i)
		s.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
		s.AddPenalty(p, 1)
		for _, topic := range topics {
			// A bad signature charges P4 without a delivery record.
			msg := &pubsub.Message{Message: &pb.Message{Topic: &topic}, ReceivedFrom: p}
			s.Tracer().RejectMessage(msg, pubsub.RejectInvalidSignature)
		}
		s.Tracer().OnClosedOutboundStream(p)
	}
}

// BenchmarkSavedPeerSize reports what one retained peer takes in the state
// Save writes (saved-B/peer), with counters in 0, 1, 8 or 75 topics (a
// P7 counter, and an invalid message in each topic, whole numbers), peer
// IDs of the usual 52 characters, no addresses; and how many such peers
// fit in the state's 64 MiB limit (peers/limit).
func BenchmarkSavedPeerSize(b *testing.B) {
	const n = 1000
	for _, topics := range []int{0, 1, 8, 75} {
		b.Run(fmt.Sprintf("topics%d", topics), func(b *testing.B) {
			s, names := retainedScorer(b, topics, n)
			fillRetained(s, names, n)
			var size int
			for b.Loop() {
				var buf bytes.Buffer
				if err := s.Save(&buf); err != nil {
					b.Fatal(err)
				}
				size = buf.Len()
			}
			b.ReportMetric(float64(size)/n, "saved-B/peer")
			b.ReportMetric(float64(64<<20)/(float64(size)/n), "peers/limit")
		})
	}
}
