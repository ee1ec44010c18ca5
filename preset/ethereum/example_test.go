package ethereum_test

import (
	"fmt"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/preset/ethereum"
)

// Parameters for a mainnet beacon node: the validator count, the chain's
// age and the current fork digest are all the preset needs.
func ExamplePreset() {
	preset := ethereum.Preset{
		ActiveValidators: 1_000_000,
		CurrentSlot:      10_000_000,
		ForkDigests:      [][4]byte{{0x6a, 0x95, 0xa1, 0xa9}},
	}
	params, thresholds, err := preset.Derive()
	if err != nil {
		fmt.Println(err)
		return
	}
	// 75 topics: block, aggregate, 64 attestation subnets, exits, two
	// slashings, 4 sync committee subnets, contributions, BLS changes.
	fmt.Println("topics:", len(params.Topics))
	fmt.Printf("committees per slot: %d, aggregates per slot: %.1f\n",
		preset.CommitteesPerSlot(), preset.AggregatorsPerSlot())
	fmt.Printf("thresholds: gossip %.0f, publish %.0f, graylist %.0f, accept PX %.0f, opportunistic graft %.0f\n",
		thresholds.GossipThreshold, thresholds.PublishThreshold, thresholds.GraylistThreshold,
		thresholds.AcceptPXThreshold, thresholds.OpportunisticGraftThreshold)
	block := params.Topics[ethereum.Topic(preset.ForkDigests[0], ethereum.BeaconBlock)]
	fmt.Printf("beacon_block: weight %.1f, one invalid block costs %.0f\n",
		block.TopicWeight, block.InvalidMessageDeliveriesWeight*block.TopicWeight)

	// Hand both to the scorer (in a real client, after setting
	// params.AppSpecificScore, P5, to the client's own opinion of a peer).
	scorer, err := peerscore.New(params, peerscore.WithThresholds(thresholds))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer scorer.Close()
	// Output:
	// topics: 75
	// committees per slot: 64, aggregates per slot: 1041.7
	// thresholds: gossip -4000, publish -8000, graylist -16000, accept PX 100, opportunistic graft 5
	// beacon_block: weight 0.5, one invalid block costs -140
}

// One topic at a time, for a topic subscribed to later or re-derived as
// the validator count drifts (Scorer.SetTopicParams).
func ExamplePreset_TopicParams() {
	preset := ethereum.Preset{ActiveValidators: 1_000_000, CurrentSlot: 10_000_000}
	tp, err := preset.TopicParams(ethereum.AttestationSubnet(7))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("weight %.6f, P3 threshold %.1f deliveries\n", tp.TopicWeight, tp.MeshMessageDeliveriesThreshold)

	_, err = preset.TopicParams("beacon_attestation")
	fmt.Println(err)
	// Output:
	// weight 0.015625, P3 threshold 266.6 deliveries
	// peerscore/ethereum: TopicParams: the preset does not score topic "beacon_attestation"
}
