package reputation_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/reputation"
)

// The application reports what peers do, and reads their standing back.
func Example() {
	rep, err := reputation.New()
	if err != nil {
		log.Fatal(err)
	}
	rep.Start(context.Background()) // the decay
	defer rep.Close()

	p := peer.ID("peer-a") // a real one comes from the host
	rep.Report(p, reputation.Mid, "bad range response")
	rep.Report(p, reputation.High, "invalid block")
	rep.Report(p, reputation.High, "invalid block")

	fmt.Printf("%.1f\n", rep.Score(p)) // less a few microseconds of decay
	fmt.Println(rep.Reasons(p))
	fmt.Println(rep.Score("peer-b"))
	// Output:
	// -25.0
	// [invalid block (high x2) bad range response (mid)]
	// 0
}

// Wired into the scorer, the Reputation is P5, and snapshots say why. The
// weight puts the graylist threshold at a value of -50: below it, the
// router ignores the peer.
func Example_scorer() {
	rep, err := reputation.New()
	if err != nil {
		log.Fatal(err)
	}
	thresholds := &peerscore.Thresholds{GossipThreshold: -40, PublishThreshold: -60, GraylistThreshold: -80}
	params := &peerscore.Params{
		Topics:            map[string]*peerscore.TopicParams{},
		AppSpecificScore:  rep.Score,
		AppSpecificWeight: thresholds.GraylistThreshold / -50, // 1.6
		DecayInterval:     time.Second,
		DecayToZero:       0.01,
		RetainScore:       time.Hour,
	}
	scorer, err := peerscore.New(params, peerscore.WithThresholds(thresholds),
		peerscore.WithAppReasons(rep.Reasons))
	if err != nil {
		log.Fatal(err)
	}

	p := peer.ID("peer-a")
	scorer.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0") // the router does this when p connects
	rep.Report(p, reputation.High, "invalid block")

	snap, _ := scorer.Snapshot(p)
	fmt.Printf("%.1f %.1f %.1f\n", snap.AppSpecificScore, snap.P5, snap.Score)
	fmt.Println(snap.AppReasons)
	for range 5 {
		rep.Report(p, reputation.High, "invalid block")
	}
	fmt.Printf("%.1f %v\n", scorer.Score(p), scorer.Score(p) < thresholds.GraylistThreshold)
	// Output:
	// -10.0 -16.0 -16.0
	// [invalid block (high)]
	// -96.0 true
}

// An opinion of the application's own, computed the old way, adds to the
// Reputation's in the function given to the scorer.
func Example_compose() {
	rep, err := reputation.New()
	if err != nil {
		log.Fatal(err)
	}
	trusted := map[peer.ID]bool{"bootnode": true}
	mine := func(p peer.ID) float64 { // cheap and lock-free: the router calls it on every RPC
		if trusted[p] {
			return 20
		}
		return 0
	}
	appScore := func(p peer.ID) float64 { return rep.Score(p) + mine(p) }

	rep.Report("bootnode", reputation.Low, "timeout")
	fmt.Printf("%.1f %.1f\n", appScore("bootnode"), appScore("stranger"))
	// Output: 19.0 0.0
}
