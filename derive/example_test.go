package derive_test

import (
	"fmt"
	"time"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/derive"
)

// Two topics described by their traffic: blocks, one every two seconds,
// with mesh peers expected to forward them; and rare announcements. The
// zero Budget takes the defaults: 1s decay interval, 10 points for time in
// mesh and 40 for first deliveries per unit of topic weight, the Ethereum
// clients' thresholds.
func ExampleParams() {
	params, thresholds, err := derive.Params(map[string]derive.Topic{
		"blocks": {
			Weight:                   1,
			MessagesPerInterval:      0.5,
			MeshDegree:               8,
			FirstDeliveriesDecay:     time.Minute,
			MeshDeliveries:           true,
			MeshDeliveriesDecay:      2 * time.Minute,
			MeshDeliveriesActivation: 30 * time.Second,
			MeshDeliveriesWindow:     10 * time.Millisecond,
			InvalidDeliveriesDecay:   time.Hour,
		},
		"announcements": {
			Weight:                 0.25,
			MessagesPerInterval:    0.01,
			MeshDegree:             8,
			FirstDeliveriesDecay:   time.Hour,
			InvalidDeliveriesDecay: time.Hour,
		},
	}, derive.Budget{})
	if err != nil {
		fmt.Println(err)
		return
	}
	blocks := params.Topics["blocks"]
	// Budget: (10 + 40) · (1 + 0.25) = 62.5; the topic cap is half of it.
	fmt.Printf("topic score cap: %.2f\n", params.TopicScoreCap)
	fmt.Printf("blocks P2 cap: %.2f first deliveries, %.3f points each\n",
		blocks.FirstMessageDeliveriesCap, blocks.FirstMessageDeliveriesWeight)
	fmt.Printf("blocks P3 threshold: %.3f deliveries\n", blocks.MeshMessageDeliveriesThreshold)
	// One invalid block costs the whole budget: −62.5 / 1.
	fmt.Printf("blocks P4 weight: %.1f\n", blocks.InvalidMessageDeliveriesWeight)
	fmt.Printf("gossip threshold: %.0f\n", thresholds.GossipThreshold)

	// The scorer takes them as they are (set AppSpecificScore, P5, to the
	// application's own opinion of a peer first).
	scorer, err := peerscore.New(params, peerscore.WithThresholds(thresholds))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer scorer.Close()
	fmt.Println("scorer thresholds:", *scorer.Thresholds() == *thresholds)
	// Output:
	// topic score cap: 31.25
	// blocks P2 cap: 1.69 first deliveries, 23.642 points each
	// blocks P3 threshold: 0.256 deliveries
	// blocks P4 weight: -62.5
	// gossip threshold: -4000
	// scorer thresholds: true
}
