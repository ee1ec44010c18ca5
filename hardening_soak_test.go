package peerscore_test

// Soak: a flood of a million messages from 200 peers over 16 topics, with
// duplicates, rejections and time passing (fake time, under synctest), and
// the background loop running. The number of delivery records must stay
// under the WithMaxDeliveryRecords cap throughout, and once SeenMsgTTL has
// passed the live heap must come back to where it was before the flood.
//
// Skipped with -short. It takes about 1.5 s, or 15 s under the race
// detector (two cores).

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
)

const (
	soakPeers       = 200
	soakTopics      = 16
	soakTopicsEach  = 4       // topics each peer is in the mesh of
	soakCap         = 100_000 // WithMaxDeliveryRecords
	soakRate        = 1000    // messages per 100ms of fake time: 10,000 a second
	soakSampleEvery = 5_000   // how often the record count is sampled
	soakMessages    = 1_000_000
	// soakHeapSlack is how much more live heap than before the flood is
	// tolerated once it has passed. What legitimately remains is a few KB
	// (the record ring is back to 64 slots, checked separately, and the
	// record map rebuilt small); measured: -0.04 MiB. The slack allows for
	// the runtime's own bookkeeping, and is small enough to catch a
	// record map that was never rebuilt after holding 100,000 entries
	// (~3 MiB of buckets) as well as any leak of the records themselves
	// (~30 MiB at the cap).
	soakHeapSlack = 1 << 20
)

func soakTopic() *peerscore.TopicParams {
	return &peerscore.TopicParams{
		TopicWeight:      0.5,
		TimeInMeshWeight: 0.01, TimeInMeshQuantum: time.Second, TimeInMeshCap: 3600,
		FirstMessageDeliveriesWeight: 1, FirstMessageDeliveriesDecay: 0.9, FirstMessageDeliveriesCap: 100,
		MeshMessageDeliveriesWeight: -1, MeshMessageDeliveriesDecay: 0.9, MeshMessageDeliveriesCap: 100,
		MeshMessageDeliveriesThreshold: 5, MeshMessageDeliveriesWindow: 10 * time.Millisecond,
		MeshMessageDeliveriesActivation: 5 * time.Second,
		MeshFailurePenaltyWeight:        -1, MeshFailurePenaltyDecay: 0.9,
		InvalidMessageDeliveriesWeight: -10, InvalidMessageDeliveriesDecay: 0.99,
	}
}

