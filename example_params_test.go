package peerscore_test

import (
	"encoding/json"
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

// A parameter set written by hand in the JSON format: fields left out are
// zero, the application sets AppSpecificScore, and a misspelt field is
// refused with its topic named.
func ExampleParamsDocument() {
	const file = `{
	  "params": {
	    "decay_interval": "1s",
	    "decay_to_zero": 0.01,
	    "retain_score": "1h",
	    "ip_colocation_factor_weight": -10,
	    "ip_colocation_factor_threshold": 3,
	    "ip_colocation_factor_whitelist": ["10.0.0.0/8"],
	    "topics": {
	      "blocks": {
	        "topic_weight": 1,
	        "time_in_mesh_quantum": "1s",
	        "invalid_message_deliveries_weight": -100,
	        "invalid_message_deliveries_decay": 0.999
	      }
	    }
	  },
	  "thresholds": {"gossip_threshold": -10, "publish_threshold": -50, "graylist_threshold": -80}
	}`
	var doc peerscore.ParamsDocument
	if err := json.Unmarshal([]byte(file), &doc); err != nil {
		fmt.Println(err)
		return
	}
	doc.Params.AppSpecificScore = func(peer.ID) float64 { return 0 }
	fmt.Println("valid:", doc.Params.Validate() == nil && doc.Thresholds.Validate() == nil)
	fmt.Println("retain:", doc.Params.RetainScore)

	err := json.Unmarshal([]byte(`{"params": {"topics": {"blocks": {"topic_wieght": 1}}}}`), &doc)
	fmt.Println(err)
	// Output:
	// valid: true
	// retain: 1h0m0s
	// peerscore: params: topic "blocks": unknown field "topic_wieght"
}
