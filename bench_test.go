package peerscore_test

// Benchmarks of the scorer's hot paths, on the workloads of the side-by-side
// comparison with pubsub's own scorer (../shared/refbench): the same
// parameters (64 scored topics shaped like Ethereum's attestation subnets),
// the same peer IDs, the same populations. The end-to-end router benchmark is
// in bench_router_test.go.
//
// None of them runs without -bench. With -benchtime 1x each does one round
// of its workload, quickly, so CI can smoke-run them all:
//
//	go test -run '^$' -bench . -benchtime 1x ./...

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
)

// benchSink keeps the compiler from discarding the scores read.
var benchSink float64

// benchPubsubTopicParams are refbench's topic parameters, field for field.
func benchPubsubTopicParams() *pubsub.TopicScoreParams {
	return &pubsub.TopicScoreParams{
		TopicWeight: 0.5, TimeInMeshWeight: 0.03333, TimeInMeshQuantum: time.Second, TimeInMeshCap: 300,
		FirstMessageDeliveriesWeight: 1, FirstMessageDeliveriesDecay: 0.99, FirstMessageDeliveriesCap: 100,
		MeshMessageDeliveriesWeight: -1, MeshMessageDeliveriesDecay: 0.97, MeshMessageDeliveriesCap: 100,
		MeshMessageDeliveriesThreshold: 5, MeshMessageDeliveriesWindow: 2 * time.Second,
		MeshMessageDeliveriesActivation: 4 * time.Second,
		MeshFailurePenaltyWeight:        -1, MeshFailurePenaltyDecay: 0.97,
		InvalidMessageDeliveriesWeight: -1000, InvalidMessageDeliveriesDecay: 0.99,
	}
}

// benchPubsubParams are refbench's parameters (sbsParams), in pubsub's
// types, with nTopics scored topics.
func benchPubsubParams(nTopics int) (*pubsub.PeerScoreParams, []string) {
	params := &pubsub.PeerScoreParams{
		AppSpecificScore: func(peer.ID) float64 { return 0 }, AppSpecificWeight: 1,
		BehaviourPenaltyWeight: -10, BehaviourPenaltyDecay: 0.99, BehaviourPenaltyThreshold: 6,
		DecayInterval: time.Second, DecayToZero: 0.01, RetainScore: time.Hour,
		Topics: map[string]*pubsub.TopicScoreParams{},
	}
	topics := make([]string, nTopics)
	for i := range topics {
		topics[i] = "/eth2/00000000/beacon_attestation_" + strconv.Itoa(i) + "/ssz_snappy"
		params.Topics[topics[i]] = benchPubsubTopicParams()
	}
	return params, topics
}

// benchScorer is a Scorer on refbench's parameters with 64 scored topics.
func benchScorer(tb testing.TB, opts ...peerscore.Option) (*peerscore.Scorer, []string) {
	tb.Helper()
	p, topics := benchPubsubParams(64)
	s, err := peerscore.New(peerscore.ParamsFromPubsub(p), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return s, topics
}

// benchPeerIDs are refbench's peer IDs.
func benchPeerIDs(n int) []peer.ID {
	peers := make([]peer.ID, n)
	for i := range peers {
		peers[i] = peer.ID(fmt.Sprintf("peer-%06d", i))
	}
	return peers
}

// benchConnect connects peers and grafts each into perPeer topics, as
// refbench's populate does.
func benchConnect(s *peerscore.Scorer, peers []peer.ID, perPeer int, topics []string) {
	for i, p := range peers {
		s.Tracer().OnNewOutboundStream(p, "/meshsub/1.2.0")
		for j := 0; j < perPeer; j++ {
			s.Tracer().Graft(p, topics[(i+j)%len(topics)])
		}
	}
}

func benchPopulate(s *peerscore.Scorer, nPeers, perPeer int, topics []string) []peer.ID {
	peers := benchPeerIDs(nPeers)
	benchConnect(s, peers, perPeer, topics)
	return peers
}

// benchCopies are one message as it arrives from eight peers (a mesh of
// D=8): the first copy, then seven duplicates.
type benchCopies [8]pubsub.Message

// benchMessages fills msgs with messages base, base+1, ..., each in a topic
// and from senders chosen as refbench's MessageFlow does.
func benchMessages(msgs []benchCopies, base int, peers []peer.ID, topics []string) {
	for k := range msgs {
		i := base + k
		t := topics[i%len(topics)]
		m := &pb.Message{Data: []byte("x"), Topic: &t, From: []byte(peers[0]), Seqno: []byte(strconv.Itoa(i))}
		id := "m" + strconv.Itoa(i)
		for d := range msgs[k] {
			msgs[k][d] = pubsub.Message{Message: m, ID: id, ReceivedFrom: peers[(i+d*13)%len(peers)]}
		}
	}
}

// BenchmarkScore reads scores of 200 peers, each in the mesh of 16 of 64
// topics: what the router does for every RPC it receives.
func BenchmarkScore(b *testing.B) {
	s, topics := benchScorer(b)
	peers := benchPopulate(s, 200, 16, topics)
	b.ReportAllocs()
	b.ResetTimer()
	var sum float64
	for i := 0; i < b.N; i++ {
		sum += s.Score(peers[i%len(peers)])
	}
	benchSink = sum
}

// BenchmarkScoreParallel is BenchmarkScore from GOMAXPROCS goroutines.
func BenchmarkScoreParallel(b *testing.B) {
	s, topics := benchScorer(b)
	peers := benchPopulate(s, 200, 16, topics)
	var total atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var sum float64
		i := 0
		for pb.Next() {
			sum += s.Score(peers[i%len(peers)])
			i++
		}
		total.Add(math.Float64bits(sum))
	})
}