// soakLiveHeap is the live heap after a full collection.
func soakLiveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func TestSoakFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test: skipped with -short")
	}
	start := time.Now() // real time, for the report
	synctest.Test(t, func(t *testing.T) {
		topics := make([]string, soakTopics)
		params := &peerscore.Params{
			Topics:                 map[string]*peerscore.TopicParams{},
			AppSpecificScore:       func(peer.ID) float64 { return 0 },
			BehaviourPenaltyWeight: -1, BehaviourPenaltyThreshold: 6, BehaviourPenaltyDecay: 0.9,
			DecayInterval: time.Second, DecayToZero: 0.01,
			RetainScore: time.Minute, // SeenMsgTTL: 0, pubsub's two minutes
		}
		for i := range topics {
			topics[i] = "/soak/topic/" + strconv.Itoa(i)
			params.Topics[topics[i]] = soakTopic()
		}
		const ttl = 2 * time.Minute
		// The loop drops delivery records once a minute, as pubsub does,
		// so a record outlives the TTL by up to a minute.
		const gone = ttl + time.Minute
		s, err := peerscore.New(params, peerscore.WithMaxDeliveryRecords(soakCap))
		if err != nil {
			t.Fatal(err)
		}
		s.Start(context.Background())
		defer func() { _ = s.Close() }()

		peers := make([]peer.ID, soakPeers)
		for i := range peers {
			peers[i] = peer.ID("soak-peer-" + strconv.Itoa(i))
			s.Tracer().OnNewOutboundStream(peers[i], "/meshsub/1.1.0")
			for k := range soakTopicsEach {
				s.Tracer().Graft(peers[i], topics[(i+k)%soakTopics])
			}
		}
		// mesh[topic] are the peers in its mesh.
		mesh := make([][]peer.ID, soakTopics)
		for i, p := range peers {
			for k := range soakTopicsEach {
				tp := (i + k) % soakTopics
				mesh[tp] = append(mesh[tp], p)
			}
		}

		msgs := 0
		send := func(prefix string) {
			i := msgs
			msgs++
			tp := i % soakTopics
			inMesh := mesh[tp]
			author := inMesh[(i/soakTopics)%len(inMesh)]
			topic := topics[tp]
			id := prefix + strconv.Itoa(i)
			inner := &pb.Message{Topic: &topic, Data: []byte("x")}
			m := &pubsub.Message{Message: inner, ID: id, ReceivedFrom: author}
			s.Tracer().ValidateMessage(m)
			// one copy during validation, one right after it, and (below) a late one
			s.Tracer().DuplicateMessage(&pubsub.Message{Message: inner, ID: id, ReceivedFrom: inMesh[(i+1)%len(inMesh)]})
			if i%100 == 99 {
				s.Tracer().RejectMessage(m, pubsub.RejectValidationFailed)
			} else {
				s.Tracer().DeliverMessage(m)
			}
			s.Tracer().DuplicateMessage(&pubsub.Message{Message: inner, ID: id, ReceivedFrom: inMesh[(i+2)%len(inMesh)]})
			if j := i - 2*soakRate; j >= 0 {
				// a copy of a message from 200ms ago: late, beyond the window
				old := topics[j%soakTopics]
				oldMesh := mesh[j%soakTopics]
				late := &pubsub.Message{Message: &pb.Message{Topic: &old}, ID: prefix + strconv.Itoa(j), ReceivedFrom: oldMesh[(j+3)%len(oldMesh)]}
				s.Tracer().DuplicateMessage(late)
			}
			if i%soakRate == soakRate-1 {
				time.Sleep(100 * time.Millisecond)
				synctest.Wait()
			}
		}

		// Warm-up: every peer's counters exist in every topic it is in, so
		// that what the flood leaves behind is only what it should not.
		for range soakPeers * soakTopicsEach {
			send("warm-")
		}
		time.Sleep(gone)
		synctest.Wait()
		if n := s.Stats().DeliveryRecords; n != 0 {
			t.Fatalf("%d delivery records left after the warm-up", n)
		}
		baseline := soakLiveHeap()

		// The flood.
		maxRecords, peakHeap := 0, uint64(0)
		for msgs = 0; msgs < soakMessages; {
			send("flood-")
			if msgs%soakSampleEvery == 0 {
				n := peerscore.DeliveryRecordsForTest(s)
				if n > soakCap {
					t.Fatalf("%d delivery records after %d messages, cap %d", n, msgs, soakCap)
				}
				maxRecords = max(maxRecords, n)
				if msgs%(20*soakSampleEvery) == 0 {
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					peakHeap = max(peakHeap, ms.HeapAlloc)
				}
			}
		}
		if maxRecords != soakCap {
			t.Errorf("the flood never reached the cap: at most %d records of %d", maxRecords, soakCap)
		}
		floodTime := time.Duration(soakMessages/soakRate) * 100 * time.Millisecond
		st := s.Stats()
		for p, snap := range s.Snapshots() {
			if snap.Score != snap.Score {
				t.Fatalf("peer %s: NaN score", string(p))
			}
		}

		// Past the TTL, everything goes, and the memory with it.
		time.Sleep(gone)
		synctest.Wait()
		if n := s.Stats().DeliveryRecords; n != 0 {
			t.Fatalf("%d delivery records left %v after the flood", n, gone)
		}
		z := peerscore.InternalSizesForTest(s)
		after := soakLiveHeap()
		t.Logf("%d messages over %v of fake time; records at most %d (cap %d); penalties %v; late duplicates in %d topics",
			soakMessages, floodTime, maxRecords, soakCap, st.Penalties, len(st.LateDuplicates))
		t.Logf("live heap: before %.1f MiB, during (sampled) %.1f MiB, after %.1f MiB (%+.2f MiB); record ring %d slots, map %d",
			mib(baseline), mib(peakHeap), mib(after), mib(after)-mib(baseline), z.RingLen, z.RecordsMap)
		if after > baseline+soakHeapSlack {
			t.Errorf("live heap after the flood %.1f MiB, before %.1f MiB: more than %.0f MiB was not returned",
				mib(after), mib(baseline), mib(soakHeapSlack))
		}
		if z.RingLen > 64 {
			t.Errorf("the record ring still has %d slots", z.RingLen)
		}
	})
	t.Logf("real time: %v", time.Since(start).Round(time.Millisecond))
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
