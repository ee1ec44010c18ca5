package peerscore_test

import (
	"context"
	"fmt"
	"log"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"

	"github.com/peerscore/peerscore"
)

// Wiring a scorer into a GossipSub router: parameters and thresholds are
// given to the Scorer once, and GossipSubOptions hands the router what it
// needs. Start runs the decay loop; Close stops it.
func ExampleNew() {
	mn := mocknet.New()
	defer mn.Close()
	h, err := mn.GenPeer()
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	params := &peerscore.Params{
		Topics: map[string]*peerscore.TopicParams{"blocks": {
			TopicWeight:                    1,
			FirstMessageDeliveriesWeight:   1,
			FirstMessageDeliveriesDecay:    peerscore.ScoreParameterDecay(10 * time.Minute),
			FirstMessageDeliveriesCap:      20,
			InvalidMessageDeliveriesWeight: -100,
			InvalidMessageDeliveriesDecay:  peerscore.ScoreParameterDecay(time.Hour),
			SkipAtomicValidation:           true, // only P2 and P4 in this topic
		}},
		AppSpecificScore:  func(peer.ID) float64 { return 0 },
		AppSpecificWeight: 1,
		DecayInterval:     time.Second,
		DecayToZero:       0.01,
		RetainScore:       time.Hour,
	}
	thresholds := &peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -50, GraylistThreshold: -80}
	scorer, err := peerscore.New(params, peerscore.WithHost(h), peerscore.WithThresholds(thresholds))
	if err != nil {
		log.Fatal(err)
	}
	scorer.Start(ctx)
	defer scorer.Close()

	opts, err := scorer.GossipSubOptions()
	if err != nil {
		log.Fatal(err)
	}
	ps, err := pubsub.NewGossipSub(ctx, h, opts...)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := ps.Join("blocks"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("a peer the scorer has never met scores", scorer.Score("stranger"))
	// Output: a peer the scorer has never met scores 0
}

// A snapshot takes a score apart, and Dominant names the component to
// blame. Here the router's traces are replayed by hand: a peer connects,
// sends one valid message first and one that fails validation.
func ExampleScorer_Snapshot() {
	params := &peerscore.Params{
		SkipAtomicValidation: true,
		Topics: map[string]*peerscore.TopicParams{"blocks": {
			SkipAtomicValidation:           true,
			TopicWeight:                    1,
			FirstMessageDeliveriesWeight:   1,
			FirstMessageDeliveriesDecay:    0.5,
			FirstMessageDeliveriesCap:      10,
			InvalidMessageDeliveriesWeight: -100,
			InvalidMessageDeliveriesDecay:  0.5,
		}},
		DecayInterval: time.Second,
		DecayToZero:   0.01,
	}
	scorer, err := peerscore.New(params)
	if err != nil {
		log.Fatal(err)
	}
	tr := scorer.Tracer()
	p := peer.ID("spammer")
	tr.OnNewOutboundStream(p, "/meshsub/1.1.0")
	topic := "blocks"
	good := &pubsub.Message{Message: &pb.Message{Topic: &topic}, ID: "m1", ReceivedFrom: p}
	bad := &pubsub.Message{Message: &pb.Message{Topic: &topic}, ID: "m2", ReceivedFrom: p}
	tr.ValidateMessage(good)
	tr.DeliverMessage(good)
	tr.ValidateMessage(bad)
	tr.RejectMessage(bad, pubsub.RejectValidationFailed)

	snap, _ := scorer.Snapshot(p)
	blame, value := snap.Dominant()
	fmt.Printf("score %.0f = P2 %.0f + P4 %.0f\n", snap.Score, snap.Topics[topic].P2, snap.Topics[topic].P4)
	fmt.Printf("to blame: %s (%.0f)\n", blame, value)
	// Output:
	// score -99 = P2 1 + P4 -100
	// to blame: P4 invalid messages (-100)
}