// BenchmarkScoreRouter is BenchmarkScore through the function
// GossipSubOptions gives the router, which also notes that the router
// asked (for the router check): what the router really calls.
func BenchmarkScoreRouter(b *testing.B) {
	s, topics := benchScorer(b, peerscore.WithThresholds(&peerscore.Thresholds{SkipAtomicValidation: true}))
	peers := benchPopulate(s, 200, 16, topics)
	if _, err := s.GossipSubOptions(); err != nil {
		b.Fatal(err)
	}
	score := peerscore.RouterScoreForTest(s)
	b.ReportAllocs()
	b.ResetTimer()
	var sum float64
	for i := 0; i < b.N; i++ {
		sum += score(peers[i%len(peers)])
	}
	benchSink = sum
}

// BenchmarkScoreUnknown reads the score of a peer the scorer does not know.
func BenchmarkScoreUnknown(b *testing.B) {
	s, topics := benchScorer(b)
	benchPopulate(s, 200, 16, topics)
	stranger := peer.ID("stranger")
	b.ReportAllocs()
	b.ResetTimer()
	var sum float64
	for i := 0; i < b.N; i++ {
		sum += s.Score(stranger)
	}
	benchSink = sum
}

// BenchmarkMessageFlow is one message through the scorer, as refbench's
// MessageFlow: validated and delivered from one peer, then seen as a
// duplicate from seven more, with a score read of each sender as the router
// does for every incoming RPC. The messages are built in batches with the
// timer stopped, so only the scorer's work is measured. Delivery records
// accumulate (no Refresh), as in refbench.
func BenchmarkMessageFlow(b *testing.B) {
	s, topics := benchScorer(b)
	peers := benchPopulate(s, 200, 16, topics)
	msgs := make([]benchCopies, min(1<<15, b.N))
	b.ReportAllocs()
	b.ResetTimer()
	var sum float64
	for i := 0; i < b.N; i++ {
		k := i % len(msgs)
		if k == 0 {
			b.StopTimer()
			benchMessages(msgs, i, peers, topics)
			b.StartTimer()
		}
		first := &msgs[k][0]
		sum += s.Score(first.ReceivedFrom)
		s.Tracer().ValidateMessage(first)
		s.Tracer().DeliverMessage(first)
		for d := 1; d < len(msgs[k]); d++ {
			dup := &msgs[k][d]
			sum += s.Score(dup.ReceivedFrom)
			s.Tracer().DuplicateMessage(dup)
		}
	}
	benchSink = sum
}

