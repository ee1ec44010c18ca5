package peerscore_test

import (
	"fmt"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
)

// An existing pubsub configuration carries over unchanged, and an invalid
// one is refused with the topic and the field named.
func ExampleParamsFromPubsub() {
	theirs := &pubsub.PeerScoreParams{
		AppSpecificScore:  func(peer.ID) float64 { return 0 },
		AppSpecificWeight: 1,
		DecayInterval:     time.Second,
		DecayToZero:       0.01,
		RetainScore:       time.Hour,
		Topics: map[string]*pubsub.TopicScoreParams{
			"blocks": {
				TopicWeight:                    1,
				TimeInMeshQuantum:              time.Second,
				InvalidMessageDeliveriesWeight: -100,
				InvalidMessageDeliveriesDecay:  peerscore.ScoreParameterDecay(time.Hour),
			},
		},
	}
	params := peerscore.ParamsFromPubsub(theirs)
	fmt.Println("valid:", params.Validate() == nil)

	params.Topics["blocks"].InvalidMessageDeliveriesDecay = 1.5
	fmt.Println(params.Validate())
	// Output:
	// valid: true
	// peerscore: topic "blocks": InvalidMessageDeliveriesDecay = 1.5: must be strictly between 0 and 1
}