// BenchmarkDuplicateMessage is one copy of a delivered message from a mesh
// peer, within the mesh delivery window: the most frequent event of all
// (D-1 per message). The messages are validated and delivered with the
// timer stopped.
func BenchmarkDuplicateMessage(b *testing.B) {
	s, topics := benchScorer(b)
	peers := benchPopulate(s, 200, 16, topics)
	const perMsg = len(benchCopies{}) - 1
	msgs := make([]benchCopies, min(1<<12, b.N/perMsg+1))
	b.ReportAllocs()
	b.ResetTimer()
	base := 0
	for i := 0; i < b.N; {
		b.StopTimer()
		benchMessages(msgs, base, peers, topics)
		base += len(msgs)
		for k := range msgs {
			s.Tracer().ValidateMessage(&msgs[k][0])
			s.Tracer().DeliverMessage(&msgs[k][0])
		}
		b.StartTimer()
		for k := 0; k < len(msgs) && i < b.N; k++ {
			for d := 1; d <= perMsg && i < b.N; d++ {
				s.Tracer().DuplicateMessage(&msgs[k][d])
				i++
			}
		}
	}
}

// BenchmarkGraftPrune is a GRAFT and a PRUNE of a peer in one of its 16
// topics; each republishes the peer's score.
func BenchmarkGraftPrune(b *testing.B) {
	s, topics := benchScorer(b)
	peers := benchPopulate(s, 200, 16, topics)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := i % len(peers)
		t := topics[(n+(i/len(peers))%16)%len(topics)] // one of n's topics
		s.Tracer().Prune(peers[n], t)
		s.Tracer().Graft(peers[n], t)
	}
}

// BenchmarkRPCTrace is the trace of one RPC carrying only a message, in
// each direction: the router reports every RPC it receives and sends, and
// the scorer looks only at control messages.
func BenchmarkRPCTrace(b *testing.B) {
	s, topics := benchScorer(b)
	peers := benchPopulate(s, 200, 16, topics)
	m := &pb.Message{Data: []byte("x"), Topic: &topics[0], From: []byte(peers[0]), Seqno: []byte("1")}
	rpcs := make([]pubsub.RPC, len(peers))
	for i := range rpcs {
		rpcs[i] = pubsub.RPC{RPC: pb.RPC{Publish: []*pb.Message{m}}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := i % len(peers)
		s.Tracer().RecvRPC(&rpcs[n])
		s.Tracer().SendRPC(&rpcs[n], peers[n])
	}
}

// BenchmarkRefresh10k is one maintenance step over 10,000 peers, each in
// the mesh of 16 of 64 topics.
func BenchmarkRefresh10k(b *testing.B) {
	s, topics := benchScorer(b)
	benchPopulate(s, 10000, 16, topics)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Refresh()
	}
}

// BenchmarkSnapshots itemises the scores of 200 peers in 16 topics each.
func BenchmarkSnapshots(b *testing.B) {
	s, topics := benchScorer(b)
	benchPopulate(s, 200, 16, topics)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		n += len(s.Snapshots())
	}
	if n != 200*b.N {
		b.Fatalf("got %d snapshots, want %d", n, 200*b.N)
	}
}

// BenchmarkSnapshots10k itemises 10,000 peers in 16 topics each, as a
// metrics scrape or a WithInspect callback does, while another goroutine
// sends events (AddPenalty of an unknown peer: take the lock, look up,
// leave) and reports the longest an event waited (max-event-wait-us): the
// router's tracer calls run on its event loop and wait as long.
func BenchmarkSnapshots10k(b *testing.B) {
	s, topics := benchScorer(b)
	benchPopulate(s, 10000, 16, topics)
	stop := make(chan struct{})
	var worst atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			s.AddPenalty("nobody", 1)
			if d := int64(time.Since(start)); d > worst.Load() {
				worst.Store(d)
			}
		}
	})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if n := len(s.Snapshots()); n != 10000 {
			b.Fatalf("got %d snapshots", n)
		}
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(worst.Load())/1e3, "max-event-wait-us")
}

// heapCost returns how much live heap, and how many allocations, fn adds.
// Whatever fn allocates and drops is not counted: the heap is measured
// after a full collection on both sides.
func heapCost(fn func()) (bytes, allocs float64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return float64(int64(after.HeapAlloc) - int64(before.HeapAlloc)), float64(after.Mallocs - before.Mallocs)
}

// BenchmarkDeliveryRecord measures what a message delivery record costs:
// the live heap it adds (B/record: the record, its map entry and ring slot,
// amortised; the message ID string is the router's and not counted) and
// the allocations made to build it (allocs/record, including those freed
// again, such as a map growing). Each round opens 10,000 records in a fresh
// scorer, about the records of 80 messages a second over pubsub's default
// SeenMsgTTL of two minutes.
//
//   - bare: a message seen once (ValidateMessage only).
//   - mesh8: a message validated, copied by seven mesh peers during
//     validation, then delivered: every sender remembered.
//   - mesh12: the same with eleven copies, past the seven senders a record
//     holds inline.
func BenchmarkDeliveryRecord(b *testing.B) {
	for _, c := range []struct {
		name   string
		copies int
	}{{"bare", 0}, {"mesh8", 7}, {"mesh12", 11}} {
		b.Run(c.name, func(b *testing.B) {
			const n = 10000
			var totalBytes, totalAllocs float64
			var elapsed time.Duration
			for round := 0; round < b.N; round++ {
				b.StopTimer()
				s, topics := benchScorer(b)
				// every peer gets counters in every topic first, so that
				// crediting the senders adds nothing but the record
				peers := benchPopulate(s, 200, len(topics), topics)
				for i, p := range peers {
					for j := 16; j < len(topics); j++ {
						s.Tracer().Prune(p, topics[(i+j)%len(topics)])
					}
				}
				msgs := make([][]pubsub.Message, n)
				for i := range msgs {
					t := topics[i%len(topics)]
					m := &pb.Message{Data: []byte("x"), Topic: &t, From: []byte(peers[0]), Seqno: []byte(strconv.Itoa(i))}
					id := "m" + strconv.Itoa(i)
					msgs[i] = make([]pubsub.Message, 1+c.copies)
					for d := range msgs[i] {
						msgs[i][d] = pubsub.Message{Message: m, ID: id, ReceivedFrom: peers[(i+d*13)%len(peers)]}
					}
				}
				bytes, allocs := heapCost(func() {
					start := time.Now()
					b.StartTimer()
					for _, copies := range msgs {
						s.Tracer().ValidateMessage(&copies[0])
						for d := 1; d < len(copies); d++ {
							s.Tracer().DuplicateMessage(&copies[d])
						}
						if c.copies > 0 {
							s.Tracer().DeliverMessage(&copies[0])
						}
					}
					b.StopTimer()
					elapsed += time.Since(start)
				})
				if got := peerscore.DeliveryRecordsForTest(s); got != n {
					b.Fatalf("%d delivery records, want %d", got, n)
				}
				runtime.KeepAlive(msgs)
				runtime.KeepAlive(s)
				totalBytes += bytes
				totalAllocs += allocs
			}
			records := float64(b.N * n)
			b.ReportMetric(totalBytes/records, "B/record")
			b.ReportMetric(totalAllocs/records, "allocs/record")
			b.ReportMetric(float64(elapsed.Nanoseconds())/records, "ns/record")
		})
	}
}

// BenchmarkPeerTopic measures what the scorer keeps per peer and per
// peer-topic: 1,000 peers are connected (B/peer), then each is grafted into
// 16 of 64 topics (B/peer-topic, the counters of one peer in one topic).
// Peer IDs are the router's and not counted.
func BenchmarkPeerTopic(b *testing.B) {
	const nPeers, perPeer = 1000, 16
	var peerBytes, topicBytes, topicAllocs float64
	var elapsed time.Duration
	for round := 0; round < b.N; round++ {
		b.StopTimer()
		s, topics := benchScorer(b)
		peers := benchPeerIDs(nPeers)
		pb, _ := heapCost(func() { benchConnect(s, peers, 0, topics) })
		tb, ta := heapCost(func() {
			start := time.Now()
			b.StartTimer()
			for i, p := range peers {
				for j := 0; j < perPeer; j++ {
					s.Tracer().Graft(p, topics[(i+j)%len(topics)])
				}
			}
			b.StopTimer()
			elapsed += time.Since(start)
		})
		runtime.KeepAlive(s)
		runtime.KeepAlive(peers)
		peerBytes += pb
		topicBytes += tb
		topicAllocs += ta
	}
	b.ReportMetric(peerBytes/float64(b.N*nPeers), "B/peer")
	b.ReportMetric(topicBytes/float64(b.N*nPeers*perPeer), "B/peer-topic")
	b.ReportMetric(topicAllocs/float64(b.N*nPeers*perPeer), "allocs/peer-topic")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*nPeers*perPeer), "ns/graft")
}
